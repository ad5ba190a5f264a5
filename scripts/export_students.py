"""Copy a task's students into one folder, each with its final model card (test score included)."""

from labeldistill.logs import job_errors
from labeldistill.stages import export_students

with job_errors(snakemake.log[0]):
    export_students.run(
        student_dirs=snakemake.input.students,
        metrics=snakemake.input.metrics,
        names=snakemake.params.names,
        out_dir=snakemake.output[0],
    )
