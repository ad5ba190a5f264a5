"""The run's output folder, the config key `results`, checked when the config is parsed.

rules/common.smk builds every output, log and benchmark path from it, so configs with folders
of their own never overwrite one another's outputs in one working directory. A relative folder
is read from the working directory, as Snakemake reads every output path. It must be a folder
of its own: never the working directory or the repository, nor a folder above either (the
outputs would mix with everything else there), nor inside the workflow's own folders; a
relative path stays inside the working directory (an absolute one may point anywhere else).
"""

from __future__ import annotations

import posixpath
from collections.abc import MutableMapping
from pathlib import Path

from labeldistill.errors import LabelDistillError

KEY = "config key results"
# The repository holding this package: the Snakefile, its folders and the demo data.
REPO = Path(__file__).resolve().parents[3]
# The repository's folders of code, configs, docs and data: no output belongs in them.
OWN_FOLDERS = ("src", "rules", "scripts", "schemas", "envs", "config", "report", "profiles", "data", "docs")
EXAMPLE = "such as results/mystudy"
OWN = f"give a folder of its own, {EXAMPLE}"


def results_folder(value: object, workdir: Path, repo: Path = REPO) -> str:
    """`value` as the path every output is built from, normalised (`./results/` -> `results`);
    raise LabelDistillError with one line naming the config key when it cannot be one."""
    if not isinstance(value, str) or not value.strip():
        raise LabelDistillError(f"{KEY}: {value!r} is not a folder; give a path {EXAMPLE}")
    if "{" in value or "}" in value:
        raise LabelDistillError(
            f"{KEY}: {value!r} holds {{ or }}, which Snakemake would read as a wildcard; {OWN}"
        )
    path = posixpath.normpath(value)
    if not posixpath.isabs(path) and (path == ".." or path.startswith("../")):
        raise LabelDistillError(
            f"{KEY}: {value!r} leads outside the working directory; give a folder inside it ({EXAMPLE}) "
            "or an absolute path"
        )
    folder = (workdir / path).resolve()
    for place, what in ((workdir.resolve(), "the working directory"), (repo.resolve(), "the repository")):
        if place.is_relative_to(folder):
            where = "is" if place == folder else "holds"
            raise LabelDistillError(
                f"{KEY}: {value!r} {where} {what}, whose files the outputs would mix with; {OWN}"
            )
    for name in OWN_FOLDERS:
        if folder.is_relative_to((repo / name).resolve()):
            raise LabelDistillError(f"{KEY}: {value!r} lies in the workflow's own {name}/ folder; {OWN}")
    return path


def resolve_results(config: MutableMapping, workdir: Path | None = None) -> list[str]:
    """Replace config["results"] (the schema's default filled in) by its checked path; return the
    problem as one line, or nothing."""
    try:
        config["results"] = results_folder(config["results"], Path.cwd() if workdir is None else workdir)
    except LabelDistillError as error:
        return [str(error)]
    return []
