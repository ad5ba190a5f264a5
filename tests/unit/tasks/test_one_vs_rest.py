"""Multi-category schemes: `one_vs_rest` expands a K-label task into K binary tasks at config
preparation, and every task may bring its own split sizes."""

from __future__ import annotations

import pandas as pd
import pytest

from labeldistill.config.prepare import ConfigProblems, prepare_config
from labeldistill.contracts import SPLIT, SPLIT_SUMMARY, read_record, read_table
from labeldistill.stages import split
from labeldistill.tasks.spec import TaskSpec, load_coder_labels
from labeldistill.tasks.splits import SplitSizes, task_split_settings
from labeldistill.teachers.prompts.completion import build_prompt
from labeldistill.teachers.prompts.examples import with_question

LABELS = ["negative", "neutral", "positive"]
COUNTS = {"negative": 30, "neutral": 50, "positive": 40}


def make_task(tmp_path, labels=LABELS, counts=None):
    """A task's files in `tmp_path`: texts with `counts` per label, three coders, a codebook."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    counts = counts or dict(zip(labels, COUNTS.values(), strict=True))
    gold = [label for label, n in counts.items() for _ in range(n)]
    texts = tmp_path / "texts.csv"
    pd.DataFrame(
        {
            "id": [f"i{n:03d}" for n in range(len(gold))],
            "text": [f"text {n}" for n in range(len(gold))],
            "label": gold,
        }
    ).to_csv(texts, index=False)
    coders = tmp_path / "coders.csv"
    pd.DataFrame(
        [(f"i{n:03d}", f"r{c}", label) for n, label in enumerate(gold) for c in range(3)],
        columns=["id", "coder", "label"],
    ).to_csv(coders, index=False)
    codebook = tmp_path / "codebook.md"
    codebook.write_text("# Tone\n\nAnswer with one label: negative, neutral or positive.\n")
    return {
        "texts": str(texts),
        "codebook": str(codebook),
        "coder_labels": str(coders),
        "labels": list(labels),
    }


def config(tmp_path, **task):
    return {
        "tasks": {"tone": {**make_task(tmp_path), **task}},
        "students": {"s": {"kind": "tfidf-logreg"}},
        "split": {"seed": 5, "test": 40, "val": 20, "pool": 40},
    }


def test_one_vs_rest_expands_into_one_binary_task_per_label(tmp_path):
    cfg = config(tmp_path, one_vs_rest=True)
    prepare_config(cfg, tmp_path / "checks")
    assert list(cfg["tasks"]) == ["tone.negative", "tone.neutral", "tone.positive"]
    for label in LABELS:
        block = cfg["tasks"][f"tone.{label}"]
        assert block["labels"] == [label, "other"] and block["positive_label"] == label
        assert block["one_vs_rest_of"] == {"task": "tone", "labels": LABELS}
        assert "one_vs_rest" not in block
        spec = TaskSpec.from_config(f"tone.{label}", block)
        assert (spec.task_group, spec.headline, spec.file_labels) == ("tone", "f1", tuple(LABELS))
        assert spec.label_map == {other: label if other == label else "other" for other in LABELS}


def test_the_k_tasks_share_their_parts_and_their_gold_positives_sum_to_one_per_text(tmp_path):
    cfg = config(tmp_path, one_vs_rest=True)
    prepare_config(cfg, tmp_path / "checks")
    original = pd.read_csv(cfg["tasks"]["tone.negative"]["texts"], dtype=str).set_index("id")["label"]
    positives, ids = {}, {}
    for name, block in cfg["tasks"].items():
        spec = TaskSpec.from_config(name, block)
        settings = task_split_settings(cfg["split"], block)
        outputs = {part: tmp_path / name / f"{part}.parquet" for part in ("pool", "val", "test")}
        split.run(
            spec, SplitSizes.from_config(settings), settings["seed"], outputs, tmp_path / name / "s.json"
        )
        test = read_table(outputs["test"], SPLIT).set_index("id")["label"]
        assert set(test) <= {spec.positive_label, "other"}
        # the binary gold label is the file's label against the rest
        assert (test == spec.positive_label).equals(original[test.index] == spec.positive_label)
        positives[name] = (test == spec.positive_label).astype(int)
        ids[name] = {part: set(read_table(path, SPLIT)["id"]) for part, path in outputs.items()}
        summary = read_record(tmp_path / name / "s.json", SPLIT_SUMMARY)
        assert summary["task_group"] == "tone" and summary["labels"] == [spec.positive_label, "other"]
    assert all(parts == ids["tone.negative"] for parts in ids.values())  # one split for all K
    total = pd.concat(positives.values(), axis=1).sum(axis=1)
    assert len(total) == 40 and (total == 1).all()


def test_coder_labels_and_prompt_of_a_one_vs_rest_task(tmp_path):
    cfg = config(tmp_path, one_vs_rest=True)
    prepare_config(cfg, tmp_path / "checks")
    spec = TaskSpec.from_config("tone.neutral", cfg["tasks"]["tone.neutral"])
    coders = load_coder_labels(spec.coder_labels, spec.file_labels, label_map=spec.label_map)
    assert set(coders["label"]) == {"neutral", "other"}
    assert (coders["label"] == "neutral").sum() == 3 * COUNTS["neutral"]
    codebook = with_question(spec.codebook.read_text(), spec.question)
    prompt = build_prompt(codebook, spec.labels, [])
    assert "Valid labels: neutral, other" in prompt.prefix
    assert "only the category `neutral` is asked" in prompt.prefix
    assert "`other` if it belongs to any other category (negative, positive)" in prompt.prefix
    # a task of its own labels asks nothing more: its prompt is as before
    plain = TaskSpec.from_config("tone", make_task(tmp_path / "plain"))
    assert plain.question == "" and with_question("cb", plain.question) == "cb"


def test_rest_label_and_names_never_collide(tmp_path):
    cfg = {
        "tasks": {"t": {**make_task(tmp_path, labels=["other", "very bad", "fine"]), "one_vs_rest": True}},
        "students": {"s": {"kind": "tfidf-logreg"}},
        "split": {"seed": 5, "test": 40, "val": 20, "pool": 40},
    }
    prepare_config(cfg, tmp_path / "checks")
    assert list(cfg["tasks"]) == ["t.other", "t.very_bad", "t.fine"]
    assert cfg["tasks"]["t.very_bad"]["labels"] == ["very bad", "other2"]
    assert cfg["tasks"]["t.other"]["labels"] == ["other", "other2"]


def test_one_vs_rest_problems(tmp_path):
    cfg = config(tmp_path, one_vs_rest=True, positive_label="negative")
    with pytest.raises(ConfigProblems, match=r"tasks.tone.positive_label: not with one_vs_rest"):
        prepare_config(cfg, tmp_path / "checks")
    cfg = config(tmp_path, one_vs_rest=True)
    cfg["tasks"]["tone.neutral"] = make_task(tmp_path / "x")
    with pytest.raises(
        ConfigProblems, match=r"tasks.tone.one_vs_rest: task name 'tone.neutral' .* taken twice"
    ):
        prepare_config(cfg, tmp_path / "checks")
    cfg = config(tmp_path, one_vs_rest="yes")
    with pytest.raises(ConfigProblems, match=r"tasks.tone.one_vs_rest: 'yes' is not of type boolean"):
        prepare_config(cfg, tmp_path / "checks")


def test_a_multi_category_task_without_one_vs_rest_is_scored_by_macro_f1(tmp_path):
    cfg = config(tmp_path)
    prepare_config(cfg, tmp_path / "checks")
    spec = TaskSpec.from_config("tone", cfg["tasks"]["tone"])
    assert list(cfg["tasks"]) == ["tone"] and spec.headline == "macro_f1" and spec.label_map is None


# ---- a task's own split sizes -----------------------------------------------------------
def test_a_tasks_own_split_sizes_are_honoured(tmp_path):
    cfg = config(tmp_path, split={"test": 60, "val": 10})
    cfg["tasks"]["other_task"] = make_task(tmp_path / "o")
    prepare_config(cfg, tmp_path / "checks")
    own = task_split_settings(cfg["split"], cfg["tasks"]["tone"])
    assert own == {"seed": 5, "test": 60, "val": 10, "pool": 40}
    assert task_split_settings(cfg["split"], cfg["tasks"]["other_task"]) == cfg["split"]
    spec = TaskSpec.from_config("tone", cfg["tasks"]["tone"])
    outputs = {part: tmp_path / "parts" / f"{part}.parquet" for part in ("pool", "val", "test")}
    split.run(spec, SplitSizes.from_config(own), own["seed"], outputs, tmp_path / "parts" / "s.json")
    sizes = {part: len(read_table(path, SPLIT)) for part, path in outputs.items()}
    assert sizes == {"pool": 40, "val": 10, "test": 60}
    summary = read_record(tmp_path / "parts" / "s.json", SPLIT_SUMMARY)
    assert summary["split"] == {"seed": 5, "test": 60, "val": 10, "pool": 40}


def test_a_tasks_own_split_is_checked_against_its_data(tmp_path):
    cfg = config(tmp_path, split={"test": 100})
    with pytest.raises(
        ConfigProblems, match=r"config key tasks.tone.split: test=100 \+ val=20 \+ pool=40 need 160"
    ):
        prepare_config(cfg, tmp_path / "checks")
    cfg = config(tmp_path, split={"pool": 10})
    cfg["train_size"] = 20
    with pytest.raises(ConfigProblems, match=r"train_size: 20 is larger than tasks.tone.split.pool \(10\)"):
        prepare_config(cfg, tmp_path / "checks")
