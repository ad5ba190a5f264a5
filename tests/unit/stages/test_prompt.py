"""`labeldistill prompt` on a real config: the prompt a local labeler's model reads and the
request body an openai labeler sends, examples from the pool only, the text last."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labeldistill import cli
from labeldistill.config.prepare import prepare_config
from labeldistill.contracts import SPLIT, read_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import split
from labeldistill.stages.prompt import show_prompt
from labeldistill.tasks.spec import TaskSpec
from labeldistill.tasks.splits import SplitSizes

CODEBOOK = "Label a: the first kind; b: the second."


@pytest.fixture
def config_file(tmp_path):
    texts = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "id": [f"i{n}" for n in range(40)],
            "text": [f"text number {n}" for n in range(40)],
            "label": ["a", "b"] * 20,
        }
    ).to_csv(texts, index=False)
    (tmp_path / "c.md").write_text(CODEBOOK)
    path = tmp_path / "config.yaml"
    config = {
        "results": str(tmp_path / "results"),
        "tasks": {"t": {"texts": str(texts), "codebook": str(tmp_path / "c.md"), "labels": ["a", "b"]}},
        "labelers": {
            "local": {"backend": "local", "model": "gemma3-270m", "shots": 4, "shots_seeds": [0, 1]},
            "api": {
                "backend": "openai",
                "model": "gpt-4o-mini",
                "base_url": "http://127.0.0.1:9/v1",  # a server that needs no key
                "shots": 2,
                "max_text_tokens": 8,
            },
            "both": {"backend": "ensemble", "members": ["local", "api"]},
        },
        "students": {"s": {"kind": "tfidf-logreg"}},
        "split": {"test": 10, "val": 10, "pool": 20},
        "train_size": 10,
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def prepared(config_file):
    config = cli.read_config_file(config_file)
    prepare_config(config)
    return config


def parts_of(config, tmp_path):
    """The split as the workflow's split job writes it."""
    outputs = {part: tmp_path / f"{part}.parquet" for part in ("pool", "val", "test")}
    split.run(
        TaskSpec.from_config("t", config["tasks"]["t"]),
        SplitSizes.from_config(config["split"]),
        20240617,
        outputs,
    )
    return {part: read_table(path, SPLIT) for part, path in outputs.items()}


def shown_texts(prompt: str) -> list[str]:
    return [line.removeprefix("Text: ") for line in prompt.splitlines() if line.startswith("Text: ")]


def test_a_local_labelers_prompt_shows_pool_examples_then_the_text(config_file, tmp_path):
    config = prepared(config_file)
    parts = parts_of(config, tmp_path)
    prompt = show_prompt(config, "t", "local", "a new\ntext")
    assert prompt.startswith(CODEBOOK + "\n\nValid labels: a, b\n\n")
    assert prompt.endswith("Text: a new text\nLabel:")  # flattened to one line, as labelled
    *examples, last = shown_texts(prompt)
    assert len(examples) == 4 and set(examples) <= set(parts["pool"]["text"]) and last == "a new text"
    # the default text is the first validation text; each draw of shots_seeds has its own examples
    assert shown_texts(show_prompt(config, "t", "local"))[-1] == parts["val"]["text"].iloc[0]
    assert shown_texts(show_prompt(config, "t", "local~shots1"))[:4] != examples


def test_an_openai_labelers_request_body_is_what_it_sends(config_file, tmp_path):
    config = prepared(config_file)
    body = json.loads(
        show_prompt(config, "t", "api", "one two three four five six seven eight nine ten eleven")
    )
    assert body["model"] == "gpt-4o-mini"
    system, *turns, text = body["messages"]
    assert system["role"] == "system" and system["content"].startswith(CODEBOOK)
    assert [turn["role"] for turn in turns] == ["user", "assistant"] * 2
    assert text["role"] == "user" and text["content"].startswith("one two")
    assert len(text["content"]) < len(
        "one two three four five six seven eight nine ten eleven"
    )  # cut to 8 tokens


def test_the_command_prints_it_and_refuses_what_sends_nothing(config_file, capsys):
    assert (
        cli.main(
            ["prompt", "--configfile", str(config_file), "--task", "t", "--labeler", "local", "--text", "hi"]
        )
        == 0
    )
    assert capsys.readouterr().out.endswith("Text: hi\nLabel:\n")
    assert cli.main(["prompt", "--configfile", str(config_file), "--task", "t", "--labeler", "both"]) == 1
    assert "sends no prompt; ask for one of its members: local, api" in capsys.readouterr().err
    config = prepared(config_file)
    with pytest.raises(LabelDistillError, match=r"config key tasks: no task 'x' \(the config has \['t'\]\)"):
        show_prompt(config, "x", "local")
    with pytest.raises(LabelDistillError, match="config key labelers: no labeler 'gpt'"):
        show_prompt(config, "t", "gpt")
