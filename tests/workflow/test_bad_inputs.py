"""The catalogue of bad inputs a new user makes: each stops the workflow before any job with
exit status 1 and exactly one line on stderr, which names the file and line or the config key
(and the fix, where one is known).

Every case starts from one valid tiny config (which the first test runs, so the harness itself
is known to pass a good config) and changes one thing. Every case runs `labeldistill check` in
this process, which calls the same `prepare` as the Snakefile's parse; one case of each class
also runs the real snakemake CLI, which must stop on the same line (a dry run, or a real run for
names that become paths and secrets that could reach Snakemake's records).
"""

from __future__ import annotations

import copy
import gzip
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from runner import one_task_config, snakemake

from labeldistill import cli

pytestmark = pytest.mark.workflow


@dataclass(frozen=True)
class Case:
    name: str
    change: Callable[[dict, Path], None]  # edits the config and the files in place
    names: tuple[str, ...]  # what the one line must say


def texts(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "texts.csv", dtype=str, keep_default_na=False)


def set_key(path: str, value) -> Callable[[dict, Path], None]:
    def change(config: dict, root: Path) -> None:
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def drop_key(path: str) -> Callable[[dict, Path], None]:
    def change(config: dict, root: Path) -> None:
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        del node[last]

    return change


def rename_task(name: str) -> Callable[[dict, Path], None]:
    def change(config: dict, root: Path) -> None:
        config["tasks"] = {name: config["tasks"]["t"]}

    return change


def rename(section: str, old: str, new) -> Callable[[dict, Path], None]:
    """The block `section.old` under the name `new`, in its place."""

    def change(config: dict, root: Path) -> None:
        config[section] = {new if name == old else name: block for name, block in config[section].items()}

    return change


def rewrite_texts(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[dict, Path], None]:
    def change(config: dict, root: Path) -> None:
        edit(texts(root)).to_csv(root / "texts.csv", index=False)

    return change


def write_texts(content: bytes) -> Callable[[dict, Path], None]:
    def change(config: dict, root: Path) -> None:
        (root / "texts.csv").write_bytes(content)

    return change


def edit_cell(row: int, column: str, value: str):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame

    return edit


def quoted_newline_then(row: int, column: str, value: str):
    """A text with a newline in quotes in row 2 (so lines and records differ), then an edit."""

    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[2, "text"] = "first line\nsecond line of the same text"
        frame.loc[row, column] = value
        return frame

    return edit


def latin1(config: dict, root: Path) -> None:
    frame = texts(root)
    frame.loc[5, "text"] = "un café très négatif à Zürich"
    frame.to_csv(root / "texts.csv", index=False, encoding="latin-1")


def semicolons(config: dict, root: Path) -> None:
    texts(root).to_csv(root / "texts.csv", index=False, sep=";")


def ragged(config: dict, root: Path) -> None:
    lines = (root / "texts.csv").read_text().splitlines()
    lines[7] = lines[7] + ",extra"
    (root / "texts.csv").write_text("\n".join(lines) + "\n")


def parquet_with_null_text(config: dict, root: Path) -> None:
    frame = texts(root).astype(object)
    frame.loc[4, "text"] = None
    frame.to_parquet(root / "texts.parquet")
    config["tasks"]["t"]["texts"] = str(root / "texts.parquet")


def folder_as_texts(config: dict, root: Path) -> None:
    (root / "folder").mkdir()
    config["tasks"]["t"]["texts"] = str(root / "folder")


def coder_labels_with_bad_label(config: dict, root: Path) -> None:
    (root / "coders.csv").write_text("id,coder,label\nt000,c1,neg\nt001,c1,maybe\n")
    config["tasks"]["t"]["coder_labels"] = str(root / "coders.csv")


def examples_from_test(config: dict, root: Path) -> None:
    # Every id: some fall into val or test whatever the split; one is no id at all.
    config["labelers"]["llm"]["examples"] = [*texts(root)["id"], "no-such-id"]


def blank_codebook(config: dict, root: Path) -> None:
    (root / "codebook.md").write_text("  \n")


