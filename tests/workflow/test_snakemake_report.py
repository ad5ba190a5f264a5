"""Snakemake's own report (`snakemake --report`) of a finished run: every table and figure
under its caption from report/."""

from __future__ import annotations

import re

import pytest
from runner import REPO, snakemake

CAPTIONS = REPO / "report"
# A table or figure as the README's "What comes out" names it: (kind, name).
README_OUTPUT = re.compile(r"`results/(tables|figures)/(\w+)\.(?:\{csv,md,tex\}|png)`")


def caption_opening(kind: str, name: str) -> str:
    """The first line of a caption: one plain sentence that the report shows as written."""
    return (CAPTIONS / kind / f"{name}.rst").read_text().splitlines()[0]


@pytest.mark.workflow
def test_the_report_shows_every_table_and_figure_under_its_caption(finished_run, tmp_path):
    report = tmp_path / "report.html"
    result = snakemake(finished_run, "--report", str(report))
    assert result.returncode == 0, result.stderr[-4000:]
    html = report.read_text()
    made = {path.relative_to(finished_run) for path in (finished_run / "results/tables").glob("*.csv")}
    made |= {path.relative_to(finished_run) for path in (finished_run / "results/figures").glob("*.png")}
    assert len(made) == 17  # the tiny run has no corpus: 10 tables, 7 figures
    for path in sorted(made):
        assert f'"{path}"' in html, f"the report lacks {path}"
        kind, name = path.parent.name, path.stem
        assert caption_opening(kind, name) in html, f"the report lacks the caption of {path}"
    assert (CAPTIONS / "workflow.rst").read_text().splitlines()[0] in html


def test_every_table_and_figure_the_readme_names_has_a_caption():
    # The corpus's table and figure are not made by the tiny run: here they are held to it too.
    named = set(README_OUTPUT.findall((REPO / "README.md").read_text()))
    # Made on demand (estimate_cost, codebook_check), not by the report rule.
    named -= {("tables", "cost_estimate"), ("tables", "codebook_check")}
    assert {("tables", "per_task"), ("tables", "corpus"), ("figures", "corpus_shares")} <= named
    assert {(path.parent.name, path.stem) for path in CAPTIONS.glob("*/*.rst")} == named
