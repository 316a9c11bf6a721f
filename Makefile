# scamtrail: `make run` starts the server on ./scamtrail.db; `make test` runs every test.
# Both install what they need (Rust crates via cargo; Debian, PyPI and npm packages via
# scripts/install-test-deps) and work on a fresh machine.

CARGO ?= cargo
BIN := target/debug/scamtrail

.PHONY: run build test test-with-postgres test-web lint fmt bench bench-load deps

## Run the server on the embedded default: SQLite at ./scamtrail.db, listening on 127.0.0.1:50051.
run:
	$(CARGO) run -p scamtrail-server --bin scamtrail -- serve

build:
	$(CARGO) build -p scamtrail-server --bin scamtrail

deps:
	scripts/install-test-deps -q

## Every test: Rust unit and end-to-end tests on SQLite and a throwaway PostgreSQL,
## grpcurl and Python grpcio against the real server, the report page in headless chromium,
## and the linters.
test: deps build
	scripts/pg-test-server run $(MAKE) --no-print-directory test-with-postgres
	$(MAKE) --no-print-directory test-web
	$(MAKE) --no-print-directory lint

## The report page (web/, built by `make deps`) in headless chromium against the real server on
## SQLite; screenshots of each step in web/test-results/.
test-web:
	cd web && SCAMTRAIL_BIN="$(abspath $(BIN))" npm test --silent

# Needs SCAMTRAIL_TEST_POSTGRES_URL (set by scripts/pg-test-server run). The grpcurl and Python
# suites share that PostgreSQL database, so they share its audit key file too.
# SCAMTRAIL_TEST_BACKEND says which database each of their runs is for: a PostgreSQL run without a
# postgres:// URL fails instead of running on SQLite.
test-with-postgres:
	$(CARGO) test --workspace
	SCAMTRAIL_TEST_BACKEND=sqlite tests/grpcurl/run.sh $(BIN)
	SCAMTRAIL_TEST_BACKEND=postgres SCAMTRAIL_TEST_DATABASE_URL="$$SCAMTRAIL_TEST_POSTGRES_URL" \
	  SCAMTRAIL_AUDIT_KEY_FILE="$$SCAMTRAIL_TEST_PG_DIR/audit.key" \
	  SCAMTRAIL_DATA_KEY_FILE="$$SCAMTRAIL_TEST_PG_DIR/data.key" tests/grpcurl/run.sh $(BIN)
	SCAMTRAIL_TEST_BACKEND=sqlite tests/python/run.sh $(BIN)
	SCAMTRAIL_TEST_BACKEND=postgres SCAMTRAIL_TEST_DATABASE_URL="$$SCAMTRAIL_TEST_POSTGRES_URL" \
	  SCAMTRAIL_AUDIT_KEY_FILE="$$SCAMTRAIL_TEST_PG_DIR/audit.key" \
	  SCAMTRAIL_DATA_KEY_FILE="$$SCAMTRAIL_TEST_PG_DIR/data.key" tests/python/run.sh $(BIN)
	tests/differential/run.sh $(BIN)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	buf lint

fmt:
	$(CARGO) fmt --all

## Intake, lookup and queue throughput and latency of a release build, on SQLite and PostgreSQL,
## as ratios of the server's health-check rate (scripts/bench-load; see BENCHMARKS.md).
bench-load: deps
	scripts/bench-load

## Criterion benches of identifier normalisation (values per second per kind).
bench:
	$(CARGO) bench -p scamtrail-normalize
	python3 tests/differential/bench_python.py
