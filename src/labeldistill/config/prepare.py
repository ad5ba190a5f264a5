"""The config, checked whole when the workflow is parsed, before any job runs.

`prepare` is what the Snakefile calls (`prepare_config` gives only the warnings). In order, each
step only when the ones before it found nothing:
1. the JSON Schema (schemas/config.schema.yaml): one line per problem, with the nearest valid
   key for a typo, never the schema itself; the names that become paths (names.py); then the
   schema's defaults are filled in, the output folder `results` is checked (outputs.py), and
   every task with `one_vs_rest: true` is replaced by its K binary tasks (`expand_one_vs_rest`),
   so that everything after sees only the tasks that run;
2. every labeler and student block against its declared settings (teachers/settings.py,
   students/settings.py), which replace the blocks with every default filled in;
3. what neither can express: files exist, the corpus settings, the API keys a run will need;
   here the study's design (design.py) is built, once: every check after reads it, and so
   does rules/common.smk;
4. the task files themselves (task_checks.py): readable, their columns, ids, texts and labels,
   the split sizes against the data, fixed few-shot examples in the pool; warnings for labels
   without texts and for test parts too thin for a label.
Every problem is one line naming the config key or the file and line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from labeldistill.conditions import size_label
from labeldistill.config.design import StudyDesign, sizes_config_key
from labeldistill.config.names import name_line, name_problems
from labeldistill.config.outputs import resolve_results
from labeldistill.config.schema import SCHEMA, load_schema
from labeldistill.corpus.chunks import PARSE_CHECK_MB, CorpusSpec, check_columns, corpus_chunks
from labeldistill.corpus.uncoded import UNCODED
from labeldistill.declare import nearest
from labeldistill.errors import LabelDistillError
from labeldistill.students.settings import check_student
from labeldistill.tasks.splits import task_split_settings
from labeldistill.teachers.settings import check_labeler

log = logging.getLogger(__name__)

HUMAN = "human"
# The most likely first config lacks a students block: say what one looks like.
EXAMPLE_BLOCKS = {
    "students": "students: {tfidf-logreg: {kind: tfidf-logreg}}",
    "tasks": "tasks: {mytask: {texts: data.csv, codebook: codebook.md, labels: [yes, no]}}",
}


class ConfigProblems(LabelDistillError):
    """Several problems at once: one line each."""

    def __init__(self, lines: Iterable[str]):
        self.lines = list(dict.fromkeys(lines))  # in order, each once
        super().__init__("\n".join(self.lines))


# ---- 1. the schema --------------------------------------------------------------------------
def _key(path: Iterable) -> str:
    return ".".join(str(part) for part in path)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error) -> list[str]:
    """One line per problem a jsonschema ValidationError stands for."""
    key = _key(error.absolute_path)
    where = f"config key {key}" if key else "config"
    schema, kind = error.schema, error.validator
    if kind == "additionalProperties":
        valid = list(schema.get("properties", {}))
        extra = [name for name in error.instance if name not in valid]
        return [
            f"config key {_key([*error.absolute_path, name])}: unknown key{nearest(name, valid)} "
            f"(valid here: {', '.join(valid)})"
            for name in extra
        ]
    if kind == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return [
            f"{where}: {name} is required"
            + (f"; for example {EXAMPLE_BLOCKS[name]}" if not key and name in EXAMPLE_BLOCKS else "")
            for name in missing
        ]
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return [f"{where}: {_short(error.instance)} is not of type {wanted}"]
    if kind == "enum":
        return [f"{where}: {_short(error.instance)} is not one of {error.validator_value}"]
    if kind == "propertyNames" or (kind == "pattern" and "propertyNames" in error.schema_path):
        # The same line as names.py gives for any name the schema cannot refuse.
        return [name_line(key, error.instance) or f"{where}: the name {_short(error.instance)} is not valid"]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kind]
        return [f"{where}: {_short(error.instance)} must be {relation} {error.validator_value}"]
    if kind in ("minItems", "minProperties"):
        count = error.validator_value
        return [f"{where}: needs at least {count} {'entry' if count == 1 else 'entries'}"]
    if kind == "uniqueItems":
        return [f"{where}: {_short(error.instance)} has repeated items"]
    return [f"{where}: {_short(error.message, 160)}"]


def schema_problems(config: Mapping, schema: dict | None = None) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema or load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    lines, items = [], {}
    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "type" and path and isinstance(path[-1], int):
            # Items of one list of the wrong type (labels: [0, 1]) are one line, not one each.
            items.setdefault((_key(path[:-1]), str(error.validator_value)), []).append(error.instance)
        else:
            lines += _describe(error)
    for (key, wanted), values in items.items():
        hint = "; quote them in YAML ('0', not 0)" if wanted == "string" else ""
        verb = "is" if len(values) == 1 else "are"
        lines.append(f"config key {key}: {_short(values)} {verb} not of type {wanted}{hint}")
    return lines


def fill_defaults(config: dict) -> None:
    """The schema's defaults into `config` (Snakemake's validate sets them)."""
    from snakemake.utils import validate

    validate(config, str(SCHEMA), set_default=True)


def expand_one_vs_rest(config: dict) -> list[str]:
    """Replace every task with `one_vs_rest: true` by one binary task per label, in place.

    Task `t` with labels [a, b, c] becomes `t.a`, `t.b`, `t.c` (`tasks.one_vs_rest_name`), each
    with labels [label, rest] (`tasks.rest_label`), that label positive, and the rest of `t`'s
    settings (texts, codebook, coders, split, corpus); `one_vs_rest_of` records `t` and its
    labels, from which the task reads its file's labels and the question its prompt adds. The
    tasks keep the config's order. Returns one line per problem (a name taken twice, a
    positive_label beside one_vs_rest).
    """
    from labeldistill.tasks.spec import ONE_VS_REST_KEY, one_vs_rest_name, rest_label

    problems, tasks = [], {}
    for name, block in config["tasks"].items():
        if not block.get("one_vs_rest"):
            tasks[name] = {key: value for key, value in block.items() if key != "one_vs_rest"}
            continue
        if "positive_label" in block:
            problems.append(
                f"config key tasks.{name}.positive_label: not with one_vs_rest (each label is the "
                "positive one of its own task); remove one of them"
            )
            continue
        labels = [str(label) for label in block["labels"]]
        rest = rest_label(labels)
        shared = {key: value for key, value in block.items() if key not in ("one_vs_rest", "labels")}
        for label in labels:
            expanded = one_vs_rest_name(name, label)
            if expanded in tasks or expanded in config["tasks"]:
                problems.append(
                    f"config key tasks.{name}.one_vs_rest: task name {expanded!r} (for label {label!r}) "
                    "is taken twice; rename the task or the label"
                )
                continue
            tasks[expanded] = {
                **shared,
                "labels": [label, rest],
                "positive_label": label,
                ONE_VS_REST_KEY: {"task": name, "labels": labels},
            }
    config["tasks"] = tasks
    return problems


# ---- 2. labeler and student settings ----------------------------------------------------------
def resolve_blocks(config: dict) -> list[str]:
    """Every labeler and student block replaced by its checked, defaults-filled settings."""
    problems = []
    for section, check in (("labelers", check_labeler), ("students", check_student)):
        resolved = {}
        for name, block in (config.get(section) or {}).items():
            try:
                resolved[name] = check(name, block)
            except LabelDistillError as error:
                problems.append(str(error))
        if not problems:
            config[section] = resolved
    return problems


# ---- 3. what the schema cannot say --------------------------------------------------------------
def cross_problems(config: Mapping) -> tuple[list[str], StudyDesign | None]:
    """The problems, and the study's design (design.py), built here once for the whole parse
    (None when it cannot be built: its problem is the last line)."""
    problems = []
    for name, task in config["tasks"].items():
        for key in ("texts", "codebook", "coder_labels"):
            if key in task and not Path(task[key]).exists():
                problems.append(f"config key tasks.{name}.{key}: file {task[key]} not found")
        problems += label_problems(name, task)
    if config.get("train_sizes") and config.get("train_size") is not None:
        problems.append(
            f"config key train_size: give train_sizes or train_size, not both (train_sizes "
            f"{config['train_sizes']} would silently replace train_size {config['train_size']})"
        )
    try:
        design = StudyDesign.from_config(config)
    except LabelDistillError as error:
        return [*problems, str(error)], None
    for name, task in config["tasks"].items():
        pool = task_split_settings(config.get("split") or {}, task).get("pool")
        key = "split.pool" if "pool" not in (task.get("split") or {}) else f"tasks.{name}.split.pool"
        for labeler, sizes in design.numeric_sizes().items():
            if pool is not None and sizes and max(sizes) > pool:
                problems.append(
                    f"config key {sizes_config_key(config, labeler)}: {max(sizes)} is larger than "
                    f"{key} ({pool})"
                )
    problems += api_key_problems(config) + folder_problems(config)
    for check in (check_corpus, check_uncoded):
        try:
            check(config, design)
        except LabelDistillError as error:
            problems.append(str(error))
    return problems, design


def label_problems(name: str, task: Mapping) -> list[str]:
    """Labels a model's answer could not tell apart, and a positive label the headline ignores."""
    labels, problems = [str(label) for label in task["labels"]], []
    folded = {}
    for label in labels:
        folded.setdefault(label.strip().casefold(), []).append(label)
    alike = [group for group in folded.values() if len(group) > 1]
    if alike:
        problems.append(
            f"config key tasks.{name}.labels: {alike[0]} differ only in case or spaces: an answer cannot "
            "tell them apart; merge them or rename one"
        )
    positive = task.get("positive_label")
    if positive is not None and positive not in labels:
        problems.append(f"config key tasks.{name}.positive_label: {positive!r} is not one of labels {labels}")
    elif positive is not None and len(labels) > 2:
        problems.append(
            f"config key tasks.{name}.positive_label: a headline on one label needs two labels, and this "
            f"task has {len(labels)}; remove it (the headline is then macro-F1) or set "
            f"tasks.{name}.one_vs_rest: true (one binary task per label)"
        )
    return problems


