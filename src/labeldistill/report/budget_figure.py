"""The label-budget figure: F1 against the number of training labels (or their cost), one line
per training labeler with a band over seeds, one panel per student and task.

A line's points are the mean F1 over seeds at each training size (circles: human labels,
squares: augmented, triangles: an LLM's); its band and bars span the lowest and the highest
seed. A labeler's few-shot F1 (no training labels) is a dashed line in its colour. In the cost
view, x is what the training labels cost (label_budget.py says how).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labeldistill.conditions import LABELER_KIND_ORDER
from labeldistill.report.figures import empty_figure, save_figure
from labeldistill.report.label_budget import MEDIAN_ROW

MARKERS = {"human": "o", "augmented": "s", "llm": "^", "uncoded": "D"}
COLORS = ("#1f77b4", "#9467bd", "#ff7f0e", "#2ca02c", "#d62728", "#8c564b", "#e377c2", "#17becf")
VIEWS = {
    "labels": ("training labels (texts)", lambda frame: frame["n_human_labels"] + frame["n_llm_labels"]),
    "dollars": ("cost of the training labels (dollars)", lambda frame: frame["dollars"]),
}


def labeler_colors(budget: pd.DataFrame) -> dict[str, str]:
    """Human first, then augmented, then LLM labelers, each its own colour."""
    labelers = budget.drop_duplicates("labeler").sort_values(
        "labeler_kind", key=lambda kind: kind.map(LABELER_KIND_ORDER), kind="stable"
    )["labeler"]
    return {labeler: COLORS[i % len(COLORS)] for i, labeler in enumerate(labelers)}


def plot_label_budget(budget: pd.DataFrame, per_task: pd.DataFrame, path: Path, view: str = "labels") -> Path:
    """See the module; `view` is 'labels' or 'dollars'."""
    axis_label, x_of = VIEWS[view]
    rows = budget[budget["task"] != MEDIAN_ROW]
    if rows.empty:
        return empty_figure(path, "No student conditions to plot")
    rows = rows.assign(x=x_of(rows).astype(float))
    if view == "dollars" and not rows["x"].notna().any():
        return empty_figure(
            path, "No label costs known (set human.cost_per_label; API labelers are measured)"
        )
    tasks, students = sorted(rows["task"].unique()), list(dict.fromkeys(rows["student"]))
    colors = labeler_colors(rows)
    fewshot = per_task[per_task["kind"] == "fewshot"] if len(per_task) else per_task
    figure = Figure(figsize=(3.6 * len(tasks) + 2.2, 3.0 * len(students)))
    axes = figure.subplots(len(students), len(tasks), squeeze=False, sharey=True)
    for i, student in enumerate(students):
        for j, task in enumerate(tasks):
            ax = axes[i][j]
            mine = rows[(rows["task"] == task) & (rows["student"] == student)]
            for labeler, line in mine.groupby("labeler", sort=False):
                line = line.dropna(subset=["x"]).sort_values("x")
                if line.empty:
                    continue
                color = colors[labeler]
                band = (line["f1_min"], line["f1_max"])
                ax.fill_between(line["x"], *band, color=color, alpha=0.2, linewidth=0)
                # A bar per point too: a labeler trained at one size has no band to show.
                ax.vlines(line["x"], *band, color=color, alpha=0.6, linewidth=1.5)
                marker = MARKERS[line["labeler_kind"].iloc[0]]
                ax.plot(line["x"], line["f1_mean"], marker=marker, color=color, label=labeler)
            for row in fewshot[fewshot["task"] == task].itertuples(index=False):
                if np.isfinite(row.f1_mean):
                    color = colors.get(row.labeler, "grey")
                    ax.axhline(row.f1_mean, color=color, linestyle="--", linewidth=1, label=row.condition)
            if view == "labels":
                ax.set_xscale("log")
            elif mine["x"].max() > 0:
                ax.set_xscale("symlog", linthresh=max(mine["x"][mine["x"] > 0].min(), 1e-3))
            ax.set_ylim(0, 1.02)
            ax.grid(True, linewidth=0.4, alpha=0.6)
            ax.set_title(f"{task} · {student}", fontsize="medium")
            if i == len(students) - 1:
                ax.set_xlabel(axis_label)
            if j == 0:
                ax.set_ylabel("F1 (mean over seeds; band: min-max)")
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(
        list(handles.values()), list(handles), title="trained on", loc="upper left", bbox_to_anchor=(1, 0.95)
    )
    figure.suptitle("F1 against the label budget" + (" (equal cost)" if view == "dollars" else ""))
    figure.tight_layout()
    return save_figure(figure, path)
