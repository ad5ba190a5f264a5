"""A label source's chunks of uncoded texts merged, and the coded sample checked against them
(see labeldistill.stages.uncoded.merge)."""

from labeldistill.logs import job_errors
from labeldistill.stages import uncoded

inputs, params = snakemake.input, snakemake.params
with job_errors(snakemake.log[0]):
    uncoded.merge(
        chunk_labels=inputs.chunks,
        texts_path=inputs.texts,
        test_texts=inputs.test,
        test_labels=inputs.test_labels,
        labels=params.labels,
        positive_label=params.positive_label,
        task=snakemake.wildcards.task,
        labeler=snakemake.wildcards.labeler,
        out_path=snakemake.output.labels,
        check_path=snakemake.output.check,
    )