def folder_problems(config: Mapping) -> list[str]:
    """The folders a job writes into must not be files (a job would fail with NotADirectoryError)."""
    problems = []
    for key in ("cache_dir", "models_dir"):
        folder = config.get(key)
        if folder and Path(folder).expanduser().exists() and not Path(folder).expanduser().is_dir():
            problems.append(
                f"config key {key}: {folder} is a file, not a folder; name a folder (it is made when missing)"
            )
    return problems


def api_key_problems(config: Mapping) -> list[str]:
    """An OpenAI labeler (no base_url) whose key variable is unset would fail at its first job."""
    problems = []
    for name, labeler in (config.get("labelers") or {}).items():
        variable = labeler.get("api_key_env", "OPENAI_API_KEY")
        if labeler.get("backend") == "openai" and not labeler.get("base_url") and variable:
            if not os.environ.get(variable, "").strip():
                problems.append(
                    f"config key labelers.{name}.api_key_env: the environment variable {variable} holds no "
                    "API key; export it before the run, or set base_url for a server that needs none"
                )
    return problems


def check_corpus(config: Mapping, design: StudyDesign) -> None:
    """The corpus settings: the chosen student, labeler and seeds exist; every task's corpus file
    exists and has its columns (read from its header or parquet schema only)."""
    tasks = {name: task for name, task in config["tasks"].items() if task.get("corpus")}
    settings = config.get("corpus") or {}
    if not tasks and not settings:
        return
    if tasks:
        for key in ("student", "labeler"):
            if not settings.get(key):
                raise LabelDistillError(
                    f"config key corpus.{key}: required when a task has a corpus (tasks "
                    f"{sorted(tasks)}): the {key} whose model labels it, chosen before seeing test scores"
                )
    student, labeler = settings.get("student"), settings.get("labeler")
    if student is not None and student not in config["students"]:
        raise LabelDistillError(
            f"config key corpus.student: {student!r} is not one of students {sorted(config['students'])}"
        )
    labelers = design.training_labelers
    if labeler is not None and labeler not in labelers:
        raise LabelDistillError(f"config key corpus.labeler: {labeler!r} is not one of {labelers}")
    size = settings.get("train_size")
    if labeler is not None and size is not None and size_label(size) not in design.train_sizes[labeler]:
        raise LabelDistillError(
            f"config key corpus.train_size: {size!r} is not one of {labeler}'s train sizes "
            f"{list(design.train_sizes[labeler])}"
        )
    seeds = [int(seed) for seed in config.get("seeds", [])]
    unknown = [seed for seed in settings.get("seeds") or [] if seed not in seeds]
    if unknown:
        raise LabelDistillError(f"config key corpus.seeds: seed(s) {unknown} are not in seeds {seeds}")
    for name, task in tasks.items():
        spec = CorpusSpec.from_config(name, task["corpus"])
        key = f"tasks.{name}.corpus"
        if not spec.path.is_file():
            raise LabelDistillError(f"config key {key}.texts: file {spec.path} not found")
        check_columns(spec.path, spec.columns, f"{key} (id_column, text_column, covariates)")
        # Its rows, in the cached pass that plans the chunks: a bad row stops the parse here (a
        # file above parse_check_mb is checked by the job corpus_check instead).
        corpus_chunks(
            spec, int(settings.get("chunk_size", 10000)), settings.get("parse_check_mb", PARSE_CHECK_MB)
        )
        if spec.covariates:
            # The test texts' covariates come from the task's texts file, by id.
            wanted = [task.get("id_column", "id"), *spec.covariates]
            check_columns(Path(task["texts"]), wanted, f"{key}.covariates (in tasks.{name}.texts)")


