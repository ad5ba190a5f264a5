"""Figures, the HTML report and the report stage on real JSON files."""

from __future__ import annotations

import base64
import json
import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from labeldistill.conditions import parse_condition
from labeldistill.contracts import (
    DISAGREEMENTS,
    PREDICTIONS,
    SPLIT,
    SPLIT_SUMMARY,
    read_table,
    write_record,
    write_table,
)
from labeldistill.errors import LabelDistillError
from labeldistill.report.figures import (
    condition_styles,
    cost_points,
    labeling_cost,
    plot_f1_against_cost,
    plot_f1_by_task,
)
from labeldistill.stages import compare, evaluate, report
from labeldistill.tasks import rare_labels

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TASKS = ["tweets_negative", "news_economy", "speeches_populism"]
LABELS = ["neg", "other"]
# Share of test labels each condition gets wrong (before a per-task and per-seed shift).
ERROR = {
    "tfidf-logreg@human:250": 0.2,
    "minilm@human:250": 0.15,
    "tfidf-logreg@gemma:250": 0.3,
    "minilm@gemma:250": 0.28,
    "fewshot@gemma": 0.3,
}
SEEDS = (1, 2, 3)
N_TEST = 80


def write_task(root, task, t, seeds=SEEDS):
    """A real test split and real predictions files for every condition, scored by the evaluate
    stage and compared by the compare stage, as the workflow does."""
    rng = np.random.default_rng(t)
    gold = np.where(rng.random(N_TEST) < 0.35, "neg", "other")
    test = pd.DataFrame({"id": [f"{task}-{i}" for i in range(N_TEST)], "text": "x", "label": gold})
    test_path = root / task / "splits/test.parquet"
    write_table(test, test_path, SPLIT, labels=LABELS)
    predictions, metrics = {}, []
    for condition, error in ERROR.items():
        kind = parse_condition(condition).kind
        files = {}
        for seed in ("",) if kind == "fewshot" else [str(s) for s in seeds]:
            wrong = rng.random(N_TEST) < error + 0.03 * t
            label = np.where(wrong, np.where(gold == "neg", "other", "neg"), gold)
            p_neg = np.clip(np.where(label == "neg", 0.8, 0.2) + rng.normal(0, 0.1, N_TEST), 0, 1)
            frame = pd.DataFrame(
                {"id": test["id"], "label": label, "probabilities": [[p, 1 - p] for p in p_neg]}
            )
            name = f"seed{seed}" if seed else "fewshot"
            path = root / task / "predictions" / condition / f"{name}.parquet"
            write_table(frame, path, PREDICTIONS, labels=LABELS)
            files[seed] = str(path)
            parsed = parse_condition(condition)
            meta = {"task": task, "condition": condition, "kind": kind, "student": parsed.student,
                    "labeler": parsed.labeler, "train_size": parsed.size,
                    "seed": int(seed) if seed else None}  # fmt: skip
            out = root / task / "metrics" / condition / f"{name}.json"
            evaluate.run(path, test_path, "neg", meta, out, n_boot=200)
            metrics.append(out)
        predictions[condition] = files
    comparisons = root / task / "comparisons.json"
    compare.run(task, test_path, predictions, "neg", comparisons, n_boot=300)
    summary = root / task / "splits/summary.json"
    write_record(
        {"task": task, "n_texts": 400, "positive_label": "neg",
         "parts": {"pool": {"n": 220}, "val": {"n": 100},
                   "test": {"n": N_TEST, "label_counts": {"neg": int((gold == "neg").sum())}}},
         "duplicates": {"n_duplicate_groups": t, "n_texts_in_duplicate_groups": 2 * t,
                        "n_groups_with_conflicting_labels": 0}},
        summary,
        SPLIT_SUMMARY,
    )  # fmt: skip
    return metrics, comparisons, summary, gold, predictions


def write_agreement(root, tasks=TASKS):
    paths = []
    for task in tasks:
        path = root / task / "agreement" / "gemma.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "task": task,
                    "labeler": "gemma",
                    "n": 100,
                    "n_failed": 1,
                    "accuracy": 0.81,
                    "f1": 0.66,
                    "precision": 0.6,
                    "recall": 0.73,
                    "cohen_kappa": 0.52,
                    "krippendorff_alpha": 0.51,
                    "coders_pairwise_alpha": 0.74 if task == TASKS[0] else None,
                    "n_coders_median": 3.0,
                    "mean_label_probability": 0.9,
                    "n_coders_scored": 20 if task == TASKS[0] else None,
                    "coder_kappa_median": 0.61,
                    "alt_test_winning_rate": 0.25,
                    "alt_test_passed": False,
                }
            )
        )
        paths.append(path)
    return paths


