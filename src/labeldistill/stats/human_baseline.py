"""Human baselines for an LLM labeler: how good is one coder, and can the LLM replace one?

The LLM's agreement with the gold label (the mean of about 20 raters) is not like for like
with the pairwise alpha among single raters. Two like-for-like baselines:

- Leave one coder out: each coder against the majority of the OTHER coders of each text.
  On the val texts of the default run (split before duplicates were kept together) the
  pairwise alpha is 0.40 (NYT) and 0.64 (tweets), the median leave-one-out kappa 0.51 (20
  coders) and 0.79 (96 coder positions with at least 10 texts).
- The Alternative Annotator Test (Calderon, Reichart and Dror, ACL 2025, "The Alternative
  Annotator Test for LLM-as-a-Judge"; reference code github.com/nitaytech/AltTest): for each
  coder j, on the texts j labelled, does the LLM or j better match the other coders of the
  text? The alignment of a label with the others is the share of them that gave it (the
  paper's ACC score). W_f = [S_f >= S_h], W_h = [S_h >= S_f]; rho_f and rho_h their means;
  H0_j: rho_f <= rho_h - epsilon, tested by a one-sided t-test of d = W_h - W_f against
  epsilon; p-values corrected over coders by Benjamini-Yekutieli at level alpha. The winning
  rate is the share of coders whose H0 is rejected; the LLM may replace a coder on this task
  when it is at least 0.5. The advantage probability is the mean of rho_f over coders.

  epsilon is the paper's cost-benefit margin. The paper's rule of thumb (its FAQ, repeated in
  the reference README): 0.2 for experts, 0.15 for skilled annotators, 0.1 for crowd workers,
  smaller when agreement among humans is low. The bundled demo raters are screened crowd
  workers (the default config sets 0.1); the code's default is 0.15 (skilled coders, the usual
  research assistants). The paper wants at least 30 texts per coder for the t-test, and
  `min_texts` defaults to 30: measured on the tweets' val texts (current split), positions
  r21 to r98 exist only on the ~22 val tweets rated by ~95 people, so at 10 they are 75 of
  the 95 coders tested, all on those same texts, and they decide the winning rate (a noisy
  "LLM", the gold with 23 of 100 labels flipped: 0.79 at min_texts 10 against 0.00 at 30).
  At 30 only r01 to r20 are tested, each on all 100 texts.
  The Benjamini-Yekutieli rejections (adjusted p <= alpha, scipy) are those of the
  reference's step-up rule (largest i with p_(i) <= i alpha / (m c(m))).

Choices where the paper says nothing or this code differs from the reference:
- A text the LLM failed on counts as alignment 0 (it matches no coder), as a failed text is
  wrong in `metrics`; the reference only scores texts the LLM labelled.
- Where d has no variance (e.g. the LLM ties the coder on every text) the t statistic is
  undefined; the p-value is set to its limit, 0 if mean(d) < epsilon, else 1. scipy 1.17
  returns the same with a precision-loss warning; the reference calls scipy as it is.
- A coder with fewer than two scored texts gets p = NaN, counted as 1 in the correction.

Coder ids in the demo data are rating positions (r01, r02, ...), not persons followed across
texts: a "coder" here is a position, a pseudo-coder made of different raters. Both baselines
then describe a random single rater rather than a named one, which is what they are used for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, ttest_1samp

from labeldistill.errors import LabelDistillError
from labeldistill.stats.agreement import cohen_kappa
from labeldistill.stats.metrics import classification_metrics

SUMMARY_METRICS = ("accuracy", "f1", "macro_f1", "kappa")
SUMMARY_STATS = ("median", "q25", "q75", "min", "max")
CODER_COLUMNS = ["coder", "n", "n_ties", "accuracy", "f1", "macro_f1", "kappa"]
ALT_TEST_COLUMNS = ["coder", "n", "rho_f", "rho_h", "p", "p_adjusted", "rejected"]


@dataclass(frozen=True)
class AltTestSettings:
    """Settings of the alt-test (config key `evaluation.alt_test`)."""

    epsilon: float = 0.15
    alpha: float = 0.05
    min_texts: int = 30

    @classmethod
    def from_config(cls, settings: Mapping | None) -> AltTestSettings:
        settings = dict(settings or {})
        unknown = sorted(set(settings) - {"epsilon", "alpha", "min_texts"})
        if unknown:
            raise LabelDistillError(
                f"config key evaluation.alt_test: unknown key(s) {unknown} (valid: epsilon, alpha, min_texts)"
            )
        result = cls(**settings)
        if not 0 <= result.epsilon <= 1:
            raise LabelDistillError(
                f"config key evaluation.alt_test.epsilon: {result.epsilon} is not in [0, 1]"
            )
        if not 0 < result.alpha <= 1:
            raise LabelDistillError(f"config key evaluation.alt_test.alpha: {result.alpha} is not in (0, 1]")
        if (
            isinstance(result.min_texts, bool)
            or not isinstance(result.min_texts, int)
            or result.min_texts < 1
        ):
            raise LabelDistillError(
                f"config key evaluation.alt_test.min_texts: {result.min_texts!r} is not a whole number >= 1"
            )
        return result


@dataclass(frozen=True)
class _Votes:
    """The coders' labels of a set of texts as integer codes, and the votes per text and label."""

    frame: pd.DataFrame  # id, coder, code, row (the text's row in counts); sorted by coder, id
    counts: np.ndarray  # texts x labels: how many coders gave each label
    row_of: dict[str, int]  # text id -> row


