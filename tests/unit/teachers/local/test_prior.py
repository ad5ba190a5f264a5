"""Calibration: the prior-preserving correction of the local teacher (the quality measures are
test_calibration_metrics.py's)."""

from __future__ import annotations

import numpy as np
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.stats.metrics import classification_metrics
from labeldistill.teachers.local import teacher as local
from labeldistill.teachers.local.prior import (
    calibrate,
    calibration_target,
    check_target,
    em_prior,
    label_prior,
)

LABELS = ["negative", "other"]


def calibrated_teacher(n: int = 20_000, seed: int = 0):
    """A perfectly calibrated teacher at 25 % prevalence: gold ~ Bernoulli(its probability).

    The probability of "negative" is logit-normal (mean -1.8, sd 2), whose mean is 0.25.
    """
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(-1.8 + 2.0 * rng.standard_normal(n))))
    gold = np.where(rng.random(n) < p, "negative", "other")
    return np.column_stack([p, 1 - p]), list(gold)


def scores(probabilities, gold) -> dict:
    predicted = [LABELS[i] for i in np.argmax(probabilities, axis=1)]
    result = classification_metrics(gold, predicted, "negative", LABELS)
    result["positive_rate"] = float(np.mean([p == "negative" for p in predicted]))
    return result


def test_calibrate_with_a_uniform_target_is_batch_calibration():
    raw = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [np.nan, np.nan]])
    mean = np.nanmean(raw, axis=0)
    got = calibrate(raw, mean, [0.5, 0.5])
    expected = raw / mean / (raw / mean).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got[:3], expected[:3], rtol=1e-12)
    assert np.isnan(got[3]).all()  # a failed text stays failed
    np.testing.assert_allclose(calibrate(raw, mean, [3, 1]), calibrate(raw, mean, [0.75, 0.25]))


def test_a_calibrated_teacher_is_left_unchanged():
    raw, _ = calibrated_teacher(1000)
    mean = raw.mean(axis=0)
    np.testing.assert_allclose(calibrate(raw, mean, mean), raw, rtol=1e-12)


def test_uniform_target_pulls_the_positive_rate_towards_one_half():
    raw, gold = calibrated_teacher()
    mean = raw.mean(axis=0)
    assert mean[0] == pytest.approx(0.25, abs=0.01)
    before = scores(raw, gold)
    uniform = scores(calibrate(raw, mean, [0.5, 0.5]), gold)
    # The figures of the module docstring: 0.18 -> 0.36 predicted positive, P 0.71 -> 0.53,
    # R 0.51 -> 0.77 (this draw: 0.19 -> 0.37, 0.72 -> 0.53, 0.54 -> 0.79).
    assert before["positive_rate"] == pytest.approx(0.18, abs=0.015)
    assert uniform["positive_rate"] == pytest.approx(0.365, abs=0.02)
    assert before["precision"] - uniform["precision"] > 0.12
    assert uniform["recall"] - before["recall"] > 0.2


def test_prior_targets_keep_a_calibrated_teachers_positive_rate():
    raw, gold = calibrated_teacher()
    mean = raw.mean(axis=0)
    before = scores(raw, gold)
    true_prior = scores(calibrate(raw, mean, [0.25, 0.75]), gold)
    assert true_prior["positive_rate"] == pytest.approx(before["positive_rate"], abs=0.005)
    assert true_prior["precision"] == pytest.approx(before["precision"], abs=0.01)
    # 16 stratified examples from a pool at 25 %: 4 negative -> prior 4.5 / 17 = 0.265.
    examples = label_prior(["negative"] * 4 + ["other"] * 12, LABELS)
    from_examples = scores(calibrate(raw, mean, examples), gold)
    assert from_examples["positive_rate"] == pytest.approx(before["positive_rate"], abs=0.02)
    assert from_examples["f1"] == pytest.approx(before["f1"], abs=0.02)


