"""Stage: train one student on one labeler's labels of the pool, with one seed.

The training labels come from the labeler's LABELS table, never from the split's human
`label` column (for the `human` labeler the annotate stage writes that column as a LABELS
table). The training ids are drawn from the pool's ids with the seed BEFORE any label is read
(`sampling.draw_ids`), so every labeler's student of one seed trains on the same texts; texts
the labeler failed on, and with `training.min_consistency` texts whose label consistency is
below it, are dropped after the draw and counted. The seed also initialises the student. The
labelled `val` part picks the best epoch.

An augmented student (`human_count` = k) keeps the human label of k of its training texts and
the labeler's label of the rest: the k ids are the seed's draw of size k, which is nested in its
draw of the training size (both are prefixes of one seeded permutation of the pool), so the
augmented, human-label and LLM-label students of a seed train on the same texts.

The output folder holds the saved student (student.json + model files), training.json and the
model card README.md (students/card.py; `card` names the task, student, labeler and the code's
fingerprint that the card states). It is written under a hidden sibling name and renamed when
complete, so a killed job never leaves a folder that looks finished.
"""

from __future__ import annotations

import dataclasses
import datetime
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

from labeldistill.contracts import LABELS, SPLIT, TRAINING, jsonable, read_table, table_labels, write_record
from labeldistill.errors import LabelDistillError
from labeldistill.stages.predict import write_predictions
from labeldistill.students import make_student
from labeldistill.students.base import STUDENT_FILE
from labeldistill.students.card import CARD_FILE, model_card
from labeldistill.tasks.sampling import draw_ids

log = logging.getLogger(__name__)

TRAINING_FILE = "training.json"