def _votes(coder_labels: pd.DataFrame, ids: Sequence[str], labels: Sequence[str]) -> _Votes:
    index = {str(label): k for k, label in enumerate(labels)}
    ids = sorted({str(i) for i in ids})
    row_of = {text: row for row, text in enumerate(ids)}
    frame = coder_labels[coder_labels["id"].astype(str).isin(row_of)]
    frame = pd.DataFrame(
        {
            "id": frame["id"].astype(str),
            "coder": frame["coder"].astype(str),
            "label": frame["label"].astype(str),
        }
    )
    unknown = ~frame["label"].isin(index)
    if unknown.any():
        raise ValueError(f"coder label {frame['label'][unknown].iloc[0]!r} is not one of {list(labels)}")
    twice = frame.duplicated(["id", "coder"])
    if twice.any():
        row = frame[twice].iloc[0]
        raise ValueError(f"coder {row['coder']!r} labels id {row['id']!r} more than once")
    frame = frame.assign(code=frame["label"].map(index), row=frame["id"].map(row_of))
    frame = frame.sort_values(["coder", "id"]).reset_index(drop=True)
    counts = np.zeros((len(ids), len(index)), dtype=np.int64)
    np.add.at(counts, (frame["row"].to_numpy(), frame["code"].to_numpy()), 1)
    return _Votes(frame, counts, row_of)


def _per_coder(votes: _Votes, min_texts: int):
    """(coder, rows, codes, others) per coder with at least `min_texts` texts shared with others.

    `others` is the vote table of the coder's texts without the coder's own vote; texts that
    no other coder labelled are dropped before counting.
    """
    k = votes.counts.shape[1]
    for coder, part in votes.frame.groupby("coder", sort=True):
        rows, codes = part["row"].to_numpy(), part["code"].to_numpy()
        others = votes.counts[rows] - np.eye(k, dtype=np.int64)[codes]
        shared = others.sum(axis=1) > 0
        if shared.sum() >= min_texts:
            yield coder, rows[shared], codes[shared], others[shared]


