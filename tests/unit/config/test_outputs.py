"""The config key `results` as a path: normalised, or refused in one line naming the key when
the outputs would mix with other files (tests/workflow/test_results_folder.py runs it)."""

from __future__ import annotations

import pytest

from labeldistill.config.outputs import results_folder
from labeldistill.errors import LabelDistillError


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("results", "results"),
        ("./results/", "results"),
        ("results/paper", "results/paper"),
        ("out/../results-b", "results-b"),
        ("/elsewhere/out/../runs", "/elsewhere/runs"),
    ],
)
def test_a_folder_of_its_own_is_normalised(tmp_path, value, path):
    assert results_folder(value, tmp_path / "work", repo=tmp_path / "repo") == path


# <repo> is the workflow's repository, <work> the working directory.
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is not a folder"),
        ("  ", "is not a folder"),
        (None, "is not a folder"),
        ("results/{task}", "holds { or }"),
        ("..", "leads outside the working directory"),
        ("out/../../results", "leads outside the working directory"),
        (".", "is the working directory"),
        ("<work>/..", "holds the working directory"),
        ("<repo>", "is the repository"),
        ("<repo>/..", "holds the repository"),
        ("<repo>/src/out", "lies in the workflow's own src/ folder"),
        ("<repo>/rules", "lies in the workflow's own rules/ folder"),
        ("<repo>/data/tweets", "lies in the workflow's own data/ folder"),
    ],
)
def test_a_folder_that_mixes_outputs_with_other_files_is_refused(tmp_path, value, reason):
    repo, workdir = tmp_path / "code" / "repo", tmp_path / "runs" / "work"
    if isinstance(value, str):
        value = value.replace("<repo>", str(repo)).replace("<work>", str(workdir))
    with pytest.raises(LabelDistillError) as error:
        results_folder(value, workdir, repo=repo)
    line = str(error.value)
    assert line.startswith("config key results: ") and reason in line and "\n" not in line
