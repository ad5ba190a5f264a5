"""The most the configured API labeling could cost, before anything is sent."""

from labeldistill.logs import configure
from labeldistill.stages import estimate_cost

configure(snakemake.log[0])
estimate_cost.run(
    split_files=snakemake.params.splits,
    tasks=snakemake.params.tasks,
    labelers=snakemake.params.labelers,
    tables_dir=snakemake.params.tables_dir,
    cache_dir=snakemake.config.get("cache_dir"),
)
