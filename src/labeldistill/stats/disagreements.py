"""The validation texts where an LLM labeler and the human gold label disagree: the list a
researcher revises the codebook from, most confident first (a confident disagreement points at
the codebook or the gold label more often than an unsure one)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ["id", "text", "human_label", "llm_label", "llm_probability", "coders"]


def _label_probability(label, probabilities, order: Sequence[str]) -> float:
    if not isinstance(label, str) or probabilities is None or len(probabilities) != len(order):
        return float("nan")
    return float(probabilities[list(order).index(label)]) if label in order else float("nan")


def coder_split(coders: pd.DataFrame, order: Sequence[str]) -> dict[str, str]:
    """Per text id, how its coders labelled it: 'negative 3, other 2' (labels in `order`)."""
    counts = coders.groupby(["id", "label"]).size()
    split = {}
    for text_id, per_label in counts.groupby(level="id"):
        by_label = dict(zip(per_label.index.get_level_values("label"), per_label, strict=True))
        split[str(text_id)] = ", ".join(f"{label} {by_label[label]}" for label in order if label in by_label)
    return split


def disagreements(
    joined: pd.DataFrame, order: Sequence[str], coders: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The rows of `joined` (id, text, gold `label`, the LLM's `label_llm` and `probabilities`
    in `order`) whose LLM label is not the gold one, a failed text included (no LLM label):
    the probability the LLM gave its own label, and the coders' split where `coders` (id, coder,
    label) is given. Sorted by that probability, highest first; failed texts last."""
    differ = joined[joined["label_llm"].isna() | (joined["label_llm"] != joined["label"])]
    table = pd.DataFrame(
        {
            "id": differ["id"].astype(str),
            "text": differ["text"],
            "human_label": differ["label"],
            "llm_label": differ["label_llm"].where(differ["label_llm"].notna(), None),
            "llm_probability": [
                _label_probability(label, probs, order)
                for label, probs in zip(differ["label_llm"], differ["probabilities"], strict=True)
            ],
        }
    )
    split = coder_split(coders, order) if coders is not None else {}
    table["coders"] = [split.get(text_id) for text_id in table["id"]]
    confidence = table["llm_probability"].fillna(-np.inf)
    order_rows = np.lexsort((table["id"].to_numpy(), -confidence.to_numpy()))
    return table.iloc[order_rows].reset_index(drop=True)[COLUMNS]
