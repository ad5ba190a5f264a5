"""The most the configured API labeling could cost, before anything is sent."""

from labeldistill.logs import job_errors
from labeldistill.stages import estimate_cost

with job_errors(snakemake.log[0]):
    estimate_cost.run(
        split_files=snakemake.params.splits,
        tasks=snakemake.params.tasks,
        labelers=snakemake.params.labelers,
        tables_dir=snakemake.params.tables_dir,
        cache_dir=snakemake.config.get("cache_dir"),
        uncoded=snakemake.params.uncoded,
    )
