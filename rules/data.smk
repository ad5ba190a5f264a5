rule split:
    input:
        texts=lambda w: config["tasks"][w.task]["texts"],
    output:
        **{part: SPLIT.replace("{part}", part) for part in PARTS},
        summary=SPLIT_SUMMARY,
    params:
        task=lambda w: task_settings(w.task),
        split=lambda w: task_split(w.task),
        code=fingerprint("split"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("split/{task}"),
    benchmark:
        benchmark_file("split/{task}")
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/split.py"
