"""Convert a local LLM from its registry package into a transformers folder, once."""

from labeldistill.logs import job_errors
from labeldistill.stages import prepare_model

with job_errors(snakemake.log[0]):
    prepare_model.run(snakemake.params.source, snakemake.output[0])
