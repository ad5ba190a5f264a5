"""Figures from the tables: F1 per task per condition (with the 95% interval of the seed-mean),
F1 per condition over tasks, the paired gaps per task with their intervals, reliability
diagrams of every condition's probabilities against the human test labels, F1 against
what the LLM labeling cost, the share of the positive label in each task's corpus with
its interval per estimation method (and per covariate level), and a confusion matrix per task
and condition.

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

from labeldistill.conditions import FEWSHOT, HUMAN
from labeldistill.report.table_columns import MEDIAN_ROW
from labeldistill.report.tables import condition_order
from labeldistill.stats.calibration import TOP_LABEL

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


def headline_view(per_task: pd.DataFrame) -> pd.DataFrame:
    """per_task with each task's headline score in the F1 columns the F1 figures plot: a task
    scored by macro-F1 shows its macro-F1 (mean, sd, interval), not one label's F1."""
    if per_task.empty or "headline" not in per_task:
        return per_task
    view = per_task.copy()
    macro = view["headline"] == "macro_f1"
    for f1, headline in (
        ("f1_mean", "headline_mean"),
        ("f1_sd", "headline_sd"),
        ("f1_ci_low", "headline_ci_low"),
        ("f1_ci_high", "headline_ci_high"),
    ):
        view.loc[macro, f1] = view.loc[macro, headline]
    return view


def _score_label(per_task: pd.DataFrame) -> str:
    """The axis label of the F1 figures: which score they show."""
    headlines = set(per_task["headline"].dropna()) if "headline" in per_task else {"f1"}
    if headlines == {"macro_f1"}:
        return "macro-F1"
    if "macro_f1" in headlines:
        return "F1 of the positive class, or macro-F1"
    return "F1 of the positive class"


