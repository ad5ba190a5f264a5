"""stats.ppi: every statistic against an independent computation (hand formulas, statsmodels)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from labeldistill.errors import LabelDistillError
from labeldistill.stats.ppi import METHODS, Sample, _ppi_py, ppi_lambda

LABELS = ["negative", "other"]
Z = stats.norm.ppf(0.975)


def _task(n=200, big_n=3000, quality=1.0, seed=0, share=0.3, scale=3.0):
    """Human labels of n texts, a student's probabilities for them and for N corpus texts, and
    the true corpus share of "negative". quality 0: probabilities independent of the truth;
    scale > 1: overconfident probabilities, which put the tuned lambda inside (0, 1)."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n + big_n) < share
    p = 1 / (1 + np.exp(-scale * (quality * (2 * truth - 1) + rng.standard_normal(n + big_n))))
    probs = np.column_stack([p, 1 - p])
    human = np.where(truth, "negative", "other").tolist()
    return human[:n], probs[:n], probs[n:], float(truth[n:].mean())


def _row(frame: pd.DataFrame, method: str, label: str = "negative") -> pd.Series:
    rows = frame[(frame["method"] == method) & (frame["label"] == label)]
    assert len(rows) == 1
    return rows.iloc[0]


def _hand_ppi(y, f_labelled, f_corpus, lam=None):
    """PPI++ for a mean, from the paper: lambda* = Cov(Y, f) / ((1 + n/N) Var(f)) clipped to
    [0, 1] (Cov on the labelled texts, Var on all predictions), theta = mean(lambda f_N) +
    mean(Y - lambda f_n), Var = Var(lambda f_N) / N + Var(Y - lambda f_n) / n."""
    n, big_n = len(y), len(f_corpus)
    if lam is None:
        cov = np.cov(y, f_labelled, bias=True)[0, 1]
        var = np.var(np.concatenate([f_labelled, f_corpus]), ddof=1)
        lam = min(max(cov / ((1 + n / big_n) * var), 0.0), 1.0)
    theta = np.mean(lam * f_corpus) + np.mean(y - lam * f_labelled)
    se = math.sqrt(np.var(lam * f_corpus) / big_n + np.var(y - lam * f_labelled) / n)
    return theta, se, lam


def _y(human, label="negative"):
    return np.array([h == label for h in human], dtype=float)


# ---- shares -------------------------------------------------------------------------------------


def test_human_interval_is_the_normal_binomial_interval():
    human, probs_n, probs_big, _ = _task()
    frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).shares()
    for label in LABELS:
        row = _row(frame, "human", label)
        count = sum(h == label for h in human)
        low, high = proportion_confint(count, len(human), alpha=0.05, method="normal")
        p = count / len(human)
        assert row["estimate"] == pytest.approx(p)
        assert (row["low"], row["high"]) == pytest.approx((low, high), rel=1e-9)
        assert row["se"] == pytest.approx(math.sqrt(p * (1 - p) / len(human)))
        assert (row["n_labelled"], row["n_corpus"]) == (200, 0)


def test_naive_interval_is_the_binomial_interval_of_the_predicted_labels():
    human, probs_n, probs_big, _ = _task()
    row = _row(Sample.from_arrays(human, probs_n, probs_big, LABELS).shares(level=0.9), "naive")
    count = int((probs_big[:, 0] > 0.5).sum())
    low, high = proportion_confint(count, len(probs_big), alpha=0.1, method="normal")
    assert row["estimate"] == pytest.approx(count / len(probs_big))
    assert (row["low"], row["high"]) == pytest.approx((low, high), rel=1e-9)
    assert (row["n_labelled"], row["n_corpus"]) == (0, 3000)


