"""The interface every student follows, and the checks of its settings.

A student is a scikit-learn-like classifier over texts: `fit` on texts and labels (optionally
with a validation part for early stopping, optionally with soft targets, optionally with one
weight per text), `predict_proba`
with one column per label in the order of `labels`, `predict`, and `save` to a folder that
`labeldistill.students.load_student` reads back. The folder holds `student.json` (kind,
settings, labels, seed, what fitting found) beside the model files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from labeldistill.declare import parse
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)

STUDENT_FILE = "student.json"


class Student(ABC):
    """Base class: settings (the kind's settings object), label bookkeeping, `predict`, `save`."""

    kind: ClassVar[str]
    # The kind's settings with their defaults and checks (declared in students/settings.py).
    settings_type: ClassVar[type]

    def __init__(
        self,
        settings: Any,
        labels: Sequence[str],
        seed: int,
        threads: int = 1,
        config_key: str = "student",
    ) -> None:
        self.config_key = config_key
        if not isinstance(settings, self.settings_type):
            raise LabelDistillError(
                f"{config_key}: a {self.kind!r} student takes {self.settings_type.__name__} "
                f"(students.settings.parse_student), not {type(settings).__name__}"
            )
        self.settings = settings
        self.labels = [str(label) for label in labels]
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise LabelDistillError(
                f"{config_key}: a student needs at least two distinct labels, got {self.labels}"
            )
        self.seed = int(seed)
        self.threads = max(1, int(threads))
        self.fit_info: dict[str, Any] = {}

    # -- settings ---------------------------------------------------------------------------
    @classmethod
    def saved_settings(cls, settings: Mapping, directory: Path) -> Any:
        """The settings a saved student.json holds, as the kind's settings object, checked
        (a setting added since the student was saved takes its default)."""
        where = str(Path(directory) / STUDENT_FILE)
        return parse(cls.settings_type, settings, f"{where}: settings", f"a {cls.kind!r} student")

    # -- label bookkeeping ------------------------------------------------------------------
    def label_indices(self, labels: Sequence[str], what: str = "training labels") -> np.ndarray:
        """Map label strings to column indices; a label outside the label set raises."""
        index = {label: i for i, label in enumerate(self.labels)}
        out = np.empty(len(labels), dtype=np.int64)
        for row, label in enumerate(labels):
            if label not in index:
                raise LabelDistillError(
                    f"{what}, row {row}: label {label!r} is not one of the task's labels {self.labels}"
                )
            out[row] = index[label]
        return out

    def check_fit_inputs(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        soft_targets: np.ndarray | None,
        sample_weight: np.ndarray | None = None,
    ) -> tuple[list[str], np.ndarray, np.ndarray | None, np.ndarray]:
        """Texts, label indices, soft targets (or None) and weights that the kinds train on.

        Texts of weight zero are dropped here, so that a zero weight is the same as leaving the
        text out (its terms do not enter the tf-idf vocabulary either). The other weights are
        relative: they are divided by their mean, so scaling them all changes nothing (the
        logistic regression's penalty would otherwise shrink with their sum). No weights: ones.
        """
        texts = [str(text) for text in texts]
        if len(texts) != len(labels):
            raise LabelDistillError(f"{len(texts)} training texts but {len(labels)} labels")
        if not texts:
            raise LabelDistillError("no training texts: every label is missing or failed")
        y = self.label_indices(labels)
        targets = None
        if getattr(self.settings, "targets", "hard") == "soft":  # setfit learns hard labels only
            targets = self.soft_target_matrix(y, soft_targets)
        weights = self.check_sample_weight(sample_weight, len(texts))
        kept = weights > 0
        if not kept.all():
            log.info("%d of %d training texts have weight 0: left out", int((~kept).sum()), len(texts))
            texts = [text for text, keep in zip(texts, kept, strict=True) if keep]
            y, weights = y[kept], weights[kept]
            targets = None if targets is None else targets[kept]
        weights = weights / weights.mean()
        present = Counter(self.labels[i] for i in y)
        if len(present) < 2:
            log.warning(
                "training labels hold one class only (%s): the student will always predict it",
                next(iter(present)),
            )
        self.fit_info["n_train"] = len(texts)
        self.fit_info["train_label_counts"] = {label: present.get(label, 0) for label in self.labels}
        if sample_weight is not None:
            self.fit_info["sample_weight"] = {
                "n_zero": int((~kept).sum()),
                "min": float(np.min(sample_weight)),
                "mean": float(np.mean(sample_weight)),
                "max": float(np.max(sample_weight)),
            }
        return texts, y, targets, weights

    @staticmethod
    def check_sample_weight(sample_weight: np.ndarray | None, n: int) -> np.ndarray:
        """One finite weight >= 0 per training text, not all zero; None: all ones."""
        if sample_weight is None:
            return np.ones(n, dtype=np.float64)
        try:
            weights = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise LabelDistillError(f"sample_weight: not an array of numbers ({err})") from err
        if weights.shape != (n,):
            raise LabelDistillError(
                f"sample_weight has shape {weights.shape}, expected ({n},): one weight per training text"
            )
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            raise LabelDistillError(
                f"sample_weight, row {bad[0]}: {float(weights[bad[0]])} is not valid "
                "(expected a finite number >= 0)"
            )
        if not (weights > 0).any():
            raise LabelDistillError("sample_weight: every weight is 0 (expected at least one > 0)")
        return weights

    @staticmethod
    def validation_scores(proba: np.ndarray, val_y: np.ndarray) -> dict[str, float]:
        """Loss (mean negative log probability of the validation label) and macro-F1 of the
        most probable label, as a student's fit records them."""
        from sklearn.metrics import f1_score  # here, not at the top: the workflow's parse imports this module

        return {
            "val_loss": float(-np.log(np.clip(proba[np.arange(len(val_y)), val_y], 1e-12, None)).mean()),
            "val_macro_f1": float(f1_score(val_y, proba.argmax(axis=1), average="macro", zero_division=0)),
        }

    def balanced_label_weights(self, y: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
        """One weight per label, inverse to its frequency with each text counted by its sample
        weight (scikit-learn's "balanced"); 1 for a label absent from `y`."""
        counts = np.bincount(y, weights=sample_weight, minlength=len(self.labels))
        present = counts > 0
        weights = np.ones(len(self.labels))
        weights[present] = sample_weight.sum() / (present.sum() * counts[present])
        return weights

    def soft_target_matrix(self, y: np.ndarray, soft_targets: np.ndarray | None) -> np.ndarray:
        """Rows of label probabilities; missing rows (NaN or no matrix) become one-hot."""
        one_hot = np.eye(len(self.labels))[y]
        if soft_targets is None:
            log.warning("targets: soft, but no label probabilities given: using the hard labels")
            return one_hot
        targets = np.asarray(soft_targets, dtype=np.float64)
        if targets.shape != one_hot.shape:
            raise LabelDistillError(
                f"soft targets have shape {targets.shape}, expected {one_hot.shape} "
                f"(one column per label {self.labels})"
            )
        missing = ~np.isfinite(targets).all(axis=1) | (targets.sum(axis=1) <= 0)
        targets = np.where(missing[:, None], one_hot, np.clip(targets, 0, None))
        return targets / targets.sum(axis=1, keepdims=True)

    # -- the estimator interface ------------------------------------------------------------
    @abstractmethod
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[str] | None = None,
        soft_targets: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> Student:
        """Fit on texts and their labels; the validation part (if any) picks the best epoch.

        `soft_targets`: an (n, len(labels)) array of label probabilities, used with
        `targets: soft`. `sample_weight`: one weight >= 0 per text (relative; 0 leaves the
        text out), e.g. the labeler's label consistency.
        """

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, len(labels)) array of probabilities, columns in the order of `labels`."""

    def predict(self, texts: Sequence[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.labels[i] for i in proba.argmax(axis=1)] if len(proba) else []

    # -- persistence ------------------------------------------------------------------------
    @abstractmethod
    def save_model(self, directory: Path) -> dict[str, Any]:
        """Write the model files into `directory`; return extra fields for student.json."""

    @classmethod
    @abstractmethod
    def load_model(cls, directory: Path, meta: dict[str, Any], threads: int = 1) -> Student:
        """Rebuild a fitted student from `directory` and its student.json."""

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        extra = self.save_model(directory)
        meta = {
            "kind": self.kind,
            "settings": dataclasses.asdict(self.settings),
            "labels": self.labels,
            "seed": self.seed,
            "fit": self.fit_info,
            **extra,
        }
        (directory / STUDENT_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(labels={self.labels}, seed={self.seed}, {self.settings})"
