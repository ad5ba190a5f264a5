"""Seed-mean intervals per condition and paired gaps of one task (see labeldistill.stages.compare)."""

from labeldistill.logs import job_errors
from labeldistill.stages import compare

with job_errors(snakemake.log[0]):
    compare.run(
        task=snakemake.wildcards.task,
        test_split=snakemake.input.test,
        predictions=snakemake.params.predictions,
        positive_label=snakemake.params.positive_label,
        out_json=snakemake.output[0],
        n_boot=snakemake.params.n_boot,
        headline=snakemake.params.headline,
    )
