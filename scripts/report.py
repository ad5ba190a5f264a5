"""Tables, figures and the HTML report from every metrics and agreement file."""

from labeldistill.logs import configure
from labeldistill.stages import report

configure(snakemake.log[0])
report.run(
    metric_files=snakemake.input.metrics,
    agreement_files=snakemake.input.agreement,
    usage_files=snakemake.input.usage,
    tables_dir=snakemake.params.tables_dir,
    figures_dir=snakemake.params.figures_dir,
    html_path=snakemake.output.html,
)
