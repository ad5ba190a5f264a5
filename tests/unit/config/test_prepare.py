"""The config checks, in process (tests/workflow/test_bad_inputs.py runs them through snakemake)."""

import copy

import pandas as pd
import pytest

from labeldistill.config import task_checks
from labeldistill.config.design import StudyDesign
from labeldistill.config.prepare import ConfigProblems, check_config, prepare_config, schema_problems
from labeldistill.errors import LabelDistillError
from labeldistill.students.settings import TransformerSettings, check_student
from labeldistill.teachers.settings import LocalSettings, check_labeler


def config(tmp_path, **overrides):
    texts = tmp_path / "t.csv"
    rows = [f"i{n},text {n},{'a' if n % 2 else 'b'}" for n in range(40)]
    texts.write_text("id,text,label\n" + "\n".join(rows) + "\n")
    codebook = tmp_path / "c.md"
    codebook.write_text("Label a: the first kind; b: the second.")
    base = {
        "tasks": {"t": {"texts": str(texts), "codebook": str(codebook), "labels": ["a", "b"]}},
        "labelers": {"llm": {"backend": "local", "model": "gemma3-270m"}},
        "students": {"s": {"kind": "tfidf-logreg"}},
        "split": {"test": 5, "val": 5, "pool": 10},
        "train_size": 5,
    }
    base.update(overrides)
    return base


def not_thin(warnings):
    """The warnings other than those of a test part too small for a label (a 5-text test part
    always is: tests/unit/test_rare_labels.py checks those)."""
    return [line for line in warnings if "test text" not in line]


def test_a_valid_config_gets_every_default(tmp_path):
    cfg = config(tmp_path)
    assert not_thin(prepare_config(cfg, tmp_path / "checks")) == []
    assert cfg["labelers"]["llm"]["shots"] == LocalSettings.__dataclass_fields__["shots"].default == 16
    assert cfg["labelers"]["llm"]["threads"] == 2 and cfg["labelers"]["llm"]["calibration_texts"] == 128
    assert cfg["students"]["s"]["C"] == "auto" and cfg["students"]["s"]["threads"] == 1
    assert cfg["split"]["seed"] == 20240617 and cfg["evaluation"]["n_boot"] == 1000


def test_schema_problems_are_one_line_each_with_the_nearest_key(tmp_path):
    cfg = config(tmp_path, seed=[1], trian_size=3)
    del cfg["students"]
    cfg["split"]["test"] = "x"
    lines = schema_problems(cfg)
    assert len(lines) == 4 and all("\n" not in line and len(line) < 400 for line in lines)
    assert "config key seed: unknown key; did you mean 'seeds'?" in lines[0] + lines[1] + lines[2] + lines[3]
    assert any(
        line.startswith("config key trian_size: unknown key; did you mean 'train_size'?") for line in lines
    )
    assert any("students is required; for example students:" in line for line in lines)
    assert "config key split.test: 'x' is not of type integer" in lines
    with pytest.raises(ConfigProblems) as raised:
        prepare_config(cfg, tmp_path / "checks")
    assert raised.value.lines == lines


def test_labeler_settings_are_checked_against_their_backend():
    with pytest.raises(
        LabelDistillError, match=r"labelers.llm.temprature: unknown .* did you mean 'temperature'"
    ):
        check_labeler("llm", {"backend": "openai", "model": "m", "temprature": 1})
    with pytest.raises(
        LabelDistillError, match=r"labelers.gpt.calibration_texts: a setting of the local backend"
    ):
        check_labeler("gpt", {"backend": "openai", "model": "m", "calibration_texts": 8})
    with pytest.raises(LabelDistillError, match=r"labelers.gpt.base_url: required with server"):
        check_labeler("gpt", {"backend": "openai", "model": "m", "server": {"command": "x"}})
    with pytest.raises(LabelDistillError, match=r"labelers.v.top_logprobs: 30 is not valid .* from 1 to 20"):
        check_labeler("v", {"backend": "vllm", "model": "m", "top_logprobs": 30})
    assert check_labeler("v", {"backend": "vllm", "model": "m"})["mode"] == "choice"
    assert check_labeler("o", {"backend": "openai", "model": "m"})["mode"] == "text"


