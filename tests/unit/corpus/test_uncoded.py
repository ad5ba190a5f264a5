"""Which uncoded texts the LLM labels: coded twins and repeats dropped, one seeded order that
does not depend on the file's row order, and labelling that stops at the largest size."""

from __future__ import annotations

import pandas as pd
import pytest

from labeldistill.corpus.uncoded import UncodedSettings, plan_texts
from labeldistill.errors import LabelDistillError
from labeldistill.tasks.sampling import draw_ids, near_duplicate_key


def uncoded(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"u{i}" for i in range(n)], "text": [f"uncoded text number {i}" for i in range(n)]}
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("happy birthday @anonymous", "@anonymous -- Happy birthday!"),
        ("Great  game\ntonight", "great game tonight http://t.co/x1"),
        ("see www.example.org now", "See now."),
    ],
)
def test_twins_share_their_key(a, b):
    assert near_duplicate_key(a) == near_duplicate_key(b)


def test_texts_that_differ_in_words_do_not():
    assert near_duplicate_key("a good day") != near_duplicate_key("a bad day")
    assert near_duplicate_key("!!!") == "!!!"  # punctuation only is its own key, never ''


def test_coded_twins_and_repeats_are_dropped_and_counted():
    frame = pd.concat(
        [
            uncoded(20),
            pd.DataFrame({"id": ["twin", "again"], "text": ["@x CODED text one!!", "uncoded text number 3"]}),
        ],
        ignore_index=True,
    )
    texts, summary = plan_texts(frame, ["coded text one", "another coded text"], planned=100, seed=1)
    assert summary == {
        "rows": 22,
        "dropped_twins_of_coded": 1,
        "dropped_repeated": 1,
        "available": 20,
        "planned": 20,
        "seed": 1,
    }
    assert "twin" not in set(texts["id"]) and len(set(texts["id"])) == 20
    assert texts["label"].isna().all()


def test_the_order_depends_on_ids_and_seed_not_on_row_order():
    frame = uncoded(50)
    first, _ = plan_texts(frame, [], planned=30, seed=7)
    shuffled, _ = plan_texts(frame.sample(frac=1, random_state=3), [], planned=30, seed=7)
    assert list(first["id"]) == list(shuffled["id"])
    other, _ = plan_texts(frame, [], planned=30, seed=8)
    assert list(first["id"]) != list(other["id"])
    # A larger plan keeps the smaller one as its first rows: chunks already labelled stay valid.
    larger, _ = plan_texts(frame, [], planned=45, seed=7)
    assert list(larger["id"][:30]) == list(first["id"])


def test_students_draws_are_nested_across_sizes():
    texts, _ = plan_texts(uncoded(200), [], planned=200, seed=1)
    small, large = draw_ids(texts["id"], 50, seed=2), draw_ids(texts["id"], 150, seed=2)
    assert set(small) <= set(large)


def test_labelling_stops_at_the_largest_size():
    settings = UncodedSettings.from_config({"uncoded": {"train_sizes": [1000, 250], "chunk_size": 400}})
    assert settings.train_sizes == ("250", "1000")
    assert settings.planned(5000) == 1000 and settings.n_chunks(5000) == 3
    assert settings.planned(600) == 600 and settings.n_chunks(600) == 2
    every = UncodedSettings.from_config({"uncoded": {"train_sizes": [250, "all"]}, "split": {"seed": 9}})
    assert every.planned(5000) == 5000 and every.seed == 9  # the split's seed by default


def test_bad_sizes_and_students_name_the_key():
    with pytest.raises(LabelDistillError, match="config key uncoded.train_sizes"):
        UncodedSettings.from_config({"uncoded": {"train_sizes": [1]}})
    with pytest.raises(LabelDistillError, match=r"config key uncoded.students: \['bert'\]"):
        UncodedSettings.from_config({"students": {"tfidf": {}}, "uncoded": {"students": ["bert"]}})
