"""A server that an annotate job starts, labels through, and always stops.

For `labelers.<name>.server`: a command such as `vllm serve MODEL --port 8011` or
`python -m llama_cpp.server --model M.gguf --port 8011`. The job starts it in its own process
group, waits until `<base_url>/models` answers, labels through the `openai` backend (whose
reachability check thus runs against a server that is up), and stops the whole group when
labeling ends, also when it fails or the job is interrupted.

`{few_shot_chat_template}` in the command stands for the package's few-shot chat template itself
(teachers/prompts/chat.py; vLLM takes a template or its file), for a base model that has none:
`vllm serve FOLDER --chat-template {few_shot_chat_template} --port 8011`.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.prompts.chat import FEW_SHOT_CHAT_TEMPLATE

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 20.0


TEMPLATE_FIELD = "{few_shot_chat_template}"


def _command(command: str | Sequence[str]) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    return [part.replace(TEMPLATE_FIELD, FEW_SHOT_CHAT_TEMPLATE) for part in argv]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 5) -> str:
    if not path.exists():
        return ""
    return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL after a grace period."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _raise_exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def managed_server(
    command: str | Sequence[str],
    base_url: str,
    log_path: Path,
    startup_timeout: float = 600.0,
    config_key: str = "server",
) -> Iterator[subprocess.Popen]:
    """Run `command` until the block ends; ready once `<base_url>/models` answers 200."""
    argv = _command(command)
    if not argv:
        raise LabelDistillError(f"config key {config_key}.command: empty command")
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    models_url = base_url.rstrip("/") + "/models"
    if _answers(models_url):
        raise LabelDistillError(
            f"config key {config_key}: something already answers at {models_url}; "
            "choose a free port for the managed server"
        )
    with log_path.open("ab") as server_log:
        try:
            process = subprocess.Popen(
                argv, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as error:
            raise LabelDistillError(
                f"config key {config_key}.command: cannot start {argv[0]!r}: {error}"
            ) from error
    # Snakemake stops a job with SIGTERM: turn it into an exception so that `finally` runs.
    previous = signal.signal(signal.SIGTERM, _raise_exit)
    try:
        log.info("started server (pid %d): %s", process.pid, shlex.join(argv))
        started = time.monotonic()
        while not _answers(models_url):
            if process.poll() is not None:
                raise LabelDistillError(
                    f"config key {config_key}: server exited with code {process.returncode} before "
                    f"answering ({log_path}: {_tail(log_path)})"
                )
            if time.monotonic() - started > startup_timeout:
                raise LabelDistillError(
                    f"config key {config_key}: server did not answer at {models_url} within "
                    f"{startup_timeout:.0f} s ({log_path}: {_tail(log_path)})"
                )
            time.sleep(POLL_SECONDS)
        log.info("server ready at %s after %.1f s", base_url, time.monotonic() - started)
        yield process
    finally:
        _stop(process)
        signal.signal(signal.SIGTERM, previous)
        log.info("server stopped (exit code %s)", process.returncode)