def test_ppi_plus_plus_matches_the_paper_formula():
    human, probs_n, probs_big, _ = _task()
    frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).shares(methods=METHODS)
    for k, label in enumerate(LABELS):
        theta, se, lam = _hand_ppi(_y(human, label), probs_n[:, k], probs_big[:, k])
        assert 0.05 < lam < 0.95  # tuned, not clipped: the formula itself is tested
        row = _row(frame, "ppi++", label)
        assert row["lambda"] == pytest.approx(lam, rel=1e-9)
        assert row["estimate"] == pytest.approx(theta, rel=1e-9)
        assert row["se"] == pytest.approx(se, rel=1e-9)
        assert (row["low"], row["high"]) == pytest.approx((theta - Z * se, theta + Z * se), rel=1e-9)
        theta1, se1, _ = _hand_ppi(_y(human, label), probs_n[:, k], probs_big[:, k], lam=1.0)
        plain = _row(frame, "ppi", label)
        assert (plain["estimate"], plain["se"], plain["lambda"]) == pytest.approx((theta1, se1, 1.0))


def test_our_lambda_is_the_one_ppi_py_tunes():
    ppi_py = _ppi_py()
    for quality, seed in ((1.5, 0), (0.5, 1), (3.0, 2)):
        human, probs_n, probs_big, _ = _task(quality=quality, seed=seed)
        y, f_n, f_big = _y(human), probs_n[:, 0], probs_big[:, 0]
        tuned = ppi_py.ppi_mean_ci(y, f_n, f_big, alpha=0.05, lam=None)
        ours = ppi_py.ppi_mean_ci(y, f_n, f_big, alpha=0.05, lam=ppi_lambda(y, f_n, f_big))
        assert np.allclose(tuned, ours, rtol=1e-12)


def test_0_1_predictions_feed_the_predicted_label():
    human, probs_n, probs_big, _ = _task()
    row = _row(Sample.from_arrays(human, probs_n, probs_big, LABELS).shares(prediction="label"), "ppi++")
    theta, se, lam = _hand_ppi(_y(human), (probs_n[:, 0] > 0.5) * 1.0, (probs_big[:, 0] > 0.5) * 1.0)
    assert (row["estimate"], row["se"], row["lambda"]) == pytest.approx((theta, se, lam), rel=1e-9)


def test_perfect_classifier_gives_a_narrow_interval_on_the_truth():
    rng = np.random.default_rng(3)
    truth = rng.random(4200) < 0.3
    probs = np.column_stack([truth, ~truth]).astype(float)
    human = np.where(truth[:200], "negative", "other").tolist()
    frame = Sample.from_arrays(human, probs[:200], probs[200:], LABELS).shares()
    ppi, alone = _row(frame, "ppi++"), _row(frame, "human")
    share = truth[200:].mean()
    assert ppi["low"] <= share <= ppi["high"]
    assert abs(ppi["estimate"] - share) < 0.005
    assert ppi["high"] - ppi["low"] < 0.3 * (alone["high"] - alone["low"])
    assert ppi["lambda"] > 0.8


def test_useless_classifier_gives_about_the_human_interval():
    human, probs_n, probs_big, _ = _task(quality=0.0, seed=4)
    frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).shares()
    ppi, alone = _row(frame, "ppi++"), _row(frame, "human")
    assert ppi["lambda"] < 0.15
    assert ppi["high"] - ppi["low"] == pytest.approx(alone["high"] - alone["low"], rel=0.05)
    assert ppi["estimate"] == pytest.approx(alone["estimate"], abs=0.01)


def test_constant_predictions_fall_back_to_human():
    human, probs_n, probs_big, _ = _task()
    flat_n, flat_big = np.full_like(probs_n, 0.5), np.full_like(probs_big, 0.5)
    frame = Sample.from_arrays(human, flat_n, flat_big, LABELS).shares()
    ppi, alone = _row(frame, "ppi++"), _row(frame, "human")
    assert ppi["lambda"] == 0.0
    assert (ppi["estimate"], ppi["se"]) == pytest.approx((alone["estimate"], alone["se"]))


