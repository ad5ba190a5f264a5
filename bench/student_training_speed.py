"""Training and prediction speed of a transformer student, on whatever device torch finds.

    python bench/student_training_speed.py --model minilm-l6 --n-train 1000 --epochs 3

Trains on the human labels of a bundled task (data/<task>/texts.csv: the first n-train texts
of a fixed shuffle train, the next 200 validate, the next n-test test), then prints the
device, seconds per epoch, prediction texts per second and the test F1 of the positive label.
On a CUDA device training runs under bf16 autocast.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.students import make_student
from labeldistill.students.transformer import device

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="tweets_negative")
    parser.add_argument("--model", default="minilm-l6", help="minilm-l6, a folder or a hub name")
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    frame = pd.read_csv(ROOT / "data" / args.task / "texts.csv", dtype=str, keep_default_na=False)
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    train = frame.iloc[: args.n_train]
    val = frame.iloc[args.n_train : args.n_train + 200]
    test = frame.iloc[args.n_train + 200 : args.n_train + 200 + args.n_test]
    labels = sorted(frame["label"].unique())
    settings = {
        "kind": "transformer",
        "model": args.model,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_length": args.max_length,
        "patience": 0,
    }
    student = make_student(settings, labels, seed=1, threads=args.threads)
    started = time.perf_counter()
    student.fit(list(train["text"]), list(train["label"]), list(val["text"]), list(val["label"]))
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    probabilities = student.predict_proba(list(test["text"]))
    predict_s = time.perf_counter() - started
    predicted = np.array(labels)[probabilities.argmax(axis=1)]
    gold, positive = test["label"].to_numpy(), "negative"
    tp = int(np.sum((predicted == positive) & (gold == positive)))
    f1 = 2 * tp / max(1, int(np.sum(predicted == positive) + np.sum(gold == positive)))
    print(
        f"device {device()}, {args.model}: {len(train)} texts x {args.epochs} epochs in {train_s:.1f} s "
        f"({train_s / args.epochs:.1f} s/epoch, {len(train) * args.epochs / train_s:.0f} texts/s); "
        f"predict {len(test)} texts in {predict_s:.2f} s ({len(test) / predict_s:.0f} texts/s); "
        f"test F1({positive}) {f1:.3f}, best epoch {student.fit_info.get('best_epoch')}"
    )


if __name__ == "__main__":
    main()
