#!/usr/bin/env bash
# Sets everything up (scripts/setup_env.sh) and runs the whole test suite.
# Fails when pytest collects no tests.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh || exit 1
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=tensorflow
# Two workers, one test file each at a time (module fixtures stay in one process).
.venv/bin/python -m pytest tests -n 2 --dist loadfile "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "run_tests: pytest collected no tests; that is a failure." >&2
  exit 1
fi
exit $rc
