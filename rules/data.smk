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
        "results/logs/split/{task}.log",
    benchmark:
        "results/benchmarks/split/{task}.tsv"
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/split.py"
