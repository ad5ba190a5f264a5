"""Label one part of a task with one labeler (see labeldistill.stages.annotate)."""

from labeldistill.logs import job_errors
from labeldistill.stages import annotate
from labeldistill.teachers.local_models import open_local_model

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
        model_dir=open_local_model(inputs.model) if "model" in inputs.keys() else None,
        threads=snakemake.threads,
        task=snakemake.wildcards.task,
        cache_dir=snakemake.config.get("cache_dir"),
        server_log=snakemake.log.server,
        calibration_path=inputs.get("calibration"),
    )
