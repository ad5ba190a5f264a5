"""The report's tables written out: CSV, Markdown and LaTeX.

CSV keeps every column at full precision under its snake_case name (for machines); Markdown,
LaTeX and the HTML report show the columns of `table_columns.DISPLAY` under their headings,
3 decimals, counts as whole numbers and empty cells for undefined values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from labeldistill.report.table_columns import COUNT_COLUMNS, DISPLAY, P_COLUMNS


def _cell(value, column: str, digits: int) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        if column in COUNT_COLUMNS:
            return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
        if column in P_COLUMNS and value < 10**-digits:
            return f"< {10**-digits:.{digits}f}"  # a p-value is never 0.000
        return f"{value:.{digits}f}"
    return str(value)


def _says_nothing(frame: pd.DataFrame, column: str) -> bool:
    """A task group column in a run without one_vs_rest tasks: every group is its task's name."""
    if column != "task_group" or "task" not in frame.columns:
        return False
    grouped = frame["task_group"].fillna("") != ""
    return bool((frame.loc[grouped, "task_group"] == frame.loc[grouped, "task"]).all())


def display_frame(frame: pd.DataFrame, name: str, digits: int = 3) -> pd.DataFrame:
    """The shown columns of a table under their display names, as formatted strings."""
    names = {
        c: h for c, h in DISPLAY.get(name, {}).items() if c in frame.columns and not _says_nothing(frame, c)
    } or {c: c for c in frame.columns}
    shown = frame[list(names)]
    cells = {heading: [_cell(v, column, digits) for v in shown[column]] for column, heading in names.items()}
    return pd.DataFrame(cells, columns=list(names.values()))


def _numeric(frame: pd.DataFrame, name: str) -> list[bool]:
    names = {
        c: h for c, h in DISPLAY.get(name, {}).items() if c in frame.columns and not _says_nothing(frame, c)
    }
    return [pd.api.types.is_numeric_dtype(frame[c]) for c in names] or [
        pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns
    ]


def to_markdown(frame: pd.DataFrame, name: str) -> str:
    shown = display_frame(frame, name)
    align = ["right" if numeric else "left" for numeric in _numeric(frame, name)]
    return (
        tabulate(
            shown.values.tolist(),
            headers=list(shown.columns),
            tablefmt="github",
            disable_numparse=True,
            colalign=align or None,
        )
        + "\n"
    )


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in str(text))


def to_latex(frame: pd.DataFrame, name: str) -> str:
    """A booktabs tabular (needs \\usepackage{booktabs})."""
    shown = display_frame(frame, name)
    spec = "".join("r" if numeric else "l" for numeric in _numeric(frame, name))
    lines = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(latex_escape(c) for c in shown.columns) + r" \\",
        "\\midrule",
    ]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in shown.values.tolist()]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_tables(tables: dict[str, pd.DataFrame], tables_dir: Path) -> list[Path]:
    """Write every table as {name}.csv, {name}.md and {name}.tex; return the paths."""
    tables_dir = Path(tables_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        csv, md, tex = (tables_dir / f"{name}.{ext}" for ext in ("csv", "md", "tex"))
        frame.to_csv(csv, index=False)
        md.write_text(to_markdown(frame, name), encoding="utf-8")
        tex.write_text(to_latex(frame, name), encoding="utf-8")
        written += [csv, md, tex]
    return written
