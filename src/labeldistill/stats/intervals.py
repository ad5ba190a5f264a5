"""Intervals for a condition's seed-mean metric and for gaps between conditions.

A condition is scored by S training runs (seeds) on one sample of n test texts; its estimate is
the mean over seeds of a metric. The interval is meant to cover what the condition scores on
average over the population of texts AND over training runs, so two samples add error:

- the texts. A bootstrap in which every replicate resamples the same texts for all seeds (and,
  for a gap, for both conditions) and recomputes the seed mean (or the gap); the sd of the
  replicates is `se_test`. Resampling jointly keeps the correlation that sharing one test set
  creates between seeds and between the two conditions of a gap.
- the seeds. The sample variance of the per-seed metrics divided by S; for a gap whose
  conditions have the same S > 1 seeds (seed s of both trained on the same ids), that of the
  per-seed differences, else var_A / S_A + var_B / S_B. On one test set that variance also
  holds the text noise in which the seeds differ, which `se_test` already counts: its expected
  share (from the bootstrap covariance of the per-seed values) is taken off, floored at 0, a
  method-of-moments variance component as in a random-effects ANOVA.

The variances are added and the interval is estimate +- t * se with the Welch-Satterthwaite
df of the sum (text part infinite df, seed variance S - 1 df): with few seeds and a large seed
part the t quantile widens it honestly (t(2) is 4.3 at 95 %). A condition with one run has no
seed part: its interval covers text sampling alone, which is exact for a deterministic labeler
(a few-shot LLM at temperature 0) and says nothing about the run-to-run variation of a student
trained once. Intervals are clipped to the metric's range ([0, 1], a gap [-1, 1]); df is inf
without a seed part (`contracts.jsonable` writes it as null).

Measured by bench/interval_coverage.py (simulated students, F1 ~0.69, seed sd 0.03, 500
replications, 95 %): with 200 test texts and 3 seeds the seed-mean interval covered 0.960, the
paired gap 0.964, a 3-seed vs one-run gap 0.958. Without taking off the text-noise share
(plainly adding var / S, as first planned) they covered 0.966, 0.974 and 0.966 with 3-4 %
wider intervals. Where seed variation dominates (1000 test texts) and is skewed by occasional
bad runs (skewness -2 in the bench), the seed-mean interval covers 0.93 with 3 or 5 seeds: a t
interval from a handful of skewed runs cannot do better, and the one-seed text-only interval
covers 0.72 there.

`median_gap_summary` summarises per-task gaps across tasks without a distribution: the median
with the order-statistic interval whose exact binomial confidence is reported, the Wilcoxon
signed-rank test, and the win counts.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from labeldistill.stats.metrics import (
    METRICS,
    bootstrap_counts,
    encode_runs,
    indicators,
    metrics_from_counts,
)

MAX_CELLS = 4_000_000  # bootstrap weights held at once (32 MB), as metrics.bootstrap_ci


def _check(n_boot: int, level: float) -> None:
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2 for a standard error, not {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, not {level}")


def _run_metrics(
    y_true: Sequence,
    runs: Sequence[Sequence],
    positive_label: str,
    labels: Sequence[str] | None,
    n_boot: int,
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """Every metric of every run on the test texts, shape (R,), and on `n_boot` resamples of
    the texts shared by all runs, shape (n_boot, R); None without test texts."""
    true_codes, pred_codes, order, positive = encode_runs(y_true, runs, positive_label, labels)
    if len(true_codes) == 0:
        return None
    n_labels, n_runs = len(order), len(runs)
    x = np.hstack([indicators(true_codes, codes, n_labels) for codes in pred_codes])
    width = x.shape[1] // n_runs

    def per_run(counts: np.ndarray) -> dict[str, np.ndarray]:
        values = metrics_from_counts(counts.reshape(-1, width), n_labels, positive)
        return {name: values[name].reshape(-1, n_runs) for name in METRICS}

    point = {name: values[0] for name, values in per_run(x.sum(axis=0, keepdims=True)).items()}
    chunks = [
        per_run(counts) for counts in bootstrap_counts(x, n_boot, np.random.default_rng(seed), MAX_CELLS)
    ]
    boot = {name: np.concatenate([chunk[name] for chunk in chunks]) for name in METRICS}
    return point, boot


def _seed_part(values: np.ndarray, boot: np.ndarray) -> tuple[float, float, float] | None:
    """What seeds add to the variance of the seed mean: (variance, raw variance, df); None with
    one seed.

    `values` are the per-seed metrics, `boot` their text-bootstrap replicates (n_boot, S). The
    sample variance over seeds on one test set also holds the text noise in which seeds differ;
    its expected share, the mean between-seed variance of the bootstrap deviations, is already
    in se_test and is taken off (a method-of-moments variance component, floored at 0). The
    Satterthwaite df weight stays that of the raw variance, which has S - 1 df.
    """
    n_seeds = len(values)
    if n_seeds < 2:
        return None
    raw = float(np.var(values, ddof=1))
    deviations = boot - boot.mean(axis=0)
    text_noise = float(np.var(deviations, axis=1, ddof=1).sum()) / (len(boot) - 1)
    return max(raw - text_noise, 0.0) / n_seeds, raw / n_seeds, n_seeds - 1.0


def _t_interval(
    estimate: float,
    boot: np.ndarray,
    parts: list[tuple[float, float, float]],
    level: float,
    floor: float,
) -> dict:
    """estimate +- t * sqrt(se_test^2 + seed parts), Welch-Satterthwaite df, clipped to
    [floor, 1]."""
    se_test = float(np.std(boot, ddof=1))
    var_seeds = sum(var for var, _, _ in parts)
    var = se_test**2 + var_seeds
    denominator = sum(raw**2 / df for _, raw, df in parts)
    df = var**2 / denominator if denominator > 0 else math.inf
    se = math.sqrt(var)
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return {
        "estimate": estimate,
        "low": max(estimate - half, floor),
        "high": min(estimate + half, 1.0),
        "se_test": se_test,
        "se_seeds": math.sqrt(var_seeds),
        "se": se,
        "df": df,
    }


def _empty(keys: Sequence[str]) -> dict:
    return {key: math.nan for key in keys}


SEED_MEAN_KEYS = ("estimate", "low", "high", "se_test", "sd_seeds", "df", "se_seeds", "se")
GAP_KEYS = (*SEED_MEAN_KEYS, "p_value")


def seed_mean_interval(
    y_true: Sequence,
    predictions: Sequence[Sequence],
    positive_label: str,
    labels: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Interval of every metric's mean over seeds, covering text sampling and seed variation.

    `predictions` holds one prediction sequence per seed, aligned with `y_true`; a missing
    prediction (None/NaN) is wrong, as in `metrics.classification_metrics`. Returns, per metric
    of `metrics.METRICS`, a dict: estimate (mean over seeds), low and high, se_test (text
    bootstrap sd of the seed mean), sd_seeds (sd of the per-seed values; NaN with one seed),
    df (Welch-Satterthwaite; inf with one seed or identical seeds), se_seeds (the seeds' share
    of the standard error: sqrt((sd_seeds^2 - text noise) / S); 0 with one seed) and se (the
    combined standard error, sqrt(se_test^2 + se_seeds^2)). All NaN without texts.
    """
    _check(n_boot, level)
    if len(predictions) == 0:
        raise ValueError("predictions must hold at least one seed's predictions")
    scored = _run_metrics(y_true, predictions, positive_label, labels, n_boot, seed)
    if scored is None:
        return {name: _empty(SEED_MEAN_KEYS) for name in METRICS}
    point, boot = scored
    result = {}
    for name in METRICS:
        part = _seed_part(point[name], boot[name])
        interval = _t_interval(
            float(point[name].mean()), boot[name].mean(axis=1), [part] if part else [], level, 0.0
        )
        interval["sd_seeds"] = float(np.std(point[name], ddof=1)) if part else math.nan
        result[name] = {key: interval[key] for key in SEED_MEAN_KEYS}
    return result


