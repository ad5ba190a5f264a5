"""The codebook check of one LLM labeler's prompt on one task (see labeldistill.stages.codebook_check)."""

from labeldistill.logs import job_errors
from labeldistill.stages import codebook_check

inputs, params = snakemake.input, snakemake.params
with job_errors(snakemake.log.main):
    codebook_check.run(
        val_split=inputs.val,
        pool_split=inputs.pool,
        codebook=inputs.codebook,
        labels=params.labels,
        question=params.question,
        labeler=snakemake.wildcards.labeler,
        settings=params.labeler,
        out_json=snakemake.output[0],
        texts=params.texts,
        seed=params.seed,
        model_record=inputs.get("model"),
        threads=snakemake.threads,
        task=snakemake.wildcards.task,
        cache_dir=snakemake.config.get("cache_dir"),
        server_log=snakemake.log.server,
    )
