"""Stage: find or make a local LLM's converted folder in the shared models folder; record it.

Dequantising a GGUF takes 20 to 80 s on two cores; the converted folder loads in seconds. It
lives in a content-addressed folder shared by every checkout and run (see
`teachers.local_models`); the job's own output is a small record in this checkout naming that
folder, so Snakemake tracks the record and never decides to rebuild the shared folder.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from labeldistill.teachers.local.models import ensure_local_model, read_provenance, write_model_record

log = logging.getLogger(__name__)


def run(model: str, models_dir: Path, out_json: Path) -> None:
    """Make sure `model` (a known name, a .gguf path or a transformers folder) is converted in
    `models_dir`, and write the record `out_json` that names its folder."""
    started = time.perf_counter()
    folder, converted = ensure_local_model(model, Path(models_dir))
    provenance = read_provenance(folder)
    log.info(
        "%s %s in %s after %.1f s (%s)",
        "converted" if converted else "found",
        model,
        folder,
        time.perf_counter() - started,
        ", ".join(f"{key}={value}" for key, value in provenance.items()),
    )
    write_model_record(Path(out_json), model, folder, converted)