def paired_gap_interval(
    y_true: Sequence,
    predictions_a: Sequence[Sequence],
    predictions_b: Sequence[Sequence],
    positive_label: str,
    labels: Sequence[str] | None = None,
    metric: str = "f1",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Interval and two-sided p-value of seed-mean `metric` of A minus that of B, same texts.

    A and B hold one prediction sequence per seed (a few-shot condition has one). The text
    bootstrap resamples the same texts for both. Seeds are paired (seed s of A with seed s of
    B) when both have the same S > 1 seeds. Returns estimate, low, high, se_test, sd_seeds (sd
    over seeds of a one-seed gap: of the per-seed differences when paired, else
    sqrt(var_A + var_B) over the conditions with more than one seed; NaN if neither has),
    df, se_seeds, se (as in `seed_mean_interval`), p_value (two-sided, of gap = 0 from the same
    t approximation) and paired (whether seeds were paired).
    """
    _check(n_boot, level)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    s_a, s_b = len(predictions_a), len(predictions_b)
    if s_a == 0 or s_b == 0:
        raise ValueError(f"both conditions need at least one seed's predictions, not {s_a} and {s_b}")
    paired = s_a == s_b > 1
    scored = _run_metrics(y_true, [*predictions_a, *predictions_b], positive_label, labels, n_boot, seed)
    if scored is None:
        return {**_empty(GAP_KEYS), "paired": paired}
    values, boot = scored[0][metric], scored[1][metric]
    a, b = values[:s_a], values[s_a:]
    estimate = float(a.mean() - b.mean())
    boot_a, boot_b = boot[:, :s_a], boot[:, s_a:]
    boot_gap = boot_a.mean(axis=1) - boot_b.mean(axis=1)
    if paired:
        parts = [_seed_part(a - b, boot_a - boot_b)]
        sd_seeds = float(np.std(a - b, ddof=1))
    else:
        parts = [part for part in (_seed_part(a, boot_a), _seed_part(b, boot_b)) if part]
        spread = [float(np.var(v, ddof=1)) for v in (a, b) if len(v) > 1]
        sd_seeds = math.sqrt(sum(spread)) if spread else math.nan
    result = _t_interval(estimate, boot_gap, parts, level, -1.0)
    result["sd_seeds"] = sd_seeds
    if result["se"] > 0:
        result["p_value"] = float(2 * stats.t.sf(abs(estimate) / result["se"], result["df"]))
    else:
        result["p_value"] = 1.0 if estimate == 0 else 0.0
    return {**{key: result[key] for key in GAP_KEYS}, "paired": paired}


def median_gap_summary(gaps: Sequence[float], level: float = 0.95) -> dict:
    """Median of per-task gaps (A - B) with a distribution-free interval, Wilcoxon test, wins.

    Missing gaps (None/NaN) are left out (counted in n_missing). The interval is
    [x_(k), x_(n+1-k)] of the sorted gaps, the narrowest whose exact confidence
    1 - 2 * P(Binomial(n, 1/2) < k) reaches `level`; `coverage` is the confidence achieved
    (for continuous gaps; ties only raise it). With too few tasks for `level` it is the min and
    max and `coverage` says how much that is (1 - 2 / 2^n). wilcoxon_statistic and wilcoxon_p
    are scipy.stats.wilcoxon's, two-sided, zero gaps dropped; NaN with fewer than 2 non-zero
    gaps.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, not {level}")
    values = np.array([math.nan if g is None else float(g) for g in gaps], dtype=np.float64)
    x = np.sort(values[np.isfinite(values)])
    n = len(x)
    result = {
        "n_tasks": n,
        "n_missing": int(len(values) - n),
        "median": math.nan,
        "low": math.nan,
        "high": math.nan,
        "coverage": math.nan,
        "wilcoxon_statistic": math.nan,
        "wilcoxon_p": math.nan,
        "n_a_better": int((x > 0).sum()),
        "n_b_better": int((x < 0).sum()),
        "n_ties": int((x == 0).sum()),
    }
    if n == 0:
        return result
    ks = np.arange(1, (n + 1) // 2 + 1)
    coverage = 1 - 2 * stats.binom.cdf(ks - 1, n, 0.5)
    reached = ks[coverage >= level - 1e-12]
    k = int(reached.max()) if len(reached) else 1
    result.update(
        median=float(np.median(x)),
        low=float(x[k - 1]),
        high=float(x[n - k]),
        coverage=float(coverage[k - 1]),
    )
    if (x != 0).sum() >= 2:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                test = stats.wilcoxon(x, alternative="two-sided")
            result.update(wilcoxon_statistic=float(test.statistic), wilcoxon_p=float(test.pvalue))
        except ValueError:
            pass
    return result
