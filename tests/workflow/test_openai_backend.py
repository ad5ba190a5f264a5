"""The `openai` backend through the workflow, against a real OpenAI-compatible server.

llama.cpp's server (llama-cpp-python[server]) serves the registry's Gemma 3 270M GGUF; the
annotate jobs start it, label through it with output restricted to the labels, and stop it.
A second run with the labels deleted must be answered entirely from the response cache.

A server that is not there (a closed port), or that dies during a run (the fake server of
tests/fake_openai_server.py), stops the annotate job at once with one line and no labels file,
so that nothing after it is scored; once the server is up, a rerun labels what is missing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import sys
import time
from datetime import datetime
from urllib.parse import quote, quote_plus

import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from runner import REPO, snakemake, tiny_task, write_config

from labeldistill.teachers.chat.response_cache import ResponseCache

pytestmark = pytest.mark.workflow

TASK = "tweets_negative"
SECRET = "sk-test-" + "never-written-anywhere"  # sent as the API key; must reach no file
PARTS = ("pool", "val", "test")


def secret_forms(secret: str) -> list[bytes]:
    """`secret` as a file could hold it: plain, URL-encoded, and base64 (standard and URL-safe) at
    each of the three alignments it can have inside a longer encoded text (`user:secret`)."""
    raw = secret.encode()
    forms = {raw, quote(secret, safe="").encode(), quote_plus(secret).encode()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            encoded = encode(b"\0" * shift + raw)
            forms.add(encoded[-(-4 * shift // 3) : (shift + len(raw)) // 3 * 4])
    return sorted(forms)


def secret_hits(folder, secret: str, *texts: str) -> tuple[list, int]:
    """The files under `folder` (hidden ones such as .snakemake/ too) and the `texts` that hold
    `secret` in any of its forms, and how many files were read."""
    forms = secret_forms(secret)
    files = [path for path in folder.rglob("*") if path.is_file()]
    hits = [path for path in files if any(form in path.read_bytes() for form in forms)]
    hits += [text for text in texts if any(form.decode() in text for form in forms)]
    return hits, len(files)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_run(tmp_path_factory, models_dir):
    pytest.importorskip("llama_cpp.server", reason="install the test extra: pip install -e .[test]")
    from labeldistill.teachers.local.models import local_gguf

    gguf = local_gguf("gemma3-270m", models_dir / "gguf")
    workdir = tmp_path_factory.mktemp("api_run")
    port = free_port()
    config = {
        "tasks": {TASK: tiny_task(REPO / "data" / TASK, workdir / "data" / TASK, seed=11)},
        "split": {"seed": 3, "test": 12, "val": 8, "pool": 16},
        "labelers": {
            "llama": {
                "backend": "openai",
                "base_url": f"http://127.0.0.1:{port}/v1",
                "model": "gemma-3-270m",
                "mode": "json_object",
                "api_key_env": "LABELDISTILL_TEST_KEY",
                "shots": 4,
                "concurrency": 2,
                "server": {
                    "command": [
                        sys.executable,
                        "-m",
                        "llama_cpp.server",
                        "--model",
                        str(gguf),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--n_ctx",
                        "2048",
                        "--n_threads",
                        "2",
                    ],
                    "startup_timeout": 120,
                },
            }
        },
        "students": {"tfidf-logreg": {"kind": "tfidf-logreg"}},
        "seeds": [1],
        "train_size": 14,
        "evaluation": {"n_boot": 200},
        "cache_dir": str(workdir / "cache"),
        "models_dir": str(models_dir),
    }
    write_config(workdir, config)
    targets = [f"results/{TASK}/metrics/fewshot@llama.json", f"results/{TASK}/agreement/llama.json"]
    targets += [f"results/{TASK}/usage/llama/{part}.json" for part in PARTS]
    os.environ["LABELDISTILL_TEST_KEY"] = SECRET
    first = snakemake(workdir, "--cores", "2", *targets)
    assert first.returncode == 0, first.stderr[-4000:]
    return workdir, port, targets


def usage(workdir, part):
    return json.loads((workdir / f"results/{TASK}/usage/llama/{part}.json").read_text())


def test_every_text_is_labelled_or_a_recorded_failure(api_run):
    workdir, port, _ = api_run
    for part in PARTS:
        labels = pd.read_parquet(workdir / f"results/{TASK}/labels/llama/{part}.parquet")
        split = pd.read_parquet(workdir / f"results/{TASK}/splits/{part}.parquet")
        assert list(labels["id"]) == list(split["id"])
        labelled = labels["label"].notna()
        assert set(labels.loc[labelled, "label"]) <= {"negative", "other"}
        assert labels.loc[~labelled, "error"].notna().all()
        assert (labels["backend"] == "openai").all() and labels["prompt_hash"].nunique() == 1
        record = usage(workdir, part)
        assert record["requests_sent"] >= len(split) and record["cache_hits"] == 0
        assert record["input_tokens"] > 0
    metrics = json.loads((workdir / f"results/{TASK}/metrics/fewshot@llama.json").read_text())
    assert metrics["n"] == 12 and 0.0 <= metrics["f1"] <= 1.0


def test_the_managed_server_is_stopped(api_run):
    _, port, _ = api_run
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_a_rerun_is_answered_from_the_cache(api_run):
    workdir, _, targets = api_run
    before = pd.read_parquet(workdir / f"results/{TASK}/labels/llama/test.parquet")
    server_logs = sorted((workdir / f"results/logs/annotate/{TASK}/llama").glob("*.server.log"))
    assert len(server_logs) == 3 and all(path.stat().st_size for path in server_logs)
    again = snakemake(workdir, "--cores", "2", "--forcerun", "annotate", *targets)
    assert again.returncode == 0, again.stderr[-4000:]
    for part in PARTS:
        record = usage(workdir, part)
        assert record["requests_sent"] == 0 and record["cache_hits"] >= record["texts"]
    after = pd.read_parquet(workdir / f"results/{TASK}/labels/llama/test.parquet")
    # Snakemake empties a rerun job's logs: a server that had started would have written there.
    assert not any(path.exists() and path.stat().st_size for path in server_logs)
    pd.testing.assert_frame_equal(before[["id", "label", "error"]], after[["id", "label", "error"]])


def test_the_api_key_never_reaches_a_file(api_run):
    workdir, _, _ = api_run
    files = [p for p in workdir.rglob("*") if p.is_file()]
    assert any("cache" in p.parts for p in files)  # the cache is inside workdir: searched too
    assert secret_hits(workdir, SECRET) == ([], len(files))


# Given every way a key can be given: the variable named by api_key_env (used), and a
# user:password@ in base_url, a ?key= in it, the key in place of api_key_env's name (refused).
SCAN_SECRET = "sk-test-SCAN+never/written=anywhere"


def test_a_secret_given_every_way_reaches_no_file_of_a_whole_run(tmp_path, monkeypatch):
    workdir = tmp_path
    monkeypatch.setenv("LABELDISTILL_SCAN_KEY", SCAN_SECRET)
    outputs = []
    with FakeOpenAIServer(api_key=SCAN_SECRET) as server:  # any other key gets 401
        labeler = {
            "backend": "openai",
            "base_url": server.base_url,
            "model": "fake",
            "api_key_env": "LABELDISTILL_SCAN_KEY",
            "shots": 2,
            "progress": False,
        }
        config = {
            "tasks": {TASK: tiny_task(REPO / "data" / TASK, workdir / "data" / TASK, seed=11)},
            "split": {"seed": 3, "test": 12, "val": 8, "pool": 16},
            "labelers": {"gpt": labeler},
            "students": {"tfidf-logreg": {"kind": "tfidf-logreg"}},
            "seeds": [1],
            "train_size": 14,
            "evaluation": {"n_boot": 200},
            "cache_dir": str(workdir / "cache"),
            "models_dir": str(workdir / "models"),
        }
        host, encoded = server.base_url.split("://", 1)[1], quote(SCAN_SECRET, safe="")
        refusals = [
            ("base_url", f"http://user:{encoded}@{host}"),
            ("base_url", f"{server.base_url}?api_key={encoded}"),
            ("api_key_env", SCAN_SECRET),
        ]
        for key, value in refusals:
            write_config(workdir, {**config, "labelers": {"gpt": {**labeler, key: value}}})
            attempt = snakemake(workdir, "--cores", "2")
            assert attempt.returncode == 1, attempt.stderr[-3000:]
            lines = attempt.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"labeldistill: config key labelers.gpt.{key}: ")
            assert not (workdir / "results").exists()
            outputs += [attempt.stdout, attempt.stderr]
        write_config(workdir, config)
        run = snakemake(workdir, "--cores", "2")
        assert run.returncode == 0, run.stderr[-4000:]
        outputs += [run.stdout, run.stderr]
        answered = sum(sum(entry["successes"].values()) for entry in server.stats()["bodies"].values())
    assert answered > 0  # the key was sent, and accepted
    assert (workdir / "results/report.html").exists() and (workdir / ".snakemake/metadata").is_dir()
    hits, scanned = secret_hits(workdir, SCAN_SECRET, *outputs)
    print(f"secret scan: {scanned} files under the run's folder (.snakemake/ too), {len(hits)} hits")
    assert hits == [] and scanned > 100


def labeldistill_lines(stderr: str) -> list[str]:
    """The one-line errors (a tiny test part also brings thin-label warnings: not errors)."""
    return [
        line
        for line in stderr.splitlines()
        if line.startswith("labeldistill: ") and not line.startswith("labeldistill: warning: ")
    ]


def scored_files(workdir) -> list:
    results = workdir / "results"
    return [p for p in results.rglob("*") if p.is_file() and {"metrics", "predictions"} & set(p.parts)]


def job_seconds(log_path) -> float:
    """From the first to the last line of a job's log (its labelling time)."""
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) ", log_path.read_text(), re.MULTILINE)
    first, last = (datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f") for stamp in (stamps[0], stamps[-1]))
    return (last - first).total_seconds()


def test_an_unreachable_server_stops_the_job_and_a_rerun_labels(tmp_path, monkeypatch):
    workdir = tmp_path
    port = free_port()  # closed: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    config = {
        "tasks": {TASK: tiny_task(REPO / "data" / TASK, workdir / "data" / TASK, seed=11)},
        "split": {"seed": 3, "test": 12, "val": 8, "pool": 16},
        "labelers": {
            "gpt": {
                "backend": "openai",
                "base_url": url,
                "model": "gpt-4o-mini",
                "api_key_env": "LABELDISTILL_TEST_KEY",
                "shots": 4,
                "concurrency": 2,
                "progress": False,
            }
        },
        "students": {"tfidf-logreg": {"kind": "tfidf-logreg"}},
        "seeds": [1],
        "train_size": 14,
        "evaluation": {"n_boot": 200},
        "cache_dir": str(workdir / "cache"),
        "models_dir": str(workdir / "models"),
    }
    write_config(workdir, config)
    monkeypatch.setenv("LABELDISTILL_TEST_KEY", SECRET)
    targets = [f"results/{TASK}/metrics/fewshot@gpt.json", f"results/{TASK}/agreement/gpt.json"]
    labels = [workdir / f"results/{TASK}/labels/gpt/{part}.parquet" for part in PARTS]
    needed = ("val", "test")
    logs = workdir / f"results/logs/annotate/{TASK}/gpt"

    # 1. Nothing listens: the first annotate job stops at once, and nothing is scored.
    started = time.monotonic()
    closed = snakemake(workdir, "--cores", "2", *targets)
    elapsed = time.monotonic() - started
    assert closed.returncode != 0
    line = (
        f"labeldistill: labeler gpt: cannot reach {url} (connection refused); nothing was "
        "labelled; start the server or fix labelers.gpt.base_url, then rerun"
    )
    assert line in closed.stderr.splitlines(), closed.stderr[-4000:]
    assert set(labeldistill_lines(closed.stderr)) == {line}
    assert "Traceback" not in closed.stderr and SECRET not in closed.stderr
    assert not any(path.exists() for path in labels) and not scored_files(workdir)
    failed_logs = [path for path in logs.glob("*.log") if line in path.read_text()]
    assert failed_logs
    seconds = max(job_seconds(path) for path in failed_logs)
    print(f"closed port: snakemake {elapsed:.1f} s, annotate job {seconds:.2f} s from its log")
    assert seconds < 3

    # 2. A server that dies after 10 answers: the job stops, what was answered is kept.
    with FakeOpenAIServer(port=port, die_after=10):
        dying = snakemake(workdir, "--cores", "2", *targets)
    assert dying.returncode != 0
    lost = f"labeldistill: labeler gpt: lost {url} (connection refused) after "
    assert any(line.startswith(lost) for line in labeldistill_lines(dying.stderr)), dying.stderr[-4000:]
    assert "Traceback" not in dying.stderr and not scored_files(workdir)
    kept = ResponseCache(workdir / "cache").size().entries
    assert 5 <= kept <= 10

    # 3. The server is back: a rerun labels the rest, the answers of before from the cache.
    with FakeOpenAIServer(port=port) as server:
        again = snakemake(workdir, "--cores", "2", *targets)
        assert again.returncode == 0, again.stderr[-4000:]
        asked = server.stats()["bodies"]
    # The targets need the labels of val (agreement) and test (few-shot scores), not the pool's.
    texts = sum(len(pd.read_parquet(workdir / f"results/{TASK}/splits/{part}.parquet")) for part in needed)
    assert len(asked) == texts - kept and all(entry["attempts"] == 1 for entry in asked.values())
    for part in needed:
        assert pd.read_parquet(workdir / f"results/{TASK}/labels/gpt/{part}.parquet")["label"].notna().all()
    assert (workdir / targets[0]).exists() and (workdir / targets[1]).exists()
