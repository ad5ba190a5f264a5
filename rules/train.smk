rule train:
    input:
        pool_texts=SPLIT.replace("{part}", "pool"),
        pool_labels=LABELS.replace("{part}", "pool"),
        val_texts=SPLIT.replace("{part}", "val"),
        val_labels=LABELS.replace("{part}", "val"),
    output:
        directory(STUDENT_DIR),
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


rule predict:
    input:
        student=STUDENT_DIR,
        test=SPLIT.replace("{part}", "test"),
    output:
        STUDENT_PREDICTIONS,
    params:
        code=fingerprint("predict"),
    threads: lambda w: student_threads(w.student)
    resources:
        **rule_resources("predict", "student", STUDENT_ON_GPU),
    log:
        "results/logs/predict/{task}/{student}/{labeler}/seed{seed}.log",
    benchmark:
        "results/benchmarks/predict/{task}/{student}/{labeler}/seed{seed}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/predict.py"