def no_api_key(config: dict, root: Path) -> None:
    config["labelers"]["gpt"] = {
        "backend": "openai",
        "model": "gpt-4o-mini",
        "api_key_env": "LD_TEST_UNSET_KEY",
    }


CASES = [
    # the config: schema and declared settings
    Case("top-level typo", set_key("seed", [1]), ("config key seed", "did you mean 'seeds'")),
    Case("no students block", drop_key("students"), ("students is required", "kind: tfidf-logreg")),
    Case("no tasks block", drop_key("tasks"), ("tasks is required",)),
    Case(
        "task without codebook", drop_key("tasks.t.codebook"), ("config key tasks.t", "codebook is required")
    ),
    Case("one label", set_key("tasks.t.labels", ["neg"]), ("config key tasks.t.labels", "at least 2")),
    Case("split size not a number", set_key("split.test", "ten"), ("config key split.test", "integer")),
    Case("split size zero", set_key("split.val", 0), ("config key split.val", ">= 1")),
    Case("bad task name", rename_task("my task"), ("config key tasks", "'my task'", "letters, digits")),
    Case("unknown backend", set_key("labelers.llm.backend", "llama"), ("config key labelers.llm.backend",)),
    Case(
        "labeler typo",
        set_key("labelers.llm.shot", 4),
        ("config key labelers.llm.shot", "did you mean 'shots'"),
    ),
    Case(
        "transformer typo",
        set_key("students.bert.epoch", 2),
        ("config key students.bert.epoch", "did you mean 'epochs'"),
    ),
    Case(
        "tfidf typo",
        set_key("students.tfidf.ngram_maks", 2),
        ("config key students.tfidf.ngram_maks", "did you mean 'ngram_max'"),
    ),
    Case("tfidf bad value", set_key("students.tfidf.C", -1), ("config key students.tfidf.C", "number > 0")),
    Case("unknown student kind", set_key("students.bert.kind", "bert"), ("config key students.bert.kind",)),
    Case(
        "gpu tfidf", set_key("students.tfidf.device", "gpu"), ("config key students.tfidf.device", "CPU only")
    ),
    Case(
        "key of another backend",
        set_key(
            "labelers.gpt",
            {"backend": "openai", "model": "m", "base_url": "http://x/v1", "calibration_texts": 8},
        ),
        ("config key labelers.gpt.calibration_texts", "local backend"),
    ),
    Case(
        "server without base_url",
        set_key("labelers.gpt", {"backend": "openai", "model": "m", "server": {"command": "x"}}),
        ("config key labelers.gpt.base_url", "required with server"),
    ),
    Case("missing API key", no_api_key, ("config key labelers.gpt.api_key_env", "LD_TEST_UNSET_KEY")),
    Case(
        "bad base_url",
        set_key("labelers.gpt", {"backend": "openai", "model": "m", "base_url": "localhost:8000"}),
        ("config key labelers.gpt.base_url", "http://"),
    ),
    Case("negative shots", set_key("labelers.llm.shots", -2), ("config key labelers.llm.shots", ">= 0")),
    Case(
        "positive label not a label",
        set_key("tasks.t.positive_label", "negative"),
        ("config key tasks.t.positive_label", "'negative'"),
    ),
    Case("train_size above pool", set_key("train_size", 25), ("config key train_size", "split.pool")),
    Case("no seeds", set_key("seeds", []), ("config key seeds", "at least 1")),
    Case(
        "corpus without its student",
        set_key("tasks.t.corpus", {"texts": "texts.csv"}),
        ("config key corpus.student", "required"),
    ),
    # the files
    Case(
        "texts file missing",
        set_key("tasks.t.texts", "missing.csv"),
        ("config key tasks.t.texts", "missing.csv"),
    ),
    Case(
        "codebook missing", set_key("tasks.t.codebook", "nope.md"), ("config key tasks.t.codebook", "nope.md")
    ),
    Case("folder as texts", folder_as_texts, ("config key tasks.t.texts", "is a folder")),
    Case("zero-byte texts", write_texts(b""), ("texts.csv", "the file is empty (0 bytes")),
    Case("header only", write_texts(b"id,text,label\n"), ("texts.csv", "no rows")),
    Case("blank codebook", blank_codebook, ("codebook.md", "blank")),
    Case("latin-1 file", latin1, ("texts.csv, line 7", "not utf-8 (byte 0xe9)", "tasks.t.encoding: cp1252")),
    Case("semicolon file", semicolons, ("texts.csv", "separated by ';'", "tasks.t.sep: ';'")),
    Case("ragged row", ragged, ("texts.csv, line 8", "4 fields where the header has 3")),
    Case(
        "wrong column names",
        rewrite_texts(lambda f: f.rename(columns={"text": "tweet"})),
        ("texts.csv", "missing column(s) ['text']", "tasks.t.*_column"),
    ),
    Case(
        "label outside labels",
        rewrite_texts(quoted_newline_then(9, "label", "neutral")),
        ("texts.csv, line 12", "'neutral' is not one of"),
    ),
    Case(
        "label in another case",
        rewrite_texts(edit_cell(3, "label", "Neg")),
        ("texts.csv, line 5", "did you mean 'neg'"),
    ),
    Case(
        "empty text", rewrite_texts(quoted_newline_then(6, "text", "  ")), ("texts.csv, line 9", "empty text")
    ),
    Case(
        "duplicate id",
        rewrite_texts(quoted_newline_then(8, "id", "t001")),
        ("texts.csv, line 11", "duplicate id 't001'", "line 3"),
    ),
    Case("null text in parquet", parquet_with_null_text, ("texts.parquet, row 5", "null text")),
    Case(
        "split larger than data",
        set_key("split", {"seed": 1, "test": 30, "val": 20, "pool": 20}),
        ("config key split", "70 texts", "has 60"),
    ),
    Case(
        "examples outside the pool", examples_from_test, ("config key labelers.llm.examples", "val or test")
    ),
    Case("bad coder label", coder_labels_with_bad_label, ("coders.csv, line 3", "'maybe'")),
]


