"""Agreement of an LLM labeler with the human labels on `val`, and the human baselines; for an
ensemble also the pairwise agreement between its members."""

from labeldistill.logs import job_errors
from labeldistill.stages import agreement

with job_errors(snakemake.log[0]):
    agreement.run(
        val_split=snakemake.input.val,
        val_labels=snakemake.input.labels,
        coder_labels=snakemake.input.coder_labels or None,
        labels=snakemake.params.labels,
        positive_label=snakemake.params.positive_label,
        meta={"task": snakemake.wildcards.task, "labeler": snakemake.wildcards.labeler},
        out_json=snakemake.output[0],
        out_disagreements=snakemake.output.disagreements,
        # config evaluation.alt_test; None (the defaults) while the rule does not pass it
        alt_test=getattr(snakemake.params, "alt_test", None),
        label_map=snakemake.params.label_map,
        member_labels=dict(zip(snakemake.params.members, snakemake.input.members, strict=True)),
        headline=snakemake.params.headline,
    )
