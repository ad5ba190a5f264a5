"""Modal vote over samples: a tie is a seeded draw per text, not the first label."""

from collections import Counter

import pytest

from labeldistill.teachers.chat.answers import SampleAnswer
from labeldistill.teachers.chat.consistency import SampleOutcome, aggregate, tie_break

LABELS = ["positive", "negative", "neutral"]


def vote(*labels: str) -> list[SampleOutcome]:
    return [SampleOutcome(SampleAnswer(label)) for label in labels]


def test_ties_split_evenly_over_texts_and_each_text_keeps_its_label():
    ids = [f"text-{i}" for i in range(4000)]
    two = [aggregate(i, vote("neutral", "positive"), LABELS).label for i in ids]
    shares = Counter(two)
    assert set(shares) == {"positive", "neutral"}
    assert shares["positive"] / len(ids) == pytest.approx(0.5, abs=0.03)
    three = Counter(aggregate(i, vote(*LABELS), LABELS).label for i in ids)
    assert all(count / len(ids) == pytest.approx(1 / 3, abs=0.03) for count in three.values())
    # The same text and seed: the same label, in any run (sha256, not Python's hash()).
    again = [aggregate(i, vote("positive", "neutral"), LABELS).label for i in ids]
    assert again == two
    assert tie_break([0, 2], "text-7", 0) == tie_break([0, 2], "text-7", 0)


def test_the_labelers_seed_changes_the_draw_and_none_is_zero():
    ids = [str(i) for i in range(200)]
    seeded = [aggregate(i, vote("positive", "negative"), LABELS, seed=42).label for i in ids]
    unseeded = [aggregate(i, vote("positive", "negative"), LABELS, seed=None).label for i in ids]
    assert unseeded == [aggregate(i, vote("positive", "negative"), LABELS, seed=0).label for i in ids]
    assert 50 < sum(a != b for a, b in zip(seeded, unseeded, strict=True)) < 150


def test_a_tie_keeps_its_shares_and_a_clear_mode_is_no_draw():
    tie = aggregate("t", vote("neutral", "negative", "neutral", "negative"), LABELS)
    assert tie.label in ("negative", "neutral") and tie.consistency == 0.5
    assert tie.probabilities == [0.0, 0.5, 0.5]
    for i in range(50):
        assert aggregate(str(i), vote("neutral", "negative", "neutral"), LABELS).label == "neutral"
    # Failed samples do not vote.
    mixed = vote("negative", None, None)
    assert aggregate("t", mixed, LABELS).label == "negative"
