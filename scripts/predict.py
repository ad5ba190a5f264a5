"""Predict the test part with a trained student."""

from labeldistill.logs import job_errors
from labeldistill.stages import predict

with job_errors(snakemake.log[0]):
    predict.run(
        student_dir=snakemake.input.student,
        test_texts=snakemake.input.test,
        out_path=snakemake.output[0],
        threads=snakemake.threads,
    )
