"""The one sampling module: split with duplicates kept together, few-shot and training draws."""

from __future__ import annotations

import pandas as pd
import pytest

from labeldistill.tasks.sampling import allocate, draw_ids, duplicate_summary, normalise, stratified_draw
from labeldistill.tasks.splits import SplitSizes, split_task
from labeldistill.teachers.prompts.examples import draw_examples


def texts_with_twins(n=120, twins=30):
    """n texts; the first `twins` reappear under new ids, some in another case or spacing."""
    rows = [
        {"id": f"t{i:03d}", "text": f"Text number {i}", "label": "neg" if i % 3 == 0 else "other"}
        for i in range(n)
    ]
    for i in range(twins):
        text = rows[i]["text"]
        variant = text.upper() if i % 3 == 0 else ("  " + text.replace(" ", "   ") if i % 3 == 1 else text)
        rows.append({"id": f"d{i:03d}", "text": variant, "label": rows[i]["label"]})
    return pd.DataFrame(rows)


def test_no_twin_crosses_parts():
    texts = texts_with_twins()
    for seed in range(5):
        parts = split_task(texts, SplitSizes(test=20, val=20, pool=60), seed=seed)
        where = {}
        for name, part in parts.items():
            for text in part["text"]:
                key = normalise(text)
                assert where.setdefault(key, name) == name, f"twin of {text!r} in {where[key]} and {name}"
        assert [len(parts[p]) for p in ("test", "val", "pool")] == [20, 20, 60]


def test_duplicate_summary_counts_exact_and_normalised_twins():
    texts = texts_with_twins(n=20, twins=6)
    texts.loc[texts["id"] == "d005", "label"] = "neg" if texts.loc[5, "label"] == "other" else "other"
    summary = duplicate_summary(texts)
    assert summary["n_duplicate_groups"] == 6
    assert summary["n_texts_in_duplicate_groups"] == 12
    assert summary["n_exact_duplicate_texts"] == 2 * 2  # i = 2 and 5 repeat their text exactly
    assert summary["n_groups_with_conflicting_labels"] == 1


def test_few_shot_examples_are_never_twins():
    pool = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(8)],
            "text": ["Same", "same", " SAME ", "a", "b", "c", "d", "e"],
            "label": ["neg", "neg", "neg", "other", "other", "other", "other", "neg"],
        }
    )
    for seed in range(10):
        shown = [normalise(e.text) for e in draw_examples(pool, 6, seed=seed)]
        assert len(shown) == len(set(shown)) == 6


def test_stratified_draw_is_proportional_and_order_free():
    frame = pd.DataFrame(
        {"id": [f"t{i:02d}" for i in range(40)], "label": ["a"] * 30 + ["b"] * 8 + ["c"] * 2}
    )
    drawn, rest = stratified_draw(frame, 10, seed=3)
    assert drawn["label"].value_counts().to_dict() == {"a": 8, "b": 2}  # 7.5, 2.0, 0.5
    again, _ = stratified_draw(frame.sample(frac=1, random_state=1), 10, seed=3)
    assert list(again["id"]) == list(drawn["id"])
    assert len(rest) == 30 and not set(rest["id"]) & set(drawn["id"])


def test_allocate_gives_every_label_one_when_asked():
    counts = pd.Series({"a": 50, "b": 3, "c": 1})
    assert allocate(counts, 6, at_least_one=True) == {"a": 4, "b": 1, "c": 1}
    assert allocate(counts, 6) == {"a": 6, "b": 0, "c": 0}
    assert sum(allocate(counts, 100).values()) == 54


def test_draw_ids_reads_no_label_and_depends_on_seed_only():
    ids = [f"x{i}" for i in range(50)]
    a = draw_ids(ids, 10, seed=1)
    assert a == draw_ids(list(reversed(ids)), 10, seed=1) and len(a) == 10 and a == sorted(a)
    assert a != draw_ids(ids, 10, seed=2)
    assert draw_ids(ids, None, seed=1) == sorted(ids)
    assert draw_ids(ids, 500, seed=1) == sorted(ids)
    with pytest.raises(Exception, match="train_size"):
        draw_ids(ids, 0, seed=1)
