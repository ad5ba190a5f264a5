"""What a labelled corpus says: the share of each label with valid intervals, and whether to trust it.

The student's probabilities (averaged over the chosen seeds) on the corpus and on the task's
human-labelled test texts go to `labeldistill.stats.ppi`: the share of every label by the
naive count, by the human test labels alone and by PPI++; how many human labels the
predictions are worth (`Sample.effective_labels`); how many human texts a +- `half_width`
interval needs with PPI++ and without (`Sample.plan_labels`); with covariates, the shares by
covariate level and the PPI++ regressions (OLS and logistic) on them of the positive label (of
every label against the rest, for a task of more than two).

Every interval but the naive one is valid only if the test texts are a uniform random sample
of the corpus's population. That cannot be proven from the data, but its breaking often shows,
so `assumption_checks` compares what can be compared without labels:

- text length: the corpus's median length in characters against the test texts' (a ratio
  beyond `LENGTH_RATIO` either way is flagged);
- the student's mean predicted probability of the positive label (of every label, for a task
  of more than two) on the corpus against the test texts: under the assumption they differ by
  sampling noise only; a z beyond `SHARE_Z` (two-sided p < 0.003) is flagged;
- corpus texts that were the student's training or validation texts (e.g. a corpus that
  holds the task's own texts): the student has fitted its labeler's labels there, so its
  predictions on them are better than on new texts; their share is flagged when above 0.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeldistill.corpus.chunks import as_strings
from labeldistill.errors import LabelDistillError
from labeldistill.stats.ppi import Sample

log = logging.getLogger(__name__)

LENGTH_RATIO = 1.5  # corpus median length over the test texts' beyond this (or its inverse): flagged
SHARE_Z = 3.0  # |z| of the corpus-test difference in a label's mean predicted probability: flagged
MAX_DUMMY_LEVELS = 30  # a non-numeric covariate with more levels is left out of the regression


def average_predictions(frames: Sequence[pd.DataFrame], ids: Sequence[str], where: str) -> np.ndarray:
    """The mean over seeds of PREDICTIONS tables' probabilities, rows in the order of `ids`."""
    ids = pd.Index([str(i) for i in ids])
    total = None
    for frame in frames:
        probs = pd.Series(list(frame["probabilities"]), index=frame["id"].astype(str))
        missing = ids.difference(probs.index)
        if len(missing):
            raise LabelDistillError(f"{where}: no prediction for test id {missing[0]!r}")
        matrix = np.array([list(p) for p in probs.loc[ids]], dtype=np.float64)
        total = matrix if total is None else total + matrix
    if total is None:
        raise LabelDistillError(f"{where}: no predictions files (corpus.seeds is empty?)")
    return total / len(frames)


def covariates_by_id(
    texts: pd.DataFrame, id_column: str, covariates: Sequence[str], ids: Sequence[str]
) -> pd.DataFrame:
    """The covariate columns of `texts` for `ids` (rows in that order), as strings the way the
    corpus chunks hold them (None where missing, 2019 rather than 2019.0)."""
    indexed = texts.set_index(texts[id_column].astype(str))
    rows = indexed.reindex([str(i) for i in ids])
    return pd.DataFrame({c: as_strings(rows[c]).to_numpy() for c in covariates}, dtype=object)


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def probability_shift_z(corpus_probability: np.ndarray, test_probability: np.ndarray) -> float:
    """z of the difference in mean predicted probability of one label, corpus minus test texts
    (two independent samples; 0 where neither varies)."""
    se = math.sqrt(
        corpus_probability.var() / len(corpus_probability) + test_probability.var() / len(test_probability)
    )
    difference = float(corpus_probability.mean() - test_probability.mean())
    return difference / se if se > 0 else 0.0


