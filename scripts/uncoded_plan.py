"""The uncoded texts a task's students learn from (see labeldistill.stages.uncoded.plan)."""

from labeldistill.corpus.chunks import CorpusSpec
from labeldistill.logs import job_errors
from labeldistill.stages import uncoded

params = snakemake.params
with job_errors(snakemake.log[0]):
    uncoded.plan(
        uncoded=CorpusSpec(
            task=snakemake.wildcards.task, path=snakemake.input.uncoded, block="uncoded", **params.uncoded
        ),
        coded_parts=snakemake.input.parts,
        planned=params.planned,
        seed=params.seed,
        chunks=params.chunks,
        texts_path=snakemake.output.texts,
        summary_path=snakemake.output.plan,
    )