def leave_one_out_majority(others: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The majority label code of each row of a vote table; ties drawn with `rng`, counted."""
    top = others == others.max(axis=1, keepdims=True)
    majority = top.argmax(axis=1)
    tied = np.flatnonzero(top.sum(axis=1) > 1)
    for row in tied:
        majority[row] = rng.choice(np.flatnonzero(top[row]))
    return majority, len(tied)


def coder_scores(
    coder_labels: pd.DataFrame,
    ids: Sequence[str],
    labels: Sequence[str],
    positive_label: str,
    min_texts: int = 30,
    seed: int = 0,
) -> pd.DataFrame:
    """Each coder against the majority of the other coders, over `ids`: one row per coder.

    Columns: coder, n (texts scored), n_ties (texts whose leave-one-out majority was a tie,
    broken by a draw seeded with `seed`), accuracy, f1 (of `positive_label`), macro_f1, kappa. Coders
    with fewer than `min_texts` texts shared with another coder are left out.
    """
    labels = [str(label) for label in labels]
    votes = _votes(coder_labels, ids, labels)
    rng = np.random.default_rng(seed)
    rows = []
    for coder, _, codes, others in _per_coder(votes, min_texts):
        majority, n_ties = leave_one_out_majority(others, rng)
        gold = [labels[c] for c in majority]
        own = [labels[c] for c in codes]
        scores = classification_metrics(gold, own, positive_label, labels)
        rows.append(
            {
                "coder": coder,
                "n": len(codes),
                "n_ties": n_ties,
                "accuracy": scores["accuracy"],
                "f1": scores["f1"],
                "macro_f1": scores["macro_f1"],
                "kappa": cohen_kappa(gold, own),
            }
        )
    return pd.DataFrame(rows, columns=CODER_COLUMNS)


def summarise_coders(scores: pd.DataFrame) -> dict:
    """Median, quartiles, min and max over coders of each score (NaN kappas left out)."""
    result: dict = {"n_coders_scored": len(scores), "n_loo_ties": int(scores["n_ties"].sum())}
    for metric in SUMMARY_METRICS:
        values = scores[metric].dropna().to_numpy(dtype=np.float64)
        stats = (
            dict.fromkeys(SUMMARY_STATS, math.nan)
            if len(values) == 0
            else {
                "median": float(np.median(values)),
                "q25": float(np.percentile(values, 25)),
                "q75": float(np.percentile(values, 75)),
                "min": float(values.min()),
                "max": float(values.max()),
            }
        )
        result.update({f"coder_{metric}_{stat}": value for stat, value in stats.items()})
    return result


def one_sided_p(d: np.ndarray, epsilon: float) -> float:
    """p-value of H0: mean(d) >= epsilon against H1: mean(d) < epsilon (one-sample t-test).

    With no variance in d the t statistic is undefined; the p-value is then its limit (0 when
    mean(d) < epsilon, else 1), without scipy's precision-loss warning. Fewer than two: NaN.
    """
    d = np.asarray(d, dtype=np.float64)
    if len(d) < 2:
        return math.nan
    if np.all(d == d[0]):
        return 0.0 if d[0] < epsilon else 1.0
    return float(ttest_1samp(d, epsilon, alternative="less").pvalue)


def alt_test(
    coder_labels: pd.DataFrame,
    llm_labels: Mapping[str, str | None],
    labels: Sequence[str],
    epsilon: float = 0.15,
    alpha: float = 0.05,
    min_texts: int = 30,
) -> tuple[pd.DataFrame, dict]:
    """The Alternative Annotator Test of an LLM's labels against the coders, per coder and overall.

    `llm_labels` maps every text to test (the val ids) to the LLM's label, None where it
    failed. Returns one row per coder tested (coder, n, rho_f, rho_h, p, p_adjusted,
    rejected) and a summary: winning_rate, advantage (mean rho_f), passed (winning rate >=
    0.5), n_coders, epsilon, alpha, min_texts; NaN / None where no coder has enough texts.
    """
    labels = [str(label) for label in labels]
    index = {label: k for k, label in enumerate(labels)}
    votes = _votes(coder_labels, list(llm_labels), labels)
    llm = np.full(len(votes.row_of), -1, dtype=np.int64)
    for text, label in llm_labels.items():
        if isinstance(label, str):
            if label not in index:
                raise ValueError(f"LLM label {label!r} of id {text!r} is not one of {labels}")
            llm[votes.row_of[str(text)]] = index[label]
    rows = []
    for coder, text_rows, codes, others in _per_coder(votes, min_texts):
        # Same denominator (the other coders of the text) on both sides: compare vote counts.
        agree_h = others[np.arange(len(codes)), codes]
        llm_codes = llm[text_rows]
        agree_f = np.where(llm_codes >= 0, others[np.arange(len(codes)), np.maximum(llm_codes, 0)], 0)
        w_f = agree_f >= agree_h
        w_h = agree_h >= agree_f
        rows.append(
            {
                "coder": coder,
                "n": len(codes),
                "rho_f": float(w_f.mean()),
                "rho_h": float(w_h.mean()),
                "p": one_sided_p(w_h.astype(float) - w_f.astype(float), epsilon),
            }
        )
    table = pd.DataFrame(rows, columns=ALT_TEST_COLUMNS[:5])
    summary = {"epsilon": epsilon, "alpha": alpha, "min_texts": min_texts, "n_coders": len(table)}
    if table.empty:
        table = table.assign(p_adjusted=pd.Series(dtype=float), rejected=pd.Series(dtype=bool))
        return table, {**summary, "winning_rate": math.nan, "advantage": math.nan, "passed": None}
    p = table["p"].fillna(1.0).to_numpy()
    table["p_adjusted"] = false_discovery_control(p, method="by")
    table["rejected"] = table["p_adjusted"] <= alpha
    winning_rate = float(table["rejected"].mean())
    return table, {
        **summary,
        "winning_rate": winning_rate,
        "advantage": float(table["rho_f"].mean()),
        "passed": winning_rate >= 0.5,
    }


def joint_winning_rates(p_values: Mapping[str, Sequence[float]], alpha: float = 0.05) -> dict[str, float]:
    """Per task, the Alternative Annotator Test's winning rate when the Benjamini-Yekutieli
    correction runs over every (task, coder) p-value of one LLM at once, as its authors apply
    it across datasets, instead of over one task's coders: the share of a task's coders whose
    adjusted p-value is at most `alpha`. A missing p-value counts as 1; a task without coders
    gets NaN."""
    tasks = [task for task, values in p_values.items() if len(values)]
    pooled = (
        np.concatenate([np.nan_to_num(np.asarray(p_values[t], dtype=float), nan=1.0) for t in tasks])
        if tasks
        else []
    )
    adjusted = false_discovery_control(pooled, method="by") if len(pooled) else np.array([])
    rates, start = {}, 0
    for task, values in p_values.items():
        n = len(values)
        rates[task] = float(np.mean(adjusted[start : start + n] <= alpha)) if n else math.nan
        start += n
    return rates
