# One job trains a student and predicts the test texts with it: loading torch and the model
# again in a second job cost more than predicting 200 texts (the test labels stay unread).
# The labels are those of the seed's label source (its prompt draw, see design.py); an
# augmented student keeps the human labels of its first k training texts.
rule train:
    input:
        unpack(train_inputs),
    output:
        student=directory(STUDENT_DIR),
        predictions=STUDENT_PREDICTIONS,
    params:
        student=lambda w: student_settings(w.student),
        labels=lambda w: config["tasks"][w.task]["labels"],
        train_size=lambda w: None if w.size == "all" else int(w.size),
        human_count=lambda w: DESIGN.human_count(w.labeler),
        training=config["training"],
        code=fingerprint("train"),
    threads: lambda w: student_threads(w.student)
    resources:
        **rule_resources("train", "student", STUDENT_ON_GPU),
    log:
        log_file("train/{task}/{student}/{labeler}/n{size}/seed{seed}"),
    benchmark:
        benchmark_file("train/{task}/{student}/{labeler}/n{size}/seed{seed}")
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train.py"
