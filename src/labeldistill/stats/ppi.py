"""Shares of labels in a corpus that a student labelled, with intervals that account for its errors.

Every estimate is a method of one `Sample`, built once from the arrays:

    sample = Sample.from_arrays(human_labels, probabilities_labelled, probabilities_corpus, labels)
    sample.shares(level=0.95)  # also shares_by_group, effective_labels, plan_labels, regression

A student labels a corpus of N texts far too large to code by hand; n texts, a uniform random
sample of the same population, carry human labels (the test texts). The share of a label in the
corpus is estimated four ways (`METHODS`):

- `naive`: the share of the student's predicted labels in the corpus, with the binomial (Wald)
  interval on N. NOT a valid interval for the share: it treats the predictions as the truth, so
  it is off by the student's bias (false positives minus false negatives, over N) and its width
  shrinks with N while that bias stays. Shown as the figure a researcher would get otherwise.
- `human`: the mean human label of the n labelled texts with the normal (Wald) interval,
  p +- z sqrt(p (1 - p) / n), which is `ppi_py.classical_mean_ci`. Valid, and ignores the
  corpus. A label none (or all) of the labelled texts carry gets a zero-width interval: trust it
  only with several labelled texts of each label.
- `ppi++`: prediction-powered inference with power tuning (Angelopoulos, Duchi and Zrnic 2023,
  arXiv:2311.01453): theta = mean(lambda f, corpus) + mean(Y - lambda f, labelled), with
  Var = Var_N(lambda f) / N + Var_n(Y - lambda f) / n and a z interval (`ppi_py.ppi_mean_ci`).
  f is the student's prediction for the label, Y the 0/1 human label. The tuned lambda is the
  paper's lambda* = Cov_n(Y, f) / ((1 + n / N) Var(f)), Var over the n + N predictions, clipped
  to [0, 1]: exactly what ppi_py computes for `lam=None` (its `_calc_lam_glm` for a mean; a unit
  test holds the two intervals equal). It is computed here and passed to ppi_py so that the row
  reports the lambda used and constant predictions (Var(f) = 0, where ppi_py would divide by
  zero) give lambda = 0, the human-only interval. Valid whatever the student's quality: a
  useless student gets lambda ~0 and the human interval, a good one a narrower interval.
- `ppi`: the same with lambda = 1 (the original PPI, Angelopoulos et al., Science 2023), not
  tuned. Offered for comparison and as the form DSL takes for a share (below).

The prediction f fed to PPI is the predicted probability of the label (`prediction=
"probability"`, the default) rather than the 0/1 predicted label (`prediction="label"`): both
are valid, and the probability carries the student's confidence, so lambda* is larger and the
interval narrower or the same. Measured by bench/ppi_coverage.py (the package's TF-IDF student
trained on 500 human-labelled texts, n = 200 labelled, 500 replications): on tweets (student
accuracy 0.80) PPI++ was 0.105 wide with probabilities, 0.109 with 0/1 labels (tuned lambda 0.85
against 0.46) and human-only 0.120; on NYT headlines (accuracy 0.62, a student that barely helps)
0.129, 0.128 and 0.129. Every PPI interval covered 0.95-0.96, the naive one 0.00 on both tasks
(its error -0.068 and -0.038 against a width of 0.025).

Design-based supervised learning (DSL; Egami et al., NeurIPS 2023) is not offered. Its
Python implementation on PyPI, dsl-kit (MIT; one release, 0.1.1 of April 2025), does not
import: the wheel lacks the `dsl.helpers` subpackage that `dsl/dsl.py` imports. Were it
importable, its `dsl()` has no argument for a classifier's predictions (it hands the outcome
in their place to `dsl_general(y, X, y, X, ...)`). Its repository has moved on (0.2.0,
January 2026, with a `prediction` argument) without a release, and lists cross-fitting and
the supervised-learning method as "not used in current implementation". For a share with
a uniform random labelled sample inside the corpus (sampling probability pi = n / N), DSL's
estimate, the mean over the corpus of the pseudo-outcome f + (R / pi) (Y - f), is
mean(f, corpus) + mean(Y - f, labelled): PPI with lambda = 1, to the last digit (checked).
Its standard error, the sd of the pseudo-outcomes over sqrt(N), is not PPI's: it carries
E[(Y - f)^2] / n where PPI has Var(Y - f) / n (the variance of a Bernoulli-sampling design, in
which the labelled count is random), plus terms of order 1 / N; the two are of the same size
(within 10 % in the unit test).

The same by group (`Sample.shares_by_group`: a year, a source) estimates each group's share
from its own texts, with lambda tuned per group; a group with fewer than `min_labelled`
labelled texts gets a warning and null estimates and intervals for every method but naive.
`Sample.regression` regresses a label (0/1) on covariates by OLS (a linear probability model)
and logistic regression, human-only beside PPI++ (`ppi_py.ppi_ols_ci`, `ppi_py.ppi_logistic_ci`
with the tuned lambda), one row per coefficient. `Sample.effective_labels` says how many human
labels the predictions are worth, `Sample.plan_labels` how many a target half-width needs.

A `Sample` holds arrays aligned by row: the human labels of the n labelled texts (None or NaN
where missing), the student's per-label probabilities for them (n, K) and for the corpus (N, K),
columns in the order of `labels`, and optionally its predicted labels (else the argmax). Missing
values are left out where they are: a labelled text without a human label counts nowhere, one
without predictions (a NaN row) counts for `human` only, a corpus text without predictions
counts nowhere; `n_labelled` and `n_corpus` say how many texts each row used. Intervals are
clipped to [0, 1]; `se` and the estimate are not. Bad input raises `LabelDistillError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from labeldistill.errors import LabelDistillError

METHODS = ("naive", "human", "ppi", "ppi++")
DEFAULT_METHODS = ("naive", "human", "ppi++")
PREDICTIONS = ("probability", "label")
MODELS = ("ols", "logistic")
SHARE_COLUMNS = ("label", "method", "estimate", "low", "high", "se", "n_labelled", "n_corpus", "lambda")
REGRESSION_COLUMNS = (
    "model",
    "coefficient",
    "method",
    "estimate",
    "low",
    "high",
    "se",
    "n_labelled",
    "n_corpus",
)
TOLERANCE = 1e-3  # how far probabilities may stray from [0, 1] and a row's sum from 1
MIN_LABELLED = 30  # labelled texts a group needs for human and PPI estimates


def _ppi_py():
    """ppi_py, imported without letting it switch off the process's warnings: its ppi.py calls
    warnings.simplefilter("ignore") at import, which `catch_warnings` undoes."""
    with warnings.catch_warnings():
        import ppi_py
    return ppi_py


# ---- input -------------------------------------------------------------------------------------


def _is_missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _encode(values: Sequence, labels: tuple[str, ...], what: str) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    codes = np.full(len(values), -1, dtype=np.int64)
    for row, value in enumerate(values):
        if _is_missing(value):
            continue
        if value not in index:
            raise LabelDistillError(
                f"{what}, row {row}: label {value!r} is not one of the task's labels {list(labels)}"
            )
        codes[row] = index[value]
    return codes


def _probabilities(values, labels: tuple[str, ...], what: str) -> np.ndarray:
    try:
        probs = np.array(values, dtype=np.float64)  # a copy: missing rows are set to NaN
    except (TypeError, ValueError) as err:
        raise LabelDistillError(f"{what}: probabilities must be numbers ({err})") from err
    if probs.ndim != 2 or probs.shape[1] != len(labels):
        raise LabelDistillError(
            f"{what}: probabilities of shape {probs.shape}, expected (texts, {len(labels)}): one column "
            f"per label, in the order {list(labels)}"
        )
    missing = np.isnan(probs).any(axis=1)
    present = probs[~missing]
    bad = ~np.isfinite(present).all(axis=1)
    bad |= ((present < -TOLERANCE) | (present > 1 + TOLERANCE)).any(axis=1)
    bad |= np.abs(present.sum(axis=1) - 1) > TOLERANCE
    if bad.any():
        row = int(np.flatnonzero(~missing)[np.argmax(bad)])
        raise LabelDistillError(
            f"{what}, row {row}: probabilities {probs[row].tolist()} are not a distribution over "
            f"{list(labels)} (each in [0, 1], summing to 1; a row of NaN marks a text without predictions)"
        )
    probs[missing] = np.nan
    return probs


def _predicted(
    probs: np.ndarray, predicted: Sequence | None, labels: tuple[str, ...], what: str
) -> np.ndarray:
    """Predicted label indices: the given labels, checked against the probabilities, else the
    argmax; -1 (and a NaN probability row) where either is missing."""
    missing = np.isnan(probs).any(axis=1)
    if predicted is None:
        codes = np.where(missing, -1, np.argmax(np.nan_to_num(probs), axis=1))
        return codes.astype(np.int64)
    if len(predicted) != len(probs):
        raise LabelDistillError(
            f"{what}: {len(predicted)} predicted labels for {len(probs)} rows of probabilities: both "
            "must describe the same texts, in the same order"
        )
    codes = _encode(predicted, labels, f"{what} predicted labels")
    both = (codes >= 0) & ~missing
    rows = np.flatnonzero(both)
    top = probs[rows].max(axis=1)
    chosen = probs[rows, codes[rows]]
    wrong = chosen < top - TOLERANCE
    if wrong.any():
        row = int(rows[np.argmax(wrong)])
        raise LabelDistillError(
            f"{what}, row {row}: predicted label {labels[codes[row]]!r} but the probabilities "
            f"{probs[row].tolist()} put {labels[int(np.argmax(probs[row]))]!r} highest: are the columns "
            f"in the label order {list(labels)}?"
        )
    codes[missing] = -1
    probs[codes < 0] = np.nan
    return codes


def _covariates(values, names: Sequence[str] | None, size: int, what: str) -> tuple[np.ndarray, list[str]]:
    if isinstance(values, pd.DataFrame):
        names = list(values.columns) if names is None else names
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise LabelDistillError(
            f"{what}: covariates must be numbers (dummy-code categories) ({err})"
        ) from err
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or len(x) != size:
        raise LabelDistillError(f"{what}: covariates of shape {x.shape}, expected ({size}, covariates)")
    names = [f"x{j}" for j in range(x.shape[1])] if names is None else [str(n) for n in names]
    if len(names) != x.shape[1]:
        raise LabelDistillError(f"names: {len(names)} names for {x.shape[1]} covariate columns")
    return x, names


def _check_options(methods: Sequence[str], prediction: str, level: float) -> float:
    """The z quantile of `level`, after checking the options."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise LabelDistillError(f"methods: {list(methods)} is not a non-empty subset of {list(METHODS)}")
    if prediction not in PREDICTIONS:
        raise LabelDistillError(f"prediction: {prediction!r} is not one of {list(PREDICTIONS)}")
    if not 0 < level < 1:
        raise LabelDistillError(f"level must lie strictly between 0 and 1, not {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


# ---- statistics ----------------------------------------------------------------------------------


def ppi_lambda(y: np.ndarray, f_labelled: np.ndarray, f_corpus: np.ndarray) -> float:
    """PPI++'s tuned lambda for a mean: Cov_n(Y, f) / ((1 + n / N) Var(f)) clipped to [0, 1].

    Cov over the labelled texts (divided by n), Var over all n + N predictions (by n + N - 1), as
    ppi_py computes it; 0 when the predictions are constant.
    """
    n, big_n = len(y), len(f_corpus)
    var = float(np.var(np.concatenate([f_labelled, f_corpus]), ddof=1))
    if not var > 0:
        return 0.0
    cov = float(np.mean((y - y.mean()) * (f_labelled - f_labelled.mean())))
    return float(np.clip(cov / ((1 + n / big_n) * var), 0.0, 1.0))


def _wald(values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error sqrt(p (1 - p) / n) (sd with divisor n, as ppi_py)."""
    return float(values.mean()), float(values.std() / math.sqrt(len(values)))


def _ppi(y: np.ndarray, f_labelled: np.ndarray, f_corpus: np.ndarray, lam: float, z: float):
    """PPI estimate and standard error at `lam` through ppi_py (the interval is symmetric)."""
    alpha = 2 * (1 - stats.norm.cdf(z))
    low, high = _ppi_py().ppi_mean_ci(y, f_labelled, f_corpus, alpha=alpha, lam=lam)
    low, high = float(np.squeeze(low)), float(np.squeeze(high))
    return (low + high) / 2, (high - low) / (2 * z)


def _row(label, method, estimate, se, z, n_labelled, n_corpus, lam=math.nan) -> dict:
    low, high = (
        (max(estimate - z * se, 0.0), min(estimate + z * se, 1.0))
        if math.isfinite(se)
        else (
            math.nan,
            math.nan,
        )
    )
    return {
        "label": label,
        "method": method,
        "estimate": estimate,
        "low": low,
        "high": high,
        "se": se,
        "n_labelled": n_labelled,
        "n_corpus": n_corpus,
        "lambda": lam,
    }


# ---- the prepared sample -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Sample:
    """The labelled texts and the corpus with the student's predictions, checked and encoded once
    (build it with `Sample.from_arrays`); its methods are the estimates. The arrays are read-only."""

    labels: tuple[str, ...]
    y: np.ndarray  # (n,) index of each labelled text's human label; -1 where missing
    probs_labelled: np.ndarray  # (n, K); NaN rows where the student has no prediction
    pred_labelled: np.ndarray  # (n,) index of the predicted label; -1 where none
    probs_corpus: np.ndarray  # (N, K)
    pred_corpus: np.ndarray  # (N,)

    @classmethod
    def from_arrays(
        cls,
        human_labels: Sequence,
        probabilities_labelled,
        probabilities_corpus,
        labels: Sequence[str],
        predicted_labelled: Sequence | None = None,
        predicted_corpus: Sequence | None = None,
    ) -> Sample:
        """The sample of the module's inputs: human labels of the n labelled texts, probabilities
        (n, K) and (N, K) in the order of `labels`, optionally the predicted labels (else the
        argmax). The inputs are copied, never changed; bad input raises LabelDistillError."""
        labels = tuple(labels)
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise LabelDistillError(f"labels: expected two or more distinct labels, not {list(labels)}")
        probs_labelled = _probabilities(probabilities_labelled, labels, "probabilities_labelled")
        probs_corpus = _probabilities(probabilities_corpus, labels, "probabilities_corpus")
        if len(human_labels) != len(probs_labelled):
            raise LabelDistillError(
                f"human_labels holds {len(human_labels)} labels but probabilities_labelled "
                f"{len(probs_labelled)} rows: both must describe the same labelled texts, in the same order"
            )
        sample = cls(
            labels=labels,
            y=_encode(human_labels, labels, "human_labels"),
            probs_labelled=probs_labelled,
            pred_labelled=_predicted(probs_labelled, predicted_labelled, labels, "probabilities_labelled"),
            probs_corpus=probs_corpus,
            pred_corpus=_predicted(probs_corpus, predicted_corpus, labels, "probabilities_corpus"),
        )
        for name in ("y", "probs_labelled", "pred_labelled", "probs_corpus", "pred_corpus"):
            getattr(sample, name).setflags(write=False)
        return sample

    def prediction(self, which: str, k: int, prediction: str) -> np.ndarray:
        """The prediction f for label k of the labelled texts or the corpus (NaN where none)."""
        probs, pred = (
            (self.probs_labelled, self.pred_labelled)
            if which == "labelled"
            else (self.probs_corpus, self.pred_corpus)
        )
        if prediction == "probability":
            return probs[:, k]
        return np.where(pred < 0, np.nan, (pred == k).astype(np.float64))

    # ---- shares

    def shares(
        self,
        *,
        methods: Sequence[str] = DEFAULT_METHODS,
        prediction: str = "probability",
        level: float = 0.95,
    ) -> pd.DataFrame:
        """The share of every label in the corpus with a `level` interval, by each of `methods`.

        One row per label and method, columns `SHARE_COLUMNS`: estimate, low, high (clipped to
        [0, 1]), se, n_labelled (labelled texts used: 0 for naive; those with a human label for
        human; with a human label and predictions for PPI), n_corpus (corpus texts used; 0 for
        human) and lambda (1 for ppi, the tuned value for ppi++, NaN otherwise). `prediction`
        chooses what PPI takes as the student's prediction: "probability" (default) or "label" (0/1).
        Fewer than 2 usable labelled texts, or a corpus without predictions, raise LabelDistillError.
        """
        z = _check_options(methods, prediction, level)
        self._require(methods)
        everything = np.ones(len(self.y), dtype=bool), np.ones(len(self.pred_corpus), dtype=bool)
        rows = self._shares(*everything, methods, prediction, z, 2, "shares")
        return pd.DataFrame(rows, columns=list(SHARE_COLUMNS))

    def shares_by_group(
        self,
        groups_labelled: Sequence,
        groups_corpus: Sequence,
        *,
        methods: Sequence[str] = DEFAULT_METHODS,
        prediction: str = "probability",
        level: float = 0.95,
        min_labelled: int = MIN_LABELLED,
    ) -> pd.DataFrame:
        """`shares` within each group (a year, a source) of the labelled texts and the corpus:
        column "group" first, then `SHARE_COLUMNS`, groups in sorted order.

        Every group estimates from its own texts (lambda tuned per group): valid when the labelled
        texts are a uniform random sample, which makes them one within each group too. A group with
        fewer than `min_labelled` labelled texts (or no corpus text) gets a warning and NaN for the
        methods it cannot serve. Texts whose group is missing count in no group.
        """
        z = _check_options(methods, prediction, level)
        if min_labelled < 2:
            raise LabelDistillError(f"min_labelled must be at least 2, not {min_labelled}")
        for name, groups, size in (
            ("groups_labelled", groups_labelled, len(self.y)),
            ("groups_corpus", groups_corpus, len(self.pred_corpus)),
        ):
            if len(groups) != size:
                raise LabelDistillError(f"{name}: {len(groups)} values for {size} texts: one group per text")
        keys_labelled = pd.Series(list(groups_labelled), dtype=object)
        keys_corpus = pd.Series(list(groups_corpus), dtype=object)
        present = {g.item() if isinstance(g, np.generic) else g for g in (*keys_labelled, *keys_corpus)}
        present = {g for g in present if not _is_missing(g)}
        try:
            order = sorted(present)
        except TypeError:
            order = sorted(present, key=str)
        rows = []
        for group in order:
            labelled = (keys_labelled == group).to_numpy()
            corpus = (keys_corpus == group).to_numpy()
            for row in self._shares(labelled, corpus, methods, prediction, z, min_labelled, f"group {group}"):
                rows.append({"group": group, **row})
        return pd.DataFrame(rows, columns=["group", *SHARE_COLUMNS])

    def _require(self, methods: Sequence[str]) -> None:
        n_human = int((self.y >= 0).sum())
        n_both = int(((self.y >= 0) & (self.pred_labelled >= 0)).sum())
        if any(m != "naive" for m in methods) and n_human < 2:
            raise LabelDistillError(f"human_labels: {n_human} labelled texts with a label, at least 2 needed")
        if any(m.startswith("ppi") for m in methods) and n_both < 2:
            raise LabelDistillError(
                f"probabilities_labelled: {n_both} labelled texts with a human label and predictions, "
                "at least 2 needed for PPI"
            )
        if any(m != "human" for m in methods) and not (self.pred_corpus >= 0).any():
            raise LabelDistillError("probabilities_corpus: no corpus text with predictions")

    def _shares(
        self,
        labelled: np.ndarray,
        corpus: np.ndarray,
        methods: Sequence[str],
        prediction: str,
        z: float,
        min_labelled: int,
        where: str,
    ) -> list[dict]:
        """Rows of every label and method from the labelled and corpus texts selected by the masks;
        human and PPI rows are null (with a warning) below `min_labelled` labelled texts."""
        has_human = labelled & (self.y >= 0)
        has_both = has_human & (self.pred_labelled >= 0)
        has_corpus = corpus & (self.pred_corpus >= 0)
        n_human, n_both, big_n = int(has_human.sum()), int(has_both.sum()), int(has_corpus.sum())
        counts = {"human": n_human, "ppi": n_both, "ppi++": n_both}
        too_few = [m for m in methods if m in counts and counts[m] < min_labelled]
        if too_few:
            warnings.warn(
                f"{where}: {n_human} labelled texts ({n_both} with predictions), fewer than {min_labelled}: "
                f"no {', '.join(too_few)} estimate",
                stacklevel=3,
            )
        no_corpus = [m for m in methods if m != "human"]
        if no_corpus and big_n == 0:
            warnings.warn(
                f"{where}: no corpus text with predictions: no {', '.join(no_corpus)} estimate", stacklevel=3
            )
        rows = []
        for k, part in enumerate(self._ppi_parts(prediction, has_both, has_corpus, tune=False)):
            label, y, f_labelled, f_corpus = part["label"], part["y"], part["f_labelled"], part["f_corpus"]
            for method in methods:
                estimate, se, lam, n = math.nan, math.nan, math.nan, n_both
                if method == "naive":
                    n = 0
                    if big_n:
                        estimate, se = _wald((self.pred_corpus[has_corpus] == k).astype(np.float64))
                elif method == "human":
                    n = n_human
                    if n_human >= min_labelled:
                        estimate, se = _wald((self.y[has_human] == k).astype(np.float64))
                elif n_both >= min_labelled and big_n:
                    lam = 1.0 if method == "ppi" else ppi_lambda(y, f_labelled, f_corpus)
                    estimate, se = _ppi(y, f_labelled, f_corpus, lam, z)
                rows.append(_row(label, method, estimate, se, z, n, big_n if method != "human" else 0, lam))
        return rows

    def _ppi_parts(
        self,
        prediction: str,
        labelled: np.ndarray | None = None,
        corpus: np.ndarray | None = None,
        tune: bool = True,
    ) -> list[dict]:
        """Per label: Y and f on the labelled texts (default: all with a label and predictions), f on
        the corpus texts (default: all with predictions), and the tuned lambda (NaN unless `tune`)."""
        labelled = (self.y >= 0) & (self.pred_labelled >= 0) if labelled is None else labelled
        corpus = self.pred_corpus >= 0 if corpus is None else corpus
        parts = []
        for k, label in enumerate(self.labels):
            y = (self.y[labelled] == k).astype(np.float64)
            f_labelled = self.prediction("labelled", k, prediction)[labelled]
            f_corpus = self.prediction("corpus", k, prediction)[corpus]
            lam = ppi_lambda(y, f_labelled, f_corpus) if tune else math.nan
            parts.append(
                {"label": label, "y": y, "f_labelled": f_labelled, "f_corpus": f_corpus, "lambda": lam}
            )
        return parts

    # ---- what the predictions are worth

    def effective_labels(self, *, prediction: str = "probability") -> pd.DataFrame:
        """How many human labels the predictions are worth, per label: n x Var(human) / Var(PPI++).

        Both variances on the same n labelled texts (those with a human label and predictions):
        Var(human) = p (1 - p) / n, Var(PPI++) = Var_N(lambda f) / N + Var_n(Y - lambda f) / n.
        Columns: label, n_labelled, n_corpus, lambda, se_human, se_ppi, effective_labels (inf when
        Var(PPI++) is 0).
        """
        z = _check_options(("ppi++",), prediction, 0.95)
        self._require(("ppi++",))
        rows = []
        for part in self._ppi_parts(prediction):
            _, se_ppi = _ppi(part["y"], part["f_labelled"], part["f_corpus"], part["lambda"], z)
            _, se_human = _wald(part["y"])
            n = len(part["y"])
            worth = n * se_human**2 / se_ppi**2 if se_ppi > 0 else math.inf
            rows.append(
                {
                    "label": part["label"],
                    "n_labelled": n,
                    "n_corpus": len(part["f_corpus"]),
                    "lambda": part["lambda"],
                    "se_human": se_human,
                    "se_ppi": se_ppi,
                    "effective_labels": worth,
                }
            )
        return pd.DataFrame(rows)

    def plan_labels(
        self, *, half_width: float = 0.03, prediction: str = "probability", level: float = 0.95
    ) -> pd.DataFrame:
        """Human-coded texts a `level` interval of +- `half_width` needs, with PPI++ and human-only.

        From the measured agreement on the labelled texts: human-only needs
        n = ceil(z^2 Var(Y) / h^2) with Var(Y) = p (1 - p); PPI++ at the measured lambda needs
        n = ceil(Var(Y - lambda f) / ((h / z)^2 - Var_N(lambda f) / N)), the corpus part of its
        variance held fixed (None when that part alone exceeds the target: more human labels cannot
        help, a larger corpus or a better student can). Lambda is held at its measured value; the
        tuned one changes with n only through the factor 1 + n / N. Columns: label, half_width,
        n_labelled, n_corpus, lambda, var_human (per labelled text), var_ppi_labelled (per labelled
        text), var_ppi_corpus (the corpus part), n_human, n_ppi.
        """
        z = _check_options(("ppi++",), prediction, level)
        if not 0 < half_width < 1:
            raise LabelDistillError(f"half_width must lie strictly between 0 and 1, not {half_width}")
        self._require(("ppi++",))
        target = (half_width / z) ** 2
        rows = []
        for part in self._ppi_parts(prediction):
            lam, y = part["lambda"], part["y"]
            var_human = float(np.var(y))
            var_labelled = float(np.var(y - lam * part["f_labelled"]))
            var_corpus = float(np.var(lam * part["f_corpus"])) / len(part["f_corpus"])
            room = target - var_corpus
            rows.append(
                {
                    "label": part["label"],
                    "half_width": half_width,
                    "n_labelled": len(y),
                    "n_corpus": len(part["f_corpus"]),
                    "lambda": lam,
                    "var_human": var_human,
                    "var_ppi_labelled": var_labelled,
                    "var_ppi_corpus": var_corpus,
                    "n_human": max(math.ceil(var_human / target), 2),
                    "n_ppi": max(math.ceil(var_labelled / room), 2) if room > 0 else None,
                }
            )
        frame = pd.DataFrame(rows)
        return frame.astype({"n_human": "Int64", "n_ppi": "Int64"})

    # ---- regression

    def regression(
        self,
        covariates_labelled,
        covariates_corpus,
        positive_label: str,
        *,
        names: Sequence[str] | None = None,
        intercept: bool = True,
        models: Sequence[str] = MODELS,
        prediction: str = "probability",
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Regression of `positive_label` (1) against the rest (0) on covariates, human-only and PPI++.

        `covariates_*` are numeric arrays (n, d) and (N, d) (or DataFrames, whose columns name the
        coefficients); an "intercept" column is added first unless `intercept` is False. Models:
        "ols" (a linear probability model; human: OLS with HC0 standard errors,
        `ppi_py.classical_ols_ci`; PPI++: `ppi_py.ppi_ols_ci`) and "logistic" (human: unpenalised
        maximum likelihood with sandwich standard errors, `ppi_py.classical_logistic_ci`; PPI++:
        `ppi_py.ppi_logistic_ci`), both with lambda tuned by ppi_py (one lambda for all
        coefficients, minimising the summed variance). Rows with a missing label, predictions or
        covariate are left out. One row per model, coefficient and method ("human", "ppi++"),
        columns `REGRESSION_COLUMNS` (intervals not clipped).
        """
        z = _check_options(("ppi++",), prediction, level)
        unknown = [m for m in models if m not in MODELS]
        if unknown or not models:
            raise LabelDistillError(f"models: {list(models)} is not a non-empty subset of {list(MODELS)}")
        if positive_label not in self.labels:
            raise LabelDistillError(f"positive_label: {positive_label!r} is not one of {list(self.labels)}")
        k = self.labels.index(positive_label)
        x_labelled, names = _covariates(covariates_labelled, names, len(self.y), "covariates_labelled")
        x_corpus, _ = _covariates(covariates_corpus, None, len(self.pred_corpus), "covariates_corpus")
        if x_corpus.shape[1] != x_labelled.shape[1]:
            raise LabelDistillError(
                f"covariates_corpus has {x_corpus.shape[1]} columns, "
                f"covariates_labelled {x_labelled.shape[1]}"
            )
        if intercept:
            x_labelled = np.column_stack([np.ones(len(x_labelled)), x_labelled])
            x_corpus = np.column_stack([np.ones(len(x_corpus)), x_corpus])
            names = ["intercept", *names]
        known = np.isfinite(x_labelled).all(axis=1) & (self.y >= 0)
        both = known & (self.pred_labelled >= 0)
        corpus = np.isfinite(x_corpus).all(axis=1) & (self.pred_corpus >= 0)
        d = x_labelled.shape[1]
        for what, x in (("labelled", x_labelled[both]), ("corpus", x_corpus[corpus])):
            if len(x) <= d or np.linalg.matrix_rank(x) < d:
                raise LabelDistillError(
                    f"covariates_{what}: {len(x)} usable texts for {d} coefficients, or collinear columns "
                    f"{names}: drop a column (a dummy level, or the intercept)"
                )
        y_human = (self.y[known] == k).astype(np.float64)
        y = (self.y[both] == k).astype(np.float64)
        f_labelled = self.prediction("labelled", k, prediction)[both]
        f_corpus = self.prediction("corpus", k, prediction)[corpus]
        alpha = 2 * (1 - stats.norm.cdf(z))
        ppi_py = _ppi_py()
        fits = {
            "ols": (
                lambda: ppi_py.classical_ols_ci(x_labelled[known], y_human, alpha=alpha),
                lambda: ppi_py.ppi_ols_ci(
                    x_labelled[both], y, f_labelled, x_corpus[corpus], f_corpus, alpha=alpha
                ),
            ),
            "logistic": (
                lambda: ppi_py.classical_logistic_ci(x_labelled[known], y_human, alpha=alpha),
                lambda: ppi_py.ppi_logistic_ci(
                    x_labelled[both], y, f_labelled, x_corpus[corpus], f_corpus, alpha=alpha
                ),
            ),
        }
        rows = []
        for model in models:
            for method, fit, n, big_n in (
                ("human", fits[model][0], int(known.sum()), 0),
                ("ppi++", fits[model][1], int(both.sum()), int(corpus.sum())),
            ):
                with warnings.catch_warnings():
                    # ppi_py fits with scikit-learn's penalty=None, deprecated since scikit-learn 1.8
                    warnings.simplefilter("ignore", FutureWarning)
                    low, high = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in fit())
                for name, lo, hi in zip(names, low, high, strict=True):
                    rows.append(
                        {
                            "model": model,
                            "coefficient": name,
                            "method": method,
                            "estimate": float((lo + hi) / 2),
                            "low": float(lo),
                            "high": float(hi),
                            "se": float((hi - lo) / (2 * z)),
                            "n_labelled": n,
                            "n_corpus": big_n,
                        }
                    )
        return pd.DataFrame(rows, columns=list(REGRESSION_COLUMNS))
