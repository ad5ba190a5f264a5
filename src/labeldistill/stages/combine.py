"""Stage: an ensemble labeler's labels of every part of a task, from its members' labels.

One job per task and ensemble: Dawid-Skene is fitted once on the members' labels of all parts
together (see labeldistill.teachers.ensemble). Writes a LABELS table and a USAGE record per part, as a
labeling job does. The usage record is what the ensemble's labels cost: the sum of its members'
records of that part (requests, tokens, dollars, seconds; dollars unknown when a member's are),
plus the seconds of combining; it sent no request of its own. Summing an ensemble's cost with
its members' counts the members twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import LABELS, SPLIT, USAGE, read_table, write_record, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.teachers.ensemble import combine
from labeldistill.teachers.labelled_parts import check_failures, usage_record
from labeldistill.teachers.settings import EnsembleSettings, parse_labeler

log = logging.getLogger(__name__)

SUMMED = (
    "truncated_texts",
    "requests_sent",
    "responses",
    "cache_hits",
    "input_tokens",
    "prompt_cache_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def read_member(path: Path, part: pd.DataFrame, source: str, labels: Sequence[str]) -> pd.DataFrame:
    """A member's labels of a part: one row per text of the part, no other."""
    frame = read_table(path, LABELS)
    ids, given = set(part["id"].astype(str)), frame["id"].astype(str)
    if given.duplicated().any() or set(given) != ids:
        raise LabelDistillError(
            f"{path}: member {source}'s labels do not cover the part's {len(ids)} texts once each "
            f"({len(set(given) & ids)} of them, {len(frame)} rows); label it again"
        )
    unknown = frame["label"].notna() & ~frame["label"].isin(list(labels))
    if unknown.any():
        raise LabelDistillError(
            f"{path}: label {frame['label'][unknown].iloc[0]!r} is not one of {list(labels)}"
        )
    return frame[["id", "label"]].assign(id=given)


def member_usage(paths: Sequence[Path]) -> dict:
    """The members' usage records of one part, summed (dollars None when any is unknown)."""
    records = [json.loads(Path(path).read_text(encoding="utf-8")) for path in paths]
    summed = {key: sum(int(record.get(key) or 0) for record in records) for key in SUMMED}
    dollars = [record.get("dollars") for record in records]
    summed["dollars"] = None if any(d is None for d in dollars) else float(sum(dollars))
    summed["member_seconds"] = float(sum(float(record.get("seconds") or 0) for record in records))
    return summed


def run(
    splits: Mapping[str, Path],
    members: Sequence[str],
    member_labels: Mapping[str, Sequence[Path]],
    member_usage_paths: Mapping[str, Sequence[Path]],
    labels: Sequence[str],
    labeler: str,
    settings: Mapping,
    labels_paths: Mapping[str, Path],
    usage_paths: Mapping[str, Path],
    task: str = "",
) -> None:
    """`member_labels[part]` and `member_usage_paths[part]` hold one file per member, in the
    order of `members`; `settings` is the ensemble's config block, parsed here once. Nothing is
    written unless every part passes `check_failures`."""
    started = time.perf_counter()
    settings = parse_labeler(labeler, settings)
    if not isinstance(settings, EnsembleSettings):
        raise LabelDistillError(
            f"config key labelers.{labeler}.backend: combine makes an ensemble's labels, "
            f"not a {settings.backend} labeler's"
        )
    labels = list(labels)
    parts = {part: read_table(path, SPLIT) for part, path in splits.items()}
    frames = {
        source: pd.concat(
            [read_member(Path(member_labels[part][i]), parts[part], source, labels) for part in parts],
            ignore_index=True,
        )
        for i, source in enumerate(members)
    }
    ids = [str(i) for part in parts.values() for i in part["id"]]
    combined, fit = combine(
        frames,
        ids,
        labels,
        settings.method,
        seed=settings.seed,
        iterations=settings.iterations,
        tolerance=settings.tolerance,
    )
    if fit:
        log.info(
            "Dawid-Skene on %d texts, %d iterations; label prior %s",
            len(ids),
            fit["iterations"],
            fit["prior"],
        )
        for worker, matrix in fit["errors"].items():
            log.info("  %s: P(gives label | true label) %s", worker, matrix)
    model = f"{settings.method}({', '.join(members)})"
    combined = combined.assign(labeler=labeler, backend="ensemble", model=model, prompt_hash=None)
    by_id = combined.set_index("id")
    tables = {}
    for part, texts in parts.items():
        frame = by_id.loc[texts["id"].astype(str)].reset_index()
        failed = int(frame["label"].isna().sum())
        log.info("%s: %d labelled, %d failed (no member labelled them)", part, len(frame) - failed, failed)
        check_failures(frame, labeler, settings)
        tables[part] = frame
    own = time.perf_counter() - started
    total = sum(len(frame) for frame in tables.values()) or 1
    for part, frame in tables.items():
        write_table(frame, labels_paths[part], LABELS, labels=labels)
        usage = member_usage(member_usage_paths[part])
        seconds = usage.pop("member_seconds") + own * len(frame) / total
        record = usage_record(frame, task, labeler, "ensemble", usage, seconds)
        record.update(members=list(members), method=settings.method)
        write_record(record, usage_paths[part], USAGE)
