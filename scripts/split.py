"""Split a task into pool / val / test (see labeldistill.stages.split)."""

from labeldistill.logs import configure
from labeldistill.splits import SplitSizes
from labeldistill.stages import split
from labeldistill.tasks import TaskSpec

configure(snakemake.log[0])
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
)
