"""Labels per second of the `vllm` backend on the CPU, in `choice` and `logprobs` modes.

    .venv-vllm/bin/python bench/vllm_throughput.py --model FOLDER [--n-texts 128] [--k-shots 16]

Runs in the venv that `bash tests/vllm_cpu/build_venv.sh` builds. FOLDER is a transformers
folder, such as the Gemma 3 270M folder the workflow converts (results/models/*.json names it;
`.venv/bin/python -c "from labeldistill.teachers.local.models import ensure_local_model;
print(ensure_local_model('gemma3-270m', 'DIR')[0])"` converts it into DIR).

Loads the engine once (`vllm_generate`, timed), then per mode labels 8 warm-up texts and N
tweets of data/tweets_negative with k few-shot examples drawn from other tweets, each with an
empty cache, through `label_with_vllm` as a job does. Prints load seconds, labels per second,
accuracy and F1 of "negative" against the human labels, and the machine's load averages
before and after (others' work on shared cores slows it). `--engine-process` lets vLLM start
its engine in a process of its own, as vLLM does by default, to compare with the backend's
in-process engine.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.teachers.prompts.examples import draw_examples
from labeldistill.teachers.settings import parse_labeler
from labeldistill.teachers.vllm import (
    chat_template,
    label_with_vllm,
    model_tokenizer,
    vllm_generate,
)

ROOT = Path(__file__).resolve().parent.parent
TASK_DIR = ROOT / "data" / "tweets_negative"
ENGINE = {"dtype": "bfloat16", "max_model_len": 2048, "enforce_eager": True, "kv_cache_memory_bytes": 1 << 30}
WARM_UP_TEXTS = 8


def scores(gold: list[str], predicted: list[str | None], positive: str) -> str:
    gold_a, pred_a = np.array(gold), np.array(predicted, dtype=object)
    tp = int(np.sum((pred_a == positive) & (gold_a == positive)))
    fp = int(np.sum((pred_a == positive) & (gold_a != positive)))
    fn = int(np.sum((pred_a != positive) & (gold_a == positive)))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return f"accuracy {np.mean(gold_a == pred_a):.3f}, F1({positive}) {f1:.3f}"


def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a transformers folder (or a name vLLM knows)")
    parser.add_argument("--n-texts", type=int, default=128)
    parser.add_argument("--k-shots", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="choice,logprobs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine-process", action="store_true", help="vLLM's own engine process")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.engine_process:
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "1"

    frame = pd.read_csv(TASK_DIR / "texts.csv", dtype=str, keep_default_na=False)
    codebook = (TASK_DIR / "codebook.md").read_text(encoding="utf-8")
    shuffled = frame.sample(frac=1.0, random_state=args.seed).reset_index(drop=True)
    warm_up = shuffled.iloc[:WARM_UP_TEXTS]
    scored = shuffled.iloc[WARM_UP_TEXTS : WARM_UP_TEXTS + args.n_texts]
    pool = shuffled.iloc[WARM_UP_TEXTS + args.n_texts :]
    labels = sorted(frame["label"].unique())
    examples = draw_examples(pool, args.k_shots, seed=args.seed)

    print(f"{os.cpu_count()} cores, load average (1, 5, 15 min) before: {load()}")
    tokenizer, _ = model_tokenizer(args.model, ENGINE)
    started = time.perf_counter()
    generate = vllm_generate(args.model, ENGINE, chat_template(ENGINE, tokenizer), args.threads)
    print(f"engine loaded in {time.perf_counter() - started:.1f} s (threads {args.threads})")
    for mode in args.modes.split(","):
        block = {
            "backend": "vllm",
            "model": args.model,
            "mode": mode,
            "engine": ENGINE,
            "threads": args.threads,
        }
        settings = parse_labeler(mode, block)  # as a labeling job parses its labeler's block
        with tempfile.TemporaryDirectory() as cache:
            for part, name in ((warm_up, "warm-up"), (scored, "scored")):
                started = time.perf_counter()
                results, usage = label_with_vllm(
                    list(part["text"]),
                    list(part["id"]),
                    codebook,
                    labels,
                    examples,
                    settings,
                    cache,
                    labeler=mode,
                    generate=generate,
                )
                seconds = time.perf_counter() - started
                predicted = [result.label for result in results]
                print(
                    f"{mode:8s} {name:7s} {len(part):4d} texts in {seconds:6.1f} s: "
                    f"{len(part) / seconds:5.2f} labels/s, {usage.input_tokens / len(part):.0f} "
                    f"prompt tokens/text, failed {usage.failed_texts}, "
                    f"{scores(list(part['label']), predicted, 'negative')}"
                )
    print(
        f"{args.n_texts} texts, {args.k_shots} shots, "
        f"{'vLLM engine process' if args.engine_process else 'engine in-process'}; "
        f"load average after: {load()}"
    )


if __name__ == "__main__":
    main()
