"""Calibration of label probabilities: correcting a teacher's prior, and measuring the result.

Correcting (used by the local teacher). A few-shot prompt biases a small model towards some
labels; its mean prediction over unlabelled texts of the task mixes that bias with the labels'
true prevalence, and unlabelled texts alone cannot tell the two apart. `calibrate` divides every
text's probabilities by the mean prediction and multiplies by a target prior:

- target uniform: "batch calibration" (Zhou et al., ICLR 2024). It pulls the predicted share of
  every label towards 1/K: a perfectly calibrated teacher at 25 % prevalence (simulated in
  tests/unit/test_calibration.py) goes from predicting 18 % of texts positive to 36 %, precision
  0.71 -> 0.53, recall 0.51 -> 0.77, an artefact that reads as "LLM labels gain recall and lose
  precision".
- target = the label shares of the few-shot examples (`label_prior`): the examples are drawn
  from the pool stratified by label, so they estimate the pool's prevalence from labels the
  workflow already has. A calibrated teacher (mean prediction = target) is left unchanged.
- target = an EM estimate (`em_prior`, Saerens, Latinne and Decaestecker 2002) on the
  calibration texts. Note: run on the batch-calibrated probabilities of the same texts whose
  mean was divided out, EM's maximum-likelihood prior is exactly that raw mean prediction (the
  log-likelihood is concave and its gradient is constant there), so this target undoes the
  correction and returns the raw probabilities up to EM's tolerance. It is kept as an option
  because it says so in numbers.

How well the result is calibrated against the human labels is measured in
`labeldistill.stats.calibration` (the evaluate stage's; this module is the local teacher's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labeldistill.errors import LabelDistillError

# Added to every label's count of few-shot examples (Jeffreys' prior): no label gets a prior of
# 0, which would make it impossible to predict; with 16 stratified examples of which 4 are
# positive the prior is 4.5 / 17 = 0.265 instead of 0.25.
PRIOR_SMOOTHING = 0.5
# The mean prediction is clipped here so that a label the model never gives cannot divide by 0.
MIN_MEAN = 1e-9


def _distribution(values, size: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (size,) or not np.isfinite(array).all() or (array <= 0).any():
        raise LabelDistillError(
            f"{what} must be {size} positive finite numbers (one per label), got {list(np.ravel(values))}"
        )
    return array / array.sum()


def calibrate(probabilities, mean_prediction, target_prior) -> np.ndarray:
    """p_i ∝ p_i / mean_prediction * target_prior, row by row (texts x labels).

    With a uniform target this is batch calibration; with target = mean_prediction the
    probabilities are unchanged. NaN rows (failed texts) stay NaN.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be texts x labels, got shape {probabilities.shape}")
    k = probabilities.shape[1]
    mean = np.clip(np.asarray(mean_prediction, dtype=np.float64), MIN_MEAN, None)
    if mean.shape != (k,):
        raise ValueError(f"mean prediction has shape {mean.shape}, expected ({k},)")
    target = _distribution(target_prior, k, "the calibration target prior")
    adjusted = probabilities / mean * target
    return adjusted / adjusted.sum(axis=1, keepdims=True)


