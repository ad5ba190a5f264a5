#!/usr/bin/env bash
# Create .venv and install the workflow with everything it needs, offline-capable models included.
# Idempotent: a second call only checks. torch is pinned to the CPU build first, so that no
# dependency pulls a CUDA wheel of several GB.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
# `--test` adds the test tools, llama.cpp's server included (compiled once, then cached by pip).
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install -q -e ".${extras}"