def check_uncoded(config: Mapping, design: StudyDesign) -> None:
    """Every task's uncoded file exists, has its columns and (up to corpus.parse_check_mb) clean
    rows; some LLM labeler labels it."""
    if design.uncoded_tasks and not design.uncoded_sources():
        raise LabelDistillError(
            f"config key tasks.{design.uncoded_tasks[0]}.uncoded: no LLM labeler (labelers: an ensemble "
            "labels no uncoded texts) would label these texts; add one or remove uncoded"
        )
    parse_check_mb = (config.get("corpus") or {}).get("parse_check_mb", PARSE_CHECK_MB)
    for name in design.uncoded_tasks:
        spec = CorpusSpec.from_config(name, config["tasks"][name][UNCODED], block=UNCODED)
        key = f"tasks.{name}.{UNCODED}"
        if not spec.path.is_file():
            raise LabelDistillError(f"config key {key}.texts: file {spec.path} not found")
        check_columns(spec.path, spec.columns, f"{key} (id_column, text_column)")
        corpus_chunks(spec, design.uncoded.chunk_size, parse_check_mb)


def check_config(config: Mapping) -> StudyDesign:
    """Steps 3 (of a config that passed the schema): raise ConfigProblems with every problem;
    else the study's design."""
    problems, design = cross_problems(config)
    if problems:
        raise ConfigProblems(problems)
    return design


