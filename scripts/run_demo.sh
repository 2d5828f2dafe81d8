#!/usr/bin/env bash
# Sets everything up (scripts/setup_env.sh) and runs the main job end to end:
# build, train on the offline digits, quantize to int8, evaluate, benchmark, summarize.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_TORCH=${SKIP_TORCH:-1} bash scripts/setup_env.sh
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=tensorflow
.venv/bin/python -m keras_shufflenet.pipelines.demo --out="${1:-runs/demo}"
