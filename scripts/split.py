"""Split a task into pool / val / test (see labeldistill.stages.split)."""

from labeldistill.logs import job_errors
from labeldistill.stages import split
from labeldistill.tasks.spec import TaskSpec
from labeldistill.tasks.splits import SplitSizes

with job_errors(snakemake.log[0]):
    settings = dict(snakemake.params.task)
    task = TaskSpec.from_config(
        snakemake.wildcards.task,
        {**settings, "texts": snakemake.input.texts, "codebook": ""},
    )
    split.run(
        task,
        SplitSizes.from_config(snakemake.params.split),
        seed=int(snakemake.params.split["seed"]),
        outputs={part: snakemake.output[part] for part in ("pool", "val", "test")},
        summary_path=snakemake.output.summary,
    )
