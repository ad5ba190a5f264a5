"""The `local` teacher: a small LLM in-process on the CPU, labelling by scoring every label.

For each text the model reads the few-shot prompt, and the log-probability of each label's
token sequence " <label>" after "Label:" is computed; a softmax over the labels gives the
probabilities and the most probable label is the answer, so it is always one of the label set.

What makes this fast on a CPU (measured in bench/local_labeling_throughput.py):
- The prompt's prefix (codebook + examples) is the same for every text: it is run once and
  its key/value cache is copied for every batch; per text only "Text: ...\\nLabel:" is run.
- Logits are computed only where a label token is scored (one position per text for labels
  whose tokens are single; Gemma's 262k vocabulary makes logits at every position the
  dominant cost otherwise). The body's hidden states are gathered at those positions and only
  they go through the output layer.
- Texts are sorted by length and run in right-padded batches: causal attention means padding
  after a text never changes it, so no attention mask is needed and results do not depend on
  the batch.
A label of several tokens is scored as the sum of its tokens' log-probabilities: each such
label adds a row per text that runs the text followed by the label's leading tokens.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labeldistill.errors import LabelDistillError
from labeldistill.logs import job_name, progress_bar
from labeldistill.teachers.accounting import Usage
from labeldistill.teachers.base import TaskContext, Teacher
from labeldistill.teachers.local.calibration import (
    measure_calibration,
    read_calibration,
    target_prior_setting,
)
from labeldistill.teachers.local.models import read_provenance
from labeldistill.teachers.local.prior import (
    MIN_MEAN,
    Calibration,
    calibrate,
    check_target,
    fit_calibration,
    label_prior,
)
from labeldistill.teachers.prompts.completion import FewShotPrompt, build_prompt
from labeldistill.teachers.prompts.examples import Example, flatten
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.result import TeacherLabel
from labeldistill.teachers.settings import LabelerSettings, LocalSettings

__all__ = ["LocalTeacher", "label_prior"]

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 8


@dataclass
class _Row:
    """One sequence to run: a text's suffix, possibly followed by a label's leading tokens."""

    text: int  # index of the text
    label: int | None  # None: score every label's first token; else this label's later tokens
    ids: list[int]
    positions: list[int]  # where (in ids) the scored logits are read
    targets: list[list[int]]  # per position, the token ids whose log-probability is wanted


class LocalTeacher(Teacher):
    """Label texts with a converted local model folder (see `prepare_local_model`); `for_labeler`
    makes one as a labeler's settings ask for it.

    Parameters
    ----------
    model_dir: a transformers folder (model + tokenizer), loaded in float32 on the CPU.
    labels: the label set; probabilities are returned in this order.
    prompt: the few-shot prompt; its prefix is shared by every text.
    threads: torch CPU threads (with shared cores also set OMP_WAIT_POLICY=PASSIVE in the
        environment before torch starts).
    reuse_prefix: run the prefix once and reuse its key/value cache (the fast way); False
        recomputes the whole prompt for every text (still scoring only the needed positions)
        and gives the same probabilities up to float rounding.
    model_name: for provenance; defaults to the name recorded in the folder, or its name.
    max_text_tokens: a text longer than this many tokens is truncated to its first
        `max_text_tokens` tokens before it goes into the prompt (the number of truncated texts
        is logged, and kept in `truncated` for the usage record).
    batch_size: sequences run together in one forward pass (results do not depend on it).
    calibration_texts: unlabelled texts of the task (not the ones to label; 16 to 32 are
        enough). The model's mean probability per label over them mixes a bias of the prompt
        (small models lean hard towards one label, often the last example's) with the labels'
        prevalence; every text's probabilities are divided by that mean, multiplied by
        `calibration_prior` and renormalised (`labeldistill.teachers.local.prior.calibrate`). Leave out
        for the raw probabilities.
    calibration_prior: the label prior calibration aims at. "uniform": 1/K each, batch
        calibration (Zhou et al., ICLR 2024), which pulls every label's predicted share towards
        1/K; a list aligned with `labels`, e.g. `label_prior` of the few-shot examples' labels;
        "em": an EM estimate on the calibration texts (it comes out as their raw mean
        prediction, i.e. no correction; see `labeldistill.teachers.local.prior`).
    calibration: a calibration measured before for this prompt (`calibration.fit_calibration`
        of `raw_probabilities` of the calibration texts); replaces `calibration_texts`.
    labeler, task: for the usage record.
    """

    backend = "local"

    def __init__(
        self,
        model_dir: Path,
        labels: Sequence[str],
        prompt: FewShotPrompt,
        threads: int = 1,
        reuse_prefix: bool = True,
        model_name: str | None = None,
        max_text_tokens: int = LabelerSettings.max_text_tokens,
        batch_size: int = DEFAULT_BATCH_SIZE,
        calibration_texts: Sequence[str] | None = None,
        calibration_prior: str | Sequence[float] = "uniform",
        calibration: Calibration | None = None,
        labeler: str = "local",
        task: str = "",
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise LabelDistillError(
                f"{model_dir}: not a converted local model folder (no config.json); "
                "create it with labeldistill.stages.prepare_model"
            )
        self.labels = [str(label) for label in labels]
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise LabelDistillError(f"labels must be a non-empty list of distinct strings: {labels}")
        self.calibration_prior = check_target(calibration_prior, self.labels)
        if max_text_tokens < 1 or batch_size < 1:
            raise LabelDistillError(
                f"max_text_tokens and batch_size must be >= 1, got {max_text_tokens}, {batch_size}"
            )
        self.prompt = prompt
        self.reuse_prefix = reuse_prefix
        self.max_text_tokens = max_text_tokens
        self.truncated = 0  # texts cut to max_text_tokens in the last label or raw_probabilities call
        self.batch_size = batch_size
        self.threads = max(1, int(threads))
        provenance = read_provenance(model_dir)
        self.model_name = model_name or provenance.get("model") or model_dir.name
        self.fingerprint = provenance.get("gguf_sha256")
        self.labeler = labeler
        self.usage = Usage(labeler=labeler, task=task, model=self.model_name)

        torch.set_num_threads(self.threads)
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        self.model.eval()
        self._body = self.model.base_model
        # transformers renamed `past_key_values` to `cache` in 5.2x; accept either.
        params = inspect.signature(self._body.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._pad_id = self.tokenizer.pad_token_id or 0

        # Prefix and suffix are tokenised separately and their ids concatenated, in both the
        # reuse and the no-reuse path, so that both see exactly the same token sequence.
        self._prefix_ids = self._ids(prompt.prefix, special=True)
        self._label_ids = [self._ids(" " + label) for label in self.labels]
        if any(not ids for ids in self._label_ids):
            raise LabelDistillError(f"a label tokenises to nothing: {self.labels}")
        if len({tuple(ids) for ids in self._label_ids}) != len(self._label_ids):
            raise LabelDistillError(f"two labels tokenise to the same tokens: {self.labels}")
        self._first_ids = [ids[0] for ids in self._label_ids]
        self._multi = [i for i, ids in enumerate(self._label_ids) if len(ids) > 1]
        self._prefix_cache = self._check_head_and_prefix()
        self.mean_prediction: np.ndarray | None = None  # over the calibration texts
        self.target_prior: np.ndarray | None = None
        self.decision_offsets = np.zeros(len(self.labels))
        self.calibration_method = "none"
        self.calibration_size = 0
        self.calibration: Calibration | None = None  # in use, for the calibration record
        if calibration is not None:
            self.use_calibration(calibration)
        elif calibration_texts:
            self._calibrate(list(calibration_texts))

    @property
    def prior(self) -> np.ndarray | None:
        """The mean prediction over the calibration texts (the name older callers use)."""
        return self.mean_prediction

    def _calibrate(self, texts: list[str]) -> None:
        probabilities, _ = self._probabilities(texts, progress=False)
        try:
            found = fit_calibration(probabilities, self.calibration_prior)
        except LabelDistillError:
            raise LabelDistillError("the local model failed on every calibration text") from None
        self.use_calibration(found)

    def use_calibration(self, calibration: Calibration) -> None:
        """Apply a calibration measured before (by `_calibrate` here, or by the calibrate stage)."""
        if len(calibration.mean_prediction) != len(self.labels):
            raise LabelDistillError(
                f"a calibration of {len(calibration.mean_prediction)} labels for {len(self.labels)} labels"
            )
        self.calibration = calibration
        self.mean_prediction = np.array(calibration.mean_prediction)
        self.target_prior = np.array(calibration.target_prior)
        self.decision_offsets = np.array(calibration.decision_offsets)
        self.calibration_method = calibration.method
        self.calibration_size = calibration.n_texts

        def shares(values):
            return ", ".join(f"{label} {p:.3f}" for label, p in zip(self.labels, values, strict=True))

        log.info(
            "calibration over %d texts: mean prediction %s; target prior (%s) %s",
            self.calibration_size,
            shares(self.mean_prediction),
            self.calibration_method,
            shares(self.target_prior),
        )

    def raw_probabilities(self, texts: Sequence[str], progress: bool = True) -> np.ndarray:
        """Uncalibrated label probabilities (texts x labels; NaN rows where the model failed)."""
        return self._probabilities([str(text) for text in texts], progress)[0]

    # -- model pieces --------------------------------------------------------------------

    def _ids(self, text: str, special: bool = False) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def _run_body(self, ids, cache, use_cache: bool):
        out = self._body(input_ids=ids, use_cache=use_cache, **{self._cache_arg: cache})
        return out.last_hidden_state, getattr(out, self._cache_arg)

    def _head(self, hidden):
        """The output layer on gathered hidden states (with Gemma-style soft-capping)."""
        logits = self.model.get_output_embeddings()(hidden)
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = self._torch.tanh(logits / cap) * cap
        return logits.float().log_softmax(-1)

    def _check_head_and_prefix(self):
        """Check that `_head` reproduces the model's own logits; run the prefix once if reused."""
        torch = self._torch
        probe = torch.tensor([self._prefix_ids[:16]])
        with torch.inference_mode():
            expected = self.model(input_ids=probe, logits_to_keep=1).logits[0, -1]
            hidden, _ = self._run_body(probe, None, use_cache=False)
            got = self._head(hidden[0, -1:])[0]
            if not torch.allclose(got, expected.float().log_softmax(-1), atol=1e-3):
                raise LabelDistillError(
                    f"local model {self.model_name!r} ({type(self.model).__name__}): its output "
                    "layer is not a plain projection; the local teacher does not support it"
                )
            if not self.reuse_prefix:
                return None
            _, cache = self._run_body(torch.tensor([self._prefix_ids]), None, use_cache=True)
        return cache

    # -- rows ----------------------------------------------------------------------------

    def _suffix_ids(self, text: str) -> tuple[list[int], bool]:
        """Token ids of the per-text part, the text cut to max_text_tokens; and whether it was cut."""
        text = flatten(text)
        text_ids = self._ids(text)
        truncated = len(text_ids) > self.max_text_tokens
        if truncated:
            text = self.tokenizer.decode(text_ids[: self.max_text_tokens])
        return self._ids(self.prompt.suffix(text)), truncated

    def _rows(self, index: int, suffix: list[int]) -> list[_Row]:
        rows = [_Row(index, None, suffix, [len(suffix) - 1], [self._first_ids])]
        for i in self._multi:
            rest = self._label_ids[i]
            # suffix + label[:-1]; the logits at label token j - 1 score label token j.
            positions = [len(suffix) + j - 1 for j in range(1, len(rest))]
            rows.append(_Row(index, i, suffix + rest[:-1], positions, [[token] for token in rest[1:]]))
        return rows

    def _score_rows(self, rows: list[_Row]) -> list[list[np.ndarray]]:
        """Log-probabilities of every row's targets, computed in one right-padded batch."""
        torch = self._torch
        if self.reuse_prefix:
            sequences = [row.ids for row in rows]
            offset = 0
            cache = copy.deepcopy(self._prefix_cache)  # a forward extends the cache it is given
            if len(rows) > 1:
                cache.batch_repeat_interleave(len(rows))
        else:
            sequences = [self._prefix_ids + row.ids for row in rows]
            offset = len(self._prefix_ids)
            cache = None
        width = max(len(sequence) for sequence in sequences)
        ids = torch.tensor([s + [self._pad_id] * (width - len(s)) for s in sequences])
        hidden, _ = self._run_body(ids, cache, use_cache=self.reuse_prefix)
        batch = torch.tensor([b for b, row in enumerate(rows) for _ in row.positions])
        where = torch.tensor([offset + p for row in rows for p in row.positions])
        logp = self._head(hidden[batch, where])
        out, k = [], 0
        for row in rows:
            values = []
            for targets in row.targets:
                values.append(logp[k, targets].double().numpy())
                k += 1
            out.append(values)
        return out

    # -- labelling -----------------------------------------------------------------------

    @property
    def provenance(self) -> dict:
        return {
            "backend": self.backend,
            "model": self.model_name,
            "fingerprint": self.fingerprint,
            "prompt_hash": self.prompt.hash,
            "prefix_tokens": len(self._prefix_ids),
            "max_text_tokens": self.max_text_tokens,
            "calibration_texts": self.calibration_size,
            "calibration_method": self.calibration_method,
            "calibration_prior": _floats(self.target_prior),
            "calibration_mean": _floats(self.mean_prediction),
            "decision_offsets": _floats(self.decision_offsets),
        }

    def _score_texts(self, indices: list[int], suffixes: list[list[int]]) -> np.ndarray:
        rows = [row for i in indices for row in self._rows(i, suffixes[i])]
        scores = {i: np.zeros(len(self.labels)) for i in indices}
        for row, values in zip(rows, self._score_rows(rows), strict=True):
            if row.label is None:
                scores[row.text] += values[0]
            else:
                scores[row.text][row.label] += float(sum(v[0] for v in values))
        return np.stack([scores[i] for i in indices])

    def _scores_chunk(self, chunk: list[int], suffixes: list[list[int]]) -> tuple[np.ndarray, dict]:
        """Label log-probabilities per text of the chunk (NaN rows for failures) and the errors."""
        try:
            return self._score_texts(chunk, suffixes), {}
        except RuntimeError as err:  # a torch failure (memory): try the texts one by one
            if len(chunk) == 1:
                log.warning("local teacher failed on text %d: %s", chunk[0], err)
                return np.full((1, len(self.labels)), np.nan), {chunk[0]: f"local model failed: {err}"}
        parts = [self._scores_chunk([i], suffixes) for i in chunk]
        return np.concatenate([p for p, _ in parts]), {i: e for _, errs in parts for i, e in errs.items()}

    def _probabilities(
        self, texts: Sequence[str], progress: bool, desc: str | None = None
    ) -> tuple[np.ndarray, dict]:
        """Uncalibrated probabilities (texts x labels; NaN rows for failures) and errors by index;
        the bar is named `desc`, else by the job, else by the task and labeler."""
        encoded = [self._suffix_ids(text) for text in texts]
        suffixes = [ids for ids, _ in encoded]
        truncated = sum(cut for _, cut in encoded)
        self.truncated = truncated
        if truncated:
            log.info("%d of %d texts truncated to %d tokens", truncated, len(texts), self.max_text_tokens)
        scores = np.full((len(texts), len(self.labels)), np.nan)
        errors: dict[int, str] = {}
        # Longest first (memory trouble shows at once), similar lengths together (less padding).
        order = sorted(range(len(texts)), key=lambda i: -len(suffixes[i]))
        per_batch = max(1, self.batch_size // (1 + len(self._multi)))
        desc = desc or job_name() or f"{self.usage.task} {self.labeler}".strip()
        bar = progress_bar(total=len(texts), disable=not progress, desc=desc, unit="text", leave=True)
        with self._torch.inference_mode():
            for start in range(0, len(order), per_batch):
                chunk = order[start : start + per_batch]
                chunk_scores, chunk_errors = self._scores_chunk(chunk, suffixes)
                scores[chunk] = chunk_scores
                errors.update(chunk_errors)
                bar.update(len(chunk))
        bar.close()
        probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
        return probabilities / probabilities.sum(axis=1, keepdims=True), errors

    def label(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None = None,
        progress: bool = True,
        desc: str | None = None,
    ) -> list[TeacherLabel]:
        """One result per text, in order; the label is always one of the label set.

        With calibration texts the probabilities are divided by the mean prediction, multiplied
        by the target prior and renormalised; with a target other than uniform the label is
        argmax(log p + decision offsets), the offsets chosen so that the calibration texts'
        labels come out in the target's shares (`calibration.prior_matching_offsets`), else the
        most probable label. A text the model fails on (a torch error) gets label None and the
        error. `desc` names the progress bar ("tweets_negative/val gemma").
        """
        texts = [str(text) for text in texts]
        probabilities, errors = self._probabilities(texts, progress, desc)
        if self.mean_prediction is not None and len(texts):
            probabilities = calibrate(probabilities, self.mean_prediction, self.target_prior)
        named = {"model": self.model_name, "prompt_hash": self.prompt.hash}
        results = []
        for i, row in enumerate(probabilities):
            failed = i in errors
            label = (
                None
                if failed
                else self.labels[int(np.argmax(np.log(np.clip(row, MIN_MEAN, None)) + self.decision_offsets))]
            )
            results.append(
                TeacherLabel(
                    label=label,
                    probabilities=[] if failed else [float(p) for p in row],
                    error=errors.get(i),
                    id=None if ids is None else str(ids[i]),
                    provenance=dict(named),
                )
            )
        self.usage = Usage(
            labeler=self.labeler,
            task=self.usage.task,
            model=self.model_name,
            texts=len(results),
            failed_texts=len(errors),
            truncated_texts=self.truncated,
        )
        return results

    @classmethod
    def for_labeler(
        cls,
        labeler: str,
        settings: LocalSettings,
        task: TaskContext,
        model_dir: Path,
        threads: int = 1,
        calibration_path: Path | None = None,
        examples: Sequence[Example] | None = None,
    ) -> LocalTeacher:
        """The teacher of a `local` labeler: its prompt from the codebook and its few-shot
        examples (`examples` replaces them: the codebook check reorders them), calibrated as
        recorded at `calibration_path` or else on its calibration texts in the pool."""
        labels = [str(label) for label in task.labels]
        if examples is None:
            examples = few_shot_examples(task.pool, settings, labeler)
        prompt = build_prompt(task.codebook, labels, examples)
        measured = (
            None if calibration_path is None else read_calibration(calibration_path, prompt.hash, labels)
        )
        teacher = cls(
            model_dir,
            labels,
            prompt,
            threads=threads,
            model_name=settings.model,
            max_text_tokens=settings.max_text_tokens,
            calibration_prior=target_prior_setting(settings, examples, labels),
            calibration=measured,
            labeler=labeler,
            task=task.name,
        )
        if measured is None:
            calibration = measure_calibration(teacher, task.pool, examples, labels, settings)
            if calibration is not None:
                teacher.use_calibration(calibration)
        log.info(
            "%s: %d examples, %d calibration texts, prompt %s",
            labeler,
            len(examples),
            teacher.calibration_size,
            prompt.hash,
        )
        return teacher


def _floats(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else [float(v) for v in values]
