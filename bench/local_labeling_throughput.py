"""Throughput and accuracy of the local teacher: prefix reuse against recomputing the prompt.

    python bench/local_labeling_throughput.py --model gemma3-270m --n-texts 150 --k-shots 16 --threads 2

Converts the model into a cache folder if needed, draws k few-shot examples from texts that
are not scored, labels N tweets of data/tweets_negative three ways: prefix reuse with batches,
prefix reuse one text at a time, and the whole prompt recomputed per text. Prints seconds per
text, the speed-ups, and accuracy / F1 of "negative" against the human labels.
With --calibration-texts (default 32 pool texts that are neither scored nor examples) the
teacher divides by its prior; raw and calibrated scores are both printed.
Set OMP_WAIT_POLICY=PASSIVE when the cores are shared.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.teachers.local.models import prepare_local_model
from labeldistill.teachers.local.teacher import LocalTeacher
from labeldistill.teachers.prompts.completion import build_prompt
from labeldistill.teachers.prompts.examples import draw_examples

ROOT = Path(__file__).resolve().parent.parent
TASK_DIR = ROOT / "data" / "tweets_negative"
SHORT_CODEBOOK = (
    "Decide whether the tone of a tweet is negative. negative: anger, sadness, fear, "
    "complaint, insult, disappointment, or something bad happening. other: positive, "
    "neutral, factual, or only faintly negative."
)


def load_task() -> tuple[pd.DataFrame, str]:
    frame = pd.read_csv(TASK_DIR / "texts.csv", dtype=str, keep_default_na=False)
    return frame[["id", "text", "label"]], (TASK_DIR / "codebook.md").read_text(encoding="utf-8")


def scores(gold: list[str], predicted: list[str | None], positive: str) -> dict[str, float]:
    gold_a, pred_a = np.array(gold), np.array(predicted, dtype=object)
    tp = int(np.sum((pred_a == positive) & (gold_a == positive)))
    fp = int(np.sum((pred_a == positive) & (gold_a != positive)))
    fn = int(np.sum((pred_a != positive) & (gold_a == positive)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": float(np.mean(gold_a == pred_a)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "predicted_positive": float(np.mean(pred_a == positive)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m", help="known name, .gguf or folder")
    parser.add_argument("--n-texts", type=int, default=150)
    parser.add_argument("--k-shots", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--short-codebook", action="store_true", help="one-paragraph codebook")
    parser.add_argument(
        "--calibration-texts",
        type=int,
        default=32,
        help="unlabelled pool texts for the teacher's calibration (0: raw probabilities)",
    )
    parser.add_argument(
        "--no-reuse-texts", type=int, help="label only the first M texts without reuse (slow)"
    )
    parser.add_argument(
        "--ways", default="batched,single,no-reuse", help="comma list of: batched, single, no-reuse"
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=ROOT / "results" / "models",
        help="converted models (the workflow's models_dir, so a finished run's model is reused)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    model_dir = args.models_dir / Path(args.model).name.removesuffix(".gguf")
    if not (model_dir / "config.json").exists():
        t0 = time.perf_counter()
        prepare_local_model(args.model, model_dir)
        print(f"converted {args.model} in {time.perf_counter() - t0:.1f} s")

    frame, codebook = load_task()
    if args.short_codebook:
        codebook = SHORT_CODEBOOK
    shuffled = frame.sample(frac=1.0, random_state=args.seed).reset_index(drop=True)
    scored = shuffled.iloc[: args.n_texts]
    pool = shuffled.iloc[args.n_texts :]
    labels = sorted(frame["label"].unique())
    examples = draw_examples(pool, args.k_shots, seed=args.seed)
    prompt = build_prompt(codebook, labels, examples)
    texts, gold = scored["text"].tolist(), scored["label"].tolist()
    example_texts = {example.text for example in examples}
    unlabelled = [text for text in pool["text"] if text not in example_texts]
    calibration = unlabelled[-args.calibration_texts :] if args.calibration_texts else None

    ways = {
        "batched": dict(reuse_prefix=True, batch_size=args.batch_size),
        "single": dict(reuse_prefix=True, batch_size=1),
        "no-reuse": dict(reuse_prefix=False, batch_size=args.batch_size),
    }
    timings, probabilities = {}, {}
    for way in args.ways.split(","):
        n = len(texts) if way != "no-reuse" else min(len(texts), args.no_reuse_texts or len(texts))
        t0 = time.perf_counter()
        teacher = LocalTeacher(
            model_dir, labels, prompt, threads=args.threads, calibration_texts=calibration, **ways[way]
        )
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        results = teacher.label(texts[:n], progress=False)
        seconds = (time.perf_counter() - t0) / n
        timings[way] = seconds
        calibrated = np.array([r.probabilities for r in results])
        probabilities[way] = calibrated
        lines = [("calibrated" if calibration else "raw", calibrated)]
        if calibration:
            raw = calibrated * teacher.prior
            lines.append(("raw", raw / raw.sum(axis=1, keepdims=True)))
        print(
            f"{way}: {n} texts, prefix {len(teacher._prefix_ids)} tokens, load (+calibration) "
            f"{load_s:.1f} s: {seconds:.3f} s/text ({1 / seconds:.2f} texts/s)"
        )
        for name, p in lines:
            predicted = [labels[i] for i in p.argmax(axis=1)]
            quality = scores(gold[:n], predicted, "negative")
            print(f"    {name:10s} " + ", ".join(f"{k} {v:.3f}" for k, v in quality.items()))
    base = timings.get("no-reuse")
    for way, seconds in timings.items():
        if base and way != "no-reuse":
            print(f"speed-up of {way} over no-reuse: {base / seconds:.2f}x")
    names = list(probabilities)
    for other in names[1:]:
        m = min(len(probabilities[names[0]]), len(probabilities[other]))
        diff = np.abs(probabilities[names[0]][:m] - probabilities[other][:m]).max()
        print(f"max |p({names[0]}) - p({other})| = {diff:.2e} over {m} texts")
    print(
        f"model {args.model}, {len(texts)} texts, {args.k_shots} shots, threads {args.threads}, "
        f"gold negative share {np.mean(np.array(gold) == 'negative'):.2f}"
    )


if __name__ == "__main__":
    main()
