"""Train one student on one labeler's labels with one seed, then predict the test texts."""

from labeldistill.logs import job_errors
from labeldistill.stages import train

with job_errors(snakemake.log[0]):
    inputs = snakemake.input
    train.run(
        pool_texts=inputs.pool_texts,
        pool_labels=inputs.pool_labels,
        val_texts=inputs.val_texts,
        val_labels=inputs.val_labels,
        student=snakemake.params.student,
        labels=snakemake.params.labels,
        seed=int(snakemake.wildcards.seed),
        train_size=snakemake.params.train_size,
        out_dir=snakemake.output.student,
        threads=snakemake.threads,
        config_key=f"students.{snakemake.wildcards.student}",
        training=snakemake.params.training,
        test_texts=inputs.test_texts,
        predictions_path=snakemake.output.predictions,
        human_pool_labels=inputs.get("human_pool_labels"),
        human_count=snakemake.params.human_count,
        card={**snakemake.params.card, "code": snakemake.params.code},
    )
