"""`labeldistill check`: the workflow's parse-time checks of a config file, without Snakemake.

Snakemake reads a `--configfile` before the workflow's own code runs, so a YAML syntax error or
a missing file gets Snakemake's message, without the file's line. This command reads the file
itself (a YAML error names its line and column), then runs every check the workflow runs when it
starts (schema, labeler and student settings, task files), printing one line per problem:

    labeldistill check --configfile myconfig.yaml      # exit status 0: the run can start

`labeldistill predict` labels a CSV or parquet file with a saved student (stages/predict.py):

    labeldistill predict --student results/t/students/minilm/gpt/n250/seed1 --texts new.csv --out labels.csv

`labeldistill prompt` prints what a labeler sends for one text (stages/prompt.py): the prompt a
local model reads, or an API's request body; the text defaults to the task's first validation text:

    labeldistill prompt --configfile config.yaml --task tweets_negative --labeler gemma --text "so sad"

Run it from the folder you would run Snakemake in (relative paths in the config are read from
there, and the checked task files are cached under its .snakemake/).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from labeldistill.errors import LabelDistillError
from labeldistill.logs import PREFIX, error_lines, warning_line

DEFAULT_CONFIG = "config.yaml"


def read_config_file(path: Path) -> dict:
    """The YAML config file as a mapping; every problem is one line with the file (and line)."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "not found"
        raise LabelDistillError(f"config file {path}: {what} (give it with --configfile)")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise LabelDistillError(f"config file {path}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(error.problem or error.context or "not valid YAML").split())
        hint = "; indent with spaces, never tabs" if "\t" in path.read_text(encoding="utf-8") else ""
        raise LabelDistillError(f"config file {path}{where}: {problem}{hint}") from None
    if not isinstance(config, dict):
        raise LabelDistillError(
            f"config file {path}: expected keys such as tasks: and students:, got {config!r}"
        )
    return config


def check(config_file: Path) -> list[str]:
    """Every check the workflow runs at parse time; returns the warnings, raises on a problem."""
    from labeldistill.config.prepare import prepare_config

    return prepare_config(read_config_file(config_file))


def predict(args: argparse.Namespace) -> int:
    from labeldistill.stages.predict import label_file

    counts = label_file(
        args.student, args.texts, args.out, args.id_column, args.text_column, args.chunk_size, args.threads
    )
    print(f"{PREFIX}{args.out}: {sum(counts.values())} texts labelled {counts}")
    return 0


def prompt(args: argparse.Namespace) -> int:
    from labeldistill.config.prepare import prepare_config
    from labeldistill.stages.prompt import show_prompt

    config = read_config_file(args.configfile)
    prepare_config(config)
    print(show_prompt(config, args.task, args.labeler, args.text))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labeldistill", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="check a config file and its task files before a run")
    checker.add_argument("--configfile", default=DEFAULT_CONFIG, type=Path, help="default: config.yaml")
    predictor = commands.add_parser("predict", help="label a CSV or parquet file with a saved student")
    predictor.add_argument("--student", required=True, type=Path, help="a student's folder")
    predictor.add_argument("--texts", required=True, type=Path, help="CSV or parquet file of texts")
    predictor.add_argument("--out", required=True, type=Path, help="where to write: .csv or .parquet")
    predictor.add_argument("--id-column", default="id", help="default: id")
    predictor.add_argument("--text-column", default="text", help="default: text")
    predictor.add_argument("--chunk-size", default=2000, type=int, help="rows at a time (default: 2000)")
    predictor.add_argument("--threads", default=os.cpu_count() or 1, type=int, help="default: all cores")
    prompter = commands.add_parser("prompt", help="print the prompt or request body a labeler sends")
    prompter.add_argument("--configfile", default=DEFAULT_CONFIG, type=Path, help="default: config.yaml")
    prompter.add_argument("--task", required=True, help="a task of the config")
    prompter.add_argument(
        "--labeler", required=True, help="a labeler of the config (or a draw: gemma~shots1)"
    )
    prompter.add_argument("--text", help="the text to label (default: the task's first validation text)")
    args = parser.parse_args(argv)
    try:
        if args.command == "predict":
            return predict(args)
        if args.command == "prompt":
            return prompt(args)
        warnings = check(args.configfile)
    except LabelDistillError as error:
        print(error_lines(error), file=sys.stderr)
        return 1
    for warning in warnings:
        print(warning_line(warning), file=sys.stderr)
    print(f"{PREFIX}{args.configfile}: ok, the run can start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
