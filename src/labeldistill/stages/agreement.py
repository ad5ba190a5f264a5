"""Stage: the validation step, an LLM labeler's agreement with the human labels on `val`.

Accuracy, F1, precision and recall count a failed text as wrong (as in evaluation). Cohen's
kappa and Krippendorff's alpha treat it as a missing code: they measure agreement over the
texts the LLM did label (`n_labelled`). Where a task has individual coders' labels, the
human-human alpha over the same texts stands beside the LLM's.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labeldistill.agreement import coders_alpha, cohen_kappa, krippendorff_alpha_nominal
from labeldistill.contracts import LABELS, SPLIT, read_table, table_labels
from labeldistill.errors import LabelDistillError
from labeldistill.metrics import classification_metrics, jsonable
from labeldistill.tasks import load_coder_labels

log = logging.getLogger(__name__)


def _examples(ids) -> str:
    ids = sorted(ids)
    return ", ".join(repr(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else "")


def mean_label_probability(chosen: Sequence, probabilities: Sequence, order: Sequence[str]) -> float:
    """Mean probability a labeler gave its chosen label, over texts with both (else NaN)."""
    index = {label: i for i, label in enumerate(order)}
    values = [
        float(probs[index[label]])
        for label, probs in zip(chosen, probabilities, strict=True)
        if isinstance(label, str) and label in index and probs is not None and len(probs) == len(order)
    ]
    return float(np.mean(values)) if values else math.nan


def llm_agreement(val_split: Path, val_labels: Path, labels: Sequence[str], positive_label: str) -> dict:
    labels = [str(label) for label in labels]
    if positive_label not in labels:
        raise LabelDistillError(f"positive label {positive_label!r} is not one of {labels}")
    gold = read_table(val_split, SPLIT)
    llm = read_table(val_labels, LABELS)
    missing = set(gold["id"]) - set(llm["id"])
    if missing:
        raise LabelDistillError(
            f"{val_labels}: no label row for {len(missing)} of the {len(gold)} val texts of "
            f"{val_split} (ids {_examples(missing)})"
        )
    duplicated = llm["id"][llm["id"].duplicated()]
    if len(duplicated):
        raise LabelDistillError(f"{val_labels}: {len(duplicated)} duplicate id(s): {_examples(duplicated)}")
    unknown = llm["label"].notna() & ~llm["label"].isin(labels)
    if unknown.any():
        raise LabelDistillError(
            f"{val_labels}: label {llm['label'][unknown].iloc[0]!r} is not one of {labels}"
        )
    joined = gold.merge(llm, on="id", how="left", suffixes=("", "_llm"))
    y_true, y_llm = joined["label"].tolist(), joined["label_llm"].tolist()
    result = classification_metrics(y_true, y_llm, positive_label, labels)
    labelled = joined["label_llm"].notna()
    result["n_labelled"] = int(labelled.sum())
    result["cohen_kappa"] = cohen_kappa(y_true, y_llm)
    units = list(joined["id"]) * 2
    result["krippendorff_alpha"] = krippendorff_alpha_nominal(units, y_true + y_llm)
    result["mean_label_probability"] = mean_label_probability(
        y_llm, joined["probabilities"].tolist(), table_labels(val_labels) or labels
    )
    result["positive_label"] = positive_label
    return result


def human_agreement(coder_labels: Path, labels: Sequence[str], ids: Sequence[str]) -> dict:
    coders = load_coder_labels(Path(coder_labels), tuple(str(label) for label in labels))
    twice = coders.duplicated(["id", "coder"])
    if twice.any():
        row = coders[twice].iloc[0]
        raise LabelDistillError(
            f"{coder_labels}: coder {row['coder']!r} labels id {row['id']!r} more than once"
        )
    summary = coders_alpha(coders, ids)
    return {
        "human_human_alpha": summary["alpha"],
        "n_coders_median": summary["n_coders_median"],
        "n_coded_texts": summary["n_texts"],
        "n_pairable_texts": summary["n_pairable_texts"],
    }


def run(
    val_split: Path,
    val_labels: Path,
    coder_labels: Path | None,
    labels: Sequence[str],
    positive_label: str,
    meta: dict,
    out_json: Path,
) -> None:
    """Write meta + agreement as JSON; the human-human keys are null without coder labels."""
    result = {**meta, **llm_agreement(val_split, val_labels, labels, positive_label)}
    if coder_labels is not None:
        ids = read_table(val_split, SPLIT)["id"].tolist()
        result.update(human_agreement(coder_labels, labels, ids))
    else:
        result.update(human_human_alpha=None, n_coders_median=None, n_coded_texts=0, n_pairable_texts=0)
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(jsonable(result), indent=2) + "\n", encoding="utf-8")
    log.info(
        "%s %s: accuracy %.3f, kappa %.3f, alpha %.3f, human-human alpha %s",
        meta.get("task"),
        meta.get("labeler"),
        result["accuracy"],
        result["cohen_kappa"],
        result["krippendorff_alpha"],
        result["human_human_alpha"],
    )
