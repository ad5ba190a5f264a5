"""A student's model card: README.md in its folder, what it learned from and how to load it.

The train job writes the card with what it knows (labels, labeler, how many of its labels, the
training texts' source, the code's fingerprint, the date); the test score exists only after the
evaluate job, so the export job (stages/export_students.py) writes the card again, into the
exported copy, with the test score and its interval. Both come from `model_card`.
"""

from __future__ import annotations

from collections.abc import Mapping

CARD_FILE = "README.md"

HEADLINE_NAMES = {"f1": "F1 of {positive}", "macro_f1": "macro-F1"}


def _loading(kind: str, pooling: str | None, labels: list[str]) -> list[str]:
    """How to load a student of this kind in its own library and with labeldistill."""
    lines = ["```python"]
    if kind == "transformer":
        remote = ", trust_remote_code=True" if pooling == "mean" else ""
        lines += [
            "from transformers import pipeline",
            "",
            f'classify = pipeline("text-classification", model=FOLDER, top_k=None{remote})',
            "# truncation: the student reads the first max_length tokens of a text, as the tokenizer says",
            'classify(["a text to label"], truncation=True)  # every label with its probability',
        ]
    elif kind == "tfidf-logreg":
        lines += [
            "import joblib",
            "",
            'model = joblib.load(f"{FOLDER}/model.joblib")  # a scikit-learn Pipeline',
            f'model.predict_proba(["a text to label"])  # columns: model.classes_ = {labels}',
        ]
    elif kind == "setfit":
        lines += [
            "from setfit import SetFitModel",
            "",
            "model = SetFitModel.from_pretrained(FOLDER)",
            'model.predict_proba(["a text to label"])  # columns: label indices of model.model_head.classes_',
        ]
    lines += [
        "```",
        "",
        "or, with labeldistill installed (CSV or parquet in, one column per label out):",
        "",
        "```bash",
        "labeldistill predict --student FOLDER --texts texts.csv --out labels.csv",
        "```",
        "",
        "`FOLDER` is this folder. `labeldistill.students.load_student(FOLDER)` gives the student "
        "itself (`predict`, `predict_proba`).",
    ]
    if kind == "transformer" and pooling == "mean":
        lines += [
            "",
            "The classifier reads the normalised mean of the token states, which no built-in "
            "transformers class computes: `modeling_labeldistill.py` in this folder does, hence "
            "`trust_remote_code=True` (read it first; it imports torch and transformers only).",
        ]
    return lines


def _test_line(test: Mapping | None) -> str:
    if test is None:
        return (
            "- Test score: not known when this card was written; the workflow's evaluate job "
            "scores the student on the human test labels, and the exported copy "
            "(`results/<task>/export/...`) carries a card with it."
        )
    headline = test.get("headline") or "f1"
    name = HEADLINE_NAMES.get(headline, headline).format(positive=test.get("positive_label"))
    value, interval = test.get(headline), (test.get("ci") or {}).get(headline)
    level = round(100 * float(test.get("ci_level", 0.95)))
    if value is None:
        return f"- Test {name}: none (no valid predictions of the {test.get('n')} test texts)"
    around = f" ({level}% interval {interval[0]:.3f} to {interval[1]:.3f}, bootstrap over the test texts)"
    return (
        f"- Test {name}: {value:.3f}{around if interval else ''}, against the human labels of "
        f"{test.get('n')} held-out test texts"
    )


def model_card(training: Mapping, meta: Mapping, test: Mapping | None = None) -> str:
    """The card of a student from its training.json (`training`, with its `card` facts), its
    student.json (`meta`) and, once scored, its metrics record (`test`)."""
    card = training.get("card") or {}
    labels = [str(label) for label in meta["labels"]]
    kind = str(meta["kind"])
    pooling = (meta.get("settings") or {}).get("pooling")
    n_train, n_human = int(training["n_train"]), int(training.get("n_human_labels") or 0)
    labeler = card.get("labeler", "?")
    learned = f"{n_train - n_human} labels of {labeler}" if labeler != "human" else f"{n_train} human labels"
    if n_human and labeler != "human":
        learned += f" and {n_human} human labels"
    counts = ", ".join(f"{label} {count}" for label, count in (training.get("label_counts") or {}).items())
    name = f"{card.get('student', kind)}@{labeler}"
    lines = [
        f"# {name} ({kind}), task {card.get('task', '?')}, seed {training['seed']}",
        "",
        f"- Labels: {', '.join(labels)} (the order of every probability column)",
        f"- Labeler: {labeler}; the student learned from {learned} ({counts})",
        f"- Training texts: {card.get('source', '?')}",
        _test_line(test),
        f"- Code and config fingerprint: {card.get('code', '?')}",
        f"- Trained: {card.get('date', '?')}",
        "",
        "## Load it",
        "",
        *_loading(kind, pooling, labels),
        "",
        "`student.json` holds the settings and what fitting chose; `training.json` the draw and its counts.",
        "",
    ]
    return "\n".join(lines)
