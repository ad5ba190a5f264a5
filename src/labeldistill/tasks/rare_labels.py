"""Test parts too small for a label: how few texts make an F1 mean little, and how many more help.

An F1 rests on the texts of its label: a test part holding 5 positives (a 2.3% category in 200
test texts) gives intervals from about 0 to 0.5 whatever the classifier, and 0.00 against 0.07
tells nothing. A label is *thin* in a test part with fewer than `MIN_TEST_TEXTS` (30) texts of
it; the labels that count are those the headline rests on: the positive label of a task scored
by its F1, every label of one scored by macro-F1.

How many more human-coded texts would give the test part `MIN_TEST_TEXTS` of the label, were
they to hold it at the rate observed there: `ceil(target / rate) - n_test`, with
rate = count / n_test (`more_texts_needed`). A label with no test text has no rate: more texts
than can be told.

The same sentence is the config warning at parse time (from the split the task will get), the
note in the per_task and data tables, and the warning in the HTML report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MIN_TEST_TEXTS = 30


def more_texts_needed(count: int, n_test: int, target: int = MIN_TEST_TEXTS) -> int | None:
    """Human-coded test texts to add so that `target` texts of a label are expected at its
    observed rate count / n_test: ceil(target * n_test / count) - n_test, at least 0; None
    when the label has no test text (no rate to go by)."""
    if count <= 0 or n_test <= 0:
        return None
    return max(-(-target * n_test // count) - n_test, 0)


def headline_labels(labels: Sequence[str], positive_label: str | None, headline: str) -> list[str]:
    """The labels a headline rests on: the positive one for `f1`, all for `macro_f1`."""
    return [positive_label] if headline == "f1" and positive_label is not None else list(labels)


def thin_labels(
    label_counts: Mapping[str, int], n_test: int, labels: Sequence[str], target: int = MIN_TEST_TEXTS
) -> list[dict]:
    """Per label of `labels` with fewer than `target` test texts: label, count, rate, more
    (see `more_texts_needed`)."""
    rows = []
    for label in labels:
        count = int(label_counts.get(label, 0))
        if count < target:
            rows.append(
                {
                    "label": label,
                    "count": count,
                    "rate": count / n_test if n_test else 0.0,
                    "more": more_texts_needed(count, n_test, target),
                }
            )
    return rows


def thin_label_note(row: Mapping, n_test: int, target: int = MIN_TEST_TEXTS) -> str:
    """One sentence about one thin label (a row of `thin_labels`)."""
    label, count = row["label"], row["count"]
    if row["more"] is None:
        return f"no test text has label {label!r} (of {n_test}): its F1 is undefined"
    return (
        f"only {count} of {n_test} test texts have label {label!r} (fewer than {target}): its F1 "
        f"interval will be wide; about {row['more']:,} more human-coded test texts at its observed "
        f"rate ({row['rate']:.1%}) would give {target}"
    )


def thin_label_notes(
    label_counts: Mapping[str, int], n_test: int, labels: Sequence[str], target: int = MIN_TEST_TEXTS
) -> list[str]:
    """A sentence per label of `labels` with fewer than `target` texts in the test part."""
    return [thin_label_note(row, n_test, target) for row in thin_labels(label_counts, n_test, labels, target)]