def test_dsl_for_a_share_is_ppi_with_lambda_one():
    """DSL's doubly robust mean with a uniform labelled sample inside the corpus (pi = n / N):
    mean over the corpus of f + R / pi (Y - f) is PPI's estimate with lambda = 1."""
    rng = np.random.default_rng(5)
    big_n, n = 3000, 200
    truth = rng.random(big_n) < 0.3
    p = np.clip(np.where(truth, 0.7, 0.2) + 0.15 * rng.standard_normal(big_n), 0, 1)
    probs = np.column_stack([p, 1 - p])
    sample = rng.choice(big_n, n, replace=False)
    labelled = np.zeros(big_n, dtype=bool)
    labelled[sample] = True
    pseudo = p + labelled / (n / big_n) * (truth - p)
    human = np.where(truth[sample], "negative", "other").tolist()
    row = _row(Sample.from_arrays(human, probs[sample], probs, LABELS).shares(methods=["ppi"]), "ppi")
    assert row["estimate"] == pytest.approx(pseudo.mean(), rel=1e-12)
    # its standard error (sd of the pseudo-outcomes) is of the same size, not the same
    dsl_se = pseudo.std(ddof=1) / math.sqrt(big_n)
    assert 0.9 < dsl_se / row["se"] < 1.1


def test_missing_values_are_left_out_where_they_are():
    human, probs_n, probs_big, _ = _task()
    human = [None if i % 10 == 0 else h for i, h in enumerate(human)]
    human[1] = math.nan
    probs_n, probs_big = probs_n.copy(), probs_big.copy()
    probs_n[5] = np.nan  # no prediction: counts for human only
    probs_big[:7] = np.nan
    frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).shares()
    keep_human = np.array([h is not None and h == h for h in human])
    keep_both = keep_human & ~np.isnan(probs_n[:, 0])
    alone, ppi = _row(frame, "human"), _row(frame, "ppi++")
    assert alone["n_labelled"] == keep_human.sum() == 179
    assert alone["estimate"] == pytest.approx(np.mean([h == "negative" for h in np.array(human)[keep_human]]))
    assert (ppi["n_labelled"], ppi["n_corpus"]) == (178, 2993)
    y = np.array([h == "negative" for h in np.array(human, dtype=object)[keep_both]], dtype=float)
    theta, se, _ = _hand_ppi(y, probs_n[keep_both, 0], probs_big[7:, 0])
    assert (ppi["estimate"], ppi["se"]) == pytest.approx((theta, se), rel=1e-9)


def test_given_predicted_labels_are_used_for_naive():
    human, probs_n, probs_big, _ = _task()
    predicted = np.where(probs_big[:, 0] >= 0.5, "negative", "other").tolist()
    predicted[:3] = [None] * 3
    sample = Sample.from_arrays(human, probs_n, probs_big, LABELS, predicted_corpus=predicted)
    row = _row(sample.shares(), "naive")
    assert row["n_corpus"] == 2997
    assert row["estimate"] == pytest.approx((probs_big[3:, 0] >= 0.5).mean())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: {**a, "human_labels": a["human_labels"][:-1]}, "human_labels holds 199 labels"),
        (lambda a: {**a, "probabilities_corpus": a["probabilities_corpus"][:, :1]}, "one column per label"),
        (lambda a: {**a, "probabilities_labelled": a["probabilities_labelled"] * 2}, "not a distribution"),
        (lambda a: {**a, "human_labels": ["neutral", *a["human_labels"][1:]]}, "'neutral' is not one"),
        (lambda a: {**a, "human_labels": [None] * 199 + ["other"]}, "1 labelled texts with a label"),
        (lambda a: {**a, "labels": ["negative"]}, "two or more distinct labels"),
        (lambda a: {**a, "methods": ["dsl"]}, "methods"),
        (lambda a: {**a, "prediction": "logit"}, "prediction"),
        (lambda a: {**a, "level": 95}, "level"),
        (
            lambda a: {
                **a,
                "probabilities_labelled": a["probabilities_labelled"][:, ::-1],
                "predicted_labelled": a["human_labels"],
            },
            "are the columns in the label order",
        ),
    ],
)
def test_bad_input_names_the_problem(change, message):
    human, probs_n, probs_big, _ = _task()
    args = {
        "human_labels": human,
        "probabilities_labelled": probs_n,
        "probabilities_corpus": probs_big,
        "labels": LABELS,
    }
    changed = change(args)
    options = {key: changed.pop(key) for key in ("methods", "prediction", "level") if key in changed}
    with pytest.raises(LabelDistillError, match=message):
        Sample.from_arrays(**changed).shares(**options)


