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
# SKIP_TORCH=1 leaves it out (those tests then skip).
if [ "${SKIP_TORCH:-0}" != 1 ]; then
  .venv/bin/python -m pip install -q "torch==2.13.0" \
    || echo "setup_env: PyTorch not installed; the weight-parity tests will skip."
fi
.venv/bin/python -m pip install -q -e ".[test]"
