"""Predict the test part with a trained student."""

from labeldistill.logs import configure
from labeldistill.stages import predict

configure(snakemake.log[0])
predict.run(
    student_dir=snakemake.input.student,
    test_texts=snakemake.input.test,
    out_path=snakemake.output[0],
    threads=snakemake.threads,
)
