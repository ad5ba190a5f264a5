"""The `tfidf-logreg` student: word n-gram TF-IDF features and a logistic regression.

Seconds on a CPU, and a baseline every reader of computational social science knows. With
`targets: soft` each text is repeated once per label, weighted by the teacher's probability
of that label (the soft-label cross-entropy of a logistic regression).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from labeldistill.errors import LabelDistillError
from labeldistill.students.base import (
    TARGETS,
    Student,
    boolean,
    one_of,
    optional,
    positive_int,
    positive_number,
)

log = logging.getLogger(__name__)

MODEL_FILE = "model.joblib"


class TfidfLogRegStudent(Student):
    kind = "tfidf-logreg"
    defaults = {
        "C": 1.0,  # inverse regularisation strength
        "ngram_max": 2,  # word n-grams 1..ngram_max
        "min_df": 1,  # drop terms in fewer texts than this
        "max_features": None,  # keep at most this many terms (by frequency); null: all
        "sublinear_tf": True,  # 1 + log(tf)
        "class_weight": "balanced",  # "balanced" or null
        "max_iter": 1000,
        "targets": "hard",  # "hard": the labeler's label; "soft": its probabilities
    }
    checks = {
        "C": positive_number,
        "ngram_max": positive_int,
        "min_df": positive_int,
        "max_features": optional(positive_int),
        "sublinear_tf": boolean,
        "class_weight": optional(one_of("balanced")),
        "max_iter": positive_int,
        "targets": one_of(*TARGETS),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipeline: Pipeline | None = None
        self.constant: int | None = None  # the one class seen in training, if only one

    def _pipeline(self) -> Pipeline:
        s = self.settings
        return Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(
                        ngram_range=(1, int(s["ngram_max"])),
                        min_df=int(s["min_df"]),
                        max_features=s["max_features"],
                        sublinear_tf=bool(s["sublinear_tf"]),
                    ),
                ),
                (
                    "logreg",
                    LogisticRegression(
                        C=float(s["C"]),
                        class_weight=s["class_weight"],
                        max_iter=int(s["max_iter"]),
                        random_state=self.seed,
                    ),
                ),
            ]
        )

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[str] | None = None,
        soft_targets: np.ndarray | None = None,
    ) -> TfidfLogRegStudent:
        texts, y, targets = self.check_fit_inputs(texts, labels, soft_targets)
        self.pipeline, self.constant = None, None
        if targets is not None:
            # One row per (text, label) with weight = probability; zero weights dropped.
            rows, cols = np.nonzero(targets > 0)
            fit_texts = [texts[i] for i in rows]
            fit_y, weights = cols, targets[rows, cols]
        else:
            fit_texts, fit_y, weights = texts, y, None
        classes = np.unique(fit_y)
        if len(classes) < 2:
            self.constant = int(classes[0])
        else:
            self.pipeline = self._pipeline()
            try:
                self.pipeline.fit(fit_texts, fit_y, logreg__sample_weight=weights)
            except ValueError as err:  # e.g. min_df removes every term
                raise LabelDistillError(
                    f"tfidf-logreg could not be fitted on {len(texts)} texts: {err} "
                    f"(settings {self.settings})"
                ) from err
            self.fit_info["n_features"] = len(self.pipeline.named_steps["tfidf"].vocabulary_)
        if val_texts is not None and val_labels is not None and len(val_texts):
            val_y = self.label_indices(val_labels, "validation labels")
            val_pred = self.predict_proba(val_texts).argmax(axis=1)
            self.fit_info["val_accuracy"] = float((val_pred == val_y).mean())
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(text) for text in texts]
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        if self.constant is not None:
            out[:, self.constant] = 1.0
            return out
        if self.pipeline is None:
            raise LabelDistillError("this tfidf-logreg student has not been fitted")
        if texts:
            classes = self.pipeline.named_steps["logreg"].classes_
            out[:, classes] = self.pipeline.predict_proba(texts)
        return out

    def save_model(self, directory: Path) -> dict[str, Any]:
        joblib.dump({"pipeline": self.pipeline, "constant": self.constant}, directory / MODEL_FILE)
        return {"model_file": MODEL_FILE, "sklearn_version": sklearn.__version__}

    @classmethod
    def load_model(cls, directory: Path, meta: dict[str, Any], threads: int = 1) -> TfidfLogRegStudent:
        student = cls(meta["settings"], meta["labels"], meta["seed"], threads)
        if meta.get("sklearn_version") not in (None, sklearn.__version__):
            log.warning(
                "%s was saved with scikit-learn %s, loading with %s",
                directory,
                meta["sklearn_version"],
                sklearn.__version__,
            )
        stored = joblib.load(directory / meta.get("model_file", MODEL_FILE))
        student.pipeline, student.constant = stored["pipeline"], stored["constant"]
        student.fit_info = meta.get("fit", {})
        return student
