"""Tables, figures and the HTML report from every metrics and agreement file."""

from labeldistill.logs import job_errors
from labeldistill.stages import report

with job_errors(snakemake.log[0]):
    report.run(
        metric_files=snakemake.input.metrics,
        comparison_files=snakemake.input.comparisons,
        split_files=snakemake.input.splits,
        agreement_files=snakemake.input.agreement,
        disagreement_files=snakemake.input.disagreements,
        usage_files=snakemake.input.usage,
        corpus_files=snakemake.input.corpus,
        uncoded_plan_files=snakemake.input.uncoded_plans,
        uncoded_check_files=snakemake.input.uncoded_checks,
        tables_dir=snakemake.params.tables_dir,
        figures_dir=snakemake.params.figures_dir,
        html_path=snakemake.output.html,
        human_cost_per_label=snakemake.params.human_cost_per_label,
    )
