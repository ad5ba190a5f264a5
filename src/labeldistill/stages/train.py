"""Stage: train one student on one labeler's labels of the pool, with one seed.

The training labels come from the labeler's LABELS table, never from the split's human
`label` column (for the `human` labeler the annotate stage writes that column as a LABELS
table). Texts the labeler failed on (null label) are dropped. With a `train_size` below the
number of labelled pool texts, a sample stratified by the labeler's label is drawn with the
seed; the seed also initialises the student. The labelled `val` part picks the best epoch.

The output folder holds the saved student (student.json + model files) and training.json. It
is written under a hidden sibling name and renamed when complete, so a killed job never
leaves a folder that looks finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.contracts import LABELS, SPLIT, read_table, table_labels
from labeldistill.errors import LabelDistillError
from labeldistill.students import make_student

log = logging.getLogger(__name__)

TRAINING_FILE = "training.json"


def labelled_texts(texts_path: Path, labels_path: Path, labels: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """(id, text, label, probabilities) of the texts the labeler labelled, and how many failed.

    `probabilities` holds a row of floats aligned with `labels`, or NaNs where the labeler
    gave none.
    """
    texts = read_table(texts_path, SPLIT)[["id", "text"]]  # the human label is not used
    given = read_table(labels_path, LABELS)[["id", "label", "probabilities"]]
    for path, frame in ((texts_path, texts), (labels_path, given)):
        duplicated = frame["id"][frame["id"].duplicated()]
        if len(duplicated):
            raise LabelDistillError(f"{path}: duplicate id {duplicated.iloc[0]!r}")
    missing = sorted(set(texts["id"]) - set(given["id"]))
    if missing:
        raise LabelDistillError(
            f"{labels_path}: no label row for {len(missing)} of the {len(texts)} texts of "
            f"{texts_path} (e.g. id {missing[0]!r}); it must label exactly that part"
        )
    frame = texts.merge(given, on="id", how="left", validate="one_to_one")
    failed = frame["label"].isna()
    frame = frame[~failed].reset_index(drop=True)
    unknown = frame[~frame["label"].isin(list(labels))]
    if len(unknown):
        row = unknown.iloc[0]
        raise LabelDistillError(
            f"{labels_path}, id {row['id']!r}: label {row['label']!r} is not one of the "
            f"task's labels {list(labels)}"
        )
    frame["text"] = frame["text"].fillna("")
    frame["probabilities"] = _aligned_probabilities(frame["probabilities"], labels_path, labels)
    return frame, int(failed.sum())


def _aligned_probabilities(column: pd.Series, path: Path, labels: Sequence[str]) -> list:
    """Each row's probabilities in the order of `labels` (the file may store another order)."""
    order = table_labels(path) or list(labels)
    if sorted(order) != sorted(labels):
        raise LabelDistillError(f"{path}: its labels {order} are not the task's labels {list(labels)}")
    take = [order.index(label) for label in labels]
    rows = []
    for value in column:
        if value is None or len(value) != len(order):
            rows.append([float("nan")] * len(labels))
        else:
            rows.append([float(value[i]) if value[i] is not None else float("nan") for i in take])
    return rows


def stratified_sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """`size` rows drawn with `seed`, each label in proportion to its share (largest remainder).

    The draw depends only on the rows' ids and labels, not on their order in the file.
    """
    if size >= len(frame):
        return frame
    frame = frame.sort_values("id").reset_index(drop=True)
    counts = frame["label"].value_counts().sort_index()
    exact = counts * size / len(frame)
    quota = np.floor(exact).astype(int)
    left = size - int(quota.sum())
    # the largest remainders get one more; ties go to the larger, then the first label
    ranking = sorted(counts.index, key=lambda lab: (-(exact[lab] - quota[lab]), -counts[lab], lab))
    for label in ranking[:left]:
        quota[label] += 1
    rng = np.random.default_rng(seed)
    chosen = []
    for label in counts.index:
        rows = np.flatnonzero((frame["label"] == label).to_numpy())
        chosen.extend(rows[rng.permutation(len(rows))[: quota[label]]])
    return frame.iloc[sorted(chosen)].reset_index(drop=True)


def ids_hash(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(map(str, ids))).encode()).hexdigest()


def _counts(frame: pd.DataFrame, labels: Sequence[str]) -> dict[str, int]:
    counts = frame["label"].value_counts()
    return {label: int(counts.get(label, 0)) for label in labels}


def run(
    pool_texts: Path,
    pool_labels: Path,
    val_texts: Path,
    val_labels: Path,
    student: dict,
    labels: Sequence[str],
    seed: int,
    train_size: int | None,
    out_dir: Path,
    threads: int = 1,
    config_key: str = "student",
) -> None:
    started = time.perf_counter()
    labels = [str(label) for label in labels]
    out_dir = Path(out_dir)
    pool, pool_failed = labelled_texts(Path(pool_texts), Path(pool_labels), labels)
    val, val_failed = labelled_texts(Path(val_texts), Path(val_labels), labels)
    log.info(
        "pool: %d labelled texts, %d dropped (labeler failed); val: %d labelled, %d dropped",
        len(pool),
        pool_failed,
        len(val),
        val_failed,
    )
    if pool.empty:
        raise LabelDistillError(
            f"{pool_labels}: the labeler failed on every pool text ({pool_failed}): nothing to train on"
        )
    if train_size is not None and int(train_size) < 1:
        raise LabelDistillError(f"train_size: {train_size!r} is not valid (expected >= 1 or null)")
    train = pool if train_size is None else stratified_sample(pool, int(train_size), seed)
    if train_size is not None and int(train_size) > len(pool):
        log.warning(
            "train_size %d exceeds the %d labelled pool texts: training on all of them",
            train_size,
            len(pool),
        )
    if val.empty:
        log.warning("no labelled validation texts: the last epoch is kept")

    model = make_student(student, labels, seed, threads, config_key=config_key)
    model.fit(
        list(train["text"]),
        list(train["label"]),
        list(val["text"]) if len(val) else None,
        list(val["label"]) if len(val) else None,
        soft_targets=np.array(list(train["probabilities"]), dtype=np.float64),
    )

    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    try:
        model.save(partial)
        summary = {
            "kind": model.kind,
            "settings": model.settings,
            "labels": labels,
            "seed": int(seed),
            "train_size": None if train_size is None else int(train_size),
            "n_pool": len(pool) + pool_failed,
            "n_dropped_failed": pool_failed,
            "n_val_dropped_failed": val_failed,
            "n_available": len(pool),
            "n_train": len(train),
            "n_val": len(val),
            "label_counts": _counts(train, labels),
            "val_label_counts": _counts(val, labels),
            "train_ids_hash": ids_hash(train["id"]),
            "best_epoch": model.fit_info.get("best_epoch"),
            "seconds": round(time.perf_counter() - started, 3),
            "threads": int(threads),
        }
        (partial / TRAINING_FILE).write_text(json.dumps(summary, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info(
        "%s: %s student on %d texts %s in %.1f s",
        out_dir,
        model.kind,
        len(train),
        summary["label_counts"],
        summary["seconds"],
    )
