"""Throughput of `labeldistill predict` (texts per second) for the TF-IDF and the MiniLM student.

    python bench/predict_throughput.py --texts 10000 --threads 2

Trains both default-config students (tfidf-logreg; minilm: MiniLM-L6, mean-pooled, one epoch,
max_length 64 as in config.yaml) on 250 human-labelled texts of a bundled task (the speed does
not depend on the weights), saves them, writes `--texts` texts of the task (repeated where it has
fewer) to a CSV, and times the command itself (`python -m labeldistill.cli predict`: the
interpreter's start, loading the student, reading, predicting and writing) once per student.
Training is not timed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from labeldistill.students import make_student

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = {
    "tfidf-logreg": {"kind": "tfidf-logreg"},
    "minilm": {"kind": "transformer", "model": "minilm-l6", "epochs": 1, "max_length": 64, "batch_size": 16},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="tweets_negative")
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    frame = pd.read_csv(ROOT / "data" / args.task / "texts.csv", dtype=str)
    train = frame.sample(250, random_state=1)
    repeats = -(-args.texts // len(frame))
    texts = pd.concat([frame] * repeats, ignore_index=True).head(args.texts)
    texts = pd.DataFrame({"id": [f"t{i}" for i in range(len(texts))], "text": texts["text"]})
    labels = sorted(frame["label"].unique())
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        texts.to_csv(scratch / "texts.csv", index=False)
        print(f"{args.texts} texts of {args.task}, {args.threads} threads")
        for name, settings in STUDENTS.items():
            student = make_student(settings, labels, seed=1, threads=args.threads)
            student.fit(list(train["text"]), list(train["label"])).save(scratch / name)
            command = [sys.executable, "-m", "labeldistill.cli", "predict", "--student", str(scratch / name)]
            command += ["--texts", str(scratch / "texts.csv"), "--out", str(scratch / f"{name}.parquet")]
            started = time.perf_counter()
            subprocess.run([*command, "--threads", str(args.threads)], check=True, capture_output=True)
            seconds = time.perf_counter() - started
            print(f"{name:>13}: {seconds:6.1f} s, {args.texts / seconds:7.0f} texts/s (the whole command)")


if __name__ == "__main__":
    main()
