#!/usr/bin/env bash
# Differential test of `scamtrail normalize` against implementations we did not write: Python
# phonenumbers for phone numbers, schwifty for IBANs and BICs (see differential.py). Exits with
# differential.py's code: 0 when everything agrees or is documented in known_disagreements.json.
#
# Usage: tests/differential/run.sh [SERVER_BINARY] [DIFFERENTIAL_ARGS...]
#   SERVER_BINARY defaults to $SCAMTRAIL_BIN, then target/debug/scamtrail (in the repo).
# Needs phonenumbers and schwifty at the versions pinned in scripts/install-test-deps.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [[ $# -gt 0 && "$1" != -* && -f "$1" && -x "$1" ]]; then
  SCAMTRAIL_BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  shift
fi
export SCAMTRAIL_BIN="${SCAMTRAIL_BIN:-$ROOT/target/debug/scamtrail}"

# No __pycache__ in the work tree.
PYTHONDONTWRITEBYTECODE=1 python3 "$HERE/differential.py" "$SCAMTRAIL_BIN" "$@"
exit $?
