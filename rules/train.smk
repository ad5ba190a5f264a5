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
        card=lambda w: {"task": w.task, "student": w.student, "labeler": w.labeler},
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


# The students of a task with their final model cards (test score included) in one folder to
# keep. Snakemake refuses an output inside another rule's directory() output, so the card cannot
# be added to the train job's folder: this job links the students' files into an exported copy
# and writes each card there (stages/export_students.py). One job per task: links take seconds.
rule export_students:
    input:
        students=lambda w: student_files(STUDENT_DIR, w.task),
        metrics=lambda w: student_files(STUDENT_METRICS, w.task),
    output:
        directory(STUDENT_EXPORTS),
    params:
        names=lambda w: student_files(STUDENT_NAME, w.task),
        code=fingerprint("export_students"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("export_students/{task}"),
    conda:
        "../envs/train.yaml"  # the students package (its modules name torch), not that it runs
    script:
        "../scripts/export_students.py"
