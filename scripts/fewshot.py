"""The LLM labeler's own test labels as few-shot classifier predictions."""

from labeldistill.logs import job_errors
from labeldistill.stages import fewshot

with job_errors(snakemake.log[0]):
    fewshot.run(test_labels=snakemake.input[0], out_path=snakemake.output[0])
