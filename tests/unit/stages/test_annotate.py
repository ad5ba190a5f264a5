"""The annotate stage: a part with too many failed texts writes nothing and fails in one line;
the local labeler's calibration prior comes from the config."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pandas as pd
import pytest
from calibration_alone import measure_alone
from fake_openai_server import FakeOpenAIServer

from labeldistill.contracts import SPLIT, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import annotate
from labeldistill.teachers.base import TaskContext
from labeldistill.teachers.factory import make_teacher
from labeldistill.teachers.labelled_parts import check_failures
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.result import TeacherLabel, labels_table
from labeldistill.teachers.settings import parse_labeler

LABELS = ["negative", "other"]


def write_split(path, n: int, tag: str) -> None:
    frame = pd.DataFrame(
        {
            "id": [f"{tag}{i}" for i in range(n)],
            "text": [f"{tag} text {i} is {LABELS[i % 2]} here" for i in range(n)],
            "label": [LABELS[i % 2] for i in range(n)],
        }
    )
    write_table(frame, path, SPLIT)


@pytest.fixture()
def parts(tmp_path):
    write_split(tmp_path / "part.parquet", 40, "p")
    write_split(tmp_path / "pool.parquet", 10, "e")
    (tmp_path / "codebook.md").write_text("Is the text negative?")
    return tmp_path


def run_stage(parts, settings, labeler="gpt"):
    annotate.run(
        part_split=parts / "part.parquet",
        pool_split=parts / "pool.parquet",
        codebook=parts / "codebook.md",
        labels=LABELS,
        labeler=labeler,
        settings=settings,
        out_path=parts / "out" / "labels.parquet",
        usage_path=parts / "out" / "usage.json",
        task="demo",
        cache_dir=parts / "cache",
    )


def test_too_many_failed_texts_write_nothing_and_fail_in_one_line(parts):
    # Half the answers are outside the label set (paid, cached, failed).
    with FakeOpenAIServer(fault_rate=0.5, faults="outside") as server:
        settings = {
            "backend": "openai",
            "model": "m",
            "base_url": server.base_url,
            "shots": 2,
            "progress": False,
        }
        with pytest.raises(LabelDistillError) as raised:
            run_stage(parts, settings)
        message = str(raised.value)
        assert message.startswith("labeler gpt: ") and "\n" not in message
        failed = int(message.split(": ", 1)[1].split(" of ")[0])
        assert 8 < failed < 32
        assert message.endswith(
            f" of 40 texts failed at {server.base_url}, more than labelers.gpt.max_failed_share "
            f"(0.2); most common error ({failed} texts): answer 'maybe' is not one of the labels; "
            "no labels were written; the answers received are in the response cache"
        )
        assert not (parts / "out").exists() or not list((parts / "out").iterdir())
        sent = server.stats()["total"]
        # Allowed more failures: the same answers, from the cache, and the files are written.
        run_stage(parts, {**settings, "max_failed_share": 0.9})
        assert server.stats()["total"] == sent
    labels = pd.read_parquet(parts / "out" / "labels.parquet")
    assert int(labels["label"].isna().sum()) == failed
    assert (parts / "out" / "usage.json").exists()


def frame(errors: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"label": [None if e else "other" for e in errors], "error": errors})


@pytest.mark.parametrize("backend", ["local", "vllm"])
def test_every_backend_has_the_same_limit(backend):
    errors = [None] * 7 + ["answer 'maybe' is not one of the labels", "answer 'hm' is not one of the labels"]
    settings = parse_labeler("small", {"backend": backend, "model": "m"})
    check_failures(frame(errors + [None]), "small", settings)  # 2 of 10: fine
    with pytest.raises(LabelDistillError) as raised:
        check_failures(frame(errors + ["CUDA error: out of memory"]), "small", settings)
    assert str(raised.value).startswith(
        "labeler small: 3 of 10 texts failed, more than labelers.small.max_failed_share (0.2); "
        "most common error (2 texts): answer 'maybe' is not one of the labels; no labels were written"
    )
    check_failures(frame(errors + ["x"]), "small", dataclasses.replace(settings, max_failed_share=0.3))
    with pytest.raises(LabelDistillError, match="1 of 10 texts failed"):
        check_failures(frame([None] * 9 + ["x"]), "s", dataclasses.replace(settings, max_failed_share=0))


def test_a_vllm_part_that_fails_writes_nothing(parts, monkeypatch):
    from labeldistill.teachers import vllm as vllm_offline

    def engine(model, engine_args, template, threads):
        answer = SimpleNamespace(text="maybe", token_ids=[1], finish_reason="stop", logprobs=None)
        return lambda conversations, _: [
            SimpleNamespace(outputs=[answer], prompt_token_ids=[1, 2]) for _ in conversations
        ]

    monkeypatch.setattr(vllm_offline, "vllm_generate", engine)
    with pytest.raises(LabelDistillError, match="labeler v: 40 of 40 texts failed, more than"):
        run_stage(parts, {"backend": "vllm", "model": "m", "mode": "text", "shots": 2}, "v")
    assert not (parts / "out" / "labels.parquet").exists()
    assert not (parts / "out" / "usage.json").exists()


def local_labels(part, pool, codebook, settings, model_dir, calibration_path=None):
    """A part labelled on its own by a local labeler, as the annotate stage labels it
    (`settings`: the labeler's config block, parsed as the stage parses it)."""
    task = TaskContext("demo", LABELS, codebook, pool)
    settings = parse_labeler("gemma", settings)
    teacher = make_teacher(
        "gemma", settings, task, model_dir=model_dir, threads=2, calibration_path=calibration_path
    )
    ids = list(part["id"])
    return labels_table(teacher.label(list(part["text"]), ids), ids, "gemma", teacher.backend)


@pytest.mark.parametrize("setting", [None, "examples", "em", "uniform"])
def test_the_local_calibration_prior_follows_the_config(parts, monkeypatch, setting):
    import numpy as np

    from labeldistill.teachers.local import teacher as local

    seen = {}

    class Teacher(local.LocalTeacher):
        """The local teacher without a model: every text is 'other'."""

        def __init__(self, model_dir, labels, prompt, **kwargs):
            seen.update(kwargs)
            self.labels, self.prompt, self.calibration_size = list(labels), prompt, 0

        def raw_probabilities(self, texts, progress=True):
            return np.full((len(texts), len(self.labels)), 0.5)

        def label(self, texts, ids=None, progress=True):
            return [TeacherLabel(label="other", probabilities=[0.0, 1.0]) for _ in texts]

    monkeypatch.setattr(local, "LocalTeacher", Teacher)
    settings = {"backend": "local", "model": "m", "shots": 4}
    if setting:
        settings["calibration_prior"] = setting
    pool = pd.read_parquet(parts / "pool.parquet")
    part = pd.read_parquet(parts / "part.parquet")
    local_labels(part, pool, "cb", settings, parts)
    if setting in (None, "examples"):
        examples = few_shot_examples(pool, parse_labeler("small", settings), "small")
        shares = [
            (sum(e.label == label for e in examples) + 0.5) / (len(examples) + 0.5 * len(LABELS))
            for label in LABELS
        ]
        assert list(seen["calibration_prior"]) == pytest.approx(shares)
    else:
        assert seen["calibration_prior"] == setting


def test_calibration_measured_once_equals_calibration_in_the_job(parts, local_model_dir):
    """A calibration record measured on its own, read by a labeling job, gives exactly the labels and
    probabilities of calibrating inside the job; a record of another prompt is refused."""
    write_split(parts / "pool.parquet", 24, "e")
    settings = {"backend": "local", "model": "gemma3-270m", "shots": 4, "calibration_texts": 12}
    record = parts / "calibration.json"
    measure_alone(
        parts / "pool.parquet", parts / "codebook.md", LABELS, "gemma", settings, local_model_dir, record
    )
    pool = pd.read_parquet(parts / "pool.parquet")
    part = pd.read_parquet(parts / "part.parquet").head(6)
    args = (part, pool, "Is the text negative?", settings, local_model_dir)
    in_job = local_labels(*args)
    measured = local_labels(*args, calibration_path=record)
    assert measured["label"].tolist() == in_job["label"].tolist()
    for a, b in zip(measured["probabilities"], in_job["probabilities"], strict=True):
        assert a == pytest.approx(b, abs=1e-9)
    other = {**settings, "shots": 2}
    with pytest.raises(LabelDistillError, match="measure the calibration again"):
        local_labels(part, pool, "Is the text negative?", other, local_model_dir, record)


@pytest.mark.parametrize(
    ("base_url", "named"),
    [(None, "https://api.openai.com/v1"), ("http://user:secret@127.0.0.1:9/v1", "http://127.0.0.1:9/v1")],
)
def test_too_many_failures_name_the_endpoint_without_credentials(base_url, named):
    frame = pd.DataFrame({"label": [None] * 4, "error": ["HTTP 503 from the server"] * 4})
    # parse_labeler refuses a user:password@ URL; settings that hold one all the same never show it
    settings = dataclasses.replace(
        parse_labeler("gpt", {"backend": "openai", "model": "gpt-4o-mini"}), base_url=base_url
    )
    with pytest.raises(LabelDistillError, match="4 of 4 texts failed") as failure:
        check_failures(frame, "gpt", settings)
    assert f"failed at {named}, more than" in str(failure.value) and "secret" not in str(failure.value)
