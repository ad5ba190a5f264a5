"""Intervals: every statistic against an independent computation (sklearn, statistics, scipy)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from labeldistill.contracts import jsonable
from labeldistill.stats import intervals
from labeldistill.stats.intervals import median_gap_summary, paired_gap_interval, seed_mean_interval
from labeldistill.stats.metrics import METRICS, classification_metrics

N, N_BOOT = 150, 300


def _gold(n: int = N, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.35, "pos", "neg").tolist()


def _seed_run(gold: list[str], accuracy: float, rng: np.random.Generator, failed: float = 0.05) -> list:
    """A run that is right with probability `accuracy` and fails (None) on some texts."""
    flip = {"pos": "neg", "neg": "pos"}
    return [None if rng.random() < failed else (g if rng.random() < accuracy else flip[g]) for g in gold]


def _runs(gold, accuracies, seed=1):
    rng = np.random.default_rng(seed)
    return [_seed_run(gold, accuracy, rng) for accuracy in accuracies]


def _as_labels(run) -> list[str]:
    return ["<failed>" if v is None else v for v in run]


def _sk_f1(gold, run) -> float:
    """Positive-class F1 by scikit-learn, a failure being a label of its own (always wrong)."""
    return f1_score(gold, _as_labels(run), labels=["pos"], average=None, zero_division=0)[0]


def _plain_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """Positive-class F1 from the resampled label arrays (20x faster than sklearn's)."""
    tp = np.sum((gold == "pos") & (pred == "pos"))
    wrong = np.sum((gold == "pos") != (pred == "pos"))
    return 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0


def _naive_boot(gold, runs, n_boot=N_BOOT, seed=0, score=_plain_f1) -> np.ndarray:
    """Loop bootstrap on resampled indices: F1 of every run, shape (n_boot, runs). The draws
    are the generator stream `intervals` uses (one chunk)."""
    gold = np.array(gold)
    runs = [np.array(_as_labels(run)) for run in runs]
    draws = np.random.default_rng(seed).integers(0, len(gold), size=(n_boot, len(gold)))
    return np.array([[score(gold[idx], run[idx]) for run in runs] for idx in draws])


def _hand_seed_part(per_seed: list[float], replicates: np.ndarray) -> tuple[float, float, int]:
    """(variance the seeds add to the seed mean, raw variance / S, df) from the textbook
    variance components: E[sample variance over seeds] = seed variance + (trace(C) - sum(C) / S)
    / (S - 1), C the covariance of the per-seed text errors (estimated by np.cov)."""
    n_seeds = len(per_seed)
    cov = np.cov(replicates, rowvar=False)
    text_noise = (np.trace(cov) - cov.sum() / n_seeds) / (n_seeds - 1)
    raw = statistics.variance(per_seed)
    return max(raw - text_noise, 0.0) / n_seeds, raw / n_seeds, n_seeds - 1


def _welch(var_test: float, seed_parts: list[tuple[float, float, int]], level=0.95):
    """Hand Welch-Satterthwaite: (se, df, t quantile); the df weight of a part is its raw one."""
    var = var_test + sum(v for v, _, _ in seed_parts)
    df = var**2 / sum(raw**2 / d for _, raw, d in seed_parts) if seed_parts else math.inf
    return math.sqrt(var), df, stats.t.ppf(1 - (1 - level) / 2, df)


def test_one_seed_is_the_text_bootstrap_of_a_sklearn_loop():
    gold = _gold()
    (run,) = _runs(gold, [0.8])
    out = seed_mean_interval(gold, [run], "pos", ["pos", "neg"], n_boot=N_BOOT, seed=3)["f1"]
    replicates = _naive_boot(gold, [run], seed=3, score=_sk_f1)
    assert replicates == pytest.approx(_naive_boot(gold, [run], seed=3))  # the fast F1 is sklearn's
    se = np.std(replicates, ddof=1)
    assert out["se_test"] == pytest.approx(se, rel=1e-9)
    assert out["estimate"] == pytest.approx(_sk_f1(gold, run))
    # no seed part: normal quantile, df inf, sd_seeds unknown
    assert out["df"] == math.inf and math.isnan(out["sd_seeds"]) and out["se_seeds"] == 0.0
    assert out["se"] == pytest.approx(se, rel=1e-9)
    assert out["low"] == pytest.approx(out["estimate"] - stats.norm.ppf(0.975) * se)
    assert out["high"] == pytest.approx(out["estimate"] + stats.norm.ppf(0.975) * se)


def test_three_seeds_text_part_seed_part_and_welch_df_by_hand():
    gold = _gold()
    runs = _runs(gold, [0.85, 0.8, 0.7])  # seeds that differ: a sizeable seed part
    f1 = seed_mean_interval(gold, runs, "pos", n_boot=100, seed=4)["f1"]
    per_seed = [_sk_f1(gold, run) for run in runs]
    replicates = _naive_boot(gold, runs, n_boot=100, seed=4, score=_sk_f1)
    se_test = np.std(replicates.mean(axis=1), ddof=1)
    assert f1["estimate"] == pytest.approx(statistics.mean(per_seed))
    assert f1["se_test"] == pytest.approx(se_test, rel=1e-9)
    assert f1["sd_seeds"] ** 2 == pytest.approx(statistics.variance(per_seed))
    part = _hand_seed_part(per_seed, replicates)
    assert 0 < part[0] < part[1]  # the text-noise share is taken off, not all of it
    assert f1["se_seeds"] ** 2 == pytest.approx(part[0], rel=1e-9)
    se, df, q = _welch(se_test**2, [part])
    assert 2 < df < 1000
    assert f1["df"] == pytest.approx(df, rel=1e-9)
    assert f1["se"] == pytest.approx(se, rel=1e-9)
    assert f1["low"] == pytest.approx(statistics.mean(per_seed) - q * se)
    assert f1["high"] == pytest.approx(statistics.mean(per_seed) + q * se)


def test_seed_spread_within_text_noise_adds_nothing():
    gold = _gold()
    runs = _runs(gold, [0.8] * 4, seed=11)  # seeds differ only by which texts they get wrong
    f1 = seed_mean_interval(gold, runs, "pos", n_boot=N_BOOT, seed=2)["f1"]
    per_seed = [_sk_f1(gold, run) for run in runs]
    part = _hand_seed_part(per_seed, _naive_boot(gold, runs, seed=2))
    assert part[0] == 0.0 and f1["se_seeds"] == 0.0 and f1["sd_seeds"] > 0
    assert f1["se"] == f1["se_test"]
    assert f1["df"] == pytest.approx(_welch(f1["se_test"] ** 2, [part])[1])  # finite: s^2 is uncertain


def test_interval_is_clipped_to_the_metric_range():
    gold = _gold()
    runs = _runs(gold, [0.99, 0.7, 0.5])  # wild seeds: t(2) * se reaches past 1 and 0
    f1 = seed_mean_interval(gold, runs, "pos", n_boot=N_BOOT)["f1"]
    q = stats.t.ppf(0.975, f1["df"])
    assert f1["estimate"] + q * f1["se"] > 1 and f1["high"] == 1.0
    gap = paired_gap_interval(gold, runs, _runs(gold, [0.5, 0.5, 0.5], seed=3), "pos", n_boot=N_BOOT)
    assert gap["low"] >= -1.0 and gap["high"] <= 1.0


def test_every_metric_estimate_and_seed_spread_match_sklearn():
    gold = _gold()
    runs = _runs(gold, [0.85, 0.8, 0.7, 0.9])
    out = seed_mean_interval(gold, runs, "pos", ["pos", "neg"], n_boot=50)
    scorers = {
        "f1": _sk_f1,
        "precision": lambda g, r: precision_score(
            g, _as_labels(r), labels=["pos"], average=None, zero_division=0
        )[0],
        "recall": lambda g, r: recall_score(g, _as_labels(r), labels=["pos"], average=None, zero_division=0)[
            0
        ],
        "accuracy": lambda g, r: accuracy_score(g, _as_labels(r)),
        "macro_f1": lambda g, r: f1_score(g, _as_labels(r), labels=["pos", "neg"], average="macro"),
    }
    assert set(out) == set(METRICS)
    for name, score in scorers.items():
        per_seed = [score(gold, run) for run in runs]
        assert out[name]["estimate"] == pytest.approx(statistics.mean(per_seed)), name
        assert out[name]["sd_seeds"] == pytest.approx(statistics.stdev(per_seed)), name
        assert out[name]["low"] <= out[name]["estimate"] <= out[name]["high"], name


def test_failed_predictions_count_as_wrong_as_classification_metrics_does():
    gold = _gold()
    runs = _runs(gold, [0.9, 0.8])
    runs[1][:20] = [float("nan")] * 20  # NaN is a failure too
    out = seed_mean_interval(gold, runs, "pos", n_boot=20)
    for name in METRICS:
        expected = np.mean([classification_metrics(gold, run, "pos")[name] for run in runs])
        assert out[name]["estimate"] == pytest.approx(expected), name
    everything_failed = seed_mean_interval(gold, [[None] * N, [None] * N], "pos", n_boot=20)
    assert everything_failed["accuracy"]["estimate"] == 0.0
    assert everything_failed["accuracy"]["high"] == 0.0  # identical seeds, no text variation


def test_seeded_and_chunking_invariant(monkeypatch):
    gold = _gold()
    runs = _runs(gold, [0.9, 0.8, 0.7])
    first = seed_mean_interval(gold, runs, "pos", n_boot=100, seed=5)
    assert first == seed_mean_interval(gold, runs, "pos", n_boot=100, seed=5)
    assert first != seed_mean_interval(gold, runs, "pos", n_boot=100, seed=6)
    monkeypatch.setattr(intervals, "MAX_CELLS", N * 8)  # chunks of 8 replicates
    assert first == seed_mean_interval(gold, runs, "pos", n_boot=100, seed=5)


def test_identical_conditions_give_an_exact_zero_gap():
    gold = _gold()
    runs = _runs(gold, [0.9, 0.8, 0.7])
    gap = paired_gap_interval(gold, runs, [list(run) for run in runs], "pos", n_boot=N_BOOT)
    assert (gap["estimate"], gap["low"], gap["high"], gap["se_test"], gap["sd_seeds"]) == (0, 0, 0, 0, 0)
    assert gap["p_value"] == 1.0 and gap["paired"] is True


def _correlated(gold, base_runs, flips: int, seed: int):
    """B: each seed of A with `flips` texts' predictions changed (highly correlated with A)."""
    rng = np.random.default_rng(seed)
    out = []
    for run in base_runs:
        run = list(run)
        for i in rng.choice(len(run), flips, replace=False):
            run[i] = "neg" if run[i] == "pos" else "pos"
        out.append(run)
    return out


def test_paired_gap_against_a_sklearn_loop_and_hand_t():
    gold = _gold()
    a = _runs(gold, [0.95, 0.8, 0.65])  # strong seed variation
    b = _correlated(gold, a, flips=12, seed=2)  # shares it seed by seed
    gap = paired_gap_interval(gold, a, b, "pos", ["pos", "neg"], n_boot=N_BOOT, seed=7)
    f1_a, f1_b = [_sk_f1(gold, r) for r in a], [_sk_f1(gold, r) for r in b]
    assert gap["estimate"] == pytest.approx(statistics.mean(f1_a) - statistics.mean(f1_b))
    replicates = _naive_boot(gold, a + b, seed=7)
    rep_a, rep_b = replicates[:, :3], replicates[:, 3:]
    se_test = np.std(rep_a.mean(axis=1) - rep_b.mean(axis=1), ddof=1)
    assert gap["se_test"] == pytest.approx(se_test, rel=1e-9)
    diffs = [x - y for x, y in zip(f1_a, f1_b, strict=True)]
    assert gap["sd_seeds"] == pytest.approx(statistics.stdev(diffs))
    se, df, q = _welch(se_test**2, [_hand_seed_part(diffs, rep_a - rep_b)])
    assert gap["paired"] and gap["df"] == pytest.approx(df) and gap["se"] == pytest.approx(se)
    assert (gap["low"], gap["high"]) == pytest.approx((gap["estimate"] - q * se, gap["estimate"] + q * se))
    assert gap["p_value"] == pytest.approx(2 * stats.t.sf(abs(gap["estimate"]) / se, df))

    # Unpaired by hand: independent text resamples and var_A / S + var_B / S. Both parts wider.
    unpaired_test = np.hypot(
        np.std(_naive_boot(gold, a, seed=8).mean(axis=1), ddof=1),
        np.std(_naive_boot(gold, b, seed=9).mean(axis=1), ddof=1),
    )
    parts = [_hand_seed_part(f1_a, rep_a), _hand_seed_part(f1_b, rep_b)]
    se_u, _, q_u = _welch(unpaired_test**2, parts)
    assert gap["se_test"] < unpaired_test / 2
    assert gap["high"] - gap["low"] < (2 * q_u * se_u) / 2


def test_gap_with_a_one_run_condition_is_unpaired():
    gold = _gold()
    a = _runs(gold, [0.9, 0.8, 0.7])
    fewshot = _runs(gold, [0.75], seed=5)
    gap = paired_gap_interval(gold, a, fewshot, "pos", metric="accuracy", n_boot=N_BOOT, seed=1)
    acc_a = [accuracy_score(gold, _as_labels(r)) for r in a]
    acc_b = accuracy_score(gold, _as_labels(fewshot[0]))
    assert gap["paired"] is False
    assert gap["estimate"] == pytest.approx(statistics.mean(acc_a) - acc_b)
    assert gap["sd_seeds"] == pytest.approx(statistics.stdev(acc_a))  # B's single run adds none
    # unequal seed counts > 1 are unpaired too: A's and B's seed parts add up, each with its df
    b = _runs(gold, [0.8, 0.6], seed=6)
    gap = paired_gap_interval(gold, a, b, "pos", n_boot=N_BOOT)
    replicates = _naive_boot(gold, a + b, seed=0)
    f1_a, f1_b = [_sk_f1(gold, r) for r in a], [_sk_f1(gold, r) for r in b]
    parts = [_hand_seed_part(f1_a, replicates[:, :3]), _hand_seed_part(f1_b, replicates[:, 3:])]
    assert all(part[0] > 0 for part in parts)
    se, df, _ = _welch(gap["se_test"] ** 2, parts)
    assert gap["paired"] is False and gap["df"] == pytest.approx(df) and gap["se"] == pytest.approx(se)
    assert gap["sd_seeds"] ** 2 == pytest.approx(statistics.variance(f1_a) + statistics.variance(f1_b))


def test_bad_arguments_and_no_texts():
    gold = _gold()
    runs = _runs(gold, [0.9])
    with pytest.raises(ValueError, match="metric"):
        paired_gap_interval(gold, runs, runs, "pos", metric="auc")
    with pytest.raises(ValueError, match="at least one seed"):
        seed_mean_interval(gold, [], "pos")
    with pytest.raises(ValueError, match="n_boot"):
        seed_mean_interval(gold, runs, "pos", n_boot=1)
    with pytest.raises(ValueError, match="level"):
        seed_mean_interval(gold, runs, "pos", level=95)
    with pytest.raises(ValueError, match="predictions"):
        seed_mean_interval(gold, [runs[0][:-1]], "pos")
    empty = seed_mean_interval([], [[], []], "pos")
    assert all(math.isnan(v) for v in empty["f1"].values())
    assert jsonable(empty)["f1"]["low"] is None
    gap = paired_gap_interval([], [[]], [[]], "pos")
    assert math.isnan(gap["p_value"]) and jsonable(gap)["estimate"] is None


def _hand_order_interval(x: list[float], level: float):
    """Widest-confidence search by P(k <= Binomial(n, 1/2) <= n - k), written independently."""
    x, n = sorted(x), len(x)
    best = (x[0], x[-1], stats.binom.cdf(n - 1, n, 0.5) - stats.binom.cdf(0, n, 0.5))
    for k in range(1, n // 2 + 1):
        confidence = stats.binom.cdf(n - k, n, 0.5) - stats.binom.cdf(k - 1, n, 0.5)
        if confidence >= level:
            best = (x[k - 1], x[n - k], confidence)
    return best


def test_median_gap_summary_against_scipy_and_order_statistics():
    gaps = [0.031, -0.012, 0.054, 0.0, 0.02, 0.075, -0.004, 0.043, 0.018, 0.066, 0.009, None, math.nan]
    finite = [g for g in gaps if g is not None and not math.isnan(g)]
    out = median_gap_summary(gaps)
    low, high, confidence = _hand_order_interval(finite, 0.95)
    assert out["n_tasks"] == 11 and out["n_missing"] == 2
    assert out["median"] == statistics.median(finite)
    assert (out["low"], out["high"]) == (low, high) == (-0.004, 0.066)  # k = 2 of 11: 98.8 %
    assert out["coverage"] == pytest.approx(confidence) and out["coverage"] >= 0.95
    test = stats.wilcoxon(finite)
    assert out["wilcoxon_statistic"] == test.statistic and out["wilcoxon_p"] == pytest.approx(test.pvalue)
    assert (out["n_a_better"], out["n_b_better"], out["n_ties"]) == (8, 2, 1)


def test_median_gap_summary_few_tasks():
    out = median_gap_summary([0.02, -0.01, 0.05, 0.03])
    assert (out["low"], out["high"]) == (-0.01, 0.05)
    assert out["coverage"] == pytest.approx(1 - 2 / 2**4)  # all four tasks: 87.5 %, not 95 %
    assert out["coverage"] == pytest.approx(_hand_order_interval([0.02, -0.01, 0.05, 0.03], 0.95)[2])
    one_nonzero = median_gap_summary([0.0, 0.0, 0.03])
    assert math.isnan(one_nonzero["wilcoxon_p"]) and one_nonzero["n_ties"] == 2
    nothing = median_gap_summary([])
    assert nothing["n_tasks"] == 0 and math.isnan(nothing["median"])
    assert jsonable(nothing)["coverage"] is None
