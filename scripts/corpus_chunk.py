"""Label one chunk of a task's corpus with the chosen student (seeds averaged)."""

from labeldistill.corpus.chunks import Chunk, CorpusSpec
from labeldistill.logs import job_errors
from labeldistill.stages import corpus_chunk

with job_errors(snakemake.log[0]):
    corpus_chunk.run(
        corpus=CorpusSpec(
            task=snakemake.wildcards.task, path=snakemake.input.corpus, **snakemake.params.corpus
        ),
        chunk=Chunk(**snakemake.params.chunk),
        student_dirs=snakemake.input.students,
        labels=snakemake.params.labels,
        out_path=snakemake.output[0],
        threads=snakemake.threads,
    )
