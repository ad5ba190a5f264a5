"""Students: small supervised classifiers trained on a labeler's labels.

    student = make_student({"kind": "tfidf-logreg", "C": 1.0}, labels=["neg", "pos"], seed=1)
    student.fit(texts, labels, val_texts, val_labels).save(folder)
    load_student(folder).predict_proba(more_texts)   # (n, 2), columns in label order

Each kind lives in its own module behind the `Student` interface of `base`; the modules are
imported only when a student of that kind is made (torch is not loaded for tfidf-logreg).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from labeldistill.errors import LabelDistillError
from labeldistill.students.base import STUDENT_FILE, Student
from labeldistill.students.settings import STUDENT_KINDS, parse_student

__all__ = ["STUDENT_KINDS", "Student", "load_student", "make_student", "saved_student", "student_class"]


def student_class(kind: str, config_key: str = "student") -> type[Student]:
    """The class that implements a student kind."""
    if kind == "tfidf-logreg":
        from labeldistill.students.tfidf_logreg import TfidfLogRegStudent

        return TfidfLogRegStudent
    if kind == "transformer":
        from labeldistill.students.transformer import TransformerStudent

        return TransformerStudent
    if kind == "setfit":
        try:
            from labeldistill.students.setfit_student import SetFitStudent
        except ImportError as err:
            raise LabelDistillError(
                f"{config_key}.kind: a setfit student needs the package 'setfit' ({err}); "
                "pip install 'setfit>=1.2'"
            ) from err
        return SetFitStudent
    raise LabelDistillError(
        f"{config_key}.kind: unknown student kind {kind!r} (valid: {list(STUDENT_KINDS)})"
    )


def make_student(
    settings: Mapping,
    labels: Sequence[str],
    seed: int,
    threads: int = 1,
    config_key: str = "student",
) -> Student:
    """A new, unfitted student from the config block of one student, parsed here once
    (`parse_student`) into its kind's settings object.

    `config_key` (e.g. "students.minilm") prefixes error messages about bad settings.
    """
    if not isinstance(settings, Mapping) or "kind" not in settings:
        raise LabelDistillError(
            f"{config_key}: a student's settings need a 'kind' (valid: {list(STUDENT_KINDS)})"
        )
    cls = student_class(settings["kind"], config_key)
    return cls(parse_student(settings, config_key), labels, seed, threads, config_key=config_key)


def saved_student(directory: Path) -> dict:
    """The student.json of a saved student's folder (kind, labels, settings), read without
    loading the model; a folder that holds none is one line."""
    directory = Path(directory)
    meta_path = directory / STUDENT_FILE
    if not meta_path.is_file():
        what = "no such folder" if not directory.exists() else f"no {STUDENT_FILE}"
        raise LabelDistillError(f"{directory}: not a saved student ({what})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise LabelDistillError(f"{meta_path}: not valid JSON ({err})") from err
    if not isinstance(meta, dict) or not isinstance(meta.get("labels"), list):
        raise LabelDistillError(f"{meta_path}: not a saved student's record (no list of labels)")
    student_class(meta.get("kind"), str(meta_path))  # a kind that exists (and its package)
    return meta


def load_student(directory: Path, threads: int = 1) -> Student:
    """A fitted student from the folder that `Student.save` wrote."""
    meta = saved_student(directory)
    return student_class(meta["kind"]).load_model(Path(directory), meta, threads)
