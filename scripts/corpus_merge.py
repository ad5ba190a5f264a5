"""Merge the labelled chunks of a task's corpus into one table."""

from labeldistill.logs import job_errors
from labeldistill.stages import corpus_merge

with job_errors(snakemake.log[0]):
    corpus_merge.run(chunk_files=list(snakemake.input.chunks), out_path=snakemake.output[0])
