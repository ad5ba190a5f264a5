# Paths, config accessors, code fingerprints and job resources: every path pattern is spelled
# here only.

import dataclasses
import functools
import os
import re
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
# Jobs import the package from this workflow's own source tree, whatever is installed.
sys.path.insert(0, str(SRC))
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
# Jobs share the cores: spinning OpenMP threads of one job would starve the other's.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from labeldistill.config import resources as res
from labeldistill.conditions import labeler_kind, parse_source, size_label
from labeldistill.corpus.chunks import PARSE_CHECK_MB as DEFAULT_PARSE_CHECK_MB
from labeldistill.corpus.chunks import CorpusSpec, checked_by_job, corpus_chunks
from labeldistill.errors import LabelDistillError
from labeldistill.config.fingerprint import code_fingerprint
from labeldistill.logs import error_lines, warning_line
from labeldistill.tasks.splits import task_split_settings
from labeldistill.tasks.spec import TaskSpec
from labeldistill.config.prepare import prepare
from labeldistill.config.run_lock import forget_run, record_run, stale_lock_line

HUMAN = "human"
PARTS = ["pool", "val", "test"]


def labeler_block(source):
    """The config block of a label source's labeler (`gemma~shots1` -> labelers.gemma)."""
    return config["labelers"][parse_source(source)[0]]


# A run killed outright leaves Snakemake's lock: one line ahead of Snakemake's long message.
if workflow.is_main_process and (_stale := stale_lock_line()):
    print(_stale, file=sys.stderr)


onstart:
    record_run()


onsuccess:
    forget_run()


onerror:
    forget_run()


try:
    # The schema, every setting and the task files, before any job; defaults filled in.
    _prepared = prepare(config)
    for _warning in _prepared.warnings:
        print(warning_line(_warning), file=sys.stderr)
except LabelDistillError as error:
    # One line per problem, not Snakemake's traceback of the workflow's own code.
    sys.exit(error_lines(error))

TASKS = list(config["tasks"])
# The study's grid (design.py): label sources (one per labeler and prompt draw), the training
# labelers (human, augmented, LLM) and their sizes, and the draw each seed's student learns from;
# built once, by the parse that checked it.
DESIGN = _prepared.design
LLM_LABELERS = list(config["labelers"])
LLM_SOURCES = DESIGN.llm_sources
SOURCES = [HUMAN] + LLM_SOURCES
API_SOURCES = [source for source in LLM_SOURCES if labeler_block(source)["backend"] == "openai"]
STUDENTS = list(config["students"])
SEEDS = [int(seed) for seed in config["seeds"]]
CORPUS = config.get("corpus") or {}
PARSE_CHECK_MB = CORPUS.get("parse_check_mb", DEFAULT_PARSE_CHECK_MB)
CORPUS_TASKS = [task for task in TASKS if config["tasks"][task].get("corpus")]
UNCODED_TASKS = list(DESIGN.uncoded_tasks)
UNCODED_SOURCES = DESIGN.uncoded_sources()


wildcard_constraints:
    task=r"[A-Za-z0-9_.\-]+",
    labeler=r"[A-Za-z0-9_.\-+~]+",
    size=r"\d+|all",
    student=r"[A-Za-z0-9_.\-]+",
    part="pool|val|test",
    seed=r"\d+",
    model=r"[A-Za-z0-9_.\-]+",
    chunk=r"\d+",


# ---- paths -----------------------------------------------------------------------------
# Every output, log and benchmark lies in the config's `results` folder, checked and normalised
# at parse (config/outputs.py): configs with folders of their own never overwrite one another.
RESULTS = config["results"]


def result(path):
    """`path` (a pattern with wildcards, or a file's name) inside the results folder."""
    return f"{RESULTS}/{path}"


def log_file(job, suffix=".log"):
    """The log of a job, named by its rule and wildcards (logs.py names the job from it)."""
    return result(f"logs/{job}{suffix}")


def benchmark_file(job):
    """The time and memory record of a job, named as its log."""
    return result(f"benchmarks/{job}.tsv")


