"""An ensemble labeler's labels of every part of a task from its members' labels (see
labeldistill.stages.combine)."""

from labeldistill.logs import job_errors
from labeldistill.stages import combine

inputs, output = snakemake.input, snakemake.output
parts = ["pool", "val", "test"]
with job_errors(snakemake.log[0]):
    combine.run(
        splits={part: inputs[part] for part in parts},
        members=snakemake.params.members,
        member_labels={part: list(inputs[f"{part}_labels"]) for part in parts},
        member_usage_paths={part: list(inputs[f"{part}_usage"]) for part in parts},
        labels=snakemake.params.labels,
        labeler=snakemake.wildcards.labeler,
        settings=snakemake.params.labeler,
        labels_paths={part: output[f"{part}_labels"] for part in parts},
        usage_paths={part: output[f"{part}_usage"] for part in parts},
        task=snakemake.wildcards.task,
    )
