"""Label one part of a task with a human or API labeler (see labeldistill.stages.annotate;
local labelers label a task's parts in one job, scripts/annotate_local.py)."""

from labeldistill.logs import job_errors
from labeldistill.stages import annotate

inputs = snakemake.input
with job_errors(snakemake.log.main):
    annotate.run(
        part_split=inputs.texts,
        pool_split=inputs.get("pool"),
        codebook=inputs.get("codebook"),
        labels=snakemake.params.labels,
        labeler=snakemake.wildcards.labeler,
        settings=snakemake.params.labeler,
        out_path=snakemake.output.labels,
        usage_path=snakemake.output.usage,
        threads=snakemake.threads,
        task=snakemake.wildcards.task,
        question=snakemake.params.question,
        cache_dir=snakemake.config.get("cache_dir"),
        server_log=snakemake.log.server,
    )
