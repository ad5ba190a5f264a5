rule split:
    input:
        texts=lambda w: config["tasks"][w.task]["texts"],
    output:
        **{part: SPLIT.replace("{part}", part) for part in PARTS},
    params:
        task=lambda w: task_settings(w.task),
        split=config["split"],
        code=fingerprint("split"),
    log:
        "results/logs/split/{task}.log",
    conda:
        "../envs/annotate.yaml"
    script:
        "../scripts/split.py"
