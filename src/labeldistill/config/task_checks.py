"""The task files, checked when the workflow is parsed (before any labeling is paid for).

Per task: the codebook is readable text; the texts file is readable (encoding, separator), has
its columns, and its rows have ids, texts and labels of the label set; the split sizes (the
task's own `split` over the config's) and the training size fit the data; fixed few-shot
`examples` land in the pool; the coders' file is readable. Labels that no text has are
warnings, and so are labels the headline rests on with fewer than 30 texts in the test part the
split will draw (`rare_labels`), with the human-coded texts that would make up for it.

A result is cached under .snakemake/labeldistill/ by the files' size and modification time and
by every setting it depends on, so a large file is read once, not on every invocation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path

from labeldistill.config.design import StudyDesign, sizes_config_key
from labeldistill.errors import LabelDistillError
from labeldistill.tasks.files import check_file
from labeldistill.tasks.rare_labels import headline_labels, thin_label_notes
from labeldistill.tasks.spec import (
    TaskSpec,
    coder_id_problem,
    label_warnings,
    load_coder_labels,
    map_labels,
    read_texts,
    text_problems,
)
from labeldistill.tasks.splits import SplitSizes, split_task, task_split_settings

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path(".snakemake") / "labeldistill" / "task-checks"
# Bump when what the checks find changes, so that cached results are not reused.
CHECKS_VERSION = 4


def check_tasks(
    config: Mapping, design: StudyDesign, cache_dir: Path | None = None
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of every task in `config` (a config that passed the schema), whose
    study `design` the parse built."""
    problems, warnings = [], []
    for name in config["tasks"]:
        cache = Path(cache_dir) if cache_dir else DEFAULT_CACHE
        found, warned = cached_task_check(name, config, design, cache)
        problems += found
        warnings += warned
    return problems, warnings


def _inputs(name: str, config: Mapping, design: StudyDesign) -> dict:
    """Everything the checks of one task depend on (files by size and modification time)."""
    task = config["tasks"][name]
    files = {}
    for key in ("texts", "codebook", "coder_labels"):
        if task.get(key):
            path = Path(task[key])
            stat = path.stat() if path.exists() else None
            files[key] = [
                str(path.resolve()),
                stat.st_size if stat else None,
                stat.st_mtime_ns if stat else None,
            ]
    examples = {
        labeler: block.get("examples")
        for labeler, block in (config.get("labelers") or {}).items()
        if block.get("examples")
    }
    return {
        "version": CHECKS_VERSION,
        "task": {key: value for key, value in task.items() if key not in ("corpus", "uncoded")},
        "files": files,
        "split": config.get("split"),
        "train_sizes": design.numeric_sizes(),
        "examples": examples,
    }


def cached_task_check(
    name: str, config: Mapping, design: StudyDesign, cache_dir: Path
) -> tuple[list[str], list[str]]:
    inputs = _inputs(name, config, design)
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = cache_dir / f"{name}-{digest}.json"
    if path.is_file():
        record = json.loads(path.read_text(encoding="utf-8"))
        return record["problems"], record["warnings"]
    problems, warnings = check_task(name, config, design)
    if not problems:  # a problem is fixed before the next run: no need to keep it
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps({"problems": problems, "warnings": warnings}), encoding="utf-8")
        partial.replace(path)
    return problems, warnings


def check_task(name: str, config: Mapping, design: StudyDesign) -> tuple[list[str], list[str]]:
    """(problems, warnings) of one task; reading stops at the first file that cannot be read."""
    block = config["tasks"][name]
    try:
        task = TaskSpec.from_config(name, block)
        codebook = _read_codebook(task)
        frame = read_texts(task)
    except LabelDistillError as error:
        return [str(error)], []
    problems = text_problems(task, frame)
    warnings = label_warnings(task, frame)
    if problems:
        return problems, warnings
    problems += _size_problems(name, len(frame), config, design)
    if not problems:
        split = task_split_settings(config["split"], block)
        parts = split_task(frame.astype(str), SplitSizes.from_config(split), split["seed"], task=name)
        problems += _example_problems(task, parts, config)
        problems += _codebook_leaks(task, codebook, parts)
        warnings += rare_label_warnings(task, parts["test"])
        warnings += _codebook_size_warnings(task, codebook, sum(len(part) for part in parts.values()))
    warnings += _codebook_label_warnings(task, codebook)
    if task.coder_labels is not None:
        key = f"tasks.{task.task_group}.coder_labels"
        try:
            coders = load_coder_labels(task.coder_labels, task.file_labels, key)
        except LabelDistillError as error:
            problems.append(str(error))
        else:
            problem = coder_id_problem(task.coder_labels, coders["id"], frame["id"], key)
            problems += [problem] if problem else []
    return problems, warnings


def rare_label_warnings(task: TaskSpec, test) -> list[str]:
    """A line per label the headline rests on with too few texts in the test part."""
    counts = map_labels(task, test["label"]).value_counts()
    labels = headline_labels(task.labels, task.positive_label, task.headline)
    return [
        f"tasks.{task.name}: {note}; a task's own split (tasks.{task.task_group}.split.test) can "
        "hold out more"
        for note in thin_label_notes(counts.to_dict(), len(test), labels)
    ]


def _read_codebook(task: TaskSpec) -> str:
    """The codebook's text; a LabelDistillError when it is not UTF-8 or blank."""
    path = check_file(task.codebook, f"tasks.{task.name}.codebook")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise LabelDistillError(
            f"{path}, line {line}: the codebook is not UTF-8 text; save it as UTF-8"
        ) from None
    if not text.strip():
        raise LabelDistillError(f"{path}: the codebook is blank (config key tasks.{task.name}.codebook)")
    return text