def test_inputs_are_not_changed():
    human, probs_n, probs_big, _ = _task()
    probs_n[3] = np.nan
    before = probs_n.copy()
    predicted = [None if i == 3 else LABELS[int(np.argmax(p))] for i, p in enumerate(probs_n)]
    Sample.from_arrays(human, probs_n, probs_big, LABELS, predicted_labelled=predicted).shares()
    assert np.array_equal(before, probs_n, equal_nan=True)


def test_one_sample_serves_every_estimate_and_cannot_be_changed():
    human, probs_n, probs_big, _ = _task()
    sample = Sample.from_arrays(human, probs_n, probs_big, LABELS)
    first = sample.shares(methods=METHODS)
    sample.effective_labels()
    sample.plan_labels(half_width=0.03)
    pd.testing.assert_frame_equal(sample.shares(methods=METHODS), first)
    with pytest.raises(ValueError, match="read-only"):
        sample.probs_corpus[0, 0] = 0.5
    with pytest.raises(AttributeError):
        sample.labels = ("a", "b")


# ---- by group ---------------------------------------------------------------------------------------


def test_shares_by_group_estimate_each_group_from_its_own_texts():
    human, probs_n, probs_big, _ = _task(n=400, seed=6)
    rng = np.random.default_rng(7)
    years_n = rng.choice([2020, 2021, 2022], 400, p=[0.5, 0.45, 0.05]).astype(object)  # NaN-able
    years_big = rng.choice([2020, 2021, 2022], 3000, p=[0.5, 0.45, 0.05]).astype(object)
    years_n[0], years_big[0] = None, None
    with pytest.warns(UserWarning, match=r"group 2022: \d+ labelled texts .* no human, ppi\+\+ estimate"):
        frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).shares_by_group(years_n, years_big)
    assert list(frame["group"].unique()) == [2020, 2021, 2022]
    for year in (2020, 2021):
        inside_n, inside_big = years_n == year, years_big == year
        alone = Sample.from_arrays(
            np.array(human, dtype=object)[inside_n].tolist(), probs_n[inside_n], probs_big[inside_big], LABELS
        ).shares()
        part = frame[frame["group"] == year].drop(columns="group").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, alone)
    small = frame[frame["group"] == 2022]
    assert small.loc[small["method"] != "naive", ["estimate", "low", "high"]].isna().all().all()
    assert small.loc[small["method"] == "naive", "estimate"].notna().all()


# ---- effective labels and the planner -----------------------------------------------------------


def test_effective_labels_is_n_times_the_variance_ratio():
    human, probs_n, probs_big, _ = _task(seed=8)
    frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).effective_labels()
    for k, label in enumerate(LABELS):
        y = _y(human, label)
        _, se, lam = _hand_ppi(y, probs_n[:, k], probs_big[:, k])
        p = y.mean()
        row = frame[frame["label"] == label].iloc[0]
        assert row["effective_labels"] == pytest.approx(200 * (p * (1 - p) / 200) / se**2, rel=1e-9)
        assert (row["se_ppi"], row["lambda"], row["n_labelled"]) == pytest.approx((se, lam, 200))
        assert row["effective_labels"] > 200