SPLIT = result("{task}/splits/{part}.parquet")
SPLIT_SUMMARY = result("{task}/splits/summary.json")
LABELS = result("{task}/labels/{labeler}/{part}.parquet")
USAGE = result("{task}/usage/{labeler}/{part}.json")
CALIBRATION = result("{task}/calibration/{labeler}.json")
AGREEMENT = result("{task}/agreement/{labeler}.json")
DISAGREEMENTS = result("{task}/disagreements/{labeler}.parquet")
# Students: {labeler} is whose labels they learn from (human, human250+gemma, gemma), {size}
# how many training texts; the LLM's files: {labeler} is a label source (gemma, gemma~shots1).
STUDENT_DIR = result("{task}/students/{student}/{labeler}/n{size}/seed{seed}")
STUDENT_PREDICTIONS = result("{task}/predictions/{student}@{labeler}/n{size}/seed{seed}.parquet")
STUDENT_NAME = "{student}/{labeler}/n{size}/seed{seed}"  # a student's place under STUDENT_EXPORTS
STUDENT_EXPORTS = result("{task}/export")
FEWSHOT_PREDICTIONS = result("{task}/predictions/fewshot@{labeler}.parquet")
STUDENT_METRICS = result("{task}/metrics/{student}@{labeler}/n{size}/seed{seed}.json")
FEWSHOT_METRICS = result("{task}/metrics/fewshot@{labeler}.json")
COMPARISONS = result("{task}/comparisons.json")
CORPUS_CHUNK = result("{task}/corpus/chunks/{chunk}.parquet")
CORPUS_CHECKED = result("{task}/corpus/checked.json")
CORPUS_LABELS = result("{task}/corpus/labels.parquet")
CORPUS_ESTIMATES = result("{task}/corpus/estimates.json")
# Uncoded texts (tasks.<name>.uncoded): the plan (the texts students learn from), a label
# source's chunks and their usage, its merged labels (the part `uncoded`) and its check.
UNCODED_TEXTS = result("{task}/uncoded/texts.parquet")
UNCODED_PLAN = result("{task}/uncoded/plan.json")
UNCODED_CHUNK_LABELS = result("{task}/uncoded/labels/{labeler}/{chunk}.parquet")
UNCODED_USAGE = result("{task}/usage/{labeler}/uncoded/{chunk}.json")
UNCODED_LABELS = result("{task}/labels/{labeler}/uncoded.parquet")
UNCODED_CHECK = result("{task}/uncoded/checks/{labeler}.json")
CODEBOOK_CHECK = result("{task}/codebook_check/{labeler}.json")
# Converted local LLMs live in MODELS_DIR, shared by every checkout and run (content-addressed,
# see teachers/local/models.py); a results folder holds only the record of which one it uses.
from labeldistill.teachers.local.models import default_models_dir, local_model_facts
from labeldistill.teachers.local.models import local_model_name as model_file_name

MODELS_DIR = config.get("models_dir") or str(default_models_dir())
LOCAL_MODEL = result("models/{model}.json")
TABLE_NAMES = ["per_task", "medians", "gaps", "label_budget", "paper", "agreement", "coders", "data", "cost"]
TABLE_FORMATS = ["csv", "md", "tex"]
TABLE = result("tables/{name}.{ext}")
FIGURE = result("figures/{name}.png")
REPORT_HTML = result("report.html")
FIGURE_NAMES = [
    "f1_by_task",
    "f1_by_condition",
    "gaps_by_task",
    "label_budget",
    "reliability",
    "f1_against_cost",
]
if config["human"].get("cost_per_label") is not None:
    FIGURE_NAMES.append("label_budget_cost")
# Per label (only a run with a task scored by macro-F1 has the table) and the confusion matrices.
if any(TaskSpec.from_config(task, config["tasks"][task]).headline == "macro_f1" for task in TASKS):
    TABLE_NAMES.insert(1, "per_class")
FIGURE_NAMES.append("confusion")
if LLM_SOURCES:
    TABLE_NAMES.insert(TABLE_NAMES.index("coders") + 1, "disagreements")
if DESIGN.uncoded_tasks:
    TABLE_NAMES.append("uncoded")
