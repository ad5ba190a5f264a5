"""Agreement of an LLM labeler with the human labels on `val`."""

from labeldistill.logs import configure
from labeldistill.stages import agreement

configure(snakemake.log[0])
agreement.run(
    val_split=snakemake.input.val,
    val_labels=snakemake.input.labels,
    coder_labels=snakemake.input.coder_labels or None,
    labels=snakemake.params.labels,
    positive_label=snakemake.params.positive_label,
    meta={"task": snakemake.wildcards.task, "labeler": snakemake.wildcards.labeler},
    out_json=snakemake.output[0],
)