# ---- round three: the classes of faults a new catalogue found (files as the jobs read them,
# values checked where they are parsed, leakage the check can see) ---------------------------
def use_file(key: str, name: str, content: Callable[[Path], bytes]) -> Callable[[dict, Path], None]:
    """The task's `key` file replaced by `name`, holding `content(root)`."""

    def change(config: dict, root: Path) -> None:
        (root / name).write_bytes(content(root))
        config["tasks"]["t"][key] = str(root / name)

    return change


def csv_bytes(root: Path) -> bytes:
    return (root / "texts.csv").read_bytes()


def binary_text_parquet(config: dict, root: Path) -> None:
    frame = texts(root)
    frame["text"] = frame["text"].map(str.encode)
    frame.to_parquet(root / "texts.parquet")
    config["tasks"]["t"]["texts"] = str(root / "texts.parquet")


def coders(content: str) -> Callable[[dict, Path], None]:
    def change(config: dict, root: Path) -> None:
        (root / "coders.csv").write_text(content)
        config["tasks"]["t"]["coder_labels"] = str(root / "coders.csv")

    return change


def numbered_ids_and_coders_without_zeros(config: dict, root: Path) -> None:
    frame = texts(root)
    frame["id"] = [f"{i:03d}" for i in range(len(frame))]
    frame.to_csv(root / "texts.csv", index=False)
    coders("id,coder,label\n1,c1,neg\n1,c2,neg\n2,c1,pos\n")(config, root)


def corpus(write: Callable[[pd.DataFrame, Path], str]) -> Callable[[dict, Path], None]:
    """A corpus of the texts under new ids, written by `write` (which returns the file name)."""

    def change(config: dict, root: Path) -> None:
        frame = texts(root)[["id", "text"]]
        frame["id"] = "c" + frame["id"]
        config["tasks"]["t"]["corpus"] = {"texts": str(root / write(frame, root))}
        config["corpus"] = {"student": "tfidf", "labeler": "llm"}

    return change


def corpus_latin1(frame: pd.DataFrame, root: Path) -> str:
    frame.loc[3, "text"] = "un café"
    frame.to_csv(root / "corpus.csv", index=False, encoding="latin-1")
    return "corpus.csv"


def corpus_gzip(frame: pd.DataFrame, root: Path) -> str:
    frame.to_csv(root / "corpus.csv.gz", index=False)
    return "corpus.csv.gz"


