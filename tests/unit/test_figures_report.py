"""Figures, the HTML report and the report stage on real JSON files."""

from __future__ import annotations

import base64
import json
import re

import matplotlib.image
import pandas as pd
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.figures import (
    condition_styles,
    cost_points,
    labeling_cost,
    plot_f1_against_cost,
    plot_f1_by_task,
)
from labeldistill.stages import report
from labeldistill.tables import parse_condition

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TASKS = ["tweets_negative", "news_economy", "speeches_populism"]
F1 = {
    "tfidf-logreg@human": 0.7,
    "minilm@human": 0.75,
    "tfidf-logreg@gemma": 0.6,
    "minilm@gemma": 0.62,
    "fewshot@gemma": 0.58,
}


def write_metrics(root, tasks=TASKS, seeds=(0, 1, 2)):
    paths = []
    for t, task in enumerate(tasks):
        for condition, f1 in F1.items():
            kind, student, labeler = parse_condition(condition)
            for seed in (None,) if kind == "fewshot" else seeds:
                value = f1 - 0.05 * t + (0.01 * seed if seed is not None else 0)
                data = {
                    "task": task,
                    "condition": condition,
                    "kind": kind,
                    "student": student,
                    "labeler": labeler,
                    "seed": seed,
                    "n": 200,
                    "n_failed": 3 if kind == "fewshot" else 0,
                    "f1": value,
                    "precision": value - 0.1,
                    "recall": value + 0.1,
                    "accuracy": 0.8,
                    "macro_f1": 0.75,
                    "ci": {"f1": [value - 0.06, value + 0.06]},
                    "ci_level": 0.95,
                    "n_boot": 1000,
                }
                name = f"seed{seed}.json" if seed is not None else "fewshot.json"
                path = root / task / "metrics" / condition / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(data))
                paths.append(path)
    return paths


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
                    "human_human_alpha": 0.74 if task == TASKS[0] else None,
                    "n_coders_median": 3.0,
                    "mean_label_probability": 0.9,
                }
            )
        )
        paths.append(path)
    return paths


def assert_png(path, min_bytes=10_000):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > min_bytes
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert image.std() > 0.05  # not a blank canvas


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    report.run(
        write_metrics(root), write_agreement(root), root / "tables", root / "figures", root / "report.html"
    )
    return root


def test_report_writes_every_table_format(report_dir):
    for name in ("per_task", "medians", "gaps", "agreement"):
        for ext in ("csv", "md", "tex"):
            assert (report_dir / "tables" / f"{name}.{ext}").stat().st_size > 0
    md = (report_dir / "tables" / "per_task.md").read_text()
    for task in TASKS:
        assert task in md
    per_task = pd.read_csv(report_dir / "tables" / "per_task.csv")
    assert len(per_task) == len(TASKS) * len(F1)
    first = per_task[(per_task["task"] == TASKS[0]) & (per_task["condition"] == "minilm@human")]
    assert first["f1_mean"].iloc[0] == pytest.approx(0.76)  # 0.75 + mean(0, .01, .02)
    assert first["f1_sd"].iloc[0] == pytest.approx(0.01)
    assert first["n_seeds"].iloc[0] == 3
    medians = (report_dir / "tables" / "medians.md").read_text()
    assert "fewshot@gemma" in medians and "0.530" in medians  # median of .58 .53 .48
    gaps = pd.read_csv(report_dir / "tables" / "gaps.csv")
    median = gaps[(gaps["task"] == "median") & (gaps["condition_b"] == "tfidf-logreg@gemma")]
    assert sorted(median["f1_gap"].round(6)) == [-0.03, 0.1]  # few-shot, human-label
    assert "tweets\\_negative" in (report_dir / "tables" / "agreement.tex").read_text()


def test_report_figures_are_real_images(report_dir):
    assert_png(report_dir / "figures" / "f1_by_task.png")
    assert_png(report_dir / "figures" / "f1_by_condition.png", min_bytes=5_000)


def test_report_html_is_self_contained(report_dir):
    html = (report_dir / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    assert base64.b64decode(images[0]).startswith(PNG_MAGIC)
    assert "http://" not in html and "https://" not in html
    for text in [
        *TASKS,
        "fewshot@gemma",
        "tfidf-logreg@human",
        "Cohen&#39;s kappa",
        "Krippendorff",
        "Median F1",
        "0.740",
    ]:
        assert text in html, text
    assert html.count("<table") == 4


def test_report_needs_metrics(tmp_path):
    with pytest.raises(LabelDistillError, match="no metrics"):
        report.run([], [], tmp_path / "t", tmp_path / "f", tmp_path / "r.html")


def test_report_without_agreement_and_single_task(tmp_path):
    report.run(
        write_metrics(tmp_path, tasks=["only_task"], seeds=(0,)),
        [],
        tmp_path / "t",
        tmp_path / "f",
        tmp_path / "r.html",
    )
    assert "only_task" in (tmp_path / "t" / "per_task.csv").read_text()
    assert_png(tmp_path / "f" / "f1_by_task.png", min_bytes=5_000)
    assert "(no rows)" in (tmp_path / "r.html").read_text()


def test_condition_styles_follow_the_labeler():
    per_task = pd.DataFrame(
        {
            "task": "t",
            "condition": ["fewshot@gemma", "minilm@human", "minilm@gemma"],
            "kind": ["fewshot", "student", "student"],
            "student": [None, "minilm", "minilm"],
            "labeler": ["gemma", "human", "gemma"],
            "f1_mean": 0.5,
            "f1_sd": 0.1,
        }
    )
    styles = condition_styles(per_task)
    assert list(styles) == ["minilm@human", "minilm@gemma", "fewshot@gemma"]
    assert styles["fewshot@gemma"]["hatch"] == "//" and styles["minilm@gemma"]["hatch"] is None
    assert len({styles[c]["color"] for c in styles}) == 3


def test_empty_per_task_still_writes_a_png(tmp_path):
    empty = pd.DataFrame(columns=["task", "condition", "kind", "student", "labeler"])
    path = plot_f1_by_task(empty, tmp_path / "x.png")
    assert path.read_bytes().startswith(PNG_MAGIC)


def per_task_rows(conditions):
    rows = []
    for t, task in enumerate(TASKS):
        for condition in conditions:
            kind, student, labeler = parse_condition(condition)
            rows.append(
                {"task": task, "condition": condition, "kind": kind, "student": student,
                 "labeler": labeler, "f1_mean": F1[condition] - 0.05 * t, "f1_sd": 0.01}
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
    llm_conditions = {"tfidf-logreg@gemma", "minilm@gemma", "fewshot@gemma"}
    assert set(points["condition"]) == llm_conditions and len(points) == 3 * (len(TASKS) - 1)
    assert TASKS[0] not in set(points["task"]) and (points["cost"] == 70.0).all()
    row = points[(points["task"] == TASKS[2]) & (points["condition"] == "minilm@gemma")]
    assert row["f1"].iloc[0] == pytest.approx(F1["minilm@gemma"] - 0.1)
    assert_png(plot_f1_against_cost(per_task, cost, tmp_path / "c.png"), min_bytes=5_000)
    assert plot_f1_against_cost(per_task, None, tmp_path / "none.png").read_bytes().startswith(PNG_MAGIC)
