"""Stage: convert a local LLM (a registry package's GGUF) into a transformers folder, once.

Dequantising a GGUF takes 20 to 80 s on two cores; the converted folder loads in seconds,
so every annotate job of the workflow shares one conversion.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from labeldistill.teachers.local_models import prepare_local_model, read_provenance

log = logging.getLogger(__name__)


def run(model: str, out_dir: Path) -> None:
    """Convert `model` (a known name, a .gguf path or a transformers folder) into `out_dir`."""
    out_dir = Path(out_dir)
    log.info("preparing local model %s in %s", model, out_dir)
    started = time.perf_counter()
    prepare_local_model(model, out_dir)
    provenance = read_provenance(out_dir)
    log.info(
        "prepared %s in %.1f s (%s)",
        model,
        time.perf_counter() - started,
        ", ".join(f"{key}={value}" for key, value in provenance.items()),
    )
