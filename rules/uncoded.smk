# Texts nobody coded (tasks.<name>.uncoded): the LLM labels them chunk by chunk (each chunk its
# own job, so a stopped run resumes at the first missing chunk and a cached request is never
# paid twice), the chunks of a label source are merged, and students learn from those labels
# (train_inputs in common.smk). Why and how: src/labeldistill/corpus/uncoded.py.


# The texts students of the uncoded texts learn from: coded twins and repeats dropped, the
# seeded order, the first `planned` kept.
rule uncoded_plan:
    input:
        uncoded=lambda w: uncoded_spec(w.task).path,
        parts=expand(SPLIT, part=PARTS, allow_missing=True),
    output:
        texts=UNCODED_TEXTS,
        plan=UNCODED_PLAN,
    params:
        uncoded=lambda w: uncoded_spec(w.task).settings(),
        planned=lambda w: uncoded_planned(w.task),
        chunks=lambda w: uncoded_chunk_count(w.task),
        seed=DESIGN.uncoded.seed,
        code=fingerprint("uncoded"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("uncoded_plan/{task}"),
    benchmark:
        benchmark_file("uncoded_plan/{task}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/uncoded_plan.py"


# One label source labels rows [start, stop) of the plan's order; why it redoes the plan instead
# of reading its file: stages/annotate_uncoded.py.
rule annotate_uncoded:
    input:
        unpack(uncoded_inputs),
    output:
        labels=UNCODED_CHUNK_LABELS,
        usage=UNCODED_USAGE,
    wildcard_constraints:
        labeler=labeler_pattern(UNCODED_SOURCES),
    params:
        uncoded=lambda w: uncoded_spec(w.task).settings(),
        rows=lambda w: uncoded_chunk_params(w.task, w.chunk),
        seed=DESIGN.uncoded.seed,
        labels=lambda w: config["tasks"][w.task]["labels"],
        question=lambda w: task_spec(w.task).question,
        labeler=lambda w: labeler_settings(w.labeler),
        code=fingerprint("annotate_uncoded"),
    threads: lambda w: labeler_threads(w.labeler)
    resources:
        **rule_resources("annotate", "labeler", LABELER_ON_GPU),
    log:
        main=log_file("annotate_uncoded/{task}/{labeler}/{chunk}"),
        server=log_file("annotate_uncoded/{task}/{labeler}/{chunk}", ".server.log"),
    benchmark:
        benchmark_file("annotate_uncoded/{task}/{labeler}/{chunk}")
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/annotate_uncoded.py"


# A label source's chunks as one labels file (the part `uncoded`), and the check that the coded
# test texts look like a random sample of the uncoded ones.
rule uncoded_merge:
    input:
        chunks=lambda w: uncoded_chunk_files(UNCODED_CHUNK_LABELS, w.task, w.labeler),
        texts=UNCODED_TEXTS,
        test=SPLIT.replace("{part}", "test"),
        test_labels=LABELS.replace("{part}", "test"),
    output:
        labels=UNCODED_LABELS,
        check=UNCODED_CHECK,
    params:
        labels=lambda w: config["tasks"][w.task]["labels"],
        positive_label=lambda w: task_spec(w.task).positive_label,
        code=fingerprint("uncoded"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("uncoded_merge/{task}/{labeler}"),
    benchmark:
        benchmark_file("uncoded_merge/{task}/{labeler}")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/uncoded_merge.py"