def test_plan_labels_by_hand():
    human, probs_n, probs_big, _ = _task(seed=9)
    frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).plan_labels(half_width=0.03)
    y = _y(human)
    _, _, lam = _hand_ppi(y, probs_n[:, 0], probs_big[:, 0])
    row = frame[frame["label"] == "negative"].iloc[0]
    target = (0.03 / Z) ** 2
    n_human = math.ceil(y.mean() * (1 - y.mean()) / target)
    corpus_part = np.var(lam * probs_big[:, 0]) / 3000
    n_ppi = math.ceil(np.var(y - lam * probs_n[:, 0]) / (target - corpus_part))
    assert (row["n_human"], row["n_ppi"]) == (n_human, n_ppi)
    assert row["n_ppi"] < row["n_human"]
    # the planned n gives the target half-width when the measured variances hold
    half = Z * math.sqrt(np.var(y - lam * probs_n[:, 0]) / row["n_ppi"] + corpus_part)
    assert half <= 0.03 < Z * math.sqrt(np.var(y - lam * probs_n[:, 0]) / (row["n_ppi"] - 1) + corpus_part)


def test_plan_labels_says_none_when_the_corpus_part_alone_is_too_wide():
    human, probs_n, probs_big, _ = _task(big_n=50, quality=3.0, seed=10)
    frame = Sample.from_arrays(human, probs_n, probs_big, LABELS).plan_labels(half_width=0.01)
    assert frame["n_ppi"].isna().all()
    assert frame["n_human"].notna().all()


# ---- regression ---------------------------------------------------------------------------------------


def _regression_task(seed=11, n=300, big_n=2000):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.standard_normal(n + big_n), rng.random(n + big_n) < 0.4]).astype(float)
    truth = rng.random(n + big_n) < 1 / (1 + np.exp(-(-0.8 + 0.7 * x[:, 0] + 0.5 * x[:, 1])))
    p = 1 / (1 + np.exp(-(1.5 * (2 * truth - 1) + rng.standard_normal(n + big_n))))
    probs = np.column_stack([p, 1 - p])
    human = np.where(truth, "negative", "other").tolist()
    return human[:n], probs[:n], probs[n:], x[:n], x[n:]


def _hand_ppi_glm(x_n, y, f_n, x_big, f_big, link):
    """PPI++ for OLS (imputed fit + rectifier fit, Angelopoulos et al. 2023) or logistic (the
    rectified loss minimised), lambda tuned as ppi_py does: from the gradients at the lambda = 1
    estimate, the estimate refitted, lambda tuned again there, the estimate refitted and its
    sandwich variance H^-1 (n / N Cov(lambda g_f, corpus) + Cov(g_Y - lambda g_f)) H^-1 / n."""
    n, big_n = len(y), len(f_big)
    mean = (lambda eta: eta) if link == "ols" else (lambda eta: 1 / (1 + np.exp(-eta)))
    slope = (lambda mu: np.ones_like(mu)) if link == "ols" else (lambda mu: mu * (1 - mu))

    def fit(lam):
        if link == "ols":
            ols = lambda x, t: np.linalg.solve(x.T @ x, x.T @ t)  # noqa: E731
            return ols(x_big, lam * f_big) + ols(x_n, y - lam * f_n)

        def loss(theta):
            nll = lambda x, t: np.mean(np.logaddexp(0, x @ theta) - t * (x @ theta))  # noqa: E731
            return lam * nll(x_big, f_big) - lam * nll(x_n, f_n) + nll(x_n, y)

        def grad(theta):
            g = lambda x, t: x.T @ (mean(x @ theta) - t) / len(x)  # noqa: E731
            return lam * g(x_big, f_big) - lam * g(x_n, f_n) + g(x_n, y)

        start = sm.Logit(y, x_n).fit(disp=0).params
        return optimize.minimize(loss, start, jac=grad, method="BFGS", options={"gtol": 1e-12}).x

    def moments(theta):
        mu_n, mu_big = mean(x_n @ theta), mean(x_big @ theta)
        g_y = x_n * (mu_n - y)[:, None]
        g_f = x_n * (mu_n - f_n)[:, None]
        g_big = x_big * (mu_big - f_big)[:, None]
        hessian = ((x_n * slope(mu_n)[:, None]).T @ x_n + (x_big * slope(mu_big)[:, None]).T @ x_big) / (
            n + big_n
        )
        return g_y, g_f, g_big, np.linalg.inv(hessian)

    def tuned(theta):
        g_y, g_f, g_big, h_inv = moments(theta)
        a, b = g_y - g_y.mean(0), g_f - g_f.mean(0)
        cov = (a.T @ b + b.T @ a) / n
        var = np.cov(np.vstack([g_f, g_big]).T)
        lam = np.trace(h_inv @ cov @ h_inv) / (2 * (1 + n / big_n) * np.trace(h_inv @ var @ h_inv))
        return min(max(lam, 0.0), 1.0)

    theta = fit(tuned(fit(1.0)))
    lam = tuned(theta)
    theta = fit(lam)
    g_y, g_f, g_big, h_inv = moments(theta)
    sigma = h_inv @ (n / big_n * np.cov((lam * g_big).T) + np.cov((g_y - lam * g_f).T)) @ h_inv
    return theta, np.sqrt(np.diag(sigma) / n)