if CORPUS_TASKS:
    TABLE_NAMES.append("corpus")
    FIGURE_NAMES.append("corpus_shares")


# ---- config accessors ------------------------------------------------------------------
@functools.cache  # asked once per job (thousands at the paper's scale); the config is fixed
def task_spec(task):
    return TaskSpec.from_config(task, config["tasks"][task])


def task_settings(task):
    """Everything about a task that its split depends on (paths are inputs, not params)."""
    spec = config["tasks"][task]
    # The corpus and the uncoded texts are no part of the split: naming them reruns only their jobs.
    ignored = ("codebook", "coder_labels", "corpus", "uncoded")
    return {key: value for key, value in spec.items() if key not in ignored}


def task_split(task):
    """The split's seed and sizes for a task: the config's `split`, the task's own over it."""
    return task_split_settings(config["split"], config["tasks"][task])


def labeler_settings(source):
    """What a label source's labels depend on: its labeler's settings with the draw's
    shots_seed, without the study's settings (train_sizes, shots_seeds)."""
    return {"backend": HUMAN} if source == HUMAN else DESIGN.source_settings(config["labelers"], source)


def local_model_name(source):
    """The name of a labeler's local model (a known name, or a path's name without .gguf),
    checked as a name at parse (config/names.py)."""
    return model_file_name(labeler_block(source)["model"])


def local_model_source(model):
    for name, settings in config["labelers"].items():
        if settings.get("backend") == "local" and local_model_name(name) == model:
            return settings["model"]
    raise LabelDistillError(f"no labeler in config key labelers uses a local model named {model!r}")


@functools.cache
def local_model_facts_of(model):
    """What the model's converted folder depends on, from cheap facts (versions, code hash)."""
    return local_model_facts(local_model_source(model))


def student_settings(student):
    """What training depends on; threads and device say where it runs, not what it learns."""
    return {k: v for k, v in config["students"][student].items() if k not in ("threads", "device")}


def student_threads(student):
    return config["students"][student]["threads"]  # checked and filled in at parse


def labeler_threads(source):
    if source == HUMAN:
        return 1
    settings = labeler_block(source)
    if settings.get("server"):
        # Every job of this labeler starts its server on the same port: one at a time.
        return workflow.cores
    return settings["threads"]  # checked and filled in per backend at parse (teachers/settings.py)


def fingerprint(stage):
    """Hash of the package code a stage runs: edits there rerun exactly that stage. The imports
    found in each file are cached by its content, so a parse parses only the files edited."""
    cache_file = Path(".snakemake") / "labeldistill" / "fingerprint-imports.json"
    return code_fingerprint(SRC, f"labeldistill.stages.{stage}", cache_file=cache_file)


LOCAL_SOURCES = [source for source in LLM_SOURCES if labeler_block(source)["backend"] == "local"]
# Ensemble labelers combine other label sources (ensemble.py); the rest label from a prompt.
ENSEMBLE_SOURCES = [source for source in LLM_SOURCES if labeler_block(source)["backend"] == "ensemble"]
PROMPT_SOURCES = [source for source in LLM_SOURCES if source not in ENSEMBLE_SOURCES]


def labeler_pattern(names):
    """A wildcard constraint matching exactly these labelers (nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


# A local labeler labels a task's parts in one job (annotate_local), an ensemble combines its
# members' labels of a task's parts in one job (combine), any other labeler labels one part per
# job (annotate); these constraints keep the three rules apart.
LOCAL_LABELER = labeler_pattern(LOCAL_SOURCES)
ENSEMBLE_LABELER = labeler_pattern(ENSEMBLE_SOURCES)
PART_LABELER = labeler_pattern(
    [source for source in SOURCES if source not in LOCAL_SOURCES and source not in ENSEMBLE_SOURCES]
)


def annotate_local_inputs(wildcards):
    """Every part of the task, the codebook and the record of the labeler's converted model."""
    return {
        **{part: SPLIT.replace("{part}", part) for part in PARTS},
        "codebook": config["tasks"][wildcards.task]["codebook"],
        "model": LOCAL_MODEL.format(model=local_model_name(wildcards.labeler)),
    }


