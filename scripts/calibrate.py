"""Measure a local labeler's calibration once per task (see labeldistill.stages.calibrate)."""

from labeldistill.logs import job_errors
from labeldistill.stages import calibrate
from labeldistill.teachers.local_models import open_local_model

with job_errors(snakemake.log[0]):
    calibrate.run(
        pool_split=snakemake.input.pool,
        codebook=snakemake.input.codebook,
        labels=snakemake.params.labels,
        labeler=snakemake.wildcards.labeler,
        settings=snakemake.params.labeler,
        model_dir=open_local_model(snakemake.input.model),
        out_json=snakemake.output[0],
        threads=snakemake.threads,
        task=snakemake.wildcards.task,
    )
