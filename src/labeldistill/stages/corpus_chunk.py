"""Stage: the chosen student (one model per seed, probabilities averaged) labels one corpus chunk."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from labeldistill.contracts import CORPUS_LABELS, write_table
from labeldistill.corpus.chunks import Chunk, CorpusSpec, average_probabilities, chunk_frame, read_chunk
from labeldistill.errors import LabelDistillError
from labeldistill.students import load_student

log = logging.getLogger(__name__)


def run(
    corpus: CorpusSpec,
    chunk: Chunk,
    student_dirs: Sequence[Path],
    labels: Sequence[str],
    out_path: Path,
    threads: int = 1,
) -> None:
    out_path = Path(out_path)
    texts = read_chunk(corpus, chunk)
    students = [load_student(Path(folder), threads=threads) for folder in student_dirs]
    if not students:
        raise LabelDistillError("config key corpus.seeds: no seed chosen to label the corpus")
    if list(students[0].labels) != list(labels):
        raise LabelDistillError(
            f"{student_dirs[0]}: labels {students[0].labels}, the task's are {list(labels)}"
        )
    started = time.perf_counter()
    with tqdm(total=len(texts), desc=f"{corpus.task} chunk {chunk.index}", unit="text", mininterval=5) as bar:
        proba = average_probabilities(students, list(texts["text"]), progress=bar.update)
    seconds = time.perf_counter() - started
    frame = chunk_frame(texts, proba, labels, corpus.covariates)
    write_table(frame, out_path, CORPUS_LABELS, labels=list(labels))  # whole or not at all
    log.info(
        "%s: rows %d-%d, %d seed(s), %.1f s (%.0f texts/s), predicted %s",
        out_path,
        chunk.start,
        chunk.stop,
        len(students),
        seconds,
        len(frame) / seconds if seconds > 0 else float("inf"),
        frame["label"].value_counts().to_dict(),
    )