# A codebook above this many tokens (about 4 characters each) makes every request costly.
CODEBOOK_WARN_TOKENS = 20_000
# Shorter held-out texts ("yes", "thanks") are found in any long codebook by chance.
LEAK_MIN_CHARS = 25


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def _codebook_leaks(task: TaskSpec, codebook: str, parts) -> list[str]:
    """Val or test texts quoted in the codebook: every prompt would hold their answers."""
    codebook = _normalised(codebook)
    for part in ("test", "val"):
        texts = parts[part]
        normalised = texts["text"].map(_normalised)
        leaked = [
            text_id
            for text_id, text in zip(texts["id"], normalised, strict=True)
            if len(text) >= LEAK_MIN_CHARS and text in codebook
        ]
        if leaked:
            return [
                f"{task.codebook}: holds {len(leaked)} of the {len(texts)} {part} texts (such as id "
                f"{leaked[0]!r}), which the scores are measured on; quote only pool texts or your own "
                f"examples (config key tasks.{task.task_group}.codebook)"
            ]
    return []


def _codebook_size_warnings(task: TaskSpec, codebook: str, n_texts: int) -> list[str]:
    chars = len(codebook)
    tokens = chars // 4
    if tokens <= CODEBOOK_WARN_TOKENS:
        return []
    return [
        f"tasks.{task.name}.codebook: about {tokens:,} tokens ({chars / 1e6:.1f} MB), sent with every "
        f"request: about {tokens * n_texts / 1e6:,.1f} million input tokens per labeler for the "
        f"{n_texts} texts of the split; shorten it (above {CODEBOOK_WARN_TOKENS:,} tokens this warns)"
    ]


NOT_WORD = re.compile(r"[^\w]+")


def _codebook_label_warnings(task: TaskSpec, codebook: str) -> list[str]:
    """Labels the codebook never names: the prompt lists every label, but what one means the LLM
    can learn only from the codebook."""

    def words(text: str) -> str:
        return " " + _normalised(NOT_WORD.sub(" ", text)) + " "  # whole words, any case

    found = words(codebook)
    unnamed = [label for label in task.file_labels if words(label) not in found]
    if not unnamed:
        return []
    return [
        f"{task.codebook}: never names the label(s) {', '.join(map(repr, unnamed))}; the prompt lists "
        "every label, but the LLM learns what each means only from the codebook: define each there "
        f"(config key tasks.{task.task_group}.codebook)"
    ]


def _size_problems(name: str, n_texts: int, config: Mapping, design: StudyDesign) -> list[str]:
    own = config["tasks"][name].get("split") or {}
    split = task_split_settings(config["split"], config["tasks"][name])
    test, val, pool = split["test"], split["val"], split.get("pool")  # the schema filled and checked them
    needed = test + val + (pool if pool else 0) + (0 if pool else 2)
    if needed > n_texts:
        group = config["tasks"][name].get("one_vs_rest_of", {}).get("task", name)
        key = f"tasks.{group}.split" if own else "split"
        # Sizes that fit, in the same proportions, and what they mean for the train sizes: every
        # problem of the sizes in this one line, not one per run.
        fit_test, fit_val = int(test * n_texts / needed), int(val * n_texts / needed)
        fit_pool = n_texts - fit_test - fit_val
        hint = (
            f", for example to test={fit_test}, val={fit_val}, pool={fit_pool}"
            if fit_test and fit_val
            else ""
        )
        too_large = {
            sizes_config_key(config, labeler): max(sizes)
            for labeler, sizes in design.numeric_sizes().items()
            if sizes and max(sizes) > fit_pool
        }
        if hint and too_large:
            hint += " with " + ", ".join(f"{k} at most {fit_pool} (not {v})" for k, v in too_large.items())
        return [
            f"config key {key}: test={test} + val={val} + pool={pool if pool else 'at least 2'} need "
            f"{needed} texts but tasks.{name}.texts has {n_texts}; lower them{hint}"
        ]
    available = pool if pool else n_texts - test - val
    problems = []
    for labeler, sizes in design.numeric_sizes().items():
        if sizes and max(sizes) > available:
            problems.append(
                f"config key {sizes_config_key(config, labeler)}: {max(sizes)} is more than the {available} "
                f"pool texts of task {name} ({n_texts} texts - test {test} - val {val})"
            )
    return problems


def _example_problems(task: TaskSpec, parts, config: Mapping) -> list[str]:
    """Fixed `examples` ids must be texts of the task's pool (never of val or test)."""
    wanted = {
        labeler: [str(i) for i in block["examples"]]
        for labeler, block in (config.get("labelers") or {}).items()
        if block.get("examples")
    }
    if not wanted:
        return []
    pool = set(parts["pool"]["id"])
    held_out = set(parts["val"]["id"]) | set(parts["test"]["id"])
    problems = []
    for labeler, ids in wanted.items():
        missing = [i for i in ids if i not in pool]
        if missing:
            elsewhere = [i for i in missing if i in held_out]
            absent = [i for i in missing if i not in held_out]
            where = []
            if elsewhere:
                where.append(f"{elsewhere[:5]} fell into val or test")
            if absent:
                where.append(f"{absent[:5]} are not ids of {task.texts}")
            problems.append(
                f"config key labelers.{labeler}.examples: {len(missing)} id(s) are not in task "
                f"{task.name}'s pool: {'; '.join(where)} (examples never come from val or test)"
            )
    return problems
