"""Convert a local LLM from its registry package into a transformers folder, once."""

from labeldistill.logs import configure
from labeldistill.stages import prepare_model

configure(snakemake.log[0])
prepare_model.run(snakemake.params.source, snakemake.output[0])
