"""Shares of the labels in a task's corpus with intervals (naive, human-only, PPI++)."""

from labeldistill.logs import job_errors
from labeldistill.stages import corpus_estimates

with job_errors(snakemake.log[0]):
    corpus_estimates.run(
        corpus_labels=snakemake.input.labels,
        test_texts=snakemake.input.test,
        prediction_files=list(snakemake.input.predictions),
        training_texts=[snakemake.input.pool, snakemake.input.val],
        out_path=snakemake.output[0],
        meta=snakemake.params.meta,
        labels=snakemake.params.labels,
        positive_label=snakemake.params.positive_label,
        covariates=snakemake.params.covariates,
        task_texts=next(iter(snakemake.input.task_texts), None),  # only with covariates
        task_id_column=snakemake.params.task_id_column,
        half_width=snakemake.params.half_width,
    )
