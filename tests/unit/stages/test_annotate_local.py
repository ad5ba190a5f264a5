"""A local labeler's parts labelled in one job (model loaded and calibrated once) give exactly
what labeling each part on its own gives; a part with too many failures writes nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from calibration_alone import measure_alone

from labeldistill.contracts import SPLIT, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import annotate
from labeldistill.teachers.base import TaskContext
from labeldistill.teachers.factory import make_teacher
from labeldistill.teachers.local.models import write_model_record
from labeldistill.teachers.local.teacher import LocalTeacher
from labeldistill.teachers.settings import parse_labeler

LABELS = ["negative", "other"]
PARTS = ["pool", "val", "test"]
TEXTS = [
    "I hate waiting in this queue, the worst morning.",
    "The train leaves at nine from platform two.",
    "What a terrible, rude answer from support.",
    "We had pasta for dinner.",
    "This update broke everything again, furious.",
    "The library opens on Sundays now.",
]
SETTINGS = {"backend": "local", "model": "gemma3-270m", "shots": 4, "calibration_texts": 6}


@pytest.fixture()
def task(tmp_path, local_model_dir):
    sizes = {"pool": 14, "val": 5, "test": 6}
    for part, n in sizes.items():
        frame = pd.DataFrame(
            {
                "id": [f"{part}{i}" for i in range(n)],
                "text": [f"{TEXTS[i % len(TEXTS)]} ({part} {i})" for i in range(n)],
                "label": [
                    LABELS[int("hate" in TEXTS[i % 6] or "terrible" in TEXTS[i % 6])] for i in range(n)
                ],
            }
        )
        write_table(frame, tmp_path / f"{part}.parquet", SPLIT)
    (tmp_path / "codebook.md").write_text("Is the text negative in tone?")
    write_model_record(tmp_path / "model.json", "gemma3-270m", local_model_dir, converted=False)
    return tmp_path


def label_alone(texts, pool, settings, model_dir):
    """A part labelled on its own, the model loaded for it, as the annotate stage labels one
    (`settings`: the labeler's config block, parsed as the stage parses it)."""
    context = TaskContext("demo", LABELS, "Is the text negative in tone?", pool)
    teacher = make_teacher("gemma", parse_labeler("gemma", settings), context, model_dir=model_dir, threads=2)
    return annotate.label_part(teacher, texts)


def run_local(task, settings=SETTINGS):
    out = task / "out"
    annotate.run_local(
        splits={part: task / f"{part}.parquet" for part in PARTS},
        codebook=task / "codebook.md",
        labels=LABELS,
        labeler="gemma",
        settings=settings,
        model_record=task / "model.json",
        labels_paths={part: out / f"labels/{part}.parquet" for part in PARTS},
        usage_paths={part: out / f"usage/{part}.json" for part in PARTS},
        calibration_path=out / "calibration.json",
        threads=2,
        task="demo",
    )
    return out


def test_one_job_gives_the_labels_of_one_job_per_part(task, local_model_dir):
    out = run_local(task)
    pool = pd.read_parquet(task / "pool.parquet")
    measure_alone(
        task / "pool.parquet",
        task / "codebook.md",
        LABELS,
        "gemma",
        SETTINGS,
        local_model_dir,
        task / "alone.json",
        threads=2,
        task="demo",
    )
    assert json.loads((out / "calibration.json").read_text()) == json.loads((task / "alone.json").read_text())
    for part in PARTS:
        texts = pd.read_parquet(task / f"{part}.parquet")
        alone = label_alone(texts, pool, SETTINGS, local_model_dir)
        together = pd.read_parquet(out / f"labels/{part}.parquet")
        assert together["label"].tolist() == alone["label"].tolist()
        assert np.stack(together["probabilities"]) == pytest.approx(
            np.stack(alone["probabilities"]), abs=1e-9
        )
        same = ["id", "label", "labeler", "backend", "model", "prompt_hash"]
        assert together[same].equals(alone[same]) and together["error"].isna().all()
        usage = json.loads((out / f"usage/{part}.json").read_text())
        assert usage["texts"] == len(texts) and usage["failed_texts"] == 0 and usage["seconds"] > 0


def test_no_calibration_texts_give_raw_probabilities_and_a_record_saying_so(task, local_model_dir):
    settings = {**SETTINGS, "calibration_texts": 0}
    out = run_local(task, settings)
    record = json.loads((out / "calibration.json").read_text())
    assert record["method"] == "none" and record["n_texts"] == 0
    pool = pd.read_parquet(task / "pool.parquet")
    texts = pd.read_parquet(task / "test.parquet")
    alone = label_alone(texts, pool, settings, local_model_dir)
    together = pd.read_parquet(out / "labels/test.parquet")
    assert np.stack(together["probabilities"]) == pytest.approx(np.stack(alone["probabilities"]), abs=1e-9)


def test_a_part_with_too_many_failures_writes_nothing(task, monkeypatch):
    # The model fails (as on running out of memory) on the val texts: 5 of 5, above 0.2.
    score = LocalTeacher._score_texts

    def failing(self, indices, suffixes):
        if any("val" in self.tokenizer.decode(suffixes[i]) for i in indices):
            raise RuntimeError("out of memory")
        return score(self, indices, suffixes)

    monkeypatch.setattr(LocalTeacher, "_score_texts", failing)
    with pytest.raises(
        LabelDistillError, match=r"labeler gemma: 5 of 5 texts failed.*no labels were written"
    ):
        run_local(task)
    assert not (task / "out").exists()


def test_one_job_parses_its_labeler_block_once(task, monkeypatch):
    """The block is turned into its settings object at the job's boundary and the object is
    handed on: the factory, the teacher, the few-shot draw and each part's failed-texts check
    read it, none parses the block again."""
    from labeldistill.teachers import settings as declared

    parsed, resolve = [], declared.resolve

    def spy(cls, given, config_key, *args, **kwargs):
        parsed.append(config_key)
        return resolve(cls, given, config_key, *args, **kwargs)

    monkeypatch.setattr(declared, "resolve", spy)
    # One test text fails (1 of 6, within max_failed_share), so that a part's check reads the limit.
    score = LocalTeacher._score_texts

    def failing(self, indices, suffixes):
        if any("(test 0)" in self.tokenizer.decode(suffixes[i]) for i in indices):
            raise RuntimeError("out of memory")
        return score(self, indices, suffixes)

    monkeypatch.setattr(LocalTeacher, "_score_texts", failing)
    out = run_local(task)
    assert pd.read_parquet(out / "labels/test.parquet")["label"].isna().sum() == 1
    assert parsed == ["labelers.gemma"]
