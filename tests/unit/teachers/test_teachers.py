"""One Teacher interface: every backend the factory makes labels texts into the one result type,
counts a Usage, and its results make a LABELS table and a USAGE record of the contracts'
shape; an unknown backend is one line naming its config key."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer

from labeldistill.contracts import LABELS, USAGE
from labeldistill.errors import LabelDistillError
from labeldistill.teachers.accounting import Usage
from labeldistill.teachers.base import TaskContext, Teacher
from labeldistill.teachers.factory import BACKENDS, make_teacher
from labeldistill.teachers.labelled_parts import usage_record
from labeldistill.teachers.result import TeacherLabel, labels_table
from labeldistill.teachers.settings import parse_labeler

LABELS_ = ["negative", "other"]
TEXTS = ["a negative day, awful", "the bus leaves at nine"]
IDS = ["t0", "t1"]
POOL = pd.DataFrame(
    {
        "id": [f"p{i}" for i in range(6)],
        "text": [f"pool text {i} is {LABELS_[i % 2]}" for i in range(6)],
        "label": [LABELS_[i % 2] for i in range(6)],
    }
)
TASK = TaskContext("demo", LABELS_, "Is the text negative?", POOL, gold={"t0": "negative", "t1": "other"})


def check(teacher: Teacher, backend: str) -> pd.DataFrame:
    results = teacher.label(TEXTS, IDS)
    assert teacher.backend == backend and isinstance(teacher.usage, Usage)
    assert len(results) == len(TEXTS) and all(isinstance(r, TeacherLabel) for r in results)
    assert all(r.label in LABELS_ and len(r.probabilities) == len(LABELS_) for r in results)
    assert teacher.usage.texts == len(TEXTS) and teacher.usage.failed_texts == 0
    frame = labels_table(results, IDS, "x", teacher.backend)
    assert list(frame.columns) == list(LABELS.columns)
    record = usage_record(frame, "demo", "x", teacher.backend, teacher.usage.to_dict(), 1.0)
    USAGE.check(record, "usage record")
    assert record["texts"] == len(TEXTS) and record["backend"] == backend
    assert teacher.provenance["backend"] == backend
    return frame


def test_human_teacher_gives_the_gold_labels_one_hot():
    frame = check(make_teacher("human", None, TASK), "human")
    assert frame["label"].tolist() == ["negative", "other"]
    assert frame["probabilities"].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert frame[["model", "prompt_hash", "consistency", "n_samples", "raw"]].isna().all().all()


def test_openai_teacher_labels_through_the_endpoint(tmp_path):
    with FakeOpenAIServer() as server:
        block = {"backend": "openai", "model": "m", "base_url": server.base_url, "shots": 2}
        settings = parse_labeler("gpt", {**block, "progress": False})
        teacher = make_teacher("gpt", settings, TASK, cache_dir=tmp_path)
        frame = check(teacher, "openai")
        assert frame["label"].tolist() == ["negative", "other"]
        assert teacher.usage.requests_sent == 2 and teacher.usage.cache_hits == 0
        assert (frame["prompt_hash"] == teacher.provenance["prompt_hash"]).all()
        assert (frame["n_samples"] == 1).all() and (frame["consistency"] == 1.0).all()
        again = make_teacher("gpt", settings, TASK, cache_dir=tmp_path)
        again.label(TEXTS, IDS)
        assert again.usage.requests_sent == 0 and again.usage.cache_hits == 2
    # the provenance is logged: a password in the URL stays out of it (parse_labeler refuses
    # such a URL; settings made without it must not leak it either)
    behind = dataclasses.replace(settings, base_url="http://user:s3cret@127.0.0.1:9/v1")
    provenance = make_teacher("gpt", behind, TASK, cache_dir=tmp_path).provenance
    assert provenance["base_url"] == "http://127.0.0.1:9/v1" and "s3cret" not in str(provenance)


def test_vllm_teacher_labels_with_the_engine(tmp_path, monkeypatch):
    from labeldistill.teachers import vllm as vllm_offline

    def engine(model, engine_args, template, threads):
        def answer(conversation):
            text = "negative" if "negative" in conversation[-1]["content"] else "other"
            return SimpleNamespace(text=text, token_ids=[1], finish_reason="stop", logprobs=None)

        return lambda conversations, _: [
            SimpleNamespace(outputs=[answer(c)], prompt_token_ids=[1, 2]) for c in conversations
        ]

    monkeypatch.setattr(vllm_offline, "vllm_generate", engine)
    settings = parse_labeler("v", {"backend": "vllm", "model": "m", "mode": "text", "shots": 2})
    teacher = make_teacher("v", settings, TASK, cache_dir=tmp_path)
    frame = check(teacher, "vllm")
    assert frame["label"].tolist() == ["negative", "other"]
    assert teacher.usage.requests_sent == 2 and teacher.usage.input_tokens == 4


def test_local_teacher_labels_several_parts_with_one_model(local_model_dir):
    block = {"backend": "local", "model": "gemma3-270m", "shots": 2, "calibration_texts": 0}
    settings = parse_labeler("gemma", block)
    teacher = make_teacher("gemma", settings, TASK, model_dir=local_model_dir, threads=2)
    frame = check(teacher, "local")
    assert (frame["model"] == "gemma3-270m").all() and (frame["prompt_hash"] == teacher.prompt.hash).all()
    assert frame[["consistency", "n_samples", "raw"]].isna().all().all()
    teacher.label(TEXTS[:1], IDS[:1])  # the usage is the last call's: one part, one record
    assert teacher.usage.texts == 1


def test_an_unknown_backend_is_one_line_naming_its_key():
    with pytest.raises(LabelDistillError) as raised:
        make_teacher("mystery", parse_labeler("mystery", {"backend": "ollama", "model": "m"}), TASK)
    message = str(raised.value)
    assert "\n" not in message and message.startswith("config key labelers.mystery.backend: ")
    assert all(backend in message for backend in BACKENDS[1:])