def member_files(pattern, wildcards, part):
    """`pattern` (LABELS or USAGE) of one part for every member of an ensemble, in order."""
    members = DESIGN.members_of(wildcards.labeler)
    return [pattern.format(task=wildcards.task, labeler=member, part=part) for member in members]


def combine_inputs(wildcards):
    """Every part of the task, and each member's labels and usage record of every part."""
    inputs = {}
    for part in PARTS:
        inputs[part] = SPLIT.replace("{part}", part)
        inputs[f"{part}_labels"] = member_files(LABELS, wildcards, part)
        inputs[f"{part}_usage"] = member_files(USAGE, wildcards, part)
    return inputs


def codebook_check_inputs(wildcards):
    """The val texts and the pool (few-shot examples, calibration), the codebook, and for a
    local labeler the record of its converted model; never another job's labels."""
    inputs = {
        "val": SPLIT.replace("{part}", "val"),
        "pool": SPLIT.replace("{part}", "pool"),
        "codebook": config["tasks"][wildcards.task]["codebook"],
    }
    if wildcards.labeler in LOCAL_SOURCES:
        inputs["model"] = LOCAL_MODEL.format(model=local_model_name(wildcards.labeler))
    return inputs


def annotate_inputs(wildcards):
    """Human labels need only the split; an API labeler also reads the codebook and the pool."""
    inputs = {"texts": SPLIT}
    if wildcards.labeler != HUMAN:
        inputs["pool"] = SPLIT.replace("{part}", "pool")
        inputs["codebook"] = config["tasks"][wildcards.task]["codebook"]
    return inputs


# ---- the corpus ------------------------------------------------------------------------
@functools.cache
def corpus_spec(task):
    return CorpusSpec.from_config(task, config["tasks"][task]["corpus"])


@functools.cache
def corpus_plan(task):
    """The task's corpus chunks: rows counted at parse time (CSV: cached under .snakemake/)."""
    return corpus_chunks(corpus_spec(task), int(CORPUS.get("chunk_size", 10000)), PARSE_CHECK_MB)


def corpus_checked(task):
    """The record of the job that checks a corpus too large to check at parse (else none)."""
    return [CORPUS_CHECKED.format(task=task)] if checked_by_job(corpus_spec(task), PARSE_CHECK_MB) else []


try:
    for _task in CORPUS_TASKS:
        corpus_plan(_task)
except LabelDistillError as error:
    sys.exit(f"labeldistill: {error}")


def corpus_seeds():
    return [int(seed) for seed in CORPUS.get("seeds") or SEEDS]


def corpus_size():
    """The chosen student's training size: corpus.train_size, else its labeler's largest."""
    if CORPUS.get("train_size") is not None:
        return size_label(CORPUS["train_size"])
    return DESIGN.train_sizes[CORPUS["labeler"]][-1]


def corpus_student_files(task, pattern):
    """A file of the chosen student (its folder, its test predictions), one per chosen seed."""
    chosen = dict(task=task, student=CORPUS["student"], labeler=CORPUS["labeler"], size=corpus_size())
    return [pattern.format(**chosen, seed=seed) for seed in corpus_seeds()]


def corpus_student_dirs(task):
    return corpus_student_files(task, STUDENT_DIR)


def corpus_test_predictions(task):
    """The same students' predictions of the human-labelled test texts (for PPI)."""
    return corpus_student_files(task, STUDENT_PREDICTIONS)


def corpus_chunk_params(task, chunk):
    """Rows (and CSV byte offset) of one chunk: a different plan reruns exactly its chunks."""
    plan = corpus_plan(task)
    if int(chunk) >= len(plan):
        raise LabelDistillError(f"{task}'s corpus has {len(plan)} chunks, there is no chunk {chunk}")
    return dataclasses.asdict(plan[int(chunk)])


def corpus_chunk_files(task):
    return expand(CORPUS_CHUNK, task=task, chunk=range(len(corpus_plan(task))))


def corpus_task_texts(task):
    """The task's texts file, which holds the test texts' covariates (only read with covariates)."""
    return [config["tasks"][task]["texts"]] if corpus_spec(task).covariates else []


