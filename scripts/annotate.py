"""Label one part of a task with one labeler (see labeldistill.stages.annotate)."""

from labeldistill.logs import configure
from labeldistill.stages import annotate

configure(snakemake.log[0])
inputs = snakemake.input
annotate.run(
    part_split=inputs.texts,
    pool_split=inputs.get("pool"),
    codebook=inputs.get("codebook"),
    labels=snakemake.params.labels,
    labeler=snakemake.wildcards.labeler,
    settings=snakemake.params.labeler,
    out_path=snakemake.output.labels,
    model_dir=inputs.get("model"),
    threads=snakemake.threads,
)
