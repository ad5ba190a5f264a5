"""One chunk of a task's uncoded texts labelled by one label source
(see labeldistill.stages.annotate_uncoded.label_chunk)."""

from labeldistill.corpus.chunks import CorpusSpec
from labeldistill.logs import job_errors
from labeldistill.stages import annotate_uncoded

inputs, params = snakemake.input, snakemake.params
with job_errors(snakemake.log.main):
    annotate_uncoded.label_chunk(
        uncoded=CorpusSpec(
            task=snakemake.wildcards.task, path=inputs.uncoded, block="uncoded", **params.uncoded
        ),
        coded_parts=[inputs.pool, inputs.val, inputs.test],
        seed=params.seed,
        **params.rows,
        labels=params.labels,
        labeler=snakemake.wildcards.labeler,
        settings=params.labeler,
        out_path=snakemake.output.labels,
        usage_path=snakemake.output.usage,
        model_record=inputs.get("model"),
        pool_split=inputs.pool,
        codebook=inputs.codebook,
        calibration_path=inputs.get("calibration"),
        threads=snakemake.threads,
        question=params.question,
        cache_dir=snakemake.config.get("cache_dir"),
        server_log=snakemake.log.server,
    )
