# A task's corpus: the chosen student labels it chunk by chunk (each chunk its own job, so a
# stopped run resumes at the first missing chunk), the chunks are merged, and the shares of the
# labels are estimated with the human test labels (naive, human-only, PPI++).


# A corpus file above corpus.parse_check_mb is only counted at parse: this job checks its rows
# (ids, texts, encoding) before the first chunk job starts.
rule corpus_check:
    input:
        corpus=lambda w: corpus_spec(w.task).path,
    output:
        CORPUS_CHECKED,
    params:
        corpus=lambda w: corpus_spec(w.task).settings(),
        code=fingerprint("corpus_check"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("corpus_check/{task}"),
    benchmark:
        benchmark_file("corpus_check/{task}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/corpus_check.py"


rule corpus_chunk:
    input:
        corpus=lambda w: corpus_spec(w.task).path,
        students=lambda w: corpus_student_dirs(w.task),
        checked=lambda w: corpus_checked(w.task),
    output:
        CORPUS_CHUNK,
    params:
        chunk=lambda w: corpus_chunk_params(w.task, w.chunk),
        corpus=lambda w: corpus_spec(w.task).settings(),
        labels=lambda w: config["tasks"][w.task]["labels"],
        code=fingerprint("corpus_chunk"),
    threads: lambda w: student_threads(CORPUS["student"])
    resources:
        **rule_resources("predict", "corpus", CORPUS_ON_GPU),
    log:
        log_file("corpus_chunk/{task}/{chunk}"),
    benchmark:
        benchmark_file("corpus_chunk/{task}/{chunk}")
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/corpus_chunk.py"


rule corpus_merge:
    input:
        chunks=lambda w: corpus_chunk_files(w.task),
    output:
        CORPUS_LABELS,
    params:
        code=fingerprint("corpus_merge"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("corpus_merge/{task}"),
    benchmark:
        benchmark_file("corpus_merge/{task}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/corpus_merge.py"


rule corpus_estimates:
    input:
        labels=CORPUS_LABELS,
        test=SPLIT.replace("{part}", "test"),
        pool=SPLIT.replace("{part}", "pool"),
        val=SPLIT.replace("{part}", "val"),
        predictions=lambda w: corpus_test_predictions(w.task),
        task_texts=lambda w: corpus_task_texts(w.task),
    output:
        CORPUS_ESTIMATES,
    params:
        meta=lambda w: {
            "task": w.task,
            "student": CORPUS["student"],
            "labeler": CORPUS["labeler"],
            "seeds": corpus_seeds(),
        },
        labels=lambda w: config["tasks"][w.task]["labels"],
        positive_label=lambda w: task_spec(w.task).positive_label,
        covariates=lambda w: list(corpus_spec(w.task).covariates),
        task_id_column=lambda w: task_spec(w.task).id_column,
        half_width=CORPUS.get("half_width", 0.03),
        code=fingerprint("corpus_estimates"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("corpus_estimates/{task}"),
    benchmark:
        benchmark_file("corpus_estimates/{task}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/corpus_estimates.py"