def gaussian_posteriors(prior, training_prior, n: int, seed: int) -> np.ndarray:
    """Texts whose label is drawn with `prior`, a 1-d feature N(2 * label, 1), and the exact
    posteriors a classifier fitted under `training_prior` would give."""
    rng = np.random.default_rng(seed)
    k = len(prior)
    y = rng.choice(k, size=n, p=prior)
    x = 2.0 * y + rng.standard_normal(n)
    likelihood = np.exp(-0.5 * (x[:, None] - 2.0 * np.arange(k)[None, :]) ** 2)
    posterior = likelihood * np.asarray(training_prior)
    return posterior / posterior.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("prior", "training_prior"),
    [
        ([0.25, 0.75], [0.5, 0.5]),
        ([0.6, 0.3, 0.1], [1 / 3, 1 / 3, 1 / 3]),
        ([0.2, 0.3, 0.5], [0.5, 0.3, 0.2]),
    ],
)
def test_em_recovers_a_known_prior(prior, training_prior):
    posteriors = gaussian_posteriors(prior, training_prior, 5000, seed=1)
    estimate = em_prior(posteriors, training_prior)
    assert estimate.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(estimate, prior, atol=0.025)
    # The plain mean of the posteriors is pulled towards the training prior; EM is not.
    assert np.abs(posteriors.mean(axis=0) - prior).max() > 2 * np.abs(estimate - prior).max()


def test_em_ignores_failed_rows():
    posteriors = gaussian_posteriors([0.25, 0.75], [0.5, 0.5], 2000, seed=2)
    with_nan = np.vstack([posteriors, [[np.nan, np.nan]]])
    np.testing.assert_allclose(em_prior(with_nan), em_prior(posteriors))


def test_em_on_the_calibration_texts_gives_back_their_mean_prediction():
    # Why "em" does no correction: on the batch-calibrated probabilities of the very texts whose
    # mean was divided out, EM's maximum-likelihood prior is that mean.
    raw = gaussian_posteriors([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], 32, seed=3)
    target, method = calibration_target("em", raw)
    assert method == "em"
    np.testing.assert_allclose(target, raw.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(calibrate(raw, raw.mean(axis=0), target), raw, atol=1e-5)


def test_calibration_target_settings():
    raw = np.array([[0.9, 0.1], [0.3, 0.7]])
    uniform, method = calibration_target(check_target("uniform", LABELS), raw)
    assert method == "uniform" and uniform.tolist() == [0.5, 0.5]
    given, method = calibration_target(check_target([1, 3], LABELS), raw)
    assert method == "given" and given.tolist() == [0.25, 0.75]
    with pytest.raises(LabelDistillError, match="label_prior"):
        check_target("examples", LABELS)
    with pytest.raises(LabelDistillError, match="one per label"):
        check_target([0.2, 0.3, 0.5], LABELS)
    with pytest.raises(LabelDistillError, match="positive"):
        check_target([0.0, 1.0], LABELS)


def test_label_prior_counts_with_smoothing():
    prior = label_prior(["negative", "other", "other", "other"], LABELS)
    np.testing.assert_allclose(prior, [1.5 / 5, 3.5 / 5])
    # A label without examples keeps a small share, so it can still be predicted.
    absent = label_prior(["other"] * 16, LABELS)
    assert absent[0] == pytest.approx(0.5 / 17) and absent.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(label_prior([], ["a", "b", "c"]), [1 / 3] * 3)
    with pytest.raises(LabelDistillError, match="'positive'"):
        label_prior(["positive"], LABELS)


def test_label_prior_is_exported_by_the_local_teacher_module():
    assert local.label_prior is label_prior


def test_prior_matching_offsets_reach_the_target_shares():
    from labeldistill.teachers.local.prior import prior_matching_offsets

    rng = np.random.default_rng(5)
    # Squeezed probabilities of a weak binary model: all near 0.3 for label 0.
    p0 = np.clip(0.3 + rng.normal(0, 0.05, 400), 0.01, 0.99)
    binary = np.column_stack([p0, 1 - p0])
    offsets = prior_matching_offsets(binary, [0.25, 0.75])
    labels = np.argmax(np.log(binary) + offsets, axis=1)
    assert np.mean(labels == 0) == pytest.approx(0.25, abs=1 / 400 + 1e-9)
    assert np.mean(np.argmax(binary, axis=1) == 0) == 0  # plain argmax never picks label 0
    # Labels follow the ranking: every text called 0 is at least as likely 0 as any other.
    assert binary[labels == 0, 0].min() >= binary[labels == 1, 0].max()
    # Three labels: the iteration gets within one text per label of the target.
    three = rng.dirichlet([2, 2, 2], size=300) * 0.3 + np.array([0.5, 0.2, 0.0])
    three /= three.sum(axis=1, keepdims=True)
    target = np.array([0.2, 0.3, 0.5])
    shares = (
        np.bincount(np.argmax(np.log(three) + prior_matching_offsets(three, target), axis=1), minlength=3)
        / 300
    )
    assert np.abs(shares - target).sum() <= 3 / 300
