"""Figures from the per-task and cost tables: F1 per task per condition, F1 per condition over
tasks, and F1 against what the LLM labeling cost.

Matplotlib's object API on the Agg canvas: no pyplot, no global state, no display needed.
Colours follow the conditions: human-label students in blues, each LLM labeler's students in
its own hue, and that labeler's few-shot condition in the same hue, hatched.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labeldistill.tables import FEWSHOT, HUMAN, condition_order

LLM_COLORMAPS = ("Oranges", "Greens", "Purples", "Reds", "YlOrBr", "PuRd")
DPI = 150


def condition_styles(per_task: pd.DataFrame) -> dict[str, dict]:
    """Face colour and hatch per condition, in display order."""
    conditions = per_task.drop_duplicates("condition").set_index("condition")
    order = condition_order(per_task)
    llm_labelers = sorted(set(conditions["labeler"]) - {HUMAN})
    cmap_of = {HUMAN: "Blues"} | {
        labeler: LLM_COLORMAPS[i % len(LLM_COLORMAPS)] for i, labeler in enumerate(llm_labelers)
    }
    styles = {}
    for labeler, cmap_name in cmap_of.items():
        cmap = mpl.colormaps[cmap_name]
        mine = [c for c in order if conditions.loc[c, "labeler"] == labeler]
        students = [c for c in mine if conditions.loc[c, "kind"] != FEWSHOT]
        shades = np.linspace(0.45, 0.8, len(students)) if len(students) > 1 else [0.6] * len(students)
        for condition, shade in zip(students, shades, strict=True):
            styles[condition] = {"color": cmap(shade), "hatch": None}
        for condition in mine:
            if conditions.loc[condition, "kind"] == FEWSHOT:
                styles[condition] = {"color": cmap(0.95), "hatch": "//"}
    return {condition: styles[condition] for condition in order}


def _save(figure: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def _empty(path: Path, message: str) -> Path:
    figure = Figure(figsize=(6, 2))
    figure.text(0.5, 0.5, message, ha="center", va="center")
    return _save(figure, path)


def plot_f1_by_task(per_task: pd.DataFrame, path: Path) -> Path:
    """Grouped bars: mean F1 per task (groups) and condition (bars), error bars = sd over seeds."""
    if per_task.empty:
        return _empty(path, "No metrics to plot")
    tasks = sorted(per_task["task"].unique())
    styles = condition_styles(per_task)
    conditions = list(styles)
    values = per_task.set_index(["task", "condition"])
    width = 0.8 / len(conditions)
    figure = Figure(figsize=(min(30.0, max(6.0, 1.5 + len(tasks) * (0.3 * len(conditions) + 0.6))), 4.5))
    ax = figure.add_subplot()
    x = np.arange(len(tasks))
    for i, condition in enumerate(conditions):
        offset = x - 0.4 + width * (i + 0.5)
        rows = [values.loc[(t, condition)] if (t, condition) in values.index else None for t in tasks]
        present = [j for j, row in enumerate(rows) if row is not None]
        heights = np.array([rows[j]["f1_mean"] for j in present], dtype=float)
        sds = np.array([rows[j]["f1_sd"] for j in present], dtype=float)
        style = styles[condition]
        ax.bar(
            offset[present],
            heights,
            width,
            color=style["color"],
            hatch=style["hatch"],
            edgecolor="black",
            linewidth=0.5,
            label=condition,
        )
        spread = np.isfinite(sds)
        if spread.any():
            ax.errorbar(
                offset[present][spread],
                heights[spread],
                yerr=sds[spread],
                fmt="none",
                ecolor="black",
                elinewidth=0.8,
                capsize=2,
            )
    ax.set_xticks(x)
    rotate = len(tasks) > 4 or max(len(t) for t in tasks) > 14
    ax.set_xticklabels(tasks, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 of the positive class")
    ax.set_title("F1 per task and condition (mean over seeds; error bars: sd over seeds)")
    ax.yaxis.grid(True, linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    ax.legend(title="condition", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return _save(figure, path)


def plot_f1_by_condition(per_task: pd.DataFrame, path: Path) -> Path:
    """Per condition, the per-task mean F1 of every task as dots and their median as a bar."""
    if per_task.empty:
        return _empty(path, "No metrics to plot")
    styles = condition_styles(per_task)
    conditions = list(styles)
    figure = Figure(figsize=(7, max(2.5, 0.9 + 0.45 * len(conditions))))
    ax = figure.add_subplot()
    rng = np.random.default_rng(0)  # fixed vertical jitter: the same figure on every run
    for i, condition in enumerate(conditions):
        f1 = per_task.loc[per_task["condition"] == condition, "f1_mean"].dropna().to_numpy()
        y = len(conditions) - 1 - i
        jitter = rng.uniform(-0.15, 0.15, len(f1)) if len(f1) > 1 else np.zeros(len(f1))
        ax.scatter(
            f1, y + jitter, s=22, color=styles[condition]["color"], edgecolor="black", linewidth=0.5, zorder=3
        )
        if len(f1):
            ax.plot([np.median(f1)] * 2, [y - 0.3, y + 0.3], color="black", linewidth=2, zorder=4)
    ax.set_yticks(range(len(conditions)))
    ax.set_yticklabels(list(reversed(conditions)))
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 of the positive class (one dot per task; bar: median over tasks)")
    ax.set_title("F1 per condition over tasks (mean over seeds)")
    ax.xaxis.grid(True, linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    return _save(figure, path)


def labeling_cost(cost: pd.DataFrame) -> tuple[pd.Series, str]:
    """Per (task, labeler): dollars where any labeler was paid for, else seconds of labeling
    (local and self-hosted labelers cost time, not money); and the axis label."""
    indexed = cost.set_index(["task", "labeler"])
    dollars = pd.to_numeric(indexed["dollars"], errors="coerce")
    if (dollars > 0).any():
        return dollars, "labeling cost per task (dollars)"
    return pd.to_numeric(indexed["seconds"], errors="coerce"), "labeling time per task (seconds)"


def cost_points(per_task: pd.DataFrame, spent: pd.Series) -> pd.DataFrame:
    """One row (condition, task, cost, f1) per LLM-label condition and task with a known cost."""
    llm = per_task[per_task["labeler"] != HUMAN]
    keys = list(zip(llm["task"], llm["labeler"], strict=True))
    points = pd.DataFrame(
        {
            "condition": llm["condition"].to_numpy(),
            "task": llm["task"].to_numpy(),
            "cost": [spent.get(key, np.nan) for key in keys],
            "f1": llm["f1_mean"].to_numpy(dtype=float),
        }
    )
    return points.dropna(subset=["cost", "f1"]).reset_index(drop=True)


def plot_f1_against_cost(per_task: pd.DataFrame, cost: pd.DataFrame | None, path: Path) -> Path:
    """Each LLM-label condition per task at its labeler's cost for that task; students trained
    on human labels as dashed lines at their median F1 (human coding cost is not recorded)."""
    if per_task.empty or cost is None or cost.empty:
        return _empty(path, "No LLM labeling cost recorded")
    spent, axis_label = labeling_cost(cost)
    points = cost_points(per_task, spent)
    styles = condition_styles(per_task)
    kinds = per_task.drop_duplicates("condition").set_index("condition")
    figure = Figure(figsize=(7.5, 4.5))
    ax = figure.add_subplot()
    for condition, style in styles.items():
        if kinds.loc[condition, "labeler"] == HUMAN:
            median = per_task.loc[per_task["condition"] == condition, "f1_mean"].median()
            if np.isfinite(median):
                ax.axhline(median, color=style["color"], linestyle="--", linewidth=1.5, label=condition)
            continue
        mine = points[points["condition"] == condition]
        ax.scatter(
            mine["cost"], mine["f1"], s=30, marker="D" if kinds.loc[condition, "kind"] == FEWSHOT else "o",
            color=style["color"], edgecolor="black", linewidth=0.5, zorder=3, label=condition,
        )  # fmt: skip
    ax.set_ylim(0, 1.05)
    most = points["cost"].max() if len(points) else 0.0
    ax.set_xlim(left=0, right=1.1 * most if most > 0 else 1.0)
    ax.set_xlabel(axis_label)
    ax.set_ylabel("F1 of the positive class (mean over seeds)")
    ax.set_title("F1 against LLM labeling cost (one point per task; dashed: human-label median)")
    ax.grid(True, linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    ax.legend(title="condition", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return _save(figure, path)


def write_figures(
    per_task: pd.DataFrame, figures_dir: Path, cost: pd.DataFrame | None = None
) -> dict[str, Path]:
    """f1_by_task.png, f1_by_condition.png and f1_against_cost.png under figures_dir."""
    figures_dir = Path(figures_dir)
    return {
        "f1_by_task": plot_f1_by_task(per_task, figures_dir / "f1_by_task.png"),
        "f1_by_condition": plot_f1_by_condition(per_task, figures_dir / "f1_by_condition.png"),
        "f1_against_cost": plot_f1_against_cost(per_task, cost, figures_dir / "f1_against_cost.png"),
    }