def assumption_checks(
    corpus_chars: np.ndarray,
    test_chars: np.ndarray,
    corpus_probabilities: np.ndarray,
    test_probabilities: np.ndarray,
    labels: Sequence[str],
    positive_label: str,
    n_in_training: int,
    corpus_name: str = "corpus",
    predictor: str = "student",
) -> tuple[dict, list[str]]:
    """Figures that would show the test texts are not a random sample of the corpus, and the
    warnings (plain sentences) they raise. The probabilities are (texts, labels) matrices; a
    two-label task is checked on its positive label (the other is its complement), a task of
    more labels on every label. `corpus_name` and `predictor` name the texts and the model whose
    probabilities they are in the warnings (the uncoded texts and the LLM)."""
    warnings = []
    consequence = (
        "only the naive figure describes the corpus (without a valid interval)"
        if corpus_name == "corpus"
        else "no score measured on the test texts is sure to hold there"
    )
    median_corpus, median_test = float(np.median(corpus_chars)), float(np.median(test_chars))
    ratio = median_corpus / median_test if median_test > 0 else math.inf
    if not 1 / LENGTH_RATIO <= ratio <= LENGTH_RATIO:
        warnings.append(
            f"The {corpus_name}'s median text is {median_corpus:.0f} characters long, the test texts' "
            f"{median_test:.0f} (ratio {ratio:.2f}): the test texts may not be a random sample of the "
            f"{corpus_name}'s population, and then {consequence}."
        )
    labels = list(labels)
    checked = [positive_label] if len(labels) == 2 else labels
    z_by_label = {}
    for label in checked:
        k = labels.index(label)
        corpus_k, test_k = corpus_probabilities[:, k], test_probabilities[:, k]
        z_by_label[label] = z = probability_shift_z(corpus_k, test_k)
        if abs(z) > SHARE_Z:
            warnings.append(
                f"The {predictor}'s mean predicted probability of {label!r} is {corpus_k.mean():.3f} on "
                f"the {corpus_name} and {test_k.mean():.3f} on the test texts (z = {z:.1f}): more than "
                f"sampling noise, so the test texts are likely not a random sample of the {corpus_name}'s "
                "population."
            )
    positive = labels.index(positive_label)
    share_training = n_in_training / len(corpus_chars)
    if n_in_training:
        warnings.append(
            f"{n_in_training} corpus texts ({share_training:.1%}) were the student's training or "
            "validation texts: its predictions there fit its labeler's labels better than on new "
            "texts, which biases the corpus part of every estimate slightly; leave them out of the "
            "corpus to avoid it."
        )
    checks = {
        "median_chars_corpus": median_corpus,
        "median_chars_test": median_test,
        "length_ratio": ratio,
        "mean_positive_probability_corpus": float(corpus_probabilities[:, positive].mean()),
        "mean_positive_probability_test": float(test_probabilities[:, positive].mean()),
        "positive_probability_z": z_by_label[positive_label],  # checked in every task
        "probability_z": z_by_label,
        "n_corpus_in_training": int(n_in_training),
        "share_corpus_in_training": share_training,
    }
    return checks, warnings


def covariate_design(values: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Numeric regressors from string covariates: a column that parses as numbers is kept as a
    number, another is dummy-coded (its first level the reference); notes on what was left out."""
    columns, notes = {}, []
    for name in values.columns:
        column = values[name]
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers[column.notna()].notna().all():
            columns[name] = numbers.astype(float)
            continue
        levels = sorted(column.dropna().unique(), key=str)
        if len(levels) > MAX_DUMMY_LEVELS:
            notes.append(f"covariate {name!r} has {len(levels)} levels: left out of the regression")
            continue
        for level in levels[1:]:
            columns[f"{name}={level}"] = np.where(column.isna(), np.nan, (column == level).astype(float))
    return pd.DataFrame(columns, index=values.index), notes


def estimate_corpus(
    corpus: pd.DataFrame,
    test: pd.DataFrame,
    test_probabilities: np.ndarray,
    labels: Sequence[str],
    positive_label: str,
    covariates: Sequence[str] = (),
    test_covariates: pd.DataFrame | None = None,
    training_ids: Sequence[str] = (),
    half_width: float = 0.03,
    level: float = 0.95,
    min_group_texts: int = 30,
) -> dict:
    """The estimates of one task's corpus as a dict of JSON-ready parts (see the module).

    `corpus`: a CORPUS_LABELS table; `test`: the SPLIT table of the test texts with
    `test_probabilities` aligned to its rows; `test_covariates`: the covariates of the test
    texts (rows aligned with `test`, strings), needed when `covariates` are given.
    """
    labels = list(labels)
    human = list(test["label"])
    probs_corpus = np.array([list(p) for p in corpus["probabilities"]], dtype=np.float64)
    probs_test = np.asarray(test_probabilities, dtype=np.float64)
    sample = Sample.from_arrays(human, probs_test, probs_corpus, labels)
    shares = sample.shares(level=level)
    worth = sample.effective_labels()
    plan = sample.plan_labels(half_width=half_width, level=level)
    checks, warnings = assumption_checks(
        corpus["n_chars"].to_numpy(dtype=float),
        test["text"].str.len().to_numpy(dtype=float),
        probs_corpus,
        probs_test,
        labels,
        positive_label,
        int(corpus["id"].astype(str).isin(set(map(str, training_ids))).sum()),
    )
    checks["n_test_in_corpus"] = int(test["id"].astype(str).isin(set(corpus["id"].astype(str))).sum())
    by_group, regression = {}, []
    if covariates:
        if test_covariates is None:
            raise LabelDistillError("covariates given but no covariates of the test texts")
        for name in covariates:
            groups = sample.shares_by_group(
                list(test_covariates[name]), list(corpus[name]), level=level, min_labelled=min_group_texts
            )
            by_group[name] = _records(groups.astype({"group": str}))
        design, notes = covariate_design(
            pd.concat([test_covariates[list(covariates)], corpus[list(covariates)]], ignore_index=True)
        )
        warnings += notes
        if design.shape[1]:
            x_test, x_corpus = design.iloc[: len(test)], design.iloc[len(test) :]
            for label in [positive_label] if len(labels) == 2 else labels:
                try:
                    fitted = sample.regression(x_test, x_corpus, label, level=level)
                    regression += _records(fitted.assign(label=label))
                except LabelDistillError as error:
                    warnings.append(
                        f"The regression of {label!r} on the covariates was not estimated: {error}"
                    )
    for warning in warnings:
        log.warning("%s", warning)
    return {
        "shares": _records(shares),
        "effective_labels": _records(worth),
        "plan": _records(plan),
        "by_group": by_group,
        "regression": regression,
        "checks": checks,
        "warnings": warnings,
    }
