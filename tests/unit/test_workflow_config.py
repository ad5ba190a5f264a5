import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.workflow_config import check_config


def config(tmp_path, **overrides):
    texts = tmp_path / "t.csv"
    texts.write_text("id,text,label\n")
    codebook = tmp_path / "c.md"
    codebook.write_text("cb")
    base = {
        "tasks": {"t": {"texts": str(texts), "codebook": str(codebook), "labels": ["a", "b"]}},
        "labelers": {"llm": {"backend": "local", "model": "gemma3-270m"}},
        "split": {"pool": 10},
        "train_size": 5,
    }
    base.update(overrides)
    return base


def test_valid_config_passes(tmp_path):
    check_config(config(tmp_path))


def test_missing_codebook_names_the_key(tmp_path):
    cfg = config(tmp_path)
    cfg["tasks"]["t"]["codebook"] = str(tmp_path / "missing.md")
    with pytest.raises(LabelDistillError, match="config key tasks.t.codebook: file .*missing.md"):
        check_config(cfg)


def test_unknown_labeler_setting_is_named(tmp_path):
    cfg = config(tmp_path, labelers={"llm": {"backend": "local", "model": "m", "temprature": 1}})
    with pytest.raises(LabelDistillError, match=r"labelers.llm: unknown setting\(s\) \['temprature'\]"):
        check_config(cfg)


def test_train_size_cannot_exceed_pool(tmp_path):
    with pytest.raises(LabelDistillError, match="config key train_size"):
        check_config(config(tmp_path, train_size=11))


def test_a_key_of_another_backend_is_named_with_the_backend(tmp_path):
    cfg = config(tmp_path, labelers={"gpt": {"backend": "openai", "model": "m", "calibration_texts": 8}})
    with pytest.raises(
        LabelDistillError, match=r"labelers.gpt: .*\['calibration_texts'\] for the openai backend"
    ):
        check_config(cfg)
    check_config(config(tmp_path, labelers={"gpt": {"backend": "openai", "model": "m", "samples": 3}}))


def test_a_managed_server_needs_its_base_url(tmp_path):
    cfg = config(tmp_path, labelers={"gpt": {"backend": "openai", "model": "m", "server": {"command": "x"}}})
    with pytest.raises(LabelDistillError, match=r"labelers.gpt.base_url: required with server"):
        check_config(cfg)