def labelled_texts(texts_path: Path, labels_path: Path, labels: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """(id, text, label, probabilities, consistency) of the texts the labeler labelled, and how
    many failed.

    `probabilities` holds a row of floats aligned with `labels`, or NaNs where the labeler
    gave none.
    """
    texts = read_table(texts_path, SPLIT)[["id", "text"]]  # the human label is not used
    given = read_table(labels_path, LABELS)[["id", "label", "probabilities", "consistency"]]
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
    training: dict | None = None,
    test_texts: Path | None = None,
    predictions_path: Path | None = None,
    human_pool_labels: Path | None = None,
    human_count: int | None = None,
    card: dict | None = None,
) -> None:
    """Train and save the student into `out_dir`; with `test_texts`, it then predicts them into
    `predictions_path` (see stages/predict.py). With `human_count`, the first that many drawn
    texts keep their label from `human_pool_labels` (augmentation)."""
    started = time.perf_counter()
    labels = [str(label) for label in labels]
    training = {"min_consistency": None, "consistency_weights": False, **(training or {})}
    out_dir = Path(out_dir)
    # The draw reads the pool's ids only: the same texts for every labeler of this seed.
    pool_ids = read_table(pool_texts, SPLIT)["id"]
    drawn = draw_ids(pool_ids, train_size, seed)
    if train_size is not None and int(train_size) > len(drawn):
        log.warning(
            "train_size %d exceeds the %d pool texts: training on all of them", train_size, len(drawn)
        )
    pool, _ = labelled_texts(Path(pool_texts), Path(pool_labels), labels)
    human_ids: set[str] = set()
    if human_count is not None:
        pool, human_ids = _augmented_pool(
            pool, pool_ids, Path(pool_texts), human_pool_labels, human_count, seed, labels
        )
        log.info("%d of the drawn texts keep their human label (augmentation)", len(human_ids))
    val, val_failed = labelled_texts(Path(val_texts), Path(val_labels), labels)
    train = pool[pool["id"].isin(set(drawn))].reset_index(drop=True)
    n_failed = len(drawn) - len(train)
    train, n_inconsistent = _drop_inconsistent(train, training["min_consistency"])
    log.info(
        "%d training ids drawn with seed %s; %d dropped (labeler failed), %d below min_consistency; "
        "val: %d labelled, %d dropped",
        len(drawn),
        seed,
        n_failed,
        n_inconsistent,
        len(val),
        val_failed,
    )
    if train.empty:
        raise LabelDistillError(
            f"{pool_labels}: none of the {len(drawn)} drawn training texts has a usable label "
            f"({n_failed} failed, {n_inconsistent} below training.min_consistency): nothing to train on"
        )
    if val.empty:
        log.warning("no labelled validation texts: the last epoch is kept")
    weights = None
    if training["consistency_weights"]:
        weights = train["consistency"].fillna(1.0).to_numpy(dtype=np.float64)

    model = make_student(student, labels, seed, threads, config_key=config_key)
    model.fit(
        list(train["text"]),
        list(train["label"]),
        list(val["text"]) if len(val) else None,
        list(val["label"]) if len(val) else None,
        soft_targets=np.array(list(train["probabilities"]), dtype=np.float64),
        sample_weight=weights,
    )

    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    try:
        model.save(partial)
        summary = {
            "kind": model.kind,
            "settings": dataclasses.asdict(model.settings),
            "labels": labels,
            "seed": int(seed),
            "train_size": None if train_size is None else int(train_size),
            "n_pool": len(pool_ids),
            "n_drawn": len(drawn),
            "n_dropped_failed": n_failed,
            "n_dropped_inconsistent": n_inconsistent,
            "n_val_dropped_failed": val_failed,
            "n_train": len(train),
            "n_val": len(val),
            "min_consistency": training["min_consistency"],
            "consistency_weights": bool(training["consistency_weights"]),
            "label_counts": _counts(train, labels),
            "val_label_counts": _counts(val, labels),
            "drawn_ids_hash": ids_hash(drawn),
            "human_count": None if human_count is None else int(human_count),
            "n_human_labels": int(train["id"].isin(human_ids).sum()),
            "train_ids_hash": ids_hash(train["id"]),
            "best_epoch": model.fit_info.get("best_epoch"),
            "fit": jsonable(model.fit_info),
            "seconds": round(time.perf_counter() - started, 3),
            "threads": int(threads),
            "card": {
                **(card or {}),
                "source": (
                    f"{len(drawn)} texts drawn with seed {seed} from the {len(pool_ids)} of {pool_texts}"
                    f" ({n_failed} without a label, {n_inconsistent} below min_consistency left out)"
                ),
                "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            },
        }
        write_record(summary, partial / TRAINING_FILE, TRAINING)
        meta = json.loads((partial / STUDENT_FILE).read_text(encoding="utf-8"))
        (partial / CARD_FILE).write_text(model_card(jsonable(summary), meta), encoding="utf-8")
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
    if test_texts is not None:
        write_predictions(model, Path(test_texts), Path(predictions_path))


def _augmented_pool(
    pool: pd.DataFrame,
    pool_ids: pd.Series,
    pool_texts: Path,
    human_pool_labels: Path | None,
    human_count: int,
    seed: int,
    labels: Sequence[str],
) -> tuple[pd.DataFrame, set[str]]:
    """The pool with the human label on the seed's first `human_count` drawn texts, and those ids."""
    if human_pool_labels is None:
        raise LabelDistillError("an augmented student needs the human labels of the pool (human_pool_labels)")
    human_ids = set(draw_ids(pool_ids, human_count, seed))
    human, _ = labelled_texts(pool_texts, Path(human_pool_labels), labels)
    mixed = pd.concat([human[human["id"].isin(human_ids)], pool[~pool["id"].isin(human_ids)]])
    return mixed.reset_index(drop=True), human_ids


def _drop_inconsistent(train: pd.DataFrame, min_consistency: float | None) -> tuple[pd.DataFrame, int]:
    """Texts whose consistency is below the threshold (texts without one are kept)."""
    if min_consistency is None:
        return train, 0
    low = train["consistency"].notna() & (train["consistency"] < float(min_consistency))
    return train[~low].reset_index(drop=True), int(low.sum())
