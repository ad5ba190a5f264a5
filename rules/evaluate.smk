rule fewshot:
    input:
        LABELS.replace("{part}", "test"),
    output:
        FEWSHOT_PREDICTIONS,
    params:
        code=fingerprint("fewshot"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("fewshot/{task}/{labeler}"),
    benchmark:
        benchmark_file("fewshot/{task}/{labeler}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/fewshot.py"


rule evaluate_student:
    input:
        predictions=STUDENT_PREDICTIONS,
        test=SPLIT.replace("{part}", "test"),
    output:
        STUDENT_METRICS,
    params:
        positive_label=lambda w: task_spec(w.task).positive_label,
        headline=lambda w: task_spec(w.task).headline,
        meta=lambda w: {
            "task": w.task,
            "condition": f"{w.student}@{w.labeler}:{w.size}",
            "kind": "student",
            "student": w.student,
            "labeler": w.labeler,
            "train_size": w.size,
            "seed": int(w.seed),
            "shots_seed": DESIGN.draw_of_seed(DESIGN.rest_labeler(w.labeler), int(w.seed)),
        },
        n_boot=config["evaluation"]["n_boot"],
        code=fingerprint("evaluate"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("evaluate/{task}/{student}@{labeler}/n{size}/seed{seed}"),
    benchmark:
        benchmark_file("evaluate/{task}/{student}@{labeler}/n{size}/seed{seed}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/evaluate.py"


rule evaluate_fewshot:
    input:
        predictions=FEWSHOT_PREDICTIONS,
        test=SPLIT.replace("{part}", "test"),
    output:
        FEWSHOT_METRICS,
    params:
        positive_label=lambda w: task_spec(w.task).positive_label,
        headline=lambda w: task_spec(w.task).headline,
        meta=lambda w: {
            "task": w.task,
            "condition": f"fewshot@{parse_source(w.labeler)[0]}",
            "kind": "fewshot",
            "student": None,
            "labeler": parse_source(w.labeler)[0],
            "train_size": None,
            "seed": parse_source(w.labeler)[1],
            "shots_seed": parse_source(w.labeler)[1],
        },
        n_boot=config["evaluation"]["n_boot"],
        code=fingerprint("evaluate"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("evaluate/{task}/fewshot@{labeler}"),
    benchmark:
        benchmark_file("evaluate/{task}/fewshot@{labeler}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/evaluate.py"


# Per task: seed-mean intervals of every condition and the paired gaps (same resampled texts).
rule compare:
    input:
        test=SPLIT.replace("{part}", "test"),
        predictions=lambda w: [path for files in task_predictions(w.task).values() for path in files.values()],
    output:
        COMPARISONS,
    params:
        predictions=lambda w: task_predictions(w.task),
        positive_label=lambda w: task_spec(w.task).positive_label,
        headline=lambda w: task_spec(w.task).headline,
        n_boot=config["evaluation"]["n_boot"],
        code=fingerprint("compare"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("compare/{task}"),
    benchmark:
        benchmark_file("compare/{task}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/compare.py"