def corpus_estimate_files():
    return expand(CORPUS_ESTIMATES, task=CORPUS_TASKS)


# ---- uncoded texts ---------------------------------------------------------------------
@functools.cache
def uncoded_spec(task):
    return CorpusSpec.from_config(task, config["tasks"][task]["uncoded"], block="uncoded")


@functools.cache
def uncoded_rows(task):
    """The uncoded file's rows, counted at parse (cached as a corpus's are)."""
    return corpus_chunks(uncoded_spec(task), DESIGN.uncoded.chunk_size, PARSE_CHECK_MB)[-1].stop


def uncoded_planned(task):
    return DESIGN.uncoded.planned(uncoded_rows(task))


def uncoded_chunk_count(task):
    return DESIGN.uncoded.n_chunks(uncoded_rows(task))


def uncoded_chunk_params(task, chunk):
    """Rows [start, stop) of the plan's order: a larger train size adds chunks, keeps these."""
    size = DESIGN.uncoded.chunk_size
    if int(chunk) >= uncoded_chunk_count(task):
        raise LabelDistillError(
            f"{task}'s uncoded texts have {uncoded_chunk_count(task)} chunks, not {chunk}"
        )
    start = int(chunk) * size
    return {"start": start, "stop": min(start + size, uncoded_planned(task))}


def uncoded_chunk_files(pattern, task, labeler):
    return expand(pattern, task=task, labeler=labeler, chunk=range(uncoded_chunk_count(task)))


def uncoded_inputs(wildcards):
    """The uncoded file, the split's parts (their texts' twins are dropped; the pool gives the
    examples), the codebook, and a local labeler's model record and calibration."""
    inputs = {
        "uncoded": uncoded_spec(wildcards.task).path,
        **{part: SPLIT.replace("{part}", part) for part in PARTS},
        "codebook": config["tasks"][wildcards.task]["codebook"],
    }
    if labeler_block(wildcards.labeler)["backend"] == "local":
        inputs["model"] = LOCAL_MODEL.format(model=local_model_name(wildcards.labeler))
        inputs["calibration"] = CALIBRATION
    return inputs


def uncoded_usage_files():
    return [
        path
        for task in UNCODED_TASKS
        for source in UNCODED_SOURCES
        for path in uncoded_chunk_files(UNCODED_USAGE, task, source)
    ]


try:
    for _task in UNCODED_TASKS:
        uncoded_rows(_task)
except LabelDistillError as error:
    sys.exit(f"labeldistill: {error}")


CORPUS_ON_GPU = {"corpus": res.student_on_gpu(config["students"][CORPUS["student"]])} if CORPUS_TASKS else {}


# ---- resources -------------------------------------------------------------------------
def rule_resources(family, gpu_wildcard=None, on_gpu=None):
    """What the jobs of a family ask for (config `resources`); use as `**rule_resources(...)`.

    Heavy jobs double memory and runtime per attempt (a retry after an out-of-memory or
    time-out kill gets more); the light rules run in the main process and ask for fixed values.
    GPUs: `on_gpu` maps each value of the wildcard `gpu_wildcard` to whether its jobs run on a
    GPU. Constants wherever possible: Snakemake evaluates every callable once per job.
    """
    settings = res.family_settings(config, family)
    if family == "default":
        resources = {"mem_mb": settings["mem_mb"], "runtime": settings["runtime"]}
    else:
        resources = {
            "mem_mb": lambda w, attempt: res.scaled(settings["mem_mb"], attempt),
            "runtime": lambda w, attempt: res.scaled(settings["runtime"], attempt),
        }
    if on_gpu is not None:
        gpus = {name: res.gpus(config, family, gpu) for name, gpu in on_gpu.items()}
        if len(set(gpus.values())) > 1:
            resources["gpu"] = lambda w: gpus[getattr(w, gpu_wildcard)]
        else:
            resources["gpu"] = next(iter(gpus.values()), 0)
    if settings.get("slurm_partition"):
        resources["slurm_partition"] = settings["slurm_partition"]
    return resources