def label_prior(example_labels: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """The label shares of the few-shot examples, smoothed: (count + 0.5) / (n + 0.5 K).

    The examples are drawn from the pool stratified by label (every label once, the rest in
    proportion), so their shares estimate the pool's prevalence. No examples: uniform.
    """
    labels = [str(label) for label in labels]
    if not labels:
        raise LabelDistillError("label_prior needs at least one label")
    unknown = sorted({str(label) for label in example_labels} - set(labels))
    if unknown:
        raise LabelDistillError(f"few-shot example label(s) {unknown} are not among the labels {labels}")
    counts = np.array([sum(str(e) == label for e in example_labels) for label in labels], dtype=np.float64)
    smoothed = counts + PRIOR_SMOOTHING
    return smoothed / smoothed.sum()


def em_prior(probabilities, training_prior=None, max_iter: int = 10_000, tol: float = 1e-10) -> np.ndarray:
    """The label prior of a set of texts by EM (Saerens, Latinne and Decaestecker, 2002).

    `probabilities` (texts x labels) are posteriors that are calibrated under `training_prior`
    (default uniform). Each step re-weights every posterior by prior / training_prior,
    renormalises, and takes the mean as the new prior, until it moves less than `tol`. NaN rows
    are ignored.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities[~np.isnan(probabilities).any(axis=1)]
    k = probabilities.shape[1]
    if len(probabilities) == 0:
        raise LabelDistillError("em_prior needs at least one row of probabilities")
    base = (
        np.full(k, 1.0 / k) if training_prior is None else _distribution(training_prior, k, "training prior")
    )
    prior = base.copy()
    for _ in range(max_iter):
        adjusted = probabilities * (prior / base)
        adjusted /= adjusted.sum(axis=1, keepdims=True)
        new = adjusted.mean(axis=0)
        done = np.abs(new - prior).max() < tol
        prior = new
        if done:
            break
    return prior


CALIBRATION_PRIORS = ("uniform", "em")


def check_target(prior, labels: Sequence[str]) -> str | np.ndarray:
    """A valid `calibration_prior` setting: "uniform", "em" or a prior aligned with `labels`."""
    if isinstance(prior, str):
        if prior not in CALIBRATION_PRIORS:
            raise LabelDistillError(
                f"calibration_prior: {prior!r} is not one of {', '.join(CALIBRATION_PRIORS)} "
                "or a list of one probability per label (for the few-shot examples' shares pass "
                "label_prior(example labels, labels))"
            )
        return prior
    return _distribution(prior, len(labels), f"calibration_prior (labels {list(labels)})")


def calibration_target(prior, calibration_probabilities) -> tuple[np.ndarray, str]:
    """The target prior and the method's name for the provenance, from a checked setting.

    "uniform": 1/K each; "em": `em_prior` of the batch-calibrated probabilities of the
    calibration texts (which comes out as their raw mean prediction, see the module docstring);
    an array: itself ("given").
    """
    probabilities = np.asarray(calibration_probabilities, dtype=np.float64)
    k = probabilities.shape[1]
    uniform = np.full(k, 1.0 / k)
    if isinstance(prior, str) and prior == "uniform":
        return uniform, "uniform"
    if isinstance(prior, str) and prior == "em":
        mean = np.nanmean(probabilities, axis=0)
        return em_prior(calibrate(probabilities, mean, uniform), uniform), "em"
    return _distribution(prior, k, "calibration_prior"), "given"


def prior_matching_offsets(probabilities, target_prior, cycles: int = 100) -> np.ndarray:
    """Log-offsets per label so that the labels of these texts come out in the target shares.

    The label of a text is argmax(log p + offsets). Needed because a small model's calibrated
    probabilities are squeezed towards the prior: on the demo tasks Gemma 3 270M's probability
    of "negative" spans only 0.19-0.43 (tweets, 10th to 90th percentile), so with the
    examples' prior as the target almost no text crosses 0.5 and argmax labels nearly none
    negative (F1 0.00), although the probabilities rank texts well (AUC 0.81).
    Label by label, the offset that gives label k exactly its share (the others held fixed) is
    a quantile of the margin it must beat; cycling over the labels converges (with two labels
    in one step) and the closest result is kept.
    """
    logp = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), MIN_MEAN, None))
    logp = logp[np.isfinite(logp).all(axis=1)]
    target = _distribution(target_prior, logp.shape[1], "target prior")
    n, k = logp.shape
    offsets = np.zeros(k)
    if n == 0 or k < 2:
        return offsets
    best, best_error = offsets.copy(), math.inf
    for _ in range(cycles):
        for label in range(k):
            others = np.delete(logp + offsets, label, axis=1).max(axis=1)
            offsets[label] = float(np.quantile(others - logp[:, label], target[label]))
        offsets -= offsets.mean()
        shares = np.bincount(np.argmax(logp + offsets, axis=1), minlength=k) / n
        error = float(np.abs(shares - target).sum())
        if error < best_error - 1e-12:
            best, best_error = offsets.copy(), error
        elif error >= best_error:
            break
    return best


@dataclass(frozen=True)
class Calibration:
    """What calibrating one prompt on its calibration texts found, applied to every text.

    Measured once per task and labeler (rule `calibrate`) and read by every labeling job of
    that task, so that all parts use the same correction and the calibration texts are run
    once, not once per part.
    """

    method: str  # uniform, given (e.g. the examples' shares) or em
    n_texts: int
    mean_prediction: tuple[float, ...]
    target_prior: tuple[float, ...]
    decision_offsets: tuple[float, ...]

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "n_texts": self.n_texts,
            "mean_prediction": list(self.mean_prediction),
            "target_prior": list(self.target_prior),
            "decision_offsets": list(self.decision_offsets),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(
            method=str(data["method"]),
            n_texts=int(data["n_texts"]),
            mean_prediction=tuple(float(v) for v in data["mean_prediction"]),
            target_prior=tuple(float(v) for v in data["target_prior"]),
            decision_offsets=tuple(float(v) for v in data["decision_offsets"]),
        )


def fit_calibration(raw_probabilities, prior) -> Calibration:
    """The calibration of a prompt from the raw probabilities of its calibration texts.

    `prior` is a checked `calibration_prior` setting (`check_target`). A target other than
    uniform also sets the decision rule: labels in the target's shares on these texts.
    """
    raw = np.asarray(raw_probabilities, dtype=np.float64)
    raw = raw[np.isfinite(raw).all(axis=1)]
    if len(raw) == 0:
        raise LabelDistillError("no calibration text could be scored")
    mean = np.clip(raw.mean(axis=0), MIN_MEAN, None)
    target, method = calibration_target(prior, raw)
    offsets = np.zeros(raw.shape[1])
    if method != "uniform":
        offsets = prior_matching_offsets(calibrate(raw, mean, target), target)
    return Calibration(
        method=method,
        n_texts=len(raw),
        mean_prediction=tuple(float(v) for v in mean),
        target_prior=tuple(float(v) for v in target),
        decision_offsets=tuple(float(v) for v in offsets),
    )