def write_disagreements(root, rows=12):
    """The first task's gemma disagreements: `rows` val texts, most confident first."""
    path = root / TASKS[0] / "disagreements" / "gemma.parquet"
    frame = pd.DataFrame(
        {
            "id": [f"v{i}" for i in range(rows)],
            "text": [f"val text <{i}>" for i in range(rows)],
            "human_label": "neg",
            "llm_label": "other",
            "llm_probability": np.linspace(0.99, 0.5, rows),
            "coders": "neg 2, other 1",
        }
    )
    write_table(
        frame, path, DISAGREEMENTS, metadata={"source": json.dumps({"task": TASKS[0], "labeler": "gemma"})}
    )
    return [path]


def assert_png(path, min_bytes=10_000):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > min_bytes
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert image.std() > 0.05  # not a blank canvas


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    written = [write_task(root, task, t) for t, task in enumerate(TASKS)]
    report.run(
        [m for w in written for m in w[0]],
        write_agreement(root),
        root / "tables",
        root / "figures",
        root / "report.html",
        comparison_files=[w[1] for w in written],
        split_files=[w[2] for w in written],
        disagreement_files=write_disagreements(root),
    )
    root.joinpath("truth.json").write_text(
        json.dumps(
            {
                task: {"gold": w[3].tolist(), "predictions": w[4]}
                for task, w in zip(TASKS, written, strict=True)
            }
        )
    )
    return root


def sklearn_f1(gold, path):
    predicted = read_table(path, PREDICTIONS)["label"]
    return f1_score(gold, predicted, pos_label="neg", zero_division=0)


def test_report_writes_every_table_format(report_dir):
    for name in ("per_task", "medians", "gaps", "agreement", "coders", "data"):
        for ext in ("csv", "md", "tex"):
            assert (report_dir / "tables" / f"{name}.{ext}").stat().st_size > 0
    md = (report_dir / "tables" / "per_task.md").read_text()
    for task in TASKS:
        assert task in md
    per_task = pd.read_csv(report_dir / "tables" / "per_task.csv")
    assert len(per_task) == len(TASKS) * len(ERROR)
    truth = json.loads((report_dir / "truth.json").read_text())
    for task in TASKS:
        gold = truth[task]["gold"]
        for condition, files in truth[task]["predictions"].items():
            expected = np.mean([sklearn_f1(gold, path) for path in files.values()])
            row = per_task[(per_task["task"] == task) & (per_task["condition"] == condition)].iloc[0]
            assert row["f1_mean"] == pytest.approx(expected)
            assert row["f1_ci_low"] < row["f1_mean"] < row["f1_ci_high"]
            assert row["n_positive"] == sum(label == "neg" for label in gold)
            assert 0 <= row["brier_mean"] <= 1 and row["human_positive_rate"] == pytest.approx(
                np.mean(np.array(gold) == "neg")
            )
    gaps = pd.read_csv(report_dir / "tables" / "gaps.csv")
    per_gap = gaps[(gaps["task"] != "median") & (gaps["condition_a"] == "tfidf-logreg@human:250")]
    assert len(per_gap) == len(TASKS)
    for gap in per_gap.itertuples():
        a = per_task[(per_task["task"] == gap.task) & (per_task["condition"] == gap.condition_a)]
        b = per_task[(per_task["task"] == gap.task) & (per_task["condition"] == gap.condition_b)]
        assert gap.f1_gap == pytest.approx(a["f1_mean"].iloc[0] - b["f1_mean"].iloc[0])
        assert gap.gap_ci_low < gap.f1_gap < gap.gap_ci_high and 0 <= gap.p_value <= 1
    median = gaps[(gaps["task"] == "median") & (gaps["condition_a"] == "tfidf-logreg@human:250")].iloc[0]
    assert median["f1_gap"] == pytest.approx(np.median(per_gap["f1_gap"]))
    assert median["n_a_better"] + median["n_b_better"] == len(TASKS)
    assert "tweets\\_negative" in (report_dir / "tables" / "agreement.tex").read_text()
    coders = pd.read_csv(report_dir / "tables" / "coders.csv")
    assert coders["task"].tolist() == [TASKS[0]]  # the only task with coders
    data = pd.read_csv(report_dir / "tables" / "data.csv")
    assert data["n_texts_in_duplicate_groups"].tolist() == [2, 4, 0]  # sorted by task name


def test_report_figures_are_real_images(report_dir):
    assert_png(report_dir / "figures" / "f1_by_task.png")
    assert_png(report_dir / "figures" / "f1_by_condition.png", min_bytes=5_000)
    assert_png(report_dir / "figures" / "gaps_by_task.png")
    assert_png(report_dir / "figures" / "reliability.png")
    assert_png(report_dir / "figures" / "label_budget.png")


