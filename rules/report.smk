# Snakemake's own report (`snakemake --report report.html`) shows each figure and each table's
# CSV under its caption in report/: what it shows and what its intervals cover.
def captioned(path, kind):
    """`path` flagged for the report, with the caption of its name: report/{kind}/{name}.rst."""
    name = Path(path).name.split(".")[0]
    return report(path, caption=f"../report/{kind}/{name}.rst", category=kind.capitalize())


def report_tables():
    """Every table in every format; its CSV is the one in Snakemake's report."""
    tables = expand("results/tables/{name}.{ext}", name=TABLE_NAMES, ext=TABLE_FORMATS)
    return [captioned(path, "tables") if path.endswith(".csv") else path for path in tables]


def report_figures():
    return [captioned(path, "figures") for path in expand("results/figures/{name}.png", name=FIGURE_NAMES)]


rule report:
    input:
        metrics=metric_files(),
        comparisons=comparison_files(),
        splits=split_summaries(),
        agreement=agreement_files(),
        usage=usage_files(),
        corpus=corpus_estimate_files(),
    output:
        tables=report_tables(),
        figures=report_figures(),
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
