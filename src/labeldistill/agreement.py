"""Inter-coder agreement: Cohen's kappa and Krippendorff's alpha (nominal).

Both take missing codes: kappa over the units both coders coded, alpha natively (a unit
coded by fewer than two coders carries no pairable value and drops out). Undefined values
(all codes one category: no expected disagreement) are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeldistill.metrics import encode


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
