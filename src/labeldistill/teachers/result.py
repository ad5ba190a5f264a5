"""A teacher's verdict on one text, the one result every backend gives, and the LABELS table
made from them.

Fields a backend has no use for keep their defaults (a local model draws no samples: its
consistency and n_samples stay None), so that a table's column means the same for every
backend and a backend that cannot fill it writes nulls there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class TeacherLabel:
    """One text's label, its probabilities and how they came about."""

    label: str | None  # one of the labels, or None: the teacher failed on the text
    probabilities: list[float] = field(default_factory=list)  # aligned with the labels; [] on failure
    error: str | None = None  # why the text failed
    consistency: float | None = None  # share of labelled samples agreeing with `label`
    n_samples: int | None = None  # answers asked for (backends that sample)
    n_failed_samples: int = 0
    raw: list[str] = field(default_factory=list)  # answers of failed samples, as given
    id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_hits: int = 0
    # model and prompt_hash; chat backends add model_reported, system_fingerprint, settings.
    provenance: dict = field(default_factory=dict)


def labels_table(
    results: Sequence[TeacherLabel], ids: Sequence[str], labeler: str, backend: str
) -> pd.DataFrame:
    """The LABELS table (contracts.LABELS) of one teacher's results for the texts `ids`."""
    if len(results) != len(ids):
        raise ValueError(f"{labeler}: {len(results)} results for {len(ids)} ids")
    return pd.DataFrame(
        {
            "id": list(ids),
            "label": [r.label for r in results],
            "probabilities": [list(r.probabilities) for r in results],
            "error": [r.error for r in results],
            "labeler": labeler,
            "backend": backend,
            "model": [r.provenance.get("model") for r in results],
            "prompt_hash": [r.provenance.get("prompt_hash") for r in results],
            "consistency": [r.consistency for r in results],
            "n_samples": [r.n_samples for r in results],
            "raw": [" | ".join(r.raw) if r.raw else None for r in results],
            "model_version": [r.provenance.get("model_reported") for r in results],
            "system_fingerprint": [r.provenance.get("system_fingerprint") for r in results],
        }
    )
