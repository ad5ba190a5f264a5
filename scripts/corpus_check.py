"""Check every row of a corpus file too large to check at parse, before any chunk is labelled."""

from labeldistill.corpus.chunks import CorpusSpec
from labeldistill.logs import job_errors
from labeldistill.stages import corpus_check

with job_errors(snakemake.log[0]):
    corpus_check.run(
        corpus=CorpusSpec(
            task=snakemake.wildcards.task, path=snakemake.input.corpus, **snakemake.params.corpus
        ),
        out_path=snakemake.output[0],
    )
