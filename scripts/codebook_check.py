"""The codebook check's table and verdicts (see labeldistill.stages.codebook_check_table)."""

from labeldistill.logs import job_errors
from labeldistill.stages import codebook_check_table

with job_errors(snakemake.log[0]):
    codebook_check_table.run(
        records=snakemake.input,
        thresholds=snakemake.params.thresholds,
        tables_dir=snakemake.params.tables_dir,
    )