def test_regression_against_statsmodels_and_a_hand_ppi():
    human, probs_n, probs_big, x_n, x_big = _regression_task()
    sample = Sample.from_arrays(human, probs_n, probs_big, LABELS)
    frame = sample.regression(x_n, x_big, "negative", names=["score", "flag"])
    design_n = sm.add_constant(x_n)
    design_big = sm.add_constant(x_big)
    y = _y(human)
    assert list(frame["coefficient"].unique()) == ["intercept", "score", "flag"]

    def rows(model, method):
        return frame[(frame["model"] == model) & (frame["method"] == method)]

    ols = sm.OLS(y, design_n).fit(cov_type="HC0")
    assert rows("ols", "human")["estimate"].to_numpy() == pytest.approx(ols.params, rel=1e-9)
    assert rows("ols", "human")["se"].to_numpy() == pytest.approx(ols.bse, rel=1e-9)
    # statsmodels' HC0 sums uncentred score products; the sandwich here uses their covariance
    logit = sm.Logit(y, design_n).fit(disp=0, cov_type="HC0")
    assert rows("logistic", "human")["estimate"].to_numpy() == pytest.approx(logit.params, rel=1e-4)
    assert rows("logistic", "human")["se"].to_numpy() == pytest.approx(
        logit.bse * math.sqrt(300 / 299), rel=1e-4
    )

    for model in ("ols", "logistic"):
        theta, se = _hand_ppi_glm(design_n, y, probs_n[:, 0], design_big, probs_big[:, 0], model)
        ppi = rows(model, "ppi++")
        assert ppi["estimate"].to_numpy() == pytest.approx(theta, rel=1e-4)
        assert ppi["se"].to_numpy() == pytest.approx(se, rel=1e-4)
        assert (ppi["se"].to_numpy() < rows(model, "human")["se"].to_numpy()).all()
        assert (ppi["low"] < ppi["estimate"]).all() and (ppi["n_corpus"] == 2000).all()


def test_regression_bad_input():
    human, probs_n, probs_big, x_n, x_big = _regression_task()
    sample = Sample.from_arrays(human, probs_n, probs_big, LABELS)
    collinear = np.column_stack([x_n, 2 * x_n[:, 0]])
    with pytest.raises(LabelDistillError, match="collinear"):
        sample.regression(collinear, np.column_stack([x_big, x_big[:, 0]]), "negative")
    with pytest.raises(LabelDistillError, match="positive_label"):
        sample.regression(x_n, x_big, "neutral")
    with pytest.raises(LabelDistillError, match="covariates_corpus"):
        sample.regression(x_n, x_big[:, :1], "negative")


def test_importing_ppi_py_leaves_warnings_on():
    """ppi_py switches every warning off when imported; stats.ppi imports it without that."""
    code = (
        "import warnings; from labeldistill.stats.ppi import _ppi_py; _ppi_py(); "
        "warnings.warn('still heard', UserWarning)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "still heard" in done.stderr
