#!/usr/bin/env bash
# Create .venv and install the workflow with everything it needs, offline-capable models included.
# Idempotent: a second call only checks. torch is installed first, from TORCH_INDEX_URL when it
# is set, so that no dependency picks another build. On Linux, public PyPI's torch wheel is the
# CUDA build (several GB of CUDA libraries); for the CPU build, or a given CUDA version, name
# PyTorch's own wheel index:
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash install.sh     # CPU only (about 200 MB)
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 bash install.sh   # CUDA 12.8
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    .venv/bin/python -m pip install -q --index-url "$TORCH_INDEX_URL" "torch==2.13.0"
else
    .venv/bin/python -m pip install -q "torch==2.13.0"
fi
# `--test` adds the test tools, llama.cpp's server included (compiled once, then cached by pip).
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install -q -e ".${extras}"
