rule report:
    input:
        metrics=metric_files(),
        comparisons=comparison_files(),
        splits=split_summaries(),
        agreement=agreement_files(),
        usage=usage_files(),
        corpus=corpus_estimate_files(),
    output:
        tables=expand("results/tables/{name}.{ext}", name=TABLE_NAMES, ext=TABLE_FORMATS),
        figures=expand("results/figures/{name}.png", name=FIGURE_NAMES),
        html="results/report.html",
    params:
        tables_dir=lambda w, output: os.path.dirname(output.tables[0]),
        figures_dir=lambda w, output: os.path.dirname(output.figures[0]),
        code=fingerprint("report"),
    threads: 1
    resources:
        **rule_resources("default"),
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/report.py"
