"""What every labeling job (a teacher's or an ensemble's) checks and writes per part: the share
of failed texts before the LABELS table is written, and the USAGE record beside it.

A part on which the labeler failed for more than `max_failed_share` of the texts (default
0.2) is not written at all: the job fails with one line, and Snakemake runs it again next
time, the answers received meanwhile coming from the response cache. A labels file of nulls
would otherwise go on to score F1 = 0 in every stage after it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping

import pandas as pd

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.settings import EnsembleSettings, LabelerSettings, OpenAISettings, VllmSettings

log = logging.getLogger(__name__)


def _error_kind(error: object) -> str:
    """An error message without its quoted parts (the answers), to count errors by kind."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", str(error))


def check_failures(
    frame: pd.DataFrame, labeler: str, settings: LabelerSettings | EnsembleSettings | None
) -> None:
    """Raise LabelDistillError when more than `max_failed_share` of the texts have no label
    (`settings` None: the human labels, of which none may be missing).

    The line names the labeler, how many texts failed, the most common error (one instance of
    it) and, for a server, its URL. Fewer failures are one warning with the same facts.
    """
    failed = frame["label"].isna()
    texts, count = len(frame), int(failed.sum())
    if not count:
        return
    limit = 0.0 if settings is None else settings.max_failed_share
    errors = [
        str(error) if isinstance(error, str) and error else "no error given"
        for error in frame.loc[failed, "error"]
    ]
    kinds = Counter(_error_kind(error) for error in errors)
    kind, times = kinds.most_common(1)[0]
    example = next(error for error in errors if _error_kind(error) == kind)
    if count / texts <= limit:
        log.warning(
            "labeler %s: %d of %d texts failed (within max_failed_share %g); most common error "
            "(%d texts): %s",
            labeler,
            count,
            texts,
            limit,
            times,
            example,
        )
        return
    where = f" at {settings.public_endpoint()}" if isinstance(settings, OpenAISettings) else ""
    cached = isinstance(settings, OpenAISettings | VllmSettings)
    kept = "; the answers received are in the response cache" if cached else ""
    raise LabelDistillError(
        f"labeler {labeler}: {count} of {texts} texts failed{where}, more than "
        f"labelers.{labeler}.max_failed_share ({limit:g}); most common error ({times} texts): "
        f"{example}; no labels were written{kept}"
    )


def usage_record(
    frame: pd.DataFrame, task: str, labeler: str, backend: str, usage: Mapping, seconds: float
) -> dict:
    """What labeling one part cost (a USAGE record); `usage` holds what the labeler counted
    (a teacher's `Usage.to_dict()`, an ensemble's sums of its members')."""
    return {
        "task": task,
        "labeler": labeler,
        "backend": backend,
        "texts": len(frame),
        "failed_texts": int(frame["label"].isna().sum()),
        "truncated_texts": 0,
        "requests_sent": 0,
        "responses": 0,
        "cache_hits": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "dollars": 0.0,
        **usage,
        "seconds": round(seconds, 3),
    }
