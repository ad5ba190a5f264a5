"""Find or convert a local LLM in the shared models folder; record where it is."""

from labeldistill.logs import job_errors
from labeldistill.stages import prepare_model

with job_errors(snakemake.log[0]):
    prepare_model.run(snakemake.params.source, snakemake.params.models_dir, snakemake.output[0])
