"""Stage: one chunk of a task's uncoded texts labelled by one label source.

The chunk is rows [start, stop) of the plan's order (corpus/uncoded.py), which the job redoes
(cheap next to labelling) instead of reading the plan's file: a chunk depends on the file, the
coded texts, the seed and its rows only, so a larger train size adds chunks and leaves these.
The texts go through `annotate.run`, so an API labeler's requests are cached and paid once, and
a local labeler reuses the calibration its task's annotate_local job measured on the pool.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import LABELS, USAGE, write_record, write_table
from labeldistill.corpus.chunks import CorpusSpec
from labeldistill.corpus.uncoded import planned_texts
from labeldistill.stages import annotate
from labeldistill.teachers.labelled_parts import usage_record

log = logging.getLogger(__name__)


def label_chunk(
    uncoded: CorpusSpec,
    coded_parts: Sequence[Path],
    seed: int,
    start: int,
    stop: int,
    labels: Sequence[str],
    labeler: str,
    settings: Mapping,
    out_path: Path,
    usage_path: Path,
    model_record: Path | None = None,
    **annotate_args,
) -> None:
    """Texts [start, stop) of the plan labelled by one label source. An empty chunk (its texts
    were dropped as coded twins) gives an empty table, with no model loaded or request sent."""
    texts, _ = planned_texts(uncoded, coded_parts, stop, seed)
    chunk = texts.iloc[start:stop].reset_index(drop=True)
    if chunk.empty:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in LABELS.columns})
        write_table(empty, out_path, LABELS, labels=list(labels))
        record = usage_record(chunk, uncoded.task, labeler, str(settings.get("backend")), {}, 0.0)
        write_record(record, usage_path, USAGE)
        log.info("rows %d-%d of the planned uncoded texts: none left", start, stop)
        return
    log.info("%s: labelling rows %d-%d of the planned uncoded texts", labeler, start, stop)
    model_dir = None
    if model_record is not None:
        from labeldistill.teachers.local.models import open_local_model

        model_dir = open_local_model(model_record)
    annotate.run(
        part_split=chunk,
        labels=labels,
        labeler=labeler,
        settings=settings,
        out_path=out_path,
        usage_path=usage_path,
        task=uncoded.task,
        model_dir=model_dir,
        **annotate_args,
    )
