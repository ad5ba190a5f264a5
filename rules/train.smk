# One job trains a student and predicts the test texts with it: loading torch and the model
# again in a second job cost more than predicting 200 texts (the test labels stay unread).
rule train:
    input:
        pool_texts=SPLIT.replace("{part}", "pool"),
        pool_labels=LABELS.replace("{part}", "pool"),
        val_texts=SPLIT.replace("{part}", "val"),
        val_labels=LABELS.replace("{part}", "val"),
        test_texts=SPLIT.replace("{part}", "test"),
    output:
        student=directory(STUDENT_DIR),
        predictions=STUDENT_PREDICTIONS,
    params:
        student=lambda w: student_settings(w.student),
        labels=lambda w: config["tasks"][w.task]["labels"],
        train_size=config["train_size"],
        training=config["training"],
        code=fingerprint("train"),
    threads: lambda w: student_threads(w.student)
    resources:
        **rule_resources("train", "student", STUDENT_ON_GPU),
    log:
        "results/logs/train/{task}/{student}/{labeler}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{task}/{student}/{labeler}/seed{seed}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train.py"