# ---- all of it ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """What a parse makes of the config besides filling it in: the study's design, built once
    (rules/common.smk uses it rather than building its own), and the warnings."""

    design: StudyDesign
    warnings: list[str]


def prepare_config(config: dict, cache_dir: Path | None = None) -> list[str]:
    """Check `config` whole (see the module's steps), fill in every default, and return the
    warnings; raise ConfigProblems with one line per problem."""
    return prepare(config, cache_dir).warnings


def prepare(config: dict, cache_dir: Path | None = None) -> Prepared:
    """`prepare_config`, with the study's design it built."""
    from labeldistill.config.task_checks import check_tasks

    # Names become paths: none is used before it is known to stay inside the outputs.
    problems = schema_problems(config) or name_problems(config)
    if problems:
        raise ConfigProblems(problems)
    fill_defaults(config)
    problems = resolve_results(config) + expand_one_vs_rest(config)
    if problems:
        raise ConfigProblems(problems)
    problems = resolve_blocks(config)
    if problems:
        raise ConfigProblems(problems)
    design = check_config(config)
    problems, warnings = check_tasks(config, design, cache_dir)
    if problems:
        raise ConfigProblems(problems)
    if not config["labelers"]:
        warnings.insert(
            0,
            "config key labelers: none, so no LLM labels a text: the run trains students on human "
            "labels only and scores no few-shot condition; add a labeler (README, 'Your own task')",
        )
    return Prepared(design, list(dict.fromkeys(warnings)))  # one_vs_rest tasks share a codebook
