"""Coverage of the seed-mean and gap intervals of `labeldistill.stats.intervals` on simulated classifiers.

    python bench/interval_coverage.py --replications 500 --n-test 200 --seeds 3

(about a minute on 2 cores; --n-test 1000 about three).

A population of texts (prevalence 0.3) has a latent score per text. A classifier family adds
its own fixed per-text error (its systematic mistakes) to the latent score; a training run
(seed) of it adds per-text noise of a seed-specific size and a seed-specific threshold shift,
so seeds differ as trained students do: F1 sd over seeds ~0.03, skewed by occasional bad runs;
two seeds agree on ~88 % of texts. Seed s of the strong and of the weak family is paired
(trained on the same ids): their random parts are correlated. The few-shot condition has no
seed randomness (one deterministic run).

The TRUE value of a condition is its expected F1 over seeds on the whole population (Monte Carlo
over --truth-seeds seeds); a true gap is the difference of two such values. Each replication
draws --n-test test texts and --seeds fresh seeds, and checks whether each interval covers the
truth. Printed: the simulated truths, then per interval kind the replications, coverage (with
its Monte Carlo standard error) and mean width; the old interval (the mean over seeds of each
seed's percentile-bootstrap endpoints) and a one-seed interval (text sampling only) are shown
for contrast. The goal is a coverage of 0.93-0.97 for the new intervals.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from labeldistill.stats.intervals import paired_gap_interval, seed_mean_interval
from labeldistill.stats.metrics import bootstrap_ci

LABELS = ["pos", "neg"]
PAIRING = 0.7  # correlation of the random parts of paired seeds (same training ids)


@dataclass(frozen=True)
class Family:
    own: float  # sd of the family's fixed per-text error (its systematic mistakes)
    noise: float  # typical sd of a seed's per-text noise
    noise_spread: float  # log-sd over seeds of that noise (some runs train worse)
    shift: float  # sd over seeds of the threshold shift
    threshold: float


STRONG = Family(own=0.5, noise=0.3, noise_spread=0.5, shift=0.35, threshold=1.4)
WEAK = Family(own=0.7, noise=0.36, noise_spread=0.5, shift=0.35, threshold=1.4)
FEWSHOT = Family(own=1.0, noise=0.0, noise_spread=0.0, shift=0.0, threshold=1.2)


@dataclass(frozen=True)
class Population:
    gold: np.ndarray  # bool, positive class
    latent: np.ndarray
    own: dict[str, np.ndarray]  # per family: its fixed per-text error (standard normal)


def population(rng: np.random.Generator, size: int, prevalence: float = 0.3) -> Population:
    gold = rng.random(size) < prevalence
    latent = 2.0 * gold + rng.standard_normal(size)
    own = {name: rng.standard_normal(size) for name in ("strong", "weak", "fewshot")}
    return Population(gold, latent, own)


def predict(pop: Population, idx, name: str, family: Family, seed_normals: np.ndarray, text_noise):
    """Positive predictions of one run of `family` on texts `idx`; seed_normals = (shift, scale)."""
    scale = family.noise * np.exp(family.noise_spread * seed_normals[1] - family.noise_spread**2 / 2)
    score = pop.latent[idx] + family.own * pop.own[name][idx] + scale * text_noise
    return score + family.shift * seed_normals[0] > family.threshold


def paired_runs(rng: np.random.Generator, pop: Population, idx, count: int):
    """`count` paired seeds of the strong and the weak family on texts `idx`."""
    n = len(pop.gold[idx])
    for _ in range(count):
        seed_a, noise_a = rng.standard_normal(2), rng.standard_normal(n)
        mix = np.sqrt(1 - PAIRING**2)
        seed_b = PAIRING * seed_a + mix * rng.standard_normal(2)
        noise_b = PAIRING * noise_a + mix * rng.standard_normal(n)
        yield (
            predict(pop, idx, "strong", STRONG, seed_a, noise_a),
            predict(pop, idx, "weak", WEAK, seed_b, noise_b),
        )


def f1(gold: np.ndarray, pred: np.ndarray) -> float:
    return 2 * (gold & pred).sum() / (gold.sum() + pred.sum())


def labels(pred: np.ndarray) -> list[str]:
    return np.where(pred, "pos", "neg").tolist()


def truths(rng: np.random.Generator, pop: Population, n_seeds: int) -> dict:
    everyone = slice(None)
    pairs = [(f1(pop.gold, a), f1(pop.gold, b)) for a, b in paired_runs(rng, pop, everyone, n_seeds)]
    strong, weak = np.array(pairs).T
    fewshot = f1(pop.gold, predict(pop, everyone, "fewshot", FEWSHOT, np.zeros(2), 0.0))
    return {
        "strong": strong.mean(),
        "weak": weak.mean(),
        "fewshot": fewshot,
        "sd_strong": strong.std(ddof=1),
        "sd_weak": weak.std(ddof=1),
        "sd_gap": (strong - weak).std(ddof=1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--population", type=int, default=200_000)
    parser.add_argument("--truth-seeds", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()

    rng = np.random.default_rng(args.seed)
    pop = population(rng, args.population)
    truth = truths(rng, pop, args.truth_seeds)
    fewshot_all = predict(pop, slice(None), "fewshot", FEWSHOT, np.zeros(2), 0.0)
    print(
        f"population {args.population:,}, prevalence {pop.gold.mean():.3f}; true F1 (expected over "
        f"{args.truth_seeds} seeds) strong {truth['strong']:.4f} (seed sd {truth['sd_strong']:.4f}), "
        f"weak {truth['weak']:.4f} (seed sd {truth['sd_weak']:.4f}; paired gap sd {truth['sd_gap']:.4f}), "
        f"few-shot {truth['fewshot']:.4f}"
    )
    targets = {
        "seed mean F1, strong": truth["strong"],
        "old: mean of per-seed endpoints": truth["strong"],
        "one seed, text bootstrap only": truth["strong"],
        "paired gap strong - weak": truth["strong"] - truth["weak"],
        "gap strong - few-shot (1 run)": truth["strong"] - truth["fewshot"],
    }
    hits = {kind: [] for kind in targets}
    widths = {kind: [] for kind in targets}
    for rep in range(args.replications):
        idx = rng.choice(args.population, args.n_test, replace=False)
        gold = labels(pop.gold[idx])
        runs = list(paired_runs(rng, pop, idx, args.seeds))
        strong = [labels(a) for a, _ in runs]
        weak = [labels(b) for _, b in runs]
        fewshot = [labels(fewshot_all[idx])]
        boot = {"n_boot": args.n_boot, "seed": rep}
        new = seed_mean_interval(gold, strong, "pos", LABELS, **boot)["f1"]
        old = np.mean([bootstrap_ci(gold, run, "pos", LABELS, **boot)["f1"] for run in strong], axis=0)
        one = seed_mean_interval(gold, strong[:1], "pos", LABELS, **boot)["f1"]
        gap = paired_gap_interval(gold, strong, weak, "pos", LABELS, **boot)
        gap_fewshot = paired_gap_interval(gold, strong, fewshot, "pos", LABELS, **boot)
        intervals = {
            "seed mean F1, strong": (new["low"], new["high"]),
            "old: mean of per-seed endpoints": tuple(old),
            "one seed, text bootstrap only": (one["low"], one["high"]),
            "paired gap strong - weak": (gap["low"], gap["high"]),
            "gap strong - few-shot (1 run)": (gap_fewshot["low"], gap_fewshot["high"]),
        }
        for kind, (low, high) in intervals.items():
            hits[kind].append(low <= targets[kind] <= high)
            widths[kind].append(high - low)

    print(f"\n{args.n_test} test texts, {args.seeds} seeds, n_boot {args.n_boot}, level 0.95")
    print(f"| {'interval':<33} | replications | coverage (MC se) | mean width |")
    print(f"|{'-' * 35}|-------------:|-----------------:|-----------:|")
    for kind in targets:
        cover = np.mean(hits[kind])
        se = np.sqrt(cover * (1 - cover) / len(hits[kind]))
        width = np.mean(widths[kind])
        print(f"| {kind:<33} | {len(hits[kind]):>12} | {cover:>9.3f} ({se:.3f}) | {width:>10.3f} |")
    print(f"\nrun time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
