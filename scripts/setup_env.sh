#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs keras-shufflenet with everything the
# main job and the tests need. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# PyTorch is used only by the tests that prove weight parity with torchvision.
# SKIP_TORCH=1 leaves it out on purpose (those tests then skip, which fails a CI run).
if [ "${SKIP_TORCH:-0}" != 1 ]; then
  if ! .venv/bin/python -m pip install -q "torch==2.13.0"; then
    echo "setup_env: installing PyTorch (torch==2.13.0) failed; the weight-parity tests need it." >&2
    echo "setup_env: fix the install (network to PyPI?), or set SKIP_TORCH=1 to run without those tests." >&2
    exit 1
  fi
fi
.venv/bin/python -m pip install -q -e ".[test]"
