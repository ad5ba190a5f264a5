"""Label every part of a task with a local labeler, the model loaded and calibrated once
(see labeldistill.stages.annotate.run_local)."""

from labeldistill.logs import job_errors
from labeldistill.stages import annotate

inputs, output = snakemake.input, snakemake.output
parts = ["pool", "val", "test"]
with job_errors(snakemake.log[0]):
    annotate.run_local(
        splits={part: inputs[part] for part in parts},
        codebook=inputs.codebook,
        labels=snakemake.params.labels,
        labeler=snakemake.wildcards.labeler,
        settings=snakemake.params.labeler,
        model_record=inputs.model,
        labels_paths={part: output[f"{part}_labels"] for part in parts},
        usage_paths={part: output[f"{part}_usage"] for part in parts},
        calibration_path=output.calibration,
        threads=snakemake.threads,
        task=snakemake.wildcards.task,
        question=snakemake.params.question,
    )