LABELER_ON_GPU = {source: res.labeler_on_gpu(labeler_settings(source)) for source in SOURCES}
STUDENT_ON_GPU = {name: res.student_on_gpu(config["students"][name]) for name in STUDENTS}


# ---- targets ---------------------------------------------------------------------------
def student_file(pattern, task, condition, seed):
    """`pattern` of one student condition and seed of a task."""
    return pattern.format(
        task=task,
        student=condition.student,
        labeler=condition.labeler,
        size=condition.size,
        seed=seed,
    )


def student_files(pattern, task):
    """`pattern` for every student condition and seed of a task."""
    return [student_file(pattern, task, c, seed) for c in DESIGN.student_conditions(task) for seed in SEEDS]


def metric_files():
    students = [path for task in TASKS for path in student_files(STUDENT_METRICS, task)]
    fewshot = expand(FEWSHOT_METRICS, task=TASKS, labeler=LLM_SOURCES)
    return students + fewshot


def task_predictions(task):
    """{condition: {seed, or the prompt draw of a few-shot condition ("" for its only one):
    predictions file}} of one task."""
    conditions = {
        c.name: {str(seed): student_file(STUDENT_PREDICTIONS, task, c, seed) for seed in SEEDS}
        for c in DESIGN.student_conditions(task)
    }
    for labeler in LLM_LABELERS:
        conditions[f"fewshot@{labeler}"] = {
            "" if draw is None else str(draw): FEWSHOT_PREDICTIONS.format(task=task, labeler=source)
            for source in DESIGN.sources_of(labeler)
            for draw in [parse_source(source)[1]]
        }
    return conditions


def train_inputs(wildcards):
    """The split's parts and the labels a student learns from: its seed's label source (an
    augmented student also reads the human labels of the pool)."""
    source = DESIGN.source_for_seed(DESIGN.rest_labeler(wildcards.labeler), int(wildcards.seed))
    inputs = {
        **{f"{part}_texts": SPLIT.replace("{part}", part) for part in PARTS},
        "pool_labels": LABELS.replace("{labeler}", source).replace("{part}", "pool"),
        "val_labels": LABELS.replace("{labeler}", source).replace("{part}", "val"),
    }
    if labeler_kind(wildcards.labeler) == "uncoded":  # learns from the uncoded texts, not the pool
        inputs["pool_texts"] = UNCODED_TEXTS
        inputs["pool_labels"] = UNCODED_LABELS.replace("{labeler}", source)
    if DESIGN.human_count(wildcards.labeler) is not None:
        inputs["human_pool_labels"] = LABELS.replace("{labeler}", HUMAN).replace("{part}", "pool")
    return inputs


def comparison_files():
    return expand(COMPARISONS, task=TASKS)


def split_summaries():
    return expand(SPLIT_SUMMARY, task=TASKS)


def agreement_files():
    return expand(AGREEMENT, task=TASKS, labeler=LLM_SOURCES)


def disagreement_files():
    return expand(DISAGREEMENTS, task=TASKS, labeler=LLM_SOURCES)


def usage_files():
    return expand(USAGE, task=TASKS, labeler=LLM_SOURCES, part=PARTS) + uncoded_usage_files()


def report_outputs():
    tables = expand(TABLE, name=TABLE_NAMES, ext=TABLE_FORMATS)
    figures = expand(FIGURE, name=FIGURE_NAMES)
    return tables + figures + [REPORT_HTML]


# Snakemake's own report (`snakemake --report report.html`) shows each figure and each table's
# CSV under its caption in report/: what it shows and what its intervals cover.
def captioned(path, kind):
    """`path` flagged for the report, with the caption of its name: report/{kind}/{name}.rst."""
    name = Path(path).name.split(".")[0]
    return report(path, caption=f"../report/{kind}/{name}.rst", category=kind.capitalize())


def report_tables():
    """Every table in every format; its CSV is the one in Snakemake's report."""
    tables = expand(TABLE, name=TABLE_NAMES, ext=TABLE_FORMATS)
    return [captioned(path, "tables") if path.endswith(".csv") else path for path in tables]


def report_figures():
    return [captioned(path, "figures") for path in expand(FIGURE, name=FIGURE_NAMES)]