def save_figure(figure: Figure, path: Path) -> Path:
    """Write `figure` as a PNG at `path` (its folder made), without a GUI backend."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def empty_figure(path: Path, message: str) -> Path:
    """A figure that says why there is nothing to plot (the workflow's outputs always exist)."""
    figure = Figure(figsize=(6, 2))
    figure.text(0.5, 0.5, message, ha="center", va="center")
    return save_figure(figure, path)


def plot_f1_by_task(per_task: pd.DataFrame, path: Path) -> Path:
    """Grouped bars: mean F1 per task (groups) and condition (bars); error bars: the 95%
    interval of the seed-mean (test texts and seeds), or the sd over seeds where it is missing."""
    if per_task.empty:
        return empty_figure(path, "No metrics to plot")
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
        low = np.array([rows[j].get("f1_ci_low", np.nan) for j in present], dtype=float)
        high = np.array([rows[j].get("f1_ci_high", np.nan) for j in present], dtype=float)
        sds = np.array([rows[j]["f1_sd"] for j in present], dtype=float)
        has_ci = np.isfinite(low) & np.isfinite(high)
        below = np.where(has_ci, heights - low, sds)
        above = np.where(has_ci, high - heights, sds)
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
        spread = np.isfinite(below) & np.isfinite(above)
        if spread.any():
            ax.errorbar(
                offset[present][spread],
                heights[spread],
                yerr=np.vstack([below[spread], above[spread]]).clip(min=0),
                fmt="none",
                ecolor="black",
                elinewidth=0.8,
                capsize=2,
            )
    ax.set_xticks(x)
    rotate = len(tasks) > 4 or max(len(t) for t in tasks) > 14
    ax.set_xticklabels(tasks, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(_score_label(per_task))
    ax.set_title("F1 per task and condition (mean over seeds; bars: 95% interval over test texts and seeds)")
    ax.yaxis.grid(True, linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    ax.legend(title="condition", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return save_figure(figure, path)


def plot_f1_by_condition(per_task: pd.DataFrame, path: Path) -> Path:
    """Per condition, the per-task mean F1 of every task as dots and their median as a bar."""
    if per_task.empty:
        return empty_figure(path, "No metrics to plot")
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
    ax.set_xlabel(f"{_score_label(per_task)} (one dot per task; bar: median over tasks)")
    ax.set_title("F1 per condition over tasks (mean over seeds)")
    ax.xaxis.grid(True, linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    return save_figure(figure, path)


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
        return empty_figure(path, "No LLM labeling cost recorded")
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
    ax.set_ylabel(f"{_score_label(per_task)} (mean over seeds)")
    ax.set_title("F1 against LLM labeling cost (one point per task; dashed: human-label median)")
    ax.grid(True, linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    ax.legend(title="condition", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return save_figure(figure, path)


def plot_gaps_by_task(gaps: pd.DataFrame, path: Path) -> Path:
    """Forest plot: each paired gap per task with its 95% interval, the median over tasks below
    each comparison's tasks; a zero line. One panel per comparison."""
    if gaps is None or gaps.empty:
        return empty_figure(path, "No paired comparisons to plot")
    comparisons = list(dict.fromkeys(gaps["comparison"]))
    rows_per_panel = [len(gaps[gaps["comparison"] == c]) for c in comparisons]
    figure = Figure(figsize=(8, 1.2 + 0.32 * sum(rows_per_panel) + 0.6 * len(comparisons)))
    axes = figure.subplots(len(comparisons), 1, squeeze=False, gridspec_kw={"height_ratios": rows_per_panel})[
        :, 0
    ]
    for ax, comparison in zip(axes, comparisons, strict=True):
        panel = gaps[gaps["comparison"] == comparison].reset_index(drop=True)
        y = np.arange(len(panel))[::-1]
        median = panel["task"] == MEDIAN_ROW
        labels = [
            f"{row.condition_a} - {row.condition_b}: "
            + ("median over tasks" if row.task == MEDIAN_ROW else row.task)
            for row in panel.itertuples(index=False)
        ]
        estimate = panel["f1_gap"].to_numpy(dtype=float)
        low = panel["gap_ci_low"].to_numpy(dtype=float)
        high = panel["gap_ci_high"].to_numpy(dtype=float)
        finite = np.isfinite(low) & np.isfinite(high)
        for is_median, marker, colour in ((False, "o", "tab:blue"), (True, "D", "black")):
            pick = (median.to_numpy() == is_median) & finite
            ax.errorbar(
                estimate[pick],
                y[pick],
                xerr=np.vstack([estimate[pick] - low[pick], high[pick] - estimate[pick]]).clip(min=0),
                fmt=marker,
                color=colour,
                ecolor=colour,
                elinewidth=1.2,
                capsize=3,
            )
            bare = (median.to_numpy() == is_median) & ~finite
            ax.plot(estimate[bare], y[bare], marker, color=colour)
        ax.axvline(0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize="small")
        ax.set_title(comparison, fontsize="medium")
        ax.xaxis.grid(True, linewidth=0.4, alpha=0.6)
    axes[-1].set_xlabel(
        "Gap (A - B) of the headline score (F1 or macro-F1) with 95% interval: paired bootstrap"
    )
    figure.tight_layout()
    return save_figure(figure, path)


def pooled_reliability(metrics: list[dict]) -> dict[tuple[str, str], pd.DataFrame]:
    """Per (task, condition): the reliability bins of all its seeds pooled (counts added,
    means weighted by count)."""
    pooled: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for record in metrics:
        bins = record.get("reliability")
        if not bins or not bins.get("count"):
            continue
        frame = pd.DataFrame(bins)
        pooled.setdefault((record["task"], record["condition"]), []).append(frame)
    result = {}
    for key, frames in pooled.items():
        both = pd.concat(frames)
        both["count"] = both["count"].fillna(0)
        weighted = both.assign(
            predicted_sum=both["mean_predicted"].fillna(0) * both["count"],
            observed_sum=both["observed"].fillna(0) * both["count"],
        )
        grouped = weighted.groupby(["bin_low", "bin_high"], sort=True)[
            ["count", "predicted_sum", "observed_sum"]
        ].sum()
        grouped = grouped[grouped["count"] > 0]
        result[key] = pd.DataFrame(
            {
                "mean_predicted": grouped["predicted_sum"] / grouped["count"],
                "observed": grouped["observed_sum"] / grouped["count"],
                "count": grouped["count"],
            }
        ).reset_index()
    return result


def plot_reliability(per_task: pd.DataFrame, metrics: list[dict], path: Path) -> Path:
    """Reliability diagrams, one panel per task: for every condition, the observed share of the
    positive class against the mean predicted probability per bin (seeds pooled); marker size
    grows with the number of texts in the bin. The diagonal is perfect calibration. A task of
    more than two labels is read by its top label: the share predicted right against the
    probability of the label predicted."""
    curves = pooled_reliability(metrics)
    top_label = {record["task"] for record in metrics if record.get("calibration_of") == TOP_LABEL}
    if not curves:
        return empty_figure(path, "No predicted probabilities to plot")
    tasks = sorted({task for task, _ in curves})
    styles = condition_styles(per_task) if not per_task.empty else {}
    figure = Figure(figsize=(4.2 * len(tasks) + 2.5, 4.4))
    axes = figure.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        for condition in [c for c in styles if (task, c) in curves] + sorted(
            c for t, c in curves if t == task and c not in styles
        ):
            curve = curves[(task, condition)]
            colour = styles.get(condition, {}).get("color")
            ax.plot(
                curve["mean_predicted"], curve["observed"], "-", color=colour, linewidth=1, label=condition
            )
            ax.scatter(
                curve["mean_predicted"],
                curve["observed"],
                s=8 + 60 * curve["count"] / curve["count"].max(),
                color=colour,
                edgecolor="black",
                linewidth=0.3,
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        if task in top_label:
            ax.set_title(f"{task}\n(top label: share predicted right)", fontsize="medium")
            ax.set_xlabel("mean probability of the label predicted")
        else:
            ax.set_title(task, fontsize="medium")
            ax.set_xlabel("mean predicted probability of the positive label")
        ax.grid(True, linewidth=0.4, alpha=0.6)
    axes[0].set_ylabel("observed share (human test labels)")
    axes[-1].legend(title="condition", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    figure.suptitle("Reliability of predicted probabilities against the human test labels")
    return save_figure(figure, path)


CORPUS_METHOD_STYLES = {
    "naive": {"color": "0.55", "marker": "s", "name": "naive (predictions as truth; not a valid interval)"},
    "human": {"color": "tab:blue", "marker": "o", "name": "human test labels only"},
    "ppi": {"color": "tab:purple", "marker": "v", "name": "PPI"},
    "ppi++": {"color": "tab:orange", "marker": "D", "name": "PPI++ (predictions + human labels)"},
}


def _share_points(ax, shares: list[dict], positions: dict, key: str | None) -> None:
    """Points with interval bars, one colour per method, offset side by side around `positions`."""
    methods = [m for m in CORPUS_METHOD_STYLES if any(row["method"] == m for row in shares)]
    for i, method in enumerate(methods):
        rows = [r for r in shares if r["method"] == method and r["estimate"] is not None]
        offset = (i - (len(methods) - 1) / 2) * 0.18
        x = np.array([positions[str(r[key]) if key else ""] + offset for r in rows], dtype=float)
        y = np.array([r["estimate"] for r in rows], dtype=float)
        low = np.array([np.nan if r["low"] is None else r["low"] for r in rows], dtype=float)
        high = np.array([np.nan if r["high"] is None else r["high"] for r in rows], dtype=float)
        style = CORPUS_METHOD_STYLES[method]
        ax.errorbar(
            x,
            y,
            yerr=np.vstack([np.nan_to_num(y - low), np.nan_to_num(high - y)]).clip(min=0),
            fmt=style["marker"],
            color=style["color"],
            capsize=3,
            label=style["name"],
        )


def plot_corpus_shares(estimates: list[dict], path: Path) -> Path:
    """Per task, the share of its positive label in the corpus with the 95% interval of each
    method; beside it, per covariate, the same by level."""
    if not estimates:
        return empty_figure(path, "No corpus estimates to plot")
    widths = [1 + len(record["by_group"]) for record in estimates]
    columns = max(widths)
    figure = Figure(figsize=(4.0 + 3.5 * (columns - 1), 3.2 * len(estimates)), layout="constrained")
    axes = figure.subplots(len(estimates), columns, squeeze=False)
    for row, record in enumerate(estimates):
        positive = record["positive_label"]
        ax = axes[row][0]
        shares = [r for r in record["shares"] if r["label"] == positive]
        _share_points(ax, shares, {"": 0.0}, None)
        ax.set_xticks([0.0])
        ax.set_xticklabels([f"{record['n_corpus']:,} texts"])
        ax.set_xlim(-0.6, 0.6)
        ax.set_ylabel(f"share '{positive}'")
        ax.set_title(f"{record['task']}: {record['student']}@{record['labeler']}", fontsize="medium")
        for column, (name, groups) in enumerate(record["by_group"].items(), start=1):
            ax = axes[row][column]
            groups = [r for r in groups if r["label"] == positive]
            levels = sorted({str(r["group"]) for r in groups})
            _share_points(ax, groups, {level: float(i) for i, level in enumerate(levels)}, "group")
            ax.set_xticks(range(len(levels)))
            ax.set_xticklabels(levels, rotation=30 if len(levels) > 6 else 0)
            ax.set_title(f"by {name}", fontsize="medium")
        for column in range(widths[row], columns):
            axes[row][column].set_visible(False)
        for ax in axes[row][: widths[row]]:
            ax.yaxis.grid(True, linewidth=0.4, alpha=0.6)
            ax.set_axisbelow(True)
    handles, names = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside lower center", ncols=2, fontsize="small")
    return save_figure(figure, path)


def pooled_confusion(metrics: list[dict]) -> dict[tuple[str, str], dict]:
    """Per (task, condition): the confusion counts of all its seeds added (labels in the
    records' order), the failed predictions per gold label, and the number of seeds."""
    pooled: dict[tuple[str, str], dict] = {}
    for record in metrics:
        confusion = record.get("confusion")
        if not confusion:
            continue
        key = (record["task"], record["condition"])
        counts = np.array(confusion["counts"], dtype=float)
        failed = np.array(confusion.get("failed") or [0] * len(counts), dtype=float)
        if key in pooled:
            pooled[key]["counts"] += counts
            pooled[key]["failed"] += failed
            pooled[key]["n_runs"] += 1
        else:
            pooled[key] = {
                "labels": list(confusion["labels"]),
                "counts": counts,
                "failed": failed,
                "n_runs": 1,
            }
    return pooled


def plot_confusion(per_task: pd.DataFrame, metrics: list[dict], path: Path) -> Path:
    """A grid of confusion matrices: one row per task, one panel per condition (seeds pooled).
    Cells: the share of the gold label's test texts (row) given each predicted label (column),
    so the diagonal is each label's recall; the number in a cell is the mean count per seed.
    A failed prediction belongs to no column: a row then sums to less than 1."""
    pooled = pooled_confusion(metrics)
    if not pooled:
        return empty_figure(path, "No confusion matrices to plot")
    tasks = list(dict.fromkeys(per_task["task"])) if not per_task.empty else []
    tasks += sorted({task for task, _ in pooled} - set(tasks))
    order = condition_order(per_task) if not per_task.empty else []
    order += sorted({c for _, c in pooled} - set(order))
    conditions = [c for c in order if any((task, c) in pooled for task in tasks)]
    k = max(len(entry["labels"]) for entry in pooled.values())
    side = 1.2 + 0.45 * k
    figure = Figure(figsize=(side * len(conditions) + 1.0, side * len(tasks) + 0.6), layout="constrained")
    axes = figure.subplots(len(tasks), len(conditions), squeeze=False)
    image = None
    for row, task in enumerate(tasks):
        for column, condition in enumerate(conditions):
            ax = axes[row][column]
            entry = pooled.get((task, condition))
            if entry is None:
                ax.set_visible(False)
                continue
            counts, labels = entry["counts"], entry["labels"]
            totals = counts.sum(axis=1) + entry["failed"]
            shares = np.divide(counts, totals[:, None], out=np.zeros_like(counts), where=totals[:, None] > 0)
            image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
            mean = counts / entry["n_runs"]
            for i in range(len(labels)):
                for j in range(len(labels)):
                    ax.text(
                        j, i, f"{mean[i, j]:.0f}" if entry["n_runs"] == 1 else f"{mean[i, j]:.1f}",
                        ha="center", va="center", fontsize="x-small",
                        color="white" if shares[i, j] > 0.6 else "black",
                    )  # fmt: skip
            ax.set_xticks(range(len(labels)))
            ax.set_yticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=45, ha="right", fontsize="x-small")
            ax.set_yticklabels(labels, fontsize="x-small")
            ax.set_title(f"{task}\n{condition}", fontsize="x-small")
            if column == 0:
                ax.set_ylabel("human label", fontsize="x-small")
            if row == len(tasks) - 1:
                ax.set_xlabel("predicted", fontsize="x-small")
    if image is not None:
        figure.colorbar(image, ax=axes, shrink=0.6, label="share of the human label's texts")
    return save_figure(figure, path)


def write_figures(
    tables: dict[str, pd.DataFrame],
    figures_dir: Path,
    metrics: list[dict] | None = None,
    corpus: list[dict] | None = None,
) -> dict[str, Path]:
    """f1_by_task, f1_by_condition, gaps_by_task, reliability, f1_against_cost and confusion
    (.png), and corpus_shares when there are corpus estimates."""
    figures_dir = Path(figures_dir)
    per_task = headline_view(tables["per_task"])
    figures = {
        "f1_by_task": plot_f1_by_task(per_task, figures_dir / "f1_by_task.png"),
        "f1_by_condition": plot_f1_by_condition(per_task, figures_dir / "f1_by_condition.png"),
        "gaps_by_task": plot_gaps_by_task(tables.get("gaps"), figures_dir / "gaps_by_task.png"),
        "reliability": plot_reliability(per_task, metrics or [], figures_dir / "reliability.png"),
        "f1_against_cost": plot_f1_against_cost(
            per_task, tables.get("cost"), figures_dir / "f1_against_cost.png"
        ),
        "confusion": plot_confusion(per_task, metrics or [], figures_dir / "confusion.png"),
    }
    if corpus:
        figures["corpus_shares"] = plot_corpus_shares(corpus, figures_dir / "corpus_shares.png")
    return figures
