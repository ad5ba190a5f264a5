"""Stage: the validation step, an LLM labeler's agreement with the human labels on `val`.

Accuracy, F1, precision and recall count a failed text as wrong (as in evaluation). Cohen's
kappa and Krippendorff's alpha treat it as a missing code: they measure agreement over the
texts the LLM did label (`n_labelled`). Where a task has individual coders' labels, three
human baselines over the same texts stand beside the LLM's figures: the pairwise alpha among
single coders, each coder against the majority of the others (leave one coder out), and the
Alternative Annotator Test of the LLM against the coders (`human_baseline`).

An ensemble labeler's record also holds how far its members agree with each other on the same
val texts: Cohen's kappa of every pair of members over the texts both labelled, and its mean
(`members_pairwise_kappa`; null for any other labeler). Members that agree closely add little
to one another, whatever the combining method.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.contracts import (
    AGREEMENT,
    DISAGREEMENTS,
    LABELS,
    SPLIT,
    no_label_line,
    read_table,
    table_labels,
    write_record,
    write_table,
)
from labeldistill.errors import LabelDistillError
from labeldistill.stats import human_baseline
from labeldistill.stats.agreement import (
    coders_alpha,
    cohen_kappa,
    consistency_figures,
    krippendorff_alpha_nominal,
    pairwise_kappa,
)
from labeldistill.stats.disagreements import disagreements
from labeldistill.stats.human_baseline import AltTestSettings
from labeldistill.stats.metrics import classification_metrics, positive_rates
from labeldistill.tasks.spec import load_coder_labels

log = logging.getLogger(__name__)

LOO_SEED = 0  # seeds the draws that break ties of a leave-one-out majority

# The keys `human_agreement` writes, null (or empty) when the task has no coder labels.
HUMAN_KEYS = {
    "coders_pairwise_alpha": None,
    "human_human_alpha": None,  # old name of coders_pairwise_alpha; kept for one release
    "n_coders_median": None,
    "n_coded_texts": 0,
    "n_pairable_texts": 0,
    **{f"coder_{m}_{s}": None for m in human_baseline.SUMMARY_METRICS for s in human_baseline.SUMMARY_STATS},
    "n_coders_scored": 0,
    "n_loo_ties": 0,
    "alt_test_winning_rate": None,
    "alt_test_advantage": None,
    "alt_test_epsilon": None,
    "alt_test_alpha": None,
    "alt_test_min_texts": None,
    "alt_test_n_coders": 0,
    "alt_test_passed": None,
    "coders": [],
}
# The keys `members_agreement` writes, null (or empty) for a labeler that is not an ensemble.
MEMBER_KEYS = {"members": [], "members_pairwise_kappa": None, "members_pairwise": []}


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
    return float(np.mean(values)) if values else float("nan")


def read_val(val_split: Path, val_labels: Path, labels: Sequence[str]) -> pd.DataFrame:
    """The val texts' gold labels joined with the LLM's (`label_llm`, null where it failed)."""
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
    if llm["label"].isna().all():
        raise LabelDistillError(
            no_label_line(val_labels, llm, "val", "there is no agreement to measure and none was written")
        )
    return gold.merge(llm, on="id", how="left", suffixes=("", "_llm"))


def llm_agreement(
    joined: pd.DataFrame, labels: Sequence[str], positive_label: str, order: Sequence[str]
) -> dict:
    y_true, y_llm = joined["label"].tolist(), joined["label_llm"].tolist()
    result = classification_metrics(y_true, y_llm, positive_label, labels)
    result["n_labelled"] = int(joined["label_llm"].notna().sum())
    result["cohen_kappa"] = cohen_kappa(y_true, y_llm)
    units = list(joined["id"]) * 2
    result["krippendorff_alpha"] = krippendorff_alpha_nominal(units, y_true + y_llm)
    result["mean_label_probability"] = mean_label_probability(y_llm, joined["probabilities"].tolist(), order)
    result["positive_label"] = positive_label
    result.update(positive_rates(y_true, y_llm, positive_label))
    result.update(consistency_figures(y_true, y_llm, joined["consistency"].tolist()))
    return result


def read_coders(
    coder_labels: Path, labels: Sequence[str], label_map: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The coders' labels (id, coder, label) in the task's labels; `label_map`: a one-vs-rest
    task's map from the coders' file labels to its own."""
    file_labels = tuple(str(label) for label in (label_map or labels))
    return load_coder_labels(
        Path(coder_labels), file_labels, label_map=dict(label_map) if label_map else None
    )


