# Snakemake's own report (`snakemake --report report.html`) shows each figure and each table's
# CSV under its caption in report/ (see report_tables in common.smk).
rule report:
    input:
        metrics=metric_files(),
        comparisons=comparison_files(),
        splits=split_summaries(),
        agreement=agreement_files(),
        disagreements=disagreement_files(),
        usage=usage_files(),
        corpus=corpus_estimate_files(),
        uncoded_plans=expand(UNCODED_PLAN, task=UNCODED_TASKS),
        uncoded_checks=expand(UNCODED_CHECK, task=UNCODED_TASKS, labeler=UNCODED_SOURCES),
    output:
        tables=report_tables(),
        figures=report_figures(),
        html=REPORT_HTML,
    params:
        tables_dir=lambda w, output: os.path.dirname(output.tables[0]),
        figures_dir=lambda w, output: os.path.dirname(output.figures[0]),
        human_cost_per_label=config["human"].get("cost_per_label"),
        code=fingerprint("report"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        log_file("report"),
    benchmark:
        benchmark_file("report")
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/report.py"
