"""n samples per text into one label: the mode, its consistency and the vote shares.

Consistency as in Pangakis et al. (2023): ask n times at temperature T; the modal label is the
answer and the share of samples agreeing with it measures how sure the model is. Shares are
taken over the samples that gave a label (failed samples are counted apart). A tie is broken
by a draw, uniform over the tied labels and fixed by the labeler's seed and the text's id
(`tie_break`): the first label in the label order, as before, is the positive class in the
demo configs, and a binary task at 2 or 4 samples ties often, so that rule inflated the
positive class. Shared by every chat backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from labeldistill.teachers.chat.answers import SampleAnswer
from labeldistill.teachers.result import TeacherLabel


@dataclass(frozen=True)
class SampleOutcome:
    """One sample of one text: its answer and what it cost."""

    answer: SampleAnswer
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    model: str | None = None  # as the server reports it
    system_fingerprint: str | None = None


def tie_break(tied: Sequence[int], text_id: str, seed: int = 0) -> int:
    """One of `tied`, uniform and the same every run for the same (seed, text id).

    From sha256, not Python's hash(), which differs between processes.
    """
    digest = hashlib.sha256(f"labeldistill-tie:{seed}:{text_id}".encode()).digest()
    return tied[int.from_bytes(digest[:8], "big") % len(tied)]


def aggregate(
    text_id: str,
    samples: Sequence[SampleOutcome],
    labels: Sequence[str],
    provenance: dict | None = None,
    seed: int | None = None,
) -> TeacherLabel:
    """Mode, consistency and vote shares; a lone sample with logprobs keeps those probabilities.

    `seed` (the labeler's `seed` setting; None counts as 0) fixes the draw that breaks a tie.
    """
    labels = list(labels)
    votes = [s.answer.label for s in samples if s.answer.label is not None]
    failed = [s for s in samples if s.answer.label is None]
    served = next((s for s in samples if s.model is not None), None)
    provenance = dict(provenance or {})
    provenance["model_reported"] = served.model if served else None
    provenance["system_fingerprint"] = served.system_fingerprint if served else None
    common = {
        "id": str(text_id),
        "n_samples": len(samples),
        "n_failed_samples": len(failed),
        "raw": [s.answer.raw for s in failed if s.answer.raw is not None],
        "input_tokens": sum(s.input_tokens for s in samples),
        "output_tokens": sum(s.output_tokens for s in samples),
        "cache_hits": sum(s.cached for s in samples),
        "provenance": provenance,
    }
    if not votes:
        errors = [s.answer.error for s in failed if s.answer.error]
        error = errors[0] if errors else "no answer"
        if len(samples) > 1:
            error = f"all {len(samples)} samples failed; first: {error}"
        return TeacherLabel(label=None, probabilities=[], consistency=None, error=error, **common)
    counts = [votes.count(label) for label in labels]
    top = max(counts)
    tied = [i for i, count in enumerate(counts) if count == top]
    best = tied[0] if len(tied) == 1 else tie_break(tied, str(text_id), seed or 0)
    probabilities = [count / len(votes) for count in counts]
    lone = samples[0].answer.probabilities if len(samples) == 1 else None
    if lone is not None:
        probabilities = list(lone)
    return TeacherLabel(
        label=labels[best],
        probabilities=probabilities,
        consistency=counts[best] / len(votes),
        **common,
    )
