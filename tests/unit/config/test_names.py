"""Names that become paths (tests/workflow/test_bad_inputs.py runs them through snakemake)."""

import re

import pytest

from labeldistill.config.names import name_line, name_problem, name_problems
from labeldistill.config.schema import load_schema

BAD = ["..", ".", "", " ", "a/b", "../x", "a\\b", ".hidden", "-x", "my task", "é", "a~b", "a@b", "a+b", 7]
GOOD = ["t", "stance_2024", "tweets.negative", "a..b", "_x", "9", "x-", "gpt-4o.mini"]


@pytest.mark.parametrize("name", BAD, ids=repr)
def test_a_name_that_is_not_one_plain_folder_name_is_refused(name):
    assert name_problem(name)
    line = name_line("tasks", name)
    assert line.startswith(f"config key tasks: the task name {name!r} is not valid: ")
    assert "\n" not in line and "letters, digits, _ . -" in line


@pytest.mark.parametrize("name", GOOD)
def test_a_plain_name_passes(name):
    assert name_problem(name) is None and name_line("students", name) is None


@pytest.mark.parametrize("section", ["tasks", "labelers", "students"])
def test_the_schema_and_the_wildcards_allow_no_name_that_names_py_refuses(section):
    pattern = load_schema()["properties"][section]["propertyNames"]["pattern"]
    wildcard = r"[A-Za-z0-9_.\-+~]+"  # the widest constraint in rules/common.smk (labeler)
    for name in BAD:
        assert not (isinstance(name, str) and re.search(pattern, name)), name
    for name in GOOD:
        assert re.fullmatch(wildcard, name)
        assert re.search(pattern, name) or name in ("human", "fewshot")


def test_reserved_names_are_taken():
    assert "taken by the human labels" in name_line("labelers", "human")
    assert "taken by the few-shot condition" in name_line("students", "fewshot")
    assert name_line("tasks", "human") is None


def test_a_local_model_is_named_by_its_file():
    config = {
        "tasks": {"t": {}},
        "labelers": {
            "up": {"backend": "local", "model": "models/.."},
            "spaced": {"backend": "local", "model": "/m/my model.gguf"},
            "fine": {"backend": "local", "model": "/m/gemma-3.gguf"},
            "remote": {"backend": "openai", "model": "a model/with a slash"},  # a server's name: no path
            "odd": "not a mapping",
        },
        "students": {"s": {}},
    }
    lines = name_problems(config)
    assert [line.split(":")[0] for line in lines] == [
        "config key labelers.up.model",
        "config key labelers.spaced.model",
    ]
    assert "'..'" in lines[0] and "'my model'" in lines[1] and "a space" in lines[1]
