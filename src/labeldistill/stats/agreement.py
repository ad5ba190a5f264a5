"""Inter-coder agreement: Cohen's kappa and Krippendorff's alpha (nominal).

Both take missing codes: kappa over the units both coders coded, alpha natively (a unit
coded by fewer than two coders carries no pairable value and drops out). Undefined values
(all codes one category: no expected disagreement) are NaN.

Also the consistency of the LLM's sampled answers, which stands beside them on `val`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from labeldistill.stats.metrics import encode


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two coders over the units both coded (missing codes are dropped)."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} codes against {len(b)}")
    pairs = [(str(x), str(y)) for x, y in zip(a, b, strict=True) if not _missing(x) and not _missing(y)]
    if not pairs:
        return math.nan
    a_codes, b_codes, order = encode([x for x, _ in pairs], [y for _, y in pairs])
    n, k = len(pairs), len(order)
    p_a = np.bincount(a_codes, minlength=k) / n
    p_b = np.bincount(b_codes, minlength=k) / n
    observed = float(np.mean(a_codes == b_codes))
    expected = float(p_a @ p_b)
    if expected >= 1.0:
        return math.nan
    return (observed - expected) / (1.0 - expected)


def pairwise_kappa(members: Mapping[str, Sequence]) -> dict:
    """Cohen's kappa of every pair of coders (an ensemble's members) over the texts both
    labelled, their codes aligned by text; the raw share agreeing beside it; and the mean
    kappa over pairs (NaN pairs left out)."""
    pairs = []
    for a, b in combinations(members, 2):
        x, y = list(members[a]), list(members[b])
        both = [(p, q) for p, q in zip(x, y, strict=True) if not _missing(p) and not _missing(q)]
        pairs.append(
            {
                "a": a,
                "b": b,
                "n": len(both),
                "agreement": float(np.mean([p == q for p, q in both])) if both else math.nan,
                "kappa": cohen_kappa(x, y),
            }
        )
    kappas = [pair["kappa"] for pair in pairs if not math.isnan(pair["kappa"])]
    return {"mean_kappa": float(np.mean(kappas)) if kappas else math.nan, "pairs": pairs}


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def krippendorff_alpha_nominal(units: Sequence, values: Sequence) -> float:
    """Krippendorff's alpha (nominal) from long-form codes: one (unit, value) pair per code.

    Each unit may have any number of coders; missing values are ignored. Built from the
    coincidence matrix: o_ck = sum over units of (n_uc * n_uk - [c == k] n_uc) / (m_u - 1).
    """
    frame = pd.DataFrame({"unit": list(units), "value": list(values)})
    frame = frame[~frame["value"].map(_missing)]
    if frame.empty:
        return math.nan
    table = pd.crosstab(frame["unit"], frame["value"].astype(str)).to_numpy(dtype=np.float64)
    m = table.sum(axis=1)
    table = table[m >= 2]
    m = m[m >= 2]
    if len(m) == 0:
        return math.nan
    weight = 1.0 / (m - 1)
    coincidence = (table * weight[:, None]).T @ table - np.diag((table * weight[:, None]).sum(0))
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    disagree_observed = coincidence.sum() - np.trace(coincidence)
    disagree_expected = n**2 - (n_c**2).sum()
    if disagree_expected <= 0:
        return math.nan
    return float(1.0 - (n - 1) * disagree_observed / disagree_expected)


def coders_alpha(coder_labels: pd.DataFrame, ids: Sequence[str] | None = None) -> dict:
    """Alpha among individual coders in long form (id, coder, label), over `ids` if given.

    Returns alpha, the number of texts with at least one code, the number with two or more
    (the pairable ones alpha rests on), and the median number of coders per coded text.
    """
    frame = coder_labels
    if ids is not None:
        frame = frame[frame["id"].isin(set(ids))]
    per_text = frame.groupby("id")["coder"].nunique()
    return {
        "alpha": krippendorff_alpha_nominal(frame["id"], frame["label"]),
        "n_texts": len(per_text),
        "n_pairable_texts": int((per_text >= 2).sum()),
        "n_coders_median": float(per_text.median()) if len(per_text) else math.nan,
    }


MAX_CONSISTENCY_LEVELS = 6  # more distinct values than this are binned
CONSISTENCY_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # [low, high) bins; 1.0 is a level of its own


def consistency_figures(gold: Sequence, llm: Sequence, consistency: Sequence) -> dict:
    """How consistent the LLM's sampled answers were on the texts it labelled, and how right.

    `consistency` is the share of a text's samples that agree with the label (labels files).
    Returns mean_consistency, share_consistency_1 (share at 1.0) and accuracy_by_consistency,
    a list of {level, low, high, n, accuracy}: one entry per distinct value when there are at
    most MAX_CONSISTENCY_LEVELS of them, else per CONSISTENCY_BINS bin (empty bins left out).
    All NaN / empty where no labelled text has a consistency (a labeler that draws once).
    """
    frame = pd.DataFrame({"gold": list(gold), "llm": list(llm), "consistency": list(consistency)})
    frame = frame[~frame["llm"].map(_missing) & ~frame["consistency"].map(_missing)]
    if frame.empty:
        return {"mean_consistency": math.nan, "share_consistency_1": math.nan, "accuracy_by_consistency": []}
    values = frame["consistency"].astype(float).round(9)
    correct = (frame["gold"].astype(str) == frame["llm"].astype(str)).to_numpy()
    distinct = np.unique(values)
    if len(distinct) <= MAX_CONSISTENCY_LEVELS:
        groups = [(f"{v:g}", float(v), float(v), (values == v).to_numpy()) for v in distinct]
    else:
        groups = [
            (f"[{low:g}, {high:g})", low, high, ((values >= low) & (values < high)).to_numpy())
            for low, high in zip(CONSISTENCY_BINS[:-1], CONSISTENCY_BINS[1:], strict=True)
        ]
        groups.append(("1", 1.0, 1.0, (values >= 1.0).to_numpy()))
    return {
        "mean_consistency": float(values.mean()),
        "share_consistency_1": float((values >= 1.0).mean()),
        "accuracy_by_consistency": [
            {
                "level": name,
                "low": low,
                "high": high,
                "n": int(mask.sum()),
                "accuracy": float(correct[mask].mean()),
            }
            for name, low, high, mask in groups
            if mask.any()
        ],
    }
