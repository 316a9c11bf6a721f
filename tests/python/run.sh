#!/usr/bin/env bash
# Runs the grpcio client checks (tests/python) with pytest and exits with pytest's code.
#
# Usage: tests/python/run.sh [SERVER_BINARY] [PYTEST_ARGS...]
#   SERVER_BINARY defaults to $SCAMTRAIL_BIN, then target/debug/scamtrail (in the repo).
# Needs grpcio, grpcio-tools, grpcio-status, googleapis-common-protos and pytest
# (scripts/install-test-deps installs them).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [[ $# -gt 0 && "$1" != -* && -f "$1" && -x "$1" ]]; then
  SCAMTRAIL_BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  shift
fi
export SCAMTRAIL_BIN="${SCAMTRAIL_BIN:-$ROOT/target/debug/scamtrail}"

cd "$HERE" || exit 2
# No .pytest_cache in the work tree; generated stubs go to pytest's temp dir.
python3 -m pytest -p no:cacheprovider -ra "$@" test_grpcio_client.py
exit $?