def human_agreement(
    coders: pd.DataFrame,
    labels: Sequence[str],
    positive_label: str,
    llm_labels: Mapping[str, str | None],
    settings: AltTestSettings,
) -> dict:
    """The human baselines over the val texts (the keys of `llm_labels`); see the module doc."""
    ids = list(llm_labels)
    pairwise = coders_alpha(coders, ids)
    scores = human_baseline.coder_scores(coders, ids, labels, positive_label, settings.min_texts, LOO_SEED)
    tests, test = human_baseline.alt_test(
        coders, llm_labels, labels, settings.epsilon, settings.alpha, settings.min_texts
    )
    # Both keep the coders with min_texts texts shared with another coder: the same rows.
    per_coder = scores.merge(tests.drop(columns="n"), on="coder", how="outer")
    return {
        "coders_pairwise_alpha": pairwise["alpha"],
        "human_human_alpha": pairwise["alpha"],
        "n_coders_median": pairwise["n_coders_median"],
        "n_coded_texts": pairwise["n_texts"],
        "n_pairable_texts": pairwise["n_pairable_texts"],
        **human_baseline.summarise_coders(scores),
        **{f"alt_test_{key}": value for key, value in test.items()},
        "coders": per_coder.to_dict(orient="records"),
    }


def members_agreement(joined: pd.DataFrame, member_labels: Mapping[str, Path], labels: Sequence[str]) -> dict:
    """Cohen's kappa between every pair of an ensemble's members on the val texts of `joined`."""
    aligned = {}
    for source, path in member_labels.items():
        member = read_table(path, LABELS)
        by_id = dict(zip(member["id"].astype(str), member["label"], strict=True))
        missing = [i for i in joined["id"] if str(i) not in by_id]
        if missing:
            raise LabelDistillError(
                f"{path}: no label row for {len(missing)} val texts (ids {_examples(missing)})"
            )
        aligned[source] = [by_id[str(i)] for i in joined["id"]]
    pairwise = pairwise_kappa(aligned)
    return {
        "members": list(member_labels),
        "members_pairwise_kappa": pairwise["mean_kappa"],
        "members_pairwise": pairwise["pairs"],
    }


def run(
    val_split: Path,
    val_labels: Path,
    coder_labels: Path | None,
    labels: Sequence[str],
    positive_label: str,
    meta: dict,
    out_json: Path,
    alt_test: Mapping | None = None,
    label_map: Mapping[str, str] | None = None,
    member_labels: Mapping[str, Path] | None = None,
    headline: str = "f1",
    out_disagreements: Path | None = None,
) -> None:
    """Write meta + agreement as JSON; the human keys are null without coder labels, the
    members' keys without `member_labels` (an ensemble's members: source -> val labels).
    `out_disagreements`: where the val texts the LLM labelled otherwise than the gold label go
    (`stats.disagreements`), with the coders' split where there are coder labels.

    `alt_test` holds the config's `evaluation.alt_test` settings (epsilon, alpha, min_texts);
    None or missing keys take the defaults of `AltTestSettings`. `label_map` maps the coders'
    labels to the task's (a one-vs-rest task, `TaskSpec.label_map`). `headline` names the score
    the task is read by (`TaskSpec.headline`): the tables put it first.
    """
    labels = [str(label) for label in labels]
    if positive_label not in labels:
        raise LabelDistillError(f"positive label {positive_label!r} is not one of {labels}")
    settings = AltTestSettings.from_config(alt_test)
    joined = read_val(val_split, val_labels, labels)
    order = table_labels(val_labels) or labels
    result = {
        **meta,
        "headline": headline,
        **llm_agreement(joined, labels, positive_label, order),
        **HUMAN_KEYS,
        **MEMBER_KEYS,
    }
    if member_labels:
        result.update(members_agreement(joined, member_labels, labels))
    coders = read_coders(coder_labels, labels, label_map) if coder_labels is not None else None
    if coders is not None:
        llm_labels = {
            text: label if isinstance(label, str) else None
            for text, label in zip(joined["id"], joined["label_llm"], strict=True)
        }
        result.update(human_agreement(coders, labels, positive_label, llm_labels, settings))
    write_record(result, out_json, AGREEMENT)
    if out_disagreements is not None:
        source = {"task": meta.get("task"), "labeler": meta.get("labeler")}
        write_table(
            disagreements(joined, order, coders),
            out_disagreements,
            DISAGREEMENTS,
            labels=labels,
            metadata={"source": json.dumps(source)},
        )
    log.info(
        "%s %s: accuracy %.3f, kappa %.3f, alpha %.3f; coders: pairwise alpha %s, median "
        "leave-one-out kappa %s; alt-test winning rate %s (passed %s)",
        meta.get("task"),
        meta.get("labeler"),
        result["accuracy"],
        result["cohen_kappa"],
        result["krippendorff_alpha"],
        result["coders_pairwise_alpha"],
        result["coder_kappa_median"],
        result["alt_test_winning_rate"],
        result["alt_test_passed"],
    )