def test_student_settings_are_checked_against_their_kind():
    with pytest.raises(LabelDistillError, match=r"students.bert.epoch: unknown .* did you mean 'epochs'"):
        check_student("bert", {"kind": "transformer", "epoch": 2})
    with pytest.raises(LabelDistillError, match=r"students.t.ngram_maks: .* did you mean 'ngram_max'"):
        check_student("t", {"kind": "tfidf-logreg", "ngram_maks": 2})
    with pytest.raises(LabelDistillError, match=r"students.t.C: -1 is not valid .* \"auto\" or a number > 0"):
        check_student("t", {"kind": "tfidf-logreg", "C": -1})
    resolved = check_student("bert", {"kind": "transformer", "epochs": 2})
    assert resolved["epochs"] == 2 and resolved["batch_size"] == TransformerSettings().batch_size


def test_missing_codebook_names_the_key(tmp_path):
    cfg = config(tmp_path)
    cfg["tasks"]["t"]["codebook"] = str(tmp_path / "missing.md")
    with pytest.raises(LabelDistillError, match="config key tasks.t.codebook: file .*missing.md"):
        check_config(cfg)


def test_train_size_cannot_exceed_pool(tmp_path):
    with pytest.raises(LabelDistillError, match="config key train_size"):
        check_config(config(tmp_path, train_size=11))


def test_an_openai_labeler_without_its_key_stops_at_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("LD_UNSET", raising=False)
    labelers = {"gpt": {"backend": "openai", "model": "m", "api_key_env": "LD_UNSET"}}
    with pytest.raises(LabelDistillError, match="labelers.gpt.api_key_env: .* LD_UNSET holds no API key"):
        check_config(config(tmp_path, labelers=labelers))
    monkeypatch.setenv("LD_UNSET", "sk-test")
    check_config(config(tmp_path, labelers=labelers))


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"base_url": "http://me:sk-SECRET@127.0.0.1:9/v1"}, "base_url: a user:password@ part is refused"),
        ({"base_url": "me:sk-SECRET@127.0.0.1:9/v1"}, "base_url: a user:password@ part is refused"),
        ({"base_url": "http://127.0.0.1:9/v1?key=sk-SECRET"}, "base_url: a ?query or #fragment is refused"),
        ({"base_url": "http://127.0.0.1:9/v1#sk-SECRET"}, "base_url: a ?query or #fragment is refused"),
        ({"api_key_env": "sk-SECRET"}, "api_key_env: not the name of an environment variable"),
        (
            {
                "base_url": "http://127.0.0.1:9/v1",
                "server": {"command": ["vllm", "serve", "--api-key=sk-SECRET"]},
            },
            "server.command: a key on the command line is refused",
        ),
    ],
)
def test_a_secret_in_a_labeler_block_is_refused_without_repeating_it(tmp_path, setting, named):
    labelers = {"gpt": {"backend": "openai", "model": "m", **setting}}
    with pytest.raises(ConfigProblems) as raised:
        prepare_config(config(tmp_path, labelers=labelers), tmp_path / "checks")
    assert raised.value.lines[0].startswith(f"config key labelers.gpt.{named}")
    assert len(raised.value.lines) == 1 and "SECRET" not in str(raised.value)
    if "base_url" in setting and "server" not in setting:
        assert "http://127.0.0.1:9/v1" in str(raised.value) or "://" not in setting["base_url"]
        assert "labelers.gpt.api_key_env (OPENAI_API_KEY)" in str(raised.value)


def test_task_checks_are_cached_by_file_state(tmp_path, monkeypatch):
    cfg = config(tmp_path)
    prepare_config(cfg, tmp_path / "checks")
    calls = []
    real = task_checks.check_task
    monkeypatch.setattr(task_checks, "check_task", lambda *a: calls.append(a) or real(*a))
    problems, warnings = task_checks.check_tasks(cfg, StudyDesign.from_config(cfg), tmp_path / "checks")
    assert problems == [] and not_thin(warnings) == []
    assert calls == []  # the file is not read again
    texts = tmp_path / "t.csv"
    texts.write_text(texts.read_text().replace("i3,text 3,a", "i3,text 3,A"))
    problems, _ = task_checks.check_tasks(cfg, StudyDesign.from_config(cfg), tmp_path / "checks")
    assert len(calls) == 1 and "did you mean 'a'?" in problems[0]


