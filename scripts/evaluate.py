"""Score one condition's test predictions against the human test labels."""

from labeldistill.logs import job_errors
from labeldistill.stages import evaluate

with job_errors(snakemake.log[0]):
    evaluate.run(
        predictions=snakemake.input.predictions,
        test_split=snakemake.input.test,
        positive_label=snakemake.params.positive_label,
        meta=snakemake.params.meta,
        out_json=snakemake.output[0],
        n_boot=snakemake.params.n_boot,
        headline=snakemake.params.headline,
    )
