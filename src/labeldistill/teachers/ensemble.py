"""Ensembles of LLM labelers: several label sources' labels of the same texts combined into one.

An ensemble labeler (`backend: ensemble`) combines its members' labels text by text; it sends
no request. Its members are label sources: other labelers, or the prompt draws of one labeler
(`shots_seeds`), so "three models" and "one model with three few-shot draws" are the same
thing here. Two methods:

- `majority`: the label most members gave; the probabilities are the vote shares among the
  members that labelled the text, and `consistency` the winner's share. A tie is broken by a
  draw, uniform over the tied labels and fixed by the ensemble's `seed` and the text's id
  (`teachers.consistency.tie_break`, the rule of a labeler's own samples): never in favour of
  the first label, which is the positive class in the demo configs and would be inflated by
  every tie of an even number of members.
- `dawid_skene`: Dawid and Skene's (1979) latent-class model, fitted by EM with crowd-kit's
  `DawidSkene` without any human label: each member gets a confusion matrix, the texts a
  posterior over the labels, which is the probabilities; the label is crowd-kit's (the
  posterior's most probable label). The stage fits it once on every part of a task together
  (pool, val and test): a member's confusion matrix has K x (K - 1) free parameters, and 600
  texts estimate them better than a part's 100; no human label enters, so scoring it on val
  and test stays fair.

A member's failed text is a missing vote; a text no member labelled fails (label None).
`consistency` is the share of the voting members that agree with the ensemble's label for
both methods, and `n_samples` the number of voting members.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.chat.consistency import tie_break
from labeldistill.teachers.settings import ENSEMBLE_METHODS

NO_MEMBER = "no member labelled this text"


def votes_frame(members: Mapping[str, pd.DataFrame], labels: Sequence[str]) -> pd.DataFrame:
    """Long form (task, worker, label) of the members' labels: one row per member and text it
    labelled (crowd-kit's shape). `members` maps a source to a frame with columns id, label."""
    rows = []
    for source, frame in members.items():
        given = frame[frame["label"].notna()]
        unknown = sorted(set(given["label"].astype(str)) - set(labels))
        if unknown:
            raise LabelDistillError(f"member {source}: label {unknown[0]!r} is not one of {list(labels)}")
        rows.append(
            pd.DataFrame(
                {"task": given["id"].astype(str), "worker": source, "label": given["label"].astype(str)}
            )
        )
    if not rows:
        return pd.DataFrame(columns=["task", "worker", "label"])
    return pd.concat(rows, ignore_index=True)


def _counts(votes: pd.DataFrame, ids: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Votes per text (rows in the order of `ids`) and label (columns in the order of `labels`)."""
    table = pd.crosstab(votes["task"], votes["label"]) if len(votes) else pd.DataFrame()
    table = table.reindex(index=list(ids), columns=list(labels), fill_value=0)
    return table.fillna(0).to_numpy(dtype=np.int64)


def _result(ids, labels, chosen, probabilities, counts) -> pd.DataFrame:
    """id, label, probabilities, consistency, n_samples, error of every text."""
    voters = counts.sum(axis=1)
    rows = []
    for i, text_id in enumerate(ids):
        if voters[i] == 0:
            rows.append((text_id, None, [], None, 0, NO_MEMBER))
            continue
        label = chosen[i]
        agree = counts[i, list(labels).index(label)] / voters[i]
        rows.append(
            (text_id, label, [float(p) for p in probabilities[i]], float(agree), int(voters[i]), None)
        )
    return pd.DataFrame(rows, columns=["id", "label", "probabilities", "consistency", "n_samples", "error"])


def majority_vote(
    votes: pd.DataFrame, ids: Sequence[str], labels: Sequence[str], seed: int = 0
) -> pd.DataFrame:
    """The most frequent label per text, vote shares as probabilities, ties drawn (see module)."""
    ids, labels = [str(i) for i in ids], [str(label) for label in labels]
    counts = _counts(votes, ids, labels)
    voters = counts.sum(axis=1, keepdims=True)
    shares = counts / np.where(voters == 0, 1, voters)
    chosen = []
    for i, text_id in enumerate(ids):
        top = counts[i].max()
        tied = [k for k in range(len(labels)) if counts[i, k] == top]
        best = tied[0] if len(tied) == 1 else tie_break(tied, text_id, seed)
        chosen.append(labels[best])
    return _result(ids, labels, chosen, shares, counts)


def dawid_skene(
    votes: pd.DataFrame,
    ids: Sequence[str],
    labels: Sequence[str],
    iterations: int = 100,
    tolerance: float = 1e-5,
) -> tuple[pd.DataFrame, dict]:
    """Dawid-Skene's posterior per text (crowd-kit), and what was fitted: the members'
    confusion matrices and the label prior, for the log."""
    from crowdkit.aggregation import DawidSkene

    ids, labels = [str(i) for i in ids], [str(label) for label in labels]
    counts = _counts(votes, ids, labels)
    model = DawidSkene(n_iter=int(iterations), tol=float(tolerance))
    if len(votes):
        with warnings.catch_warnings():  # crowd-kit 1.4's pandas idioms that pandas 3 deprecates
            warnings.filterwarnings("ignore", module=r"crowdkit\.")
            model.fit(votes[["task", "worker", "label"]])
        posterior = model.probas_.reindex(index=ids, columns=labels).fillna(0.0).to_numpy(dtype=float)
        fitted = model.labels_.reindex(ids)
        chosen = [None if isinstance(label, float) else str(label) for label in fitted]
        fit = {
            "prior": {str(k): float(v) for k, v in model.priors_.items()},
            "iterations": len(model.loss_history_),
            "errors": {
                str(worker): {
                    str(given): {str(true): float(p) for true, p in row.items()}
                    for (_, given), row in matrix.iterrows()
                }
                for worker, matrix in model.errors_.groupby(level="worker", sort=True)
            },
        }
    else:
        posterior, chosen, fit = np.zeros((len(ids), len(labels))), [None] * len(ids), {}
    return _result(ids, labels, chosen, posterior, counts), fit


def combine(
    members: Mapping[str, pd.DataFrame],
    ids: Sequence[str],
    labels: Sequence[str],
    method: str,
    seed: int = 0,
    iterations: int = 100,
    tolerance: float = 1e-5,
) -> tuple[pd.DataFrame, dict]:
    """The ensemble's labels of `ids` (columns of `_result`) from its members' (id, label)
    frames, and what a Dawid-Skene fit found ({} for majority)."""
    if method not in ENSEMBLE_METHODS:
        raise LabelDistillError(f"ensemble method {method!r} is not one of {list(ENSEMBLE_METHODS)}")
    if len(members) < 2:
        raise LabelDistillError(f"an ensemble needs at least 2 members, got {list(members)}")
    votes = votes_frame(members, labels)
    votes = votes[votes["task"].isin({str(i) for i in ids})]
    if method == "majority":
        return majority_vote(votes, ids, labels, seed), {}
    return dawid_skene(votes, ids, labels, iterations, tolerance)
