# labeldistill: LLM labels -> student classifiers -> scores against held-out human labels.
# Rules live in rules/, logic in src/labeldistill/, every config key in schemas/ (top level)
# and src/labeldistill/{teachers,students}/settings.py (labelers, students); rules/common.smk
# checks the config and the task files before any job.

from snakemake.utils import min_version

min_version("9.0")


report: "report/workflow.rst"


# The default run's config, unless the user brings their own with --configfile (a user's
# config replaces the default one rather than being merged into the demo tasks).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/annotate.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/corpus.smk"
include: "rules/uncoded.smk"
include: "rules/report.smk"
include: "rules/codebook_check.smk"


# Seconds of work each: on a cluster they run in this process instead of as queued jobs.
localrules:
    all,
    split,
    agreement,
    combine,
    fewshot,
    evaluate_student,
    evaluate_fewshot,
    compare,
    report,
    estimate_cost,
    codebook_check,
    corpus_estimates,
    uncoded_merge,
    export_students,


rule all:
    input:
        report_outputs(),
        expand(STUDENT_EXPORTS, task=TASKS),
    default_target: True
