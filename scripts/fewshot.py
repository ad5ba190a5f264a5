"""The LLM labeler's own test labels as few-shot classifier predictions."""

from labeldistill.logs import configure
from labeldistill.stages import fewshot

configure(snakemake.log[0])
fewshot.run(test_labels=snakemake.input[0], out_path=snakemake.output[0])