def test_report_html_is_self_contained(report_dir):
    html = (report_dir / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 7  # five figures, the label budget and the confusion matrices
    assert base64.b64decode(images[0]).startswith(PNG_MAGIC)
    assert "http://" not in html and "https://" not in html
    for text in [
        *TASKS,
        "fewshot@gemma",
        "tfidf-logreg@human:250",
        "Cohen&#39;s kappa",
        "Krippendorff",
        "Median F1",
        "Alternative Annotator Test",
        "Wilcoxon",
        "0.740",
    ]:
        assert text in html, text
    assert html.count("<table") == 9  # with the paper table, the label budget and the disagreements


def test_the_report_opens_with_its_answer_and_lists_disagreements(report_dir):
    html = (report_dir / "report.html").read_text()
    assert html.index('id="answer"') < html.index('id="medians"')
    assert f"<li>{TASKS[0]}: the best condition is " in html
    # the page shows the 10 most confident of the 12, escaped; the CSV holds every one
    assert "val text &lt;9&gt;" in html and "val text &lt;10&gt;" not in html
    table = pd.read_csv(report_dir / "tables" / "disagreements.csv")
    assert len(table) == 12 and set(table["task"]) == {TASKS[0]} and set(table["labeler"]) == {"gemma"}
    assert table["llm_probability"].is_monotonic_decreasing


def test_report_needs_metrics(tmp_path):
    with pytest.raises(LabelDistillError, match="no metrics"):
        report.run([], [], tmp_path / "t", tmp_path / "f", tmp_path / "r.html")


def test_report_without_agreement_and_single_task(tmp_path):
    metrics, comparisons, summary, *_ = write_task(tmp_path, "only_task", 0, seeds=(1,))
    report.run(
        metrics, [], tmp_path / "t", tmp_path / "f", tmp_path / "r.html", comparison_files=[comparisons]
    )
    assert "only_task" in (tmp_path / "t" / "per_task.csv").read_text()
    assert_png(tmp_path / "f" / "f1_by_task.png", min_bytes=5_000)
    assert "(no rows)" in (tmp_path / "r.html").read_text()


def test_condition_styles_follow_the_labeler():
    per_task = pd.DataFrame(
        {
            "task": "t",
            "condition": ["fewshot@gemma", "minilm@human:250", "minilm@gemma:250"],
            "kind": ["fewshot", "student", "student"],
            "student": [None, "minilm", "minilm"],
            "labeler": ["gemma", "human", "gemma"],
            "f1_mean": 0.5,
            "f1_sd": 0.1,
        }
    )
    styles = condition_styles(per_task)
    assert list(styles) == ["minilm@human:250", "minilm@gemma:250", "fewshot@gemma"]
    assert styles["fewshot@gemma"]["hatch"] == "//" and styles["minilm@gemma:250"]["hatch"] is None
    assert len({styles[c]["color"] for c in styles}) == 3


def test_empty_per_task_still_writes_a_png(tmp_path):
    empty = pd.DataFrame(columns=["task", "condition", "kind", "student", "labeler"])
    path = plot_f1_by_task(empty, tmp_path / "x.png")
    assert path.read_bytes().startswith(PNG_MAGIC)


F1 = {"tfidf-logreg@human:250": 0.7, "minilm@human:250": 0.75, "tfidf-logreg@gemma:250": 0.6,
      "minilm@gemma:250": 0.62, "fewshot@gemma": 0.58}  # fmt: skip


def per_task_rows(conditions):
    rows = []
    for t, task in enumerate(TASKS):
        for condition in conditions:
            parsed = parse_condition(condition)
            rows.append(
                {"task": task, "condition": condition, "kind": parsed.kind, "student": parsed.student,
                 "labeler": parsed.labeler, "f1_mean": F1[condition] - 0.05 * t, "f1_sd": 0.01}
            )  # fmt: skip
    return pd.DataFrame(rows)


def cost_rows(labeler, dollars, seconds):
    return [{"task": task, "labeler": labeler, "dollars": dollars, "seconds": seconds} for task in TASKS]


def test_cost_axis_is_dollars_when_anything_was_paid_else_seconds():
    spent, axis = labeling_cost(pd.DataFrame(cost_rows("gemma", 0.0, 70.0)))
    assert "seconds" in axis and spent[("tweets_negative", "gemma")] == 70.0
    spent, axis = labeling_cost(pd.DataFrame(cost_rows("gemma", 0.0, 70.0) + cost_rows("gpt", 1.25, 30.0)))
    assert "dollars" in axis
    assert spent[("news_economy", "gpt")] == 1.25 and spent[("news_economy", "gemma")] == 0.0


def test_f1_against_cost_has_one_point_per_task_and_llm_condition(tmp_path):
    per_task = per_task_rows(list(F1))
    cost = pd.DataFrame(cost_rows("gemma", 0.0, 70.0)[1:])  # no cost known for the first task
    points = cost_points(per_task, labeling_cost(cost)[0])
    llm_conditions = {"tfidf-logreg@gemma:250", "minilm@gemma:250", "fewshot@gemma"}
    assert set(points["condition"]) == llm_conditions and len(points) == 3 * (len(TASKS) - 1)
    assert TASKS[0] not in set(points["task"]) and (points["cost"] == 70.0).all()
    row = points[(points["task"] == TASKS[2]) & (points["condition"] == "minilm@gemma:250")]
    assert row["f1"].iloc[0] == pytest.approx(F1["minilm@gemma:250"] - 0.1)
    assert_png(plot_f1_against_cost(per_task, cost, tmp_path / "c.png"), min_bytes=5_000)
    assert plot_f1_against_cost(per_task, None, tmp_path / "none.png").read_bytes().startswith(PNG_MAGIC)


def test_report_of_a_three_label_task_has_per_label_figures_confusion_and_a_thin_label_warning(tmp_path):
    labels = ["negative", "neutral", "positive"]
    rng = np.random.default_rng(3)
    gold = rng.choice(labels, size=90, p=[0.1, 0.5, 0.4])  # about 9 negatives: a thin label
    test = pd.DataFrame({"id": [f"t{i}" for i in range(90)], "text": "x", "label": gold})
    test_path = tmp_path / "tone/splits/test.parquet"
    write_table(test, test_path, SPLIT, labels=labels)
    metrics, predictions = [], {}
    for condition, seeds in (("tfidf-logreg@human:250", ("1", "2")), ("tfidf-logreg@gemma:250", ("1", "2"))):
        predictions[condition] = {}
        for seed in seeds:
            label = np.where(rng.random(90) < 0.3, rng.choice(labels, size=90), gold)
            path = tmp_path / f"tone/predictions/{condition}/seed{seed}.parquet"
            frame = pd.DataFrame({"id": test["id"], "label": label, "probabilities": None})
            write_table(frame, path, PREDICTIONS, labels=labels)
            predictions[condition][seed] = str(path)
            parsed = parse_condition(condition)
            meta = {"task": "tone", "condition": condition, "kind": "student", "student": parsed.student,
                    "labeler": parsed.labeler, "seed": int(seed)}  # fmt: skip
            out = tmp_path / f"tone/metrics/{condition}/seed{seed}.json"
            evaluate.run(path, test_path, "negative", meta, out, n_boot=200, headline="macro_f1")
            metrics.append(out)
    comparisons = tmp_path / "tone/comparisons.json"
    compare.run("tone", test_path, predictions, "negative", comparisons, n_boot=200, headline="macro_f1")
    counts = {label: int((gold == label).sum()) for label in labels}
    summary = tmp_path / "tone/splits/summary.json"
    write_record(
        {"task": "tone", "task_group": "tone", "labels": labels, "headline": "macro_f1",
         "positive_label": "negative", "n_texts": 300,
         "parts": {"pool": {"n": 150}, "val": {"n": 60}, "test": {"n": 90, "label_counts": counts}},
         "duplicates": {}},
        summary,
        SPLIT_SUMMARY,
    )  # fmt: skip
    report.run(metrics, [], tmp_path / "tables", tmp_path / "figures", tmp_path / "report.html",
               comparison_files=[comparisons], split_files=[summary])  # fmt: skip
    per_class = pd.read_csv(tmp_path / "tables/per_class.csv")
    assert per_class["label"].tolist() == labels * 2 and (per_class["n_seeds"] == 2).all()
    per_task = pd.read_csv(tmp_path / "tables/per_task.csv")
    assert (per_task["headline"] == "macro_f1").all()
    gaps = pd.read_csv(tmp_path / "tables/gaps.csv")
    assert gaps["metric"].eq("macro_f1").all()
    tone = per_task[per_task["condition"] == "tfidf-logreg@human:250"].iloc[0]
    assert tone["headline_mean"] == pytest.approx(tone["macro_f1_mean"])
    assert tone["test_note"].startswith(f"negative: {counts['negative']} in test, ~")
    assert_png(tmp_path / "figures/confusion.png", min_bytes=5_000)
    html = (tmp_path / "report.html").read_text()
    assert "Per label: tasks scored by macro-F1" in html
    expected = rare_labels.thin_label_notes(counts, 90, labels)
    assert expected and all(f"tone: {note}".replace("'", "&#39;") in html for note in expected)
