"""Label texts with the `vllm` backend's real engine; run by test_vllm_cpu.py in .venv-vllm.

    .venv-vllm/bin/python tests/vllm_cpu/label_offline.py REQUEST.json RESULT.json

REQUEST: model, codebook, labels, examples ([text, label]), texts, ids, engine, threads,
cache_dir, modes. RESULT: per mode the labels, probabilities, usage, provenance and seconds,
then the same modes again from the cache.

No `if __name__ == "__main__":` guard, on purpose: Snakemake's `script:` files have none, and
the backend must run from such a script (vLLM's CPU build spawns its engine in a process that
re-runs the main script unless the backend keeps the engine in this process).
"""

import json
import logging
import sys
import time
from pathlib import Path

from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.settings import parse_labeler
from labeldistill.teachers.vllm import label_with_vllm

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
examples = [Example(text, label) for text, label in request["examples"]]


def never(conversations, sampling):
    raise AssertionError(f"generated {len(conversations)} texts that the cache holds")


def label(mode: str, generate=None) -> dict:
    labeler = f"gemma_{mode}"
    block = {
        "backend": "vllm",
        "model": request["model"],
        "mode": mode,
        "engine": request["engine"],
        "threads": request["threads"],
    }
    settings = parse_labeler(labeler, block)  # as a labeling job parses its labeler's block
    started = time.perf_counter()
    results, usage = label_with_vllm(
        request["texts"],
        request["ids"],
        request["codebook"],
        request["labels"],
        examples,
        settings,
        request["cache_dir"],
        labeler=labeler,
        generate=generate,
    )
    return {
        "labels": [result.label for result in results],
        "probabilities": [list(result.probabilities) for result in results],
        "provenance": results[0].provenance,
        "usage": usage.to_dict(),
        "seconds": round(time.perf_counter() - started, 2),
    }


result = {mode: label(mode) for mode in request["modes"]}
result["cached"] = {mode: label(mode, generate=never) for mode in request["modes"]}
Path(sys.argv[2]).write_text(json.dumps(result, indent=1), encoding="utf-8")