def corpus_edit(row: int, column: str, value: str) -> Callable[[pd.DataFrame, Path], str]:
    def write(frame: pd.DataFrame, root: Path) -> str:
        frame.loc[row, column] = value
        frame.to_csv(root / "corpus.csv", index=False)
        return "corpus.csv"

    return write


def corpus_parquet_repeated_id(frame: pd.DataFrame, root: Path) -> str:
    frame.loc[7, "id"] = frame.loc[2, "id"]
    frame.to_parquet(root / "corpus.parquet")
    return "corpus.parquet"


def codebook_of_the_texts(config: dict, root: Path) -> None:
    config["tasks"]["t"]["codebook"] = str(root / "texts.csv")


def a_file_as_cache_dir(config: dict, root: Path) -> None:
    (root / "cache").write_text("not a folder")
    config["cache_dir"] = str(root / "cache")


def three_labels(labels: list) -> Callable[[dict, Path], None]:
    def change(config: dict, root: Path) -> None:
        config["tasks"]["t"]["labels"] = labels
        config["tasks"]["t"].pop("positive_label", None) if "Neg" in labels else None

    return change


GPT = {"backend": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1"}
ROUND_THREE = [
    # files read as the jobs read them
    Case(
        "xlsx named .csv",
        write_texts(b"PK\x03\x04" + bytes(200)),
        ("texts.csv", "excel workbook", "csv utf-8"),
    ),
    Case(
        "xlsx file",
        use_file("texts", "texts.xlsx", lambda root: b"PK\x03\x04" + bytes(200)),
        ("texts.xlsx", "excel workbook", "tasks.t.texts"),
    ),
    Case(
        "gzip bytes in a .csv",
        use_file("texts", "data.csv", lambda root: gzip.compress(csv_bytes(root))),
        ("data.csv", "gzip-compressed", "data.csv.gz"),
    ),
    Case(
        "jsonl file",
        use_file(
            "texts", "texts.jsonl", lambda root: texts(root).to_json(orient="records", lines=True).encode()
        ),
        ("texts.jsonl", "json, not csv", "read_json"),
    ),
    Case(
        "json lines named .csv",
        use_file(
            "texts", "lines.csv", lambda root: texts(root).to_json(orient="records", lines=True).encode()
        ),
        ("lines.csv", "json, not csv"),
    ),
    Case(
        "parquet named .csv",
        use_file("texts", "table.csv", lambda root: texts(root).to_parquet()),
        ("table.csv", "a parquet file", "table.parquet"),
    ),
    Case(
        "csv named .parquet",
        use_file("texts", "table.parquet", csv_bytes),
        ("table.parquet", "not a parquet file"),
    ),
    Case("binary text column", binary_text_parquet, ("texts.parquet", "column 'text' holds bytes", "decode")),
    Case(
        "coder ids without leading zeros",
        numbered_ids_and_coders_without_zeros,
        ("coders.csv", "'1'", "leading zeros", "'001'", "tasks.t.coder_labels"),
    ),
    Case(
        "coder ids matching no text",
        coders("id,coder,label\nx1,c1,neg\nx2,c2,pos\n"),
        ("coders.csv", "none of its 2 ids", "tasks.t.coder_labels"),
    ),
    Case(
        "a coder labels a text twice",
        coders("id,coder,label\nt001,c1,neg\nt002,c1,pos\nt001,c1,pos\n"),
        ("coders.csv, line 4", "coder 'c1' labels text 't001' a second time", "line 2"),
    ),
    Case("latin-1 corpus", corpus(corpus_latin1), ("corpus.csv, line 5", "not utf-8 (byte 0xe9)", "iconv")),
    Case("gzip corpus", corpus(corpus_gzip), ("corpus.csv.gz", "compressed corpus", "parquet")),
    Case(
        "repeated corpus id",
        corpus(corpus_edit(5, "id", "ct001")),
        ("corpus.csv, row 6", "duplicate id 'ct001'", "row 2"),
    ),
    Case(
        "repeated id in a parquet corpus",
        corpus(corpus_parquet_repeated_id),
        ("corpus.parquet, row 8", "duplicate id 'ct002'", "row 3"),
    ),
    Case(
        "empty corpus text", corpus(corpus_edit(5, "text", "")), ("corpus.csv, row 6", "empty text", "ct005")
    ),
    Case("empty corpus id", corpus(corpus_edit(4, "id", "")), ("corpus.csv, row 5", "empty id")),
    # leakage the check can see
    Case(
        "codebook holding the texts", codebook_of_the_texts, ("texts.csv", "test texts", "tasks.t.codebook")
    ),
    # values checked where they are parsed
    Case("repeated seeds", set_key("seeds", [1, 1, 2]), ("config key seeds", "repeated")),
    Case("negative seed", set_key("seeds", [-1]), ("config key seeds.0", ">= 0")),
    Case("seed of 2**32", set_key("seeds", [2**32]), ("config key seeds.0", "<= 4294967295")),
    Case("negative split seed", set_key("split.seed", -3), ("config key split.seed", ">= 0")),
    Case("huge split seed", set_key("split.seed", 2**33), ("config key split.seed", "<= 4294967295")),
    Case(
        "negative shots_seed", set_key("labelers.llm.shots_seed", -1), ("labelers.llm.shots_seed", "from 0")
    ),
    Case(
        "repeated shots_seeds",
        set_key("labelers.llm.shots_seeds", [1, 1]),
        ("labelers.llm.shots_seeds", "repeated"),
    ),
    Case(
        "typo inside prices",
        set_key(
            "labelers.gpt",
            {**GPT, "prices": {"gpt-4o-mini": {"input_per_milion": 0.1, "output_per_million": 1}}},
        ),
        ("config key labelers.gpt.prices.gpt-4o-mini.input_per_milion", "did you mean 'input_per_million'"),
    ),
    Case(
        "a price missing",
        set_key("labelers.gpt", {**GPT, "prices": {"gpt-4o-mini": {"input_per_million": 0.1}}}),
        ("config key labelers.gpt.prices.gpt-4o-mini.output_per_million", "required"),
    ),
    Case(
        "a negative price",
        set_key("labelers.gpt", {**GPT, "prices": {"m": {"input_per_million": -1, "output_per_million": 1}}}),
        ("config key labelers.gpt.prices.m.input_per_million", ">= 0"),
    ),
    # what a model's family cannot take (teachers/openai/families.py)
    Case(
        "logprobs from a reasoning model",
        set_key("labelers.gpt", {**GPT, "model": "gpt-5-mini", "mode": "logprobs"}),
        (
            "config key labelers.gpt.mode",
            "gpt-5-mini",
            "gives no logprobs",
            "mode: json_schema",
            "samples: 5",
        ),
    ),
    Case(
        "a temperature gpt-5-mini cannot take",
        set_key("labelers.gpt", {**GPT, "model": "gpt-5-mini", "temperature": 0.0}),
        ("config key labelers.gpt.temperature", "only its default temperature (1)", "remove temperature"),
    ),
    Case(
        "an effort gpt-5.2 refuses",
        set_key("labelers.gpt", {**GPT, "model": "gpt-5.2", "reasoning_effort": "minimal"}),
        ("config key labelers.gpt.reasoning_effort", "'minimal'", "valid: none, low, medium, high, xhigh"),
    ),
    Case(
        "an effort for a chat model",
        set_key("labelers.gpt", {**GPT, "reasoning_effort": "low"}),
        ("config key labelers.gpt.reasoning_effort", "gpt-4o-mini", "takes no reasoning_effort"),
    ),
    Case(
        "typo inside family",
        set_key("labelers.gpt", {**GPT, "family": {"logprob": False}}),
        ("config key labelers.gpt.family.logprob", "did you mean 'logprobs'"),
    ),
    Case(
        "typo inside server",
        set_key("labelers.gpt", {**GPT, "server": {"comand": "x"}}),
        ("config key labelers.gpt.server.comand", "did you mean 'command'"),
    ),
    Case(
        "typo inside engine",
        set_key("labelers.llm", {"backend": "vllm", "model": "m", "engine": {"max_model_length": 2048}}),
        ("config key labelers.llm.engine.max_model_length", "did you mean 'max_model_len'", "EngineArgs"),
    ),
    Case(
        "model inside engine",
        set_key("labelers.llm", {"backend": "vllm", "model": "m", "engine": {"model": "other"}}),
        ("config key labelers.llm.engine.model", "unknown key"),
    ),
    Case(
        "labels as YAML numbers",
        set_key("tasks.t.labels", [0, 1]),
        ("config key tasks.t.labels", "[0, 1]", "quote them"),
    ),
    Case(
        "labels differing in case",
        three_labels(["neg", "pos", "Neg"]),
        ("config key tasks.t.labels", "'neg', 'neg'", "differ only in case"),
    ),
    Case(
        "positive_label with three labels",
        three_labels(["neg", "pos", "mixed"]),
        ("config key tasks.t.positive_label", "needs two labels", "one_vs_rest"),
    ),
    Case("cache_dir a file", a_file_as_cache_dir, ("config key cache_dir", "is a file, not a folder")),
]


# Names that become paths, and secrets that would become params: each is refused at parse, before
# anything is written (a task `..` would write its splits beside results/), by the workflow and by
# `labeldistill check` in the same one line, which never repeats the secret.
SECRET = "sk-test-" + "CATALOGUE-31337"
VALID_NAME = "a name starts with a letter, digit or _"
NAME_CASES = [
    Case("task ..", rename_task(".."), ("config key tasks", "'..'", "not a folder of its own", VALID_NAME)),
    Case("task .", rename_task("."), ("config key tasks", "'.'", "not a folder of its own")),
    Case("task a/b", rename_task("a/b"), ("config key tasks", "'a/b'", "path separator", VALID_NAME)),
    Case("task ../up", rename_task("../up"), ("config key tasks", "'../up'", "path separator")),
    Case("task a\\b", rename_task("a\\b"), ("config key tasks", "path separator")),
    Case("task .hidden", rename_task(".hidden"), ("config key tasks", "'.hidden'", "leading dot")),
    Case("task -x", rename_task("-x"), ("config key tasks", "'-x'", "leading dash")),
    Case("task empty", rename_task(""), ("config key tasks", "''", "empty")),
    Case("task a number", rename_task(2024), ("config key tasks", "2024", "quote it")),
    Case(
        "labeler ../x", rename("labelers", "llm", "../x"), ("config key labelers", "'../x'", "path separator")
    ),
    Case("labeler ..", rename("labelers", "llm", ".."), ("config key labelers", "'..'", "not a folder")),
    Case("labeler .llm", rename("labelers", "llm", ".llm"), ("config key labelers", "'.llm'", "leading dot")),
    Case("labeler with ~", rename("labelers", "llm", "llm~shots1"), ("config key labelers", "holds '~'")),
    Case("labeler human", rename("labelers", "llm", "human"), ("config key labelers", "'human'", "taken by")),
    Case("student ..", rename("students", "tfidf", ".."), ("config key students", "'..'", "not a folder")),
    Case("student a/b", rename("students", "tfidf", "a/b"), ("config key students", "'a/b'", "separator")),
    Case("student -s", rename("students", "bert", "-s"), ("config key students", "'-s'", "leading dash")),
    Case("student @", rename("students", "bert", "be@rt"), ("config key students", "holds '@'")),
    Case("student fewshot", rename("students", "bert", "fewshot"), ("config key students", "taken by")),
    Case(
        "local model named ..",
        set_key("labelers.llm.model", "models/.."),
        ("config key labelers.llm.model", "'..'", "rename the file or folder"),
    ),
    Case(
        "local model with a space",
        set_key("labelers.llm.model", "/models/my model.gguf"),
        ("config key labelers.llm.model", "'my model'", "a space"),
    ),
]
SECRET_CASES = [
    Case(
        "password in base_url",
        set_key(
            "labelers.gpt", {"backend": "openai", "model": "m", "base_url": f"http://me:{SECRET}@x:8/v1"}
        ),
        ("config key labelers.gpt.base_url", "user:password@", "http://x:8/v1", "labelers.gpt.api_key_env"),
    ),
    Case(
        "password in a base_url without scheme",
        set_key("labelers.gpt", {"backend": "openai", "model": "m", "base_url": f"me:{SECRET}@x:8/v1"}),
        ("config key labelers.gpt.base_url", "user:password@"),
    ),
    Case(
        "key in base_url's query",
        set_key(
            "labelers.gpt", {"backend": "openai", "model": "m", "base_url": f"https://x/v1?key={SECRET}"}
        ),
        ("config key labelers.gpt.base_url", "?query", "https://x/v1", "api_key_env"),
    ),
    Case(
        "key on a started server's command line",
        set_key(
            "labelers.gpt",
            {
                "backend": "openai",
                "model": "m",
                "base_url": "http://127.0.0.1:8011/v1",
                "server": {"command": f"vllm serve m --port 8011 --api-key {SECRET}"},
            },
        ),
        ("config key labelers.gpt.server.command", "VLLM_API_KEY", "labelers.gpt.api_key_env"),
    ),
    Case(
        "key as api_key_env",
        set_key("labelers.gpt", {"backend": "openai", "model": "m", "api_key_env": SECRET}),
        ("config key labelers.gpt.api_key_env", "never the key itself"),
    ),
]


def write_case(root: Path, change: Callable[[dict, Path], None] | None) -> Path:
    config = one_task_config(root)
    if change is not None:
        change(config, root)
    (root / "config.yaml").write_text(yaml.safe_dump(copy.deepcopy(config), sort_keys=False))
    return root


def check_here(root: Path, monkeypatch, capsys) -> tuple[int, list[str]]:
    """`labeldistill check` run in this process, in the folder of the run: the workflow's own
    parse-time checks (common.smk calls the same `prepare`) without a Snakemake start-up each."""
    monkeypatch.chdir(root)
    status = cli.main(["check", "--configfile", "config.yaml"])
    return status, capsys.readouterr().err.strip().splitlines()


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


def test_the_valid_base_config_passes(tmp_path, monkeypatch, capsys):
    result = snakemake(write_case(tmp_path, None), "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr[-2000:]
    status, lines = check_here(tmp_path, monkeypatch, capsys)
    assert status == 0 and all(line.startswith("labeldistill: warning: ") for line in lines), lines


def assert_one_line(status: int, lines: list[str], case: Case) -> None:
    assert status == 1, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("labeldistill: ")
    for expected in case.names:
        assert expected.lower() in lines[0].lower(), lines[0]


@pytest.mark.parametrize("case", CASES + ROUND_THREE, ids=[case.name for case in CASES + ROUND_THREE])
def test_a_bad_input_stops_with_one_line(case, tmp_path, monkeypatch, capsys):
    write_case(tmp_path, case.change)
    before = files_under(tmp_path)
    assert_one_line(*check_here(tmp_path, monkeypatch, capsys), case)
    written = {path.relative_to(tmp_path).parts[0] for path in files_under(tmp_path) - before}
    assert "results" not in written, written  # nothing written, so nothing paid


# One case of each class through the real snakemake CLI as well: the same one line, before any
# job is planned. The YAML-typed case is here because Snakemake reads the config file itself.
THROUGH_SNAKEMAKE = {
    "top-level typo",
    "missing API key",
    "latin-1 file",
    "coder ids without leading zeros",
    "repeated corpus id",
    "codebook holding the texts",
    "negative split seed",
    "labels as YAML numbers",
}
BY_NAME = {case.name: case for case in CASES + ROUND_THREE + NAME_CASES + SECRET_CASES}


@pytest.mark.parametrize("name", sorted(THROUGH_SNAKEMAKE))
def test_snakemake_stops_on_the_same_line_before_any_job(name, tmp_path, monkeypatch, capsys):
    case = BY_NAME[name]
    write_case(tmp_path, case.change)
    before = files_under(tmp_path)
    result = snakemake(tmp_path, "-n")
    lines = result.stderr.strip().splitlines()
    assert_one_line(result.returncode, lines, case)
    assert "rule " not in result.stdout  # no job was planned, let alone run
    written = {path.relative_to(tmp_path).parts[0] for path in files_under(tmp_path) - before}
    assert "results" not in written, written
    assert check_here(tmp_path, monkeypatch, capsys) == (1, lines)


def assert_nothing_written_but_logs(tmp_path: Path, root: Path, before: set[Path]) -> None:
    """Only Snakemake's own (empty) log of the attempt: no results/, no file above the run."""
    written = files_under(tmp_path) - before
    assert {path.relative_to(root).parts[:2] for path in written} <= {(".snakemake", "log")}, written
    assert not [path for path in written if path.read_bytes().strip()]


@pytest.mark.parametrize("case", NAME_CASES + SECRET_CASES, ids=[c.name for c in NAME_CASES + SECRET_CASES])
def test_a_name_or_secret_stops_the_check_before_anything_is_written(case, tmp_path, monkeypatch, capsys):
    root = tmp_path / "run"  # a name that climbed out would write into tmp_path
    root.mkdir()
    write_case(root, case.change)
    before = files_under(tmp_path)
    status, lines = check_here(root, monkeypatch, capsys)
    assert_one_line(status, lines, case)
    assert lines[0].startswith("labeldistill: config key "), lines
    assert SECRET not in "\n".join(lines)
    assert_nothing_written_but_logs(tmp_path, root, before)


# A real run, not a dry one (it would write), for one name of each block and every way a secret
# reaches Snakemake's params.
REAL_RUNS = ["task ..", "labeler ../x", "student a/b", "password in base_url", "key as api_key_env"]


@pytest.mark.parametrize("name", REAL_RUNS)
def test_a_name_or_secret_stops_a_real_run_before_anything_is_written(name, tmp_path, monkeypatch, capsys):
    case = BY_NAME[name]
    root = tmp_path / "run"
    root.mkdir()
    write_case(root, case.change)
    before = files_under(tmp_path)
    result = snakemake(root, "--cores", "1")
    lines = result.stderr.strip().splitlines()
    assert_one_line(result.returncode, lines, case)
    assert_nothing_written_but_logs(tmp_path, root, before)
    assert SECRET not in result.stderr + result.stdout
    assert check_here(root, monkeypatch, capsys) == (1, lines)


def check_command(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """`labeldistill check` as a user runs it, in the folder of the run."""
    command = [sys.executable, "-m", "labeldistill.cli", "check", *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300, check=False)


# What Snakemake reads before the workflow's code runs: only `labeldistill check` names the line.
FILE_CASES = [
    (
        "yaml syntax error",
        "tasks:\n  t: {texts: a.csv\nstudents: {}\n",
        ("config.yaml, line 3, column 9", "expected ',' or '}'"),
    ),
    ("tab indentation", "tasks:\n\tt: {}\n", ("config.yaml, line 2", "tabs")),
    ("not a mapping", "- tasks\n", ("config.yaml", "expected keys such as tasks")),
]


@pytest.mark.parametrize("name, content, names", FILE_CASES, ids=[case[0] for case in FILE_CASES])
def test_a_bad_config_file_is_named_with_its_line(name, content, names, tmp_path):
    (tmp_path / "config.yaml").write_text(content)
    result = check_command(tmp_path, "--configfile", "config.yaml")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    for expected in names:
        assert expected.lower() in lines[0].lower(), lines[0]


def test_check_finds_a_missing_config_file_and_agrees_with_the_workflow(tmp_path):
    result = check_command(tmp_path, "--configfile", "nope.yaml")
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "labeldistill: config file nope.yaml: not found (give it with --configfile)"
    )
    write_case(tmp_path, CASES[0].change)  # the top-level typo
    result = check_command(tmp_path, "--configfile", "config.yaml")
    workflow = snakemake(tmp_path, "-n")
    assert result.returncode == 1 and result.stderr.strip() == workflow.stderr.strip()
    write_case(tmp_path, None)
    result = check_command(tmp_path, "--configfile", "config.yaml")
    assert result.returncode == 0 and "ok, the run can start" in result.stdout, result.stderr


def test_the_catalogue_is_long_enough():
    assert len(CASES) >= 30
    assert len(NAME_CASES + SECRET_CASES + ROUND_THREE) >= 40
    every = CASES + NAME_CASES + SECRET_CASES + ROUND_THREE
    assert len({case.name for case in every}) == len(every)