def test_a_label_without_texts_is_a_warning(tmp_path):
    cfg = config(tmp_path)
    cfg["tasks"]["t"]["labels"] = ["a", "b", "c"]
    (tmp_path / "c.md").write_text("Label a, b or c.")
    warnings = prepare_config(copy.deepcopy(cfg), tmp_path / "checks")
    assert not_thin(warnings) == [f"tasks.t.labels: label 'c' has no text in {tmp_path / 't.csv'}"]


def test_fixed_examples_must_fall_into_the_pool(tmp_path):
    cfg = config(tmp_path)
    ids = pd.read_csv(tmp_path / "t.csv", dtype=str)["id"].tolist()
    cfg["labelers"]["llm"]["examples"] = ids
    with pytest.raises(ConfigProblems, match=r"labelers.llm.examples: 30 id\(s\) are not in task t's pool"):
        prepare_config(cfg, tmp_path / "checks")


def test_a_parse_builds_the_study_design_once(tmp_path, monkeypatch):
    """prepare builds the design once, hands it to every check (the corpus's and each task's
    among them) and returns it, so that rules/common.smk builds none of its own."""
    from labeldistill.config import prepare as parse
    from labeldistill.config.design import StudyDesign

    corpus = tmp_path / "corpus.csv"
    corpus.write_text("id,text\nc1,more text\n")
    cfg = config(tmp_path, corpus={"student": "s", "labeler": "llm"})
    cfg["tasks"]["t"]["corpus"] = {"texts": str(corpus)}
    cfg["tasks"]["u"] = dict(cfg["tasks"]["t"])  # a second task: the task checks run per task
    built, from_config = [], StudyDesign.from_config.__func__

    def spy(cls, given):
        built.append(given)
        return from_config(cls, given)

    monkeypatch.setattr(StudyDesign, "from_config", classmethod(spy))
    prepared = parse.prepare(cfg, tmp_path / "checks")
    assert len(built) == 1 and not_thin(prepared.warnings) == []
    assert prepared.design == from_config(StudyDesign, cfg)


def test_a_run_without_labelers_and_a_codebook_without_the_labels_are_warnings(tmp_path):
    cfg = config(tmp_path, labelers={})
    cfg["tasks"]["t"]["labels"] = ["a", "b"]
    (tmp_path / "c.md").write_text("Answer with a label. The first kind is 'a'.")
    warnings = not_thin(prepare_config(copy.deepcopy(cfg), tmp_path / "checks"))
    assert warnings[0].startswith("config key labelers: none, so no LLM labels a text")
    assert warnings[1] == (
        f"{tmp_path / 'c.md'}: never names the label(s) 'b'; the prompt lists every label, but the LLM "
        "learns what each means only from the codebook: define each there (config key tasks.t.codebook)"
    )
    assert len(warnings) == 2


def test_a_split_too_large_names_sizes_that_fit_and_the_train_size_they_allow(tmp_path):
    cfg = config(tmp_path, split={"test": 20, "val": 20, "pool": 40}, train_size=30)
    with pytest.raises(ConfigProblems) as caught:
        prepare_config(cfg, tmp_path / "checks")
    assert str(caught.value) == (
        "config key split: test=20 + val=20 + pool=40 need 80 texts but tasks.t.texts has 40; lower "
        "them, for example to test=10, val=10, pool=20 with train_size at most 20 (not 30)"
    )


def test_uncoded_texts_are_checked_at_parse(tmp_path):
    cfg = config(tmp_path)
    cfg["tasks"]["t"]["uncoded"] = {"texts": str(tmp_path / "missing.csv")}
    with pytest.raises(
        LabelDistillError, match=r"config key tasks.t.uncoded.texts: file .*missing.csv not found"
    ):
        check_config(cfg)
    (tmp_path / "u.csv").write_text("id,body\nu1,one\nu2,two\n")
    cfg["tasks"]["t"]["uncoded"] = {"texts": str(tmp_path / "u.csv")}
    with pytest.raises(
        LabelDistillError, match=r"config key tasks.t.uncoded \(id_column, text_column\).*\['text'\]"
    ):
        check_config(cfg)
    (tmp_path / "u.csv").write_text("id,text\nu1,one\nu1,two\n")
    with pytest.raises(LabelDistillError, match="duplicate id 'u1'"):
        check_config(cfg)
    (tmp_path / "u.csv").write_text("id,text\nu1,one\nu2,two\n")
    check_config(cfg)
    with pytest.raises(LabelDistillError, match="config key tasks.t.uncoded: no LLM labeler"):
        check_config({**cfg, "labelers": {}})
