"""Prediction speed of the default transformer student on CPU, against a plain pipeline and the floor.

    python bench/student_inference_speed.py --texts 2000 --threads 2
    python bench/student_inference_speed.py --task nyt_negative --texts 1000

Fine-tunes the default MiniLM-L6 student for one epoch on `--n-train` human-labelled texts of a
bundled task (the speed does not depend on the weights), saves it, and labels `--texts` other
texts of the task (drawn with `--seed`; repeated if the task has fewer) in these ways:

- ours, float32 and int8: `predict_proba` of the loaded student (texts sorted by length,
  tokenised once, padded per batch, `torch.inference_mode`), `inference_dtype` float32 / int8;
- pipeline: `transformers.pipeline("text-classification")` on the same saved folder, with its
  default batch size and with batch_size 32 (same truncation to `max_length`).

Beside texts per second it prints the arithmetic each way needs: the real (unpadded) tokens of
the texts times the model's FLOPs per token (2 x the encoder's Linear weights, from its config:
about 21 MFLOP for MiniLM-L6) plus attention's part that grows with the text (4 x n^2 x hidden
per layer for a text of n tokens), divided by the seconds: achieved GFLOP/s, and its share of the
machine's sustained float32 matrix-multiply rate (torch.matmul in MiniLM's feed-forward shape
(64*32 x 384) @ (384 x 1536) and 1024^3, on `--threads` threads, best of three one-second runs).
Then it checks that batching changes nothing (max |p - p_one_at_a_time| on 200 texts) and how
often the int8 model agrees with the float one.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from labeldistill.students import load_student, make_student

ROOT = Path(__file__).resolve().parent.parent


def matmul_rate(shape: tuple[int, int, int], seconds: float = 1.0, runs: int = 3) -> float:
    """Sustained float32 GFLOP/s of torch.matmul on an (m x k) @ (k x n) product: best of `runs`."""
    m, k, n = shape
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        torch.matmul(a, b)
    best = 0.0
    for _ in range(runs):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            torch.matmul(a, b)
            count += 1
        best = max(best, 2 * m * k * n * count / (time.perf_counter() - started) / 1e9)
    return best


def forward_flops(config, token_counts: np.ndarray) -> tuple[float, float]:
    """FLOPs per token of the encoder's Linear layers, and the FLOPs of all texts (with attention)."""
    h, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = 2 * layers * (4 * h * h + 2 * h * inter)  # Q, K, V, output; feed-forward in and out
    attention = 4 * layers * h * float(np.sum(token_counts.astype(np.float64) ** 2))  # QK^T and AV
    head = 2 * (h * h + h * config.num_labels) * len(token_counts)  # pooler and classifier, per text
    return per_token, per_token * float(token_counts.sum()) + attention + head


def timed(predict, texts: list[str]) -> tuple[float, object]:
    predict(texts[:64])  # warm-up: first calls allocate and pick kernels
    started = time.perf_counter()
    result = predict(texts)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="tweets_negative", help="a bundled task under data/")
    parser.add_argument("--texts", type=int, default=2000, help="texts to label")
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-default-pipeline", action="store_true", help="its batch size 1 is slow")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    frame = pd.read_csv(ROOT / "data" / args.task / "texts.csv", dtype=str, keep_default_na=False)
    frame = frame.sample(frac=1.0, random_state=args.seed).reset_index(drop=True)
    train, rest = frame.iloc[: args.n_train], frame.iloc[args.n_train :]
    texts = [rest["text"].iloc[i % len(rest)] for i in range(args.texts)]
    labels = sorted(frame["label"].unique())
    settings = {"kind": "transformer", "model": "minilm-l6", "epochs": 1, "max_length": args.max_length}

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "student"
        started = time.perf_counter()
        student = make_student(settings, labels, seed=args.seed, threads=args.threads)
        student.fit(list(train["text"]), list(train["label"]))
        student.save(folder)
        print(f"trained on {len(train)} texts of {args.task} in {time.perf_counter() - started:.0f} s")

        ours = load_student(folder, threads=args.threads)
        int8 = load_student(folder, threads=args.threads)
        int8.settings = dataclasses.replace(int8.settings, inference_dtype="int8")
        tokenizer, config = ours.tokenizer, ours.model.config
        counts = np.array(
            [len(ids) for ids in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
        )
        per_token, flops = forward_flops(config, counts)

        from transformers import pipeline

        pipe = pipeline(
            "text-classification", model=str(folder), tokenizer=str(folder), device=-1, top_k=None
        )
        cut = {"truncation": True, "max_length": args.max_length}
        ways: list[tuple[str, float, object]] = []
        if not args.skip_default_pipeline:
            ways.append(("pipeline, default batch size", *timed(lambda t: pipe(t, **cut), texts)))
        ways.append(("pipeline, batch_size=32", *timed(lambda t: pipe(t, batch_size=32, **cut), texts)))
        ways.append(("ours, float32", *timed(ours.predict_proba, texts)))
        ways.append(("ours, int8", *timed(int8.predict_proba, texts)))

        rates = {
            "(64*32 x 384) @ (384 x 1536)": matmul_rate((64 * 32, 384, 1536)),
            "1024 x 1024 @ 1024 x 1024": matmul_rate((1024, 1024, 1024)),
        }

        subset = texts[:200]
        batched = ours.predict_proba(subset)
        single = np.vstack([ours.predict_proba([text]) for text in subset])
        outputs = {name: out for name, _, out in ways}
        float_p, int8_p = outputs["ours, float32"], outputs["ours, int8"]

    print(
        f"\n{args.task}: {len(texts)} texts, {counts.sum()} real tokens (mean {counts.mean():.1f}, max "
        f"{counts.max()}, max_length {args.max_length}); {config.num_hidden_layers} layers, hidden "
        f"{config.hidden_size}, intermediate {config.intermediate_size}: {per_token / 1e6:.1f} MFLOP per "
        f"token, {flops / len(texts) / 1e9:.2f} GFLOP per text with attention and head; "
        f"{args.threads} threads, torch {torch.__version__}"
    )
    for shape, rate in rates.items():
        print(f"sustained float32 matmul {shape}: {rate:.0f} GFLOP/s")
    peak = max(rates.values())
    base = {name: seconds for name, seconds, _ in ways}
    reference = base.get("pipeline, default batch size", base["pipeline, batch_size=32"])
    print(f"\n{'way':<30} {'texts/s':>8} {'speed-up':>9} {'GFLOP/s':>8} {'of matmul':>10}")
    for name, seconds, _ in ways:
        print(
            f"{name:<30} {len(texts) / seconds:>8.0f} {reference / seconds:>8.1f}x "
            f"{flops / seconds / 1e9:>8.1f} {flops / seconds / 1e9 / peak:>9.0%}"
        )
    print(
        "(speed-up over the pipeline with its default batch size; share of the best matmul rate above; "
        "int8 counted at the same FLOPs)"
    )
    agree = float(np.mean(float_p.argmax(axis=1) == int8_p.argmax(axis=1)))
    same = np.mean(batched.argmax(axis=1) == single.argmax(axis=1))
    print(
        f"\nbatched vs one text at a time, {len(subset)} texts: max |p difference| "
        f"{np.abs(batched - single).max():.1e}, labels equal {same:.1%}"
    )
    print(
        f"int8 vs float32, {len(texts)} texts: labels agree {agree:.2%}, max |p difference| "
        f"{np.abs(float_p - int8_p).max():.3f}, mean {np.abs(float_p - int8_p).mean():.4f}"
    )


if __name__ == "__main__":
    main()
