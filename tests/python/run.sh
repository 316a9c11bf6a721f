#!/usr/bin/env bash
# Runs the grpcio client checks (tests/python) with pytest and exits with pytest's code.
#
# conftest.py generates Python stubs from every proto/scamtrail/v1/*.proto (auth.proto and
# admin.proto too), starts `scamtrail serve` (rate limits off) and makes credentials with the
# scamtrail CLI against the server's database: an intake key, users signed in with
# AuthService/Login, each call sending `authorization: Bearer ...` as grpcio metadata.
# test_grpcio_client.py checks intake (every field round-trips, replays, field violations),
# clusters and triage (eight investigators claiming at once, each its own user; stale updates;
# lookups), authentication (no credentials, made-up or malformed tokens, a revoked key, a wrong
# password: UNAUTHENTICATED; Login, WhoAmI, Logout), what each role may not do (PERMISSION_DENIED:
# the intake key on triage and lookup methods, a supervisor submitting, an investigator
# safelisting or assigning someone else, a liaison reading clusters not referred to its agency,
# non-admins reading the audit trail) and the audit trail (the supervisor's GetReport is listed).
# test_exports.py checks every export format with parsers we did not write: stix2-validator and
# stix2, pymisp (strict templates), networkx, Python's csv and zipfile, and headless chromium.
#
# Usage: tests/python/run.sh [SERVER_BINARY] [PYTEST_ARGS...]
#   SERVER_BINARY defaults to $SCAMTRAIL_BIN, then target/debug/scamtrail (in the repo).
#   SCAMTRAIL_TEST_DATABASE_URL, if set, is the server's (and the CLI's) --database-url instead of
#   a new SQLite file, e.g. a database of scripts/pg-test-server (which may be reused: the users'
#   and keys' names carry a tag of the run).
#   SCAMTRAIL_TEST_BACKEND (sqlite or postgres; make test sets it) says which database the run is
#   for: with postgres, a SCAMTRAIL_TEST_DATABASE_URL that is empty or not postgres:// stops pytest
#   before any test (exit 4), so that a SQLite run never passes for a PostgreSQL one.
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
python3 -m pytest -p no:cacheprovider -ra "$@" test_grpcio_client.py test_metrics.py test_exports.py
exit $?
