"""Coverage of the share intervals of `labeldistill.stats.ppi` on the demo data, all human-labelled.

    python bench/ppi_coverage.py --replications 500 --n-labelled 200

(a few minutes on one core). For each task (data/{task}/texts.csv; labels negative / other) the
package's TF-IDF student is trained once on a random --n-train texts with their human labels and
predicts every other text: those are the corpus, and the TRUE share of "negative" is their mean
human label. Each replication keeps the human labels of a random --n-labelled corpus texts (the
rest hidden) and estimates the share by each method: naive (predicted labels only: the same
interval in every replication, since it uses no human label), human (the labelled texts alone),
ppi (lambda = 1: DSL's form for a share), ppi++ fed the predicted probability, and ppi++ fed the
0/1 predicted label. The labelled texts stay in the corpus, as a researcher's would.
Printed per task: coverage of the 95 % interval (Monte Carlo se), mean width, mean estimate -
truth, mean lambda; then, for the first task, the effective number of human labels (mean over
replications) and the planner's answer for a +- --half-width interval (from the first sample,
the one the first replication drew).
The goal is a PPI++ coverage of 0.93-0.97, narrower than human-only, where naive covers far less.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.stats.ppi import Sample
from labeldistill.students import make_student

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["negative", "other"]
KINDS = {  # printed name: (method, prediction)
    "naive": ("naive", "probability"),
    "human": ("human", "probability"),
    "ppi (lambda = 1)": ("ppi", "probability"),
    "ppi++ (probability)": ("ppi++", "probability"),
    "ppi++ (0/1 label)": ("ppi++", "label"),
}


STUDENTS = {
    "tfidf-logreg": {"kind": "tfidf-logreg"},
    # the default config's MiniLM student (threads: 2 here, the bench has the machine to itself)
    "minilm": {
        "kind": "transformer",
        "model": "minilm-l6",
        "epochs": 3,
        "learning_rate": 1.0e-4,
        "max_length": 64,
        "batch_size": 16,
        "class_weight": "balanced",
    },
}


def corpus(task: str, n_train: int, seed: int, kind: str = "tfidf-logreg") -> tuple[np.ndarray, np.ndarray]:
    """Human labels of the corpus and the student's probabilities for it."""
    texts = pd.read_csv(ROOT / "data" / task / "texts.csv", usecols=["text", "label"])
    rng = np.random.default_rng(seed)
    train = np.zeros(len(texts), dtype=bool)
    train[rng.choice(len(texts), n_train, replace=False)] = True
    student = make_student(STUDENTS[kind], LABELS, seed, threads=1 if kind == "tfidf-logreg" else 2)
    student.fit(texts.text[train].tolist(), texts.label[train].tolist())
    rest = texts[~train]
    return rest.label.to_numpy(dtype=object), student.predict_proba(rest.text.tolist())


def replicate(human: np.ndarray, probs: np.ndarray, n: int, rng: np.random.Generator) -> dict:
    """Every method's row for "negative" on one labelled sample of the corpus."""
    sample = rng.choice(len(human), n, replace=False)
    rows = {}
    for prediction in ("probability", "label"):
        methods = [m for m, p in KINDS.values() if p == prediction]
        frame = Sample.from_arrays(human[sample].tolist(), probs[sample], probs, LABELS).shares(
            methods=methods, prediction=prediction
        )
        for name, (method, wanted) in KINDS.items():
            if wanted == prediction:
                rows[name] = frame[(frame.label == "negative") & (frame.method == method)].iloc[0]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--n-labelled", type=int, default=200)
    parser.add_argument("--n-train", type=int, default=500)
    parser.add_argument("--tasks", default="tweets_negative,nyt_negative")
    parser.add_argument("--half-width", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--student", choices=sorted(STUDENTS), default="tfidf-logreg")
    args = parser.parse_args()
    started = time.perf_counter()

    for number, task in enumerate(args.tasks.split(",")):
        human, probs = corpus(task, args.n_train, args.seed, args.student)
        truth = float(np.mean(human == "negative"))
        accuracy = float(np.mean(np.array(LABELS)[probs.argmax(axis=1)] == human))
        rng = np.random.default_rng(args.seed + 1)
        records = {name: [] for name in KINDS}
        worth = []
        for _ in range(args.replications):
            rows = replicate(human, probs, args.n_labelled, rng)
            for name, row in rows.items():
                records[name].append(
                    (
                        row["low"] <= truth <= row["high"],
                        row["high"] - row["low"],
                        row["estimate"] - truth,
                        row["lambda"],
                    )
                )
            se_human, se_ppi = rows["human"]["se"], rows["ppi++ (probability)"]["se"]
            worth.append(args.n_labelled * se_human**2 / se_ppi**2)
        print(
            f"\n{task}: corpus {len(human):,} texts, true share of negative {truth:.4f}, student accuracy "
            f"{accuracy:.3f} (trained on {args.n_train}); {args.n_labelled} labelled, "
            f"{args.replications} replications, level 0.95"
        )
        print(f"| {'method':<20} | coverage (MC se) | mean width | mean est - truth | mean lambda |")
        print(f"|{'-' * 22}|-----------------:|-----------:|-----------------:|------------:|")
        for name, values in records.items():
            hits, widths, errors, lambdas = (np.array(v, dtype=float) for v in zip(*values, strict=True))
            cover = hits.mean()
            se = np.sqrt(cover * (1 - cover) / len(hits))
            lam = f"{np.mean(lambdas):.3f}" if np.isfinite(lambdas).all() else ""
            print(
                f"| {name:<20} | {cover:>9.3f} ({se:.3f}) | {widths.mean():>10.4f} | {errors.mean():>+16.4f} "
                f"| {lam:>11} |"
            )
        if number == 0:
            rng = np.random.default_rng(args.seed + 1)
            sample = rng.choice(len(human), args.n_labelled, replace=False)
            plan = Sample.from_arrays(human[sample].tolist(), probs[sample], probs, LABELS).plan_labels(
                half_width=args.half_width
            )
            plan = plan[plan.label == "negative"].iloc[0]
            print(
                f"\neffective human labels of PPI++ with {args.n_labelled} labelled texts: mean "
                f"{np.mean(worth):.0f} (median {np.median(worth):.0f}, 10-90 % "
                f"{np.percentile(worth, 10):.0f}-{np.percentile(worth, 90):.0f}) over the replications"
            )
            print(
                f"planner, +- {args.half_width} at 95 % from the first sample (lambda {plan['lambda']:.3f}): "
                f"{plan['n_ppi']} human-coded texts with PPI++, {plan['n_human']} with human labels alone"
            )
    print(f"\nrun time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
