"""The shared models folder: one content-addressed folder per model, converted once however
many processes ask at the same time, and never replaced once there.

The source is a tiny model built here (a transformers folder converts in about a second); the
code path is the one a registry GGUF takes, less the dequantising.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_llm import build_tiny_llm

from labeldistill.errors import LabelDistillError
from labeldistill.stages import prepare_model
from labeldistill.teachers.local.models import (
    PROVENANCE_FILE,
    _exclusive,
    ensure_local_model,
    local_model_address,
    open_local_model,
    prepare_local_model,
)

# What a converter process prints: the folder and whether it converted.
CONVERTER = (
    "import json, logging, sys\n"
    "logging.basicConfig(level=logging.INFO)\n"
    "from labeldistill.teachers.local.models import ensure_local_model\n"
    "folder, converted = ensure_local_model(sys.argv[1], sys.argv[2])\n"
    "print(json.dumps([str(folder), converted]))\n"
)


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory, local_model_dir) -> Path:
    return build_tiny_llm(tmp_path_factory.mktemp("source") / "tiny-gemma", local_model_dir)


def snapshot(folder: Path) -> dict:
    """Inode and modification time of the folder and every file in it."""
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in [folder, *folder.iterdir()]}


def test_racing_converters_convert_once(tmp_path, tiny_source):
    models = tmp_path / "models"
    models.mkdir()
    address = local_model_address(str(tiny_source))
    logs = [tmp_path / f"converter{i}.log" for i in range(2)]
    # Hold the converters' lock until both wait for it: both then find no folder, and both race.
    with _exclusive(models / f".{address}.lock"):
        converters = [
            subprocess.Popen(
                [sys.executable, "-c", CONVERTER, str(tiny_source), str(models)],
                stdout=subprocess.PIPE,
                stderr=log.open("w"),
                text=True,
            )
            for log in logs
        ]
        deadline = time.monotonic() + 120
        while not all("waiting for" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            assert all(c.poll() is None for c in converters), [log.read_text() for log in logs]
            time.sleep(0.2)
    answers = []
    for converter, log in zip(converters, logs, strict=True):
        out, _ = converter.communicate(timeout=300)
        assert converter.returncode == 0, log.read_text()
        answers.append(json.loads(out))
    folders = {folder for folder, _ in answers}
    assert folders == {str(models / address)}
    assert sorted(converted for _, converted in answers) == [False, True]  # one conversion
    assert sum("converting local model" in log.read_text() for log in logs) == 1
    folder = models / address
    assert {"config.json", "model.safetensors", "tokenizer.json", PROVENANCE_FILE} <= {
        path.name for path in folder.iterdir()
    }
    assert sorted(path.name for path in models.iterdir()) == sorted([address, f".{address}.lock"])


def test_an_existing_folder_is_never_replaced(tmp_path, tiny_source):
    folder, converted = ensure_local_model(str(tiny_source), tmp_path)
    assert converted and folder == tmp_path / local_model_address(str(tiny_source))
    before = snapshot(folder)
    again, converted = ensure_local_model(str(tiny_source), tmp_path)
    assert again == folder and not converted
    assert prepare_local_model(str(tiny_source), folder) is False  # asked for that very folder
    prepare_model.run(str(tiny_source), tmp_path, tmp_path / "record.json")  # the workflow's job
    assert snapshot(folder) == before
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["folder"] == str(folder) and record["converted_here"] is False
    assert record["provenance"]["model"] == "tiny-gemma"


def test_the_address_follows_the_content_not_the_path(tmp_path, tiny_source, local_model_dir):
    address = local_model_address(str(tiny_source))
    assert address.startswith("tiny-gemma-") and len(address) == len("tiny-gemma-") + 12
    copy = tmp_path / "copy" / "tiny-gemma"
    copy.parent.mkdir()
    subprocess.run(["cp", "-r", str(tiny_source), str(copy)], check=True)
    assert local_model_address(str(copy)) == address  # same bytes elsewhere: one folder
    other = build_tiny_llm(tmp_path / "other" / "tiny-gemma", local_model_dir, seed=1)
    assert local_model_address(str(other)) != address  # other weights: another folder


def test_a_killed_converters_leftovers_go_and_a_foreign_folder_stays(tmp_path, tiny_source):
    address = local_model_address(str(tiny_source))
    leftover = tmp_path / f".{address}.tmp-dead"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")
    folder, converted = ensure_local_model(str(tiny_source), tmp_path)
    assert converted and not leftover.exists()

    elsewhere = tmp_path / "elsewhere"
    foreign = elsewhere / address
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(LabelDistillError, match="something other than a converted model"):
        ensure_local_model(str(tiny_source), elsewhere)
    assert [path.name for path in foreign.iterdir()] == ["notes.txt"]


def test_a_removed_folder_is_converted_again_from_the_record(tmp_path, tiny_source):
    models, record = tmp_path / "models", tmp_path / "results/models/tiny-gemma.json"
    prepare_model.run(str(tiny_source), models, record)
    folder = Path(json.loads(record.read_text())["folder"])
    assert open_local_model(record) == folder
    subprocess.run(["rm", "-r", str(folder)], check=True)  # a cache cleared by hand
    assert open_local_model(record) == folder and (folder / "config.json").exists()


def test_the_default_models_dir_is_per_user(monkeypatch, tmp_path):
    from labeldistill.teachers.local.models import default_models_dir

    monkeypatch.delenv("LABELDISTILL_MODELS", raising=False)
    assert default_models_dir() == Path.home() / ".cache/labeldistill/models"
    monkeypatch.setenv("LABELDISTILL_MODELS", str(tmp_path))
    assert default_models_dir() == tmp_path
