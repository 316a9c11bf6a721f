"""The scamtrail server through the official Python gRPC client (grpcio), with stubs that
grpc_tools.protoc generates from proto/ at test start (see conftest.py).

Every call carries `authorization: Bearer ...` as grpcio metadata: the intake key for
IntakeService, the supervisor's session token for TriageService and LookupService, and a user of
its own where a test needs a distinct actor (the eight concurrent claimers, the latecomer). The
credentials are made with the scamtrail CLI (conftest.py). Besides intake, clusters and triage,
the tests check authentication (no credentials, a made-up token, a wrong password: UNAUTHENTICATED;
Logout), WhoAmI, what each role may not call (PERMISSION_DENIED: intake on triage methods, an
investigator safelisting or assigning someone else, non-admins listing the audit trail), that a
liaison reading a cluster not referred to its agency hears NOT_FOUND as for an unknown cluster, and
the audit trail (the supervisor's GetReport).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import uuid

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.protobuf.json_format import MessageToDict
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from conftest import authorized, bearer, health_status

REFERENCE_RE = re.compile(r"^ST-[A-Z0-9]{4}-[A-Z0-9]{4}$")
UTC = dt.timezone.utc


def ts(year, month, day, hour=0, minute=0, second=0, micros=0) -> timestamp_pb2.Timestamp:
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(dt.datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC))
    return t


def full_report(pb):
    """A report that sets every field of Report, Payment, ScammerIdentifier and Victim."""
    r = pb.report_pb2
    return r.Report(
        category=r.SCAM_CATEGORY_CRYPTO_INVESTMENT,
        first_contact_at=ts(2026, 8, 11, 19, 2, 33),
        last_contact_at=ts(2026, 10, 30, 8, 45, 0, 250000),
        contact_channels=[
            r.CONTACT_CHANNEL_SOCIAL_MEDIA_AD,
            r.CONTACT_CHANNEL_TELEGRAM,
            r.CONTACT_CHANNEL_PHONE_CALL,
            r.CONTACT_CHANNEL_EMAIL,
        ],
        narrative=(
            "Saw an Instagram advert for 'BitNova Capital' promising 8% a week. An 'analyst' "
            "called me from +44 20 7946 0958 and moved me to Telegram (@bitnova_support_desk). "
            "I bought USDT at an exchange and sent it to the wallet they gave me, then paid a "
            "'withdrawal fee' by bank transfer to a UK account. Ünïcödé survives: Zoë paid €."
        ),
        payments=[
            r.Payment(
                amount_minor=300_000,
                amount="3000",  # the exact decimal, which answers carry beside amount_minor
                currency="GBP",
                method=r.PAYMENT_METHOD_BANK_TRANSFER,
                paid_at=ts(2026, 8, 20, 11, 30, 0),
                beneficiaries=[
                    r.ScammerIdentifier(
                        value="GB82 WEST 1234 5698 7654 32",
                        role=r.IDENTIFIER_ROLE_BENEFICIARY_ACCOUNT,
                        kind_hint=r.IDENTIFIER_KIND_IBAN,
                    ),
                ],
                transaction_hash="",
                recall_requested=True,
            ),
            r.Payment(
                amount_minor=2_500_000_000,
                amount="2500",  # the exact decimal, which answers carry beside amount_minor
                currency="USDT",
                method=r.PAYMENT_METHOD_CRYPTO,
                paid_at=ts(2026, 9, 4, 16, 12, 5, 123456),
                beneficiaries=[
                    r.ScammerIdentifier(
                        value="0x52908400098527886E0F7030069857D2E4169EE7",
                        role=r.IDENTIFIER_ROLE_WALLET,
                        kind_hint=r.IDENTIFIER_KIND_CRYPTO_WALLET,
                    ),
                    r.ScammerIdentifier(
                        value="TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL",
                        role=r.IDENTIFIER_ROLE_WALLET,
                        kind_hint=r.IDENTIFIER_KIND_UNSPECIFIED,
                    ),
                ],
                transaction_hash="0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
                recall_requested=False,
            ),
            r.Payment(
                amount_minor=95_000,
                amount="950",  # the exact decimal, which answers carry beside amount_minor
                currency="EUR",
                method=r.PAYMENT_METHOD_INSTANT_TRANSFER,
                paid_at=ts(2026, 10, 29, 9, 0, 0),
                beneficiaries=[
                    r.ScammerIdentifier(
                        value="DE89370400440532013000",
                        role=r.IDENTIFIER_ROLE_BENEFICIARY_ACCOUNT,
                        kind_hint=r.IDENTIFIER_KIND_IBAN,
                    ),
                ],
                recall_requested=False,
            ),
        ],
        identifiers=[
            r.ScammerIdentifier(
                value="+44 20 7946 0958",
                role=r.IDENTIFIER_ROLE_CALLER_NUMBER,
                kind_hint=r.IDENTIFIER_KIND_PHONE,
            ),
            r.ScammerIdentifier(
                value="https://bitnova-capital.io/account/login?ref=ig",
                role=r.IDENTIFIER_ROLE_WEBSITE,
                kind_hint=r.IDENTIFIER_KIND_WEBSITE,
            ),
            r.ScammerIdentifier(
                value="@bitnova_support_desk",
                role=r.IDENTIFIER_ROLE_MESSAGING_HANDLE,
                kind_hint=r.IDENTIFIER_KIND_TELEGRAM,
            ),
            r.ScammerIdentifier(
                value="analyst.james@bitnova-capital.io",
                role=r.IDENTIFIER_ROLE_EMAIL,
                kind_hint=r.IDENTIFIER_KIND_EMAIL,
            ),
            # Not a valid anything: kept as an unverified identifier, still returned as typed.
            r.ScammerIdentifier(
                value="their app was called BitNova Pro",
                role=r.IDENTIFIER_ROLE_OTHER,
            ),
        ],
        victim=r.Victim(
            name="Rajesh Kumar",
            email="rajesh.kumar@example.net",
            phone="07700 900456",
            country="GB",
            age_band=r.AGE_BAND_50_TO_69,
            declared_vulnerable=True,
            vulnerability_note="Recovering from surgery; was on strong painkillers when I made the payments.",
            consent_to_share_with_police=True,
        ),
        contact_ongoing=True,
    )


def as_dict(message) -> dict:
    return MessageToDict(message, preserving_proto_field_name=True)


def submit(pb, intake, report, client_request_id=""):
    return intake.SubmitReport(
        pb.intake_pb2.SubmitReportRequest(report=report, client_request_id=client_request_id),
        timeout=30,
    )


def test_health_is_serving(channel):
    assert health_status(channel) == 1, "grpc.health.v1.Health/Check(\"\") is not SERVING"


def test_submit_then_get_returns_every_field(stubs, intake, triage):
    sent = full_report(stubs)
    crid = f"pytest-{uuid.uuid4()}"
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=5)
    answer = submit(stubs, intake, sent, crid)
    after = dt.datetime.now(UTC) + dt.timedelta(seconds=5)

    assert answer.report_id > 0
    assert REFERENCE_RE.match(answer.reference), f"reference {answer.reference!r} is not ST-XXXX-XXXX"
    assert answer.replayed is False
    assert answer.HasField("received_at")
    received = answer.received_at.ToDatetime(tzinfo=UTC)
    assert before <= received <= after, f"received_at {received} is not about now"

    got = triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=answer.report_id), timeout=30).report
    assert got.report_id == answer.report_id
    assert got.reference == answer.reference
    assert got.received_at == answer.received_at
    assert got.client_request_id == crid

    # Field by field first, for readable failures; then the whole message.
    stored = got.report
    assert stored.category == sent.category
    assert stored.first_contact_at == sent.first_contact_at
    assert stored.last_contact_at == sent.last_contact_at, "sub-second part of last_contact_at lost?"
    assert list(stored.contact_channels) == list(sent.contact_channels)
    assert stored.narrative == sent.narrative
    assert len(stored.payments) == len(sent.payments)
    for i, (g, s) in enumerate(zip(stored.payments, sent.payments)):
        assert as_dict(g) == as_dict(s), f"payments[{i}] differs"
        assert g.paid_at == s.paid_at, f"payments[{i}].paid_at differs"
        assert [as_dict(b) for b in g.beneficiaries] == [as_dict(b) for b in s.beneficiaries]
    assert [as_dict(x) for x in stored.identifiers] == [as_dict(x) for x in sent.identifiers]
    assert as_dict(stored.victim) == as_dict(sent.victim)
    assert stored.contact_ongoing == sent.contact_ongoing
    assert as_dict(stored) == as_dict(sent)
    assert stored == sent

    # By reference too, as a victim would read it out: lower case, without dashes.
    loose = answer.reference.lower().replace("-", "")
    by_ref = triage.GetReport(stubs.triage_pb2.GetReportRequest(reference=loose), timeout=30).report
    assert by_ref.report_id == answer.report_id
    assert by_ref.report == sent


def sent_identifiers(report):
    """(identifier, payment index or None) in the order the API answers them: beneficiaries of
    each payment in turn, then the report's other identifiers."""
    out = [(b, i) for i, p in enumerate(report.payments) for b in p.beneficiaries]
    return out + [(x, None) for x in report.identifiers]


# What each identifier of full_report normalises to: canonical keys in the forms DESIGN.md gives
# (the TRON address detected without a hint, the handle and the e-mail read by their hints).
EXPECTED_KEYS = {
    "GB82 WEST 1234 5698 7654 32": "iban:GB82WEST12345698765432",
    "DE89370400440532013000": "iban:DE89370400440532013000",
    "0x52908400098527886E0F7030069857D2E4169EE7": "evm:0x52908400098527886e0f7030069857d2e4169ee7",
    "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL": "trx:TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL",
    "+44 20 7946 0958": "tel:+442079460958",
    "https://bitnova-capital.io/account/login?ref=ig": "domain:bitnova-capital.io",
    "@bitnova_support_desk": "telegram:bitnova_support_desk",
    "analyst.james@bitnova-capital.io": "email:analyst.james@bitnova-capital.io",
}
# The one identifier of full_report that is not a valid anything, and why.
EXPECTED_UNVERIFIED = {"their app was called BitNova Pro": "UNRECOGNISED"}


def test_identifier_outcomes_in_answer_and_stored_report(stubs, intake, triage):
    sent = full_report(stubs)
    answer = submit(stubs, intake, sent, f"pytest-outcomes-{uuid.uuid4()}")
    expected = sent_identifiers(sent)
    assert [o.raw for o in answer.identifiers] == [x.value for x, _ in expected]
    assert sorted(o.raw for o in answer.identifiers) == sorted([*EXPECTED_KEYS, *EXPECTED_UNVERIFIED])
    for outcome in answer.identifiers:
        which = outcome.WhichOneof("result")
        if outcome.raw in EXPECTED_KEYS:
            assert which == "normalized", f"{outcome.raw!r} did not normalise: {outcome.unverified}"
            assert outcome.normalized.key == EXPECTED_KEYS[outcome.raw]
            assert outcome.normalized.display
        else:
            assert which == "unverified", f"{outcome.raw!r} normalised: {outcome.normalized}"
            assert outcome.unverified.reason == EXPECTED_UNVERIFIED[outcome.raw], outcome
            assert outcome.unverified.message.strip(), outcome
    junk = answer.identifiers[-1]
    assert junk.raw == "their app was called BitNova Pro"
    assert junk.WhichOneof("result") == "unverified"

    stored = triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=answer.report_id), timeout=30).report
    given = [x for x in stored.identifiers if not x.suggested]
    assert len(given) == len(expected)
    for got, (x, payment_index), outcome in zip(given, expected, answer.identifiers):
        assert got.outcome == outcome
        assert got.role == x.role
        assert got.kind_hint == x.kind_hint
        if payment_index is None:
            assert not got.HasField("payment_index"), f"{x.value!r} is not a beneficiary"
        else:
            assert got.HasField("payment_index") and got.payment_index == payment_index, x.value
    # Suggested identifiers (found by the server, not typed as identifiers) come last.
    flags = [x.suggested for x in stored.identifiers]
    assert flags == sorted(flags), "suggested identifiers must follow the given ones"


def test_minimal_report_round_trips(stubs, intake, triage):
    r = stubs.report_pb2
    sent = r.Report(category=r.SCAM_CATEGORY_TECH_SUPPORT, narrative="A pop-up said my PC was infected.")
    answer = submit(stubs, intake, sent)
    assert REFERENCE_RE.match(answer.reference)
    got = triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=answer.report_id), timeout=30).report
    assert got.client_request_id == ""
    # Presence is part of "the report as submitted": no victim block sent, none returned.
    assert not got.report.HasField("victim"), f"no victim was sent, GetReport returns victim {{{got.report.victim}}}"
    assert not got.report.HasField("first_contact_at") and not got.report.HasField("last_contact_at")
    assert as_dict(got.report) == as_dict(sent)
    assert got.report == sent


def test_same_client_request_id_is_replayed(stubs, intake, triage):
    crid = f"pytest-replay-{uuid.uuid4()}"
    report = full_report(stubs)
    first = submit(stubs, intake, report, crid)
    second = submit(stubs, intake, report, crid)
    assert first.replayed is False
    assert second.replayed is True
    assert second.report_id == first.report_id
    assert second.reference == first.reference
    assert second.received_at == first.received_at
    # A replay never issues a follow-up secret: the first answer's stays the only one.
    assert len(first.follow_up_secret) == 39
    assert second.follow_up_secret == ""

    # A different key is a different report.
    third = submit(stubs, intake, report, f"pytest-replay-{uuid.uuid4()}")
    assert third.replayed is False
    assert third.report_id != first.report_id
    assert third.reference != first.reference

    # No key: not idempotent, every call stores a report.
    a = submit(stubs, intake, report)
    b = submit(stubs, intake, report)
    assert not a.replayed and not b.replayed
    assert a.report_id != b.report_id

    got = triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=first.report_id), timeout=30).report
    assert got.client_request_id == crid


def bad_request_of(error: grpc.RpcError) -> tuple[status_pb2.Status, error_details_pb2.BadRequest]:
    """Decodes grpc-status-details-bin into google.rpc.Status and its google.rpc.BadRequest."""
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{error.code()}: {error.details()}"
    trailers = dict(error.trailing_metadata() or ())
    assert "grpc-status-details-bin" in trailers, f"no grpc-status-details-bin trailer in {list(trailers)}"

    # The official helper (grpcio-status) checks code and message against the trailer...
    status = rpc_status.from_call(error)
    assert status is not None
    # ...and a manual decode with protobuf's well-known types must agree with it.
    manual = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert manual == status
    assert status.code == code_pb2.INVALID_ARGUMENT

    bad_requests = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            assert detail.Unpack(br)
            bad_requests.append(br)
    type_urls = [d.type_url for d in status.details]
    assert len(bad_requests) == 1, f"want exactly one google.rpc.BadRequest in details, got {type_urls}"
    return status, bad_requests[0]


def violations(bad_request: error_details_pb2.BadRequest) -> dict[str, str]:
    out = {}
    for v in bad_request.field_violations:
        assert v.field, f"violation without a field: {v}"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", v.reason), f"{v.field}: reason {v.reason!r} is not SCREAMING_SNAKE"
        assert v.description.strip(), f"{v.field}: empty description"
        assert v.field not in out, f"{v.field} named twice"
        out[v.field] = v.reason
    return out


def test_invalid_report_names_every_bad_field(stubs, intake):
    r = stubs.report_pb2
    future = timestamp_pb2.Timestamp()
    future.FromDatetime(dt.datetime.now(UTC) + dt.timedelta(days=2))
    report = r.Report(
        # category missing
        narrative="They took my money through a fake trading app.",
        payments=[
            r.Payment(
                amount_minor=10_000,
                currency="XXXX",
                method=r.PAYMENT_METHOD_BANK_TRANSFER,
                paid_at=future,
                beneficiaries=[
                    r.ScammerIdentifier(
                        value="DE89370400440532013000",
                        role=r.IDENTIFIER_ROLE_BENEFICIARY_ACCOUNT,
                        kind_hint=r.IDENTIFIER_KIND_IBAN,
                    )
                ],
            )
        ],
        victim=r.Victim(country="DE", consent_to_share_with_police=True),
    )
    with pytest.raises(grpc.RpcError) as raised:
        submit(stubs, intake, report, f"pytest-invalid-{uuid.uuid4()}")
    _, bad_request = bad_request_of(raised.value)
    got = violations(bad_request)
    assert got == {
        "report.category": "REQUIRED",
        "report.payments[0].currency": "CURRENCY_UNKNOWN",
        "report.payments[0].paid_at": "IN_FUTURE",
    }, f"field violations: {bad_request}"


def test_missing_report_is_invalid(stubs, intake):
    with pytest.raises(grpc.RpcError) as raised:
        intake.SubmitReport(stubs.intake_pb2.SubmitReportRequest(), timeout=30)
    _, bad_request = bad_request_of(raised.value)
    assert violations(bad_request) == {"report": "REQUIRED"}


def test_get_unknown_report_is_not_found(stubs, triage):
    with pytest.raises(grpc.RpcError) as raised:
        triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=987_654_321), timeout=30)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_server_still_serving_after_bad_input(channel, server):
    assert server.process.poll() is None, "server process exited"
    assert health_status(channel) == 1


# ---------------------------------------------------------------------------- clusters and triage
# The session's server may run on a PostgreSQL database that earlier runs used, so every scammer
# identifier below is made unique to the test, and queue checks use a filter (category and
# victim country) that only the test's own clusters match.

COUNTRIES = (
    "AD AE AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BJ BN BO BR BS BT BW BZ CA CH CI CL CM CO "
    "CR CV CY CZ DK DM DO DZ EC EE EG ES ET FI FJ FR GA GD GE GH GM GR GT GY HN HR HT HU ID IE IL "
    "IN IS IT JM JO JP KE KG KH KR KW KZ LA LB LC LI LK LR LS LT LU LV MA MC MD ME MG MK ML MN MT "
    "MU MV MW MX MY MZ NA NE NG NI NL NO NP NZ OM PA PE PG PH PK PL PT PY QA RO RS RW SA SC SE SG "
    "SI SK SL SM SN SR SV TG TH TJ TN TO TR TT TW TZ UA UG US UY UZ VC VN WS ZA ZM ZW"
).split()


def unique_iban() -> str:
    """A German IBAN with valid check digits that no earlier run reported."""
    digits = f"{uuid.uuid4().int % 10**18:018d}"
    bban = str(int(digits[0]) % 9 + 1) + digits[1:]
    return "DE%02d%s" % (98 - int(bban + "131400") % 97, bban)


def paper(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def unique_domain() -> str:
    return f"scam-{uuid.uuid4().hex[:16]}.com"


def scam_report(pb, *, iban=None, domain=None, category=None, country="", narrative="I was scammed."):
    """A short report whose only scammer identifiers are `iban` (a beneficiary) and `domain`."""
    r = pb.report_pb2
    payments = []
    if iban:
        payments.append(
            r.Payment(
                amount_minor=150_000,
                currency="EUR",
                method=r.PAYMENT_METHOD_BANK_TRANSFER,
                paid_at=ts(2026, 9, 1, 12),
                beneficiaries=[r.ScammerIdentifier(value=iban, role=r.IDENTIFIER_ROLE_BENEFICIARY_ACCOUNT)],
            )
        )
    identifiers = [r.ScammerIdentifier(value=domain, role=r.IDENTIFIER_ROLE_WEBSITE)] if domain else []
    return r.Report(
        category=category or r.SCAM_CATEGORY_INVESTMENT,
        narrative=narrative,
        payments=payments,
        identifiers=identifiers,
        victim=r.Victim(country=country) if country else None,
    )


def linked_pair(pb, intake):
    """Two reports sharing one IBAN, typed differently; (iban, first answer, second answer)."""
    iban = unique_iban()
    first = submit(pb, intake, scam_report(pb, iban=paper(iban), domain=unique_domain()))
    second = submit(pb, intake, scam_report(pb, iban=iban.lower(), domain=unique_domain()))
    return iban, first, second


def test_second_report_sharing_an_identifier_joins_the_cluster(stubs, intake, triage):
    iban, first, second = linked_pair(stubs, intake)
    assert first.cluster_id > 0
    assert second.identifiers[0].normalized.key == f"iban:{iban}"
    assert second.cluster_id == first.cluster_id, "a report sharing the IBAN must join the first report's cluster"

    stored = triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=second.report_id), timeout=30).report
    assert stored.cluster_id == first.cluster_id

    # A report sharing nothing starts a cluster of its own.
    other = submit(stubs, intake, scam_report(stubs, iban=unique_iban(), domain=unique_domain()))
    assert other.cluster_id > 0 and other.cluster_id != first.cluster_id


def test_get_cluster_returns_reports_identifiers_and_events(stubs, intake, triage):
    c = stubs.cluster_pb2
    iban, first, second = linked_pair(stubs, intake)
    got = triage.GetCluster(stubs.triage_pb2.GetClusterRequest(cluster_id=first.cluster_id), timeout=30)

    assert got.cluster.cluster_id == first.cluster_id
    assert got.cluster.status == c.CLUSTER_STATUS_NEW
    assert got.cluster.report_count == 2
    assert dict(got.cluster.identifiers_by_kind) == {"iban": 1, "domain": 2}
    # Newest first.
    assert [r.report_id for r in got.reports] == [second.report_id, first.report_id]
    assert [r.reference for r in got.reports] == [second.reference, first.reference]
    for report in got.reports:
        assert f"iban:{iban}" in report.identifier_keys

    counts = {i.key: i.report_count for i in got.identifiers}
    domains = [o.normalized.key for o in (first.identifiers[1], second.identifiers[1])]
    assert counts == {f"iban:{iban}": 2, domains[0]: 1, domains[1]: 1}
    assert got.identifiers[0].key == f"iban:{iban}", "identifiers are listed most reported first"
    for identifier in got.identifiers:
        assert identifier.state == c.IDENTIFIER_STATE_NORMAL
        assert identifier.cluster_id == first.cluster_id

    assert got.events, "a cluster has at least its creation in its history"
    created = got.events[0]
    assert created.kind == c.CLUSTER_EVENT_KIND_CREATED
    assert created.cluster_id == first.cluster_id
    assert created.actor == "system"
    ats = [e.at.ToDatetime() for e in got.events]
    assert ats == sorted(ats), "events are oldest first"


def test_claim_next_never_hands_one_cluster_to_two_callers(stubs, intake, triage, accounts):
    r, c, t = stubs.report_pb2, stubs.cluster_pb2, stubs.triage_pb2
    queue_filter = t.QueueFilter(categories=[r.SCAM_CATEGORY_TASK], victim_countries=[random.choice(COUNTRIES)])

    # Clusters an earlier run left with this filter (only possible on a reused database) are
    # claimed out of the way first (by the supervisor), so that the queue holds this test's
    # clusters only.
    for _ in range(1000):
        drained = triage.ClaimNext(
            t.ClaimNextRequest(queue=c.QUEUE_NEW, filter=queue_filter, lease_seconds=86_400),
            timeout=30,
        )
        if not drained.HasField("cluster"):
            break
    else:
        pytest.fail("the filtered queue never emptied")

    created = set()
    for _ in range(6):
        answer = submit(
            stubs,
            intake,
            scam_report(
                stubs,
                iban=unique_iban(),
                domain=unique_domain(),
                category=r.SCAM_CATEGORY_TASK,
                country=queue_filter.victim_countries[0],
            ),
        )
        created.add(answer.cluster_id)
    assert len(created) == 6, "six unrelated reports make six clusters"

    callers = 8
    # Eight investigators, each signed in: the holder of a claim is the caller's user name.
    claimers = [accounts.user("investigator", hint="claimer") for _ in range(callers)]
    assert len({x.name for x in claimers}) == callers
    barrier = threading.Barrier(callers)
    results: dict[int, object] = {}

    def claim(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = triage.ClaimNext(
                t.ClaimNextRequest(queue=c.QUEUE_NEW, filter=queue_filter, lease_seconds=600),
                metadata=claimers[i].metadata,
                timeout=30,
            )
        except grpc.RpcError as e:
            results[i] = e

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    errors = {i: f"{e.code()}: {e.details()}" for i, e in results.items() if isinstance(e, grpc.RpcError)}
    assert not errors, f"ClaimNext failed: {errors}"
    assert len(results) == callers

    claimed = {i: a.cluster for i, a in results.items() if a.HasField("cluster")}
    ids = [cluster.cluster_id for cluster in claimed.values()]
    assert len(ids) == len(set(ids)), f"a cluster was handed to two callers: {sorted(ids)}"
    assert set(ids) == created, f"claimed {sorted(ids)}, waiting were {sorted(created)}"
    assert callers - len(claimed) == 2, "the two callers after the queue emptied get no cluster"
    for i, cluster in claimed.items():
        assert cluster.claim.holder == claimers[i].name
        assert cluster.status == c.CLUSTER_STATUS_TRIAGING

    # The store agrees: each cluster is held by the caller it was handed to, and none still waits.
    for i, cluster in claimed.items():
        stored = triage.GetCluster(t.GetClusterRequest(cluster_id=cluster.cluster_id), timeout=30).cluster
        assert stored.claim.holder == claimers[i].name
    waiting = triage.ListQueue(t.ListQueueRequest(queue=c.QUEUE_NEW, filter=queue_filter, page_size=500), timeout=30)
    assert not [x.cluster_id for x in waiting.clusters if x.cluster_id in created]


def test_update_cluster_with_a_stale_version_is_failed_precondition(stubs, intake, triage, investigator, accounts):
    c, t = stubs.cluster_pb2, stubs.triage_pb2
    answer = submit(stubs, intake, scam_report(stubs, iban=unique_iban(), domain=unique_domain()))
    read = triage.GetCluster(t.GetClusterRequest(cluster_id=answer.cluster_id), timeout=30).cluster

    update = t.UpdateClusterRequest(
        cluster_id=answer.cluster_id,
        version=read.version,
        status=c.CLUSTER_STATUS_ASSIGNED,
        assignee=investigator.name,
    )
    # An investigator may assign a cluster to itself.
    updated = triage.UpdateCluster(update, metadata=investigator.metadata, timeout=30).cluster
    assert updated.status == c.CLUSTER_STATUS_ASSIGNED
    assert updated.assignee == investigator.name
    assert updated.version == read.version + 1

    stale = t.UpdateClusterRequest(
        cluster_id=answer.cluster_id, version=read.version, status=c.CLUSTER_STATUS_CLOSED,
        disposition=c.DISPOSITION_NOT_FRAUD,
    )
    latecomer = accounts.user("investigator", hint="latecomer")
    with pytest.raises(grpc.RpcError) as raised:
        triage.UpdateCluster(stale, metadata=latecomer.metadata, timeout=30)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION, raised.value.details()

    # The stale update changed nothing.
    got = triage.GetCluster(t.GetClusterRequest(cluster_id=answer.cluster_id), timeout=30)
    now = got.cluster
    assert now.status == c.CLUSTER_STATUS_ASSIGNED
    assert now.version == updated.version
    assert now.disposition == c.DISPOSITION_UNSPECIFIED
    # The history names the signed-in user who made the change.
    changes = [e.actor for e in got.events if e.kind == c.CLUSTER_EVENT_KIND_STATUS_CHANGED]
    assert changes == [investigator.name]


def test_lookup_identifiers_known_unknown_and_bad_values(stubs, intake, lookup):
    r, c = stubs.report_pb2, stubs.cluster_pb2
    known_iban, unknown_iban = unique_iban(), unique_iban()
    answer = submit(stubs, intake, scam_report(stubs, iban=known_iban))
    # One digit changed: the check digits no longer match.
    bad_iban = known_iban[:-1] + str((int(known_iban[-1]) + 1) % 10)

    got = lookup.LookupIdentifiers(
        stubs.lookup_pb2.LookupIdentifiersRequest(
            values=[
                r.ScammerIdentifier(value=paper(unknown_iban)),
                r.ScammerIdentifier(value=bad_iban, kind_hint=r.IDENTIFIER_KIND_IBAN),
                r.ScammerIdentifier(value=f"IBAN: {paper(known_iban).lower()}"),
            ]
        ),
        timeout=30,
    ).results
    assert len(got) == 3, "one answer per value"
    unknown, bad, known = got

    assert unknown.outcome.raw == paper(unknown_iban)
    assert unknown.outcome.normalized.key == f"iban:{unknown_iban}"
    assert unknown.known is False
    assert unknown.report_count == 0 and unknown.cluster_id == 0

    assert bad.outcome.raw == bad_iban
    assert bad.outcome.WhichOneof("result") == "unverified"
    assert bad.outcome.unverified.reason == "IBAN_CHECKSUM"
    assert bad.known is False and bad.report_count == 0

    assert known.outcome.normalized.key == f"iban:{known_iban}"
    assert known.known is True
    assert known.report_count == 1
    assert known.cluster_id == answer.cluster_id
    assert known.state == c.IDENTIFIER_STATE_NORMAL
    assert list(known.categories) == [r.SCAM_CATEGORY_INVESTMENT]


def test_list_queue_with_an_invalid_page_token_is_invalid(stubs, triage):
    c, t = stubs.cluster_pb2, stubs.triage_pb2
    with pytest.raises(grpc.RpcError) as raised:
        triage.ListQueue(t.ListQueueRequest(queue=c.QUEUE_NEW, page_token="not-a-token"), timeout=30)
    _, bad_request = bad_request_of(raised.value)
    assert violations(bad_request) == {"page_token": "INVALID_PAGE_TOKEN"}


# ---------------------------------------------------------------------------- authentication


def code_of(call) -> grpc.StatusCode:
    """The status code a call fails with (it must fail)."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value.code()


def test_calls_without_credentials_are_unauthenticated(stubs, channel):
    """The raw channel sends no authorization metadata; health (open) still answers."""
    bare_intake = stubs.intake_pb2_grpc.IntakeServiceStub(channel)
    bare_triage = stubs.triage_pb2_grpc.TriageServiceStub(channel)
    bare_lookup = stubs.lookup_pb2_grpc.LookupServiceStub(channel)
    report = scam_report(stubs, iban=unique_iban())
    calls = {
        "SubmitReport": lambda: bare_intake.SubmitReport(
            stubs.intake_pb2.SubmitReportRequest(report=report), timeout=30
        ),
        "GetReport": lambda: bare_triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=1), timeout=30),
        "ListQueues": lambda: bare_triage.ListQueues(stubs.triage_pb2.ListQueuesRequest(), timeout=30),
        "LookupIdentifiers": lambda: bare_lookup.LookupIdentifiers(
            stubs.lookup_pb2.LookupIdentifiersRequest(values=[stubs.report_pb2.ScammerIdentifier(value=unique_iban())]),
            timeout=30,
        ),
    }
    codes = {name: code_of(call) for name, call in calls.items()}
    assert codes == {name: grpc.StatusCode.UNAUTHENTICATED for name in calls}
    with pytest.raises(grpc.RpcError) as raised:
        bare_triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=1), timeout=30)
    assert "authorization: Bearer" in raised.value.details()
    assert health_status(channel) == 1, "health needs no credentials"


def test_made_up_or_malformed_credentials_are_unauthenticated(stubs, channel, supervisor):
    triage = stubs.triage_pb2_grpc.TriageServiceStub(channel)
    request = stubs.triage_pb2.ListQueuesRequest()
    for metadata in (
        bearer("stk_" + uuid.uuid4().hex * 2),  # a key no one made
        bearer("sts_" + uuid.uuid4().hex * 2),  # a session no one started
        bearer("not-a-token"),
        (("authorization", f"Basic {supervisor.token}"),),  # a real token, the wrong scheme
        (("authorization", supervisor.token),),  # no scheme
    ):
        with pytest.raises(grpc.RpcError) as raised:
            triage.ListQueues(request, metadata=metadata, timeout=30)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED, (metadata, raised.value.details())
    # The same request with the token as it should be sent works.
    assert len(triage.ListQueues(request, metadata=supervisor.metadata, timeout=30).queues) == 4


def test_login_with_a_wrong_password_is_unauthenticated(stubs, auth, accounts):
    name, password = accounts.create_user("investigator", hint="wrongpw")
    other_password = accounts.create_user("investigator", hint="other")[1]
    with pytest.raises(grpc.RpcError) as wrong:
        auth.Login(stubs.auth_pb2.LoginRequest(user_name=name, password=other_password), timeout=30)
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED, wrong.value.details()
    # An unknown user gets the same answer, so that answers do not tell which names exist.
    with pytest.raises(grpc.RpcError) as unknown:
        nobody = f"nobody-{uuid.uuid4().hex[:12]}"
        auth.Login(stubs.auth_pb2.LoginRequest(user_name=nobody, password=password), timeout=30)
    assert unknown.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert unknown.value.details() == wrong.value.details()
    # The right password still works after one failure.
    answer = auth.Login(stubs.auth_pb2.LoginRequest(user_name=name, password=password), timeout=30)
    assert answer.token.startswith("sts_")
    assert answer.role == stubs.auth_pb2.ROLE_INVESTIGATOR


def test_login_answers_a_token_role_and_expiry(stubs, auth, accounts):
    name, password = accounts.create_user("supervisor", hint="login")
    before = dt.datetime.now(UTC)
    answer = auth.Login(stubs.auth_pb2.LoginRequest(user_name=name, password=password), timeout=30)
    assert answer.token.startswith("sts_")
    assert answer.role == stubs.auth_pb2.ROLE_SUPERVISOR
    lasts = answer.expires_at.ToDatetime(tzinfo=UTC) - before
    assert dt.timedelta(hours=11, minutes=55) < lasts < dt.timedelta(hours=12, minutes=5), f"a session lasts {lasts}"
    # Each sign-in is a session of its own.
    again = auth.Login(stubs.auth_pb2.LoginRequest(user_name=name, password=password), timeout=30)
    assert again.token != answer.token


def test_who_am_i_for_a_signed_in_investigator(stubs, auth, investigator):
    me = auth.WhoAmI(stubs.auth_pb2.WhoAmIRequest(), metadata=investigator.metadata, timeout=30)
    assert me.name == investigator.name
    assert me.role == stubs.auth_pb2.ROLE_INVESTIGATOR
    assert me.agency == ""
    assert me.HasField("expires_at"), "a session ends"
    assert me.expires_at.ToDatetime(tzinfo=UTC) > dt.datetime.now(UTC) + dt.timedelta(hours=11)


def test_who_am_i_for_an_api_key(stubs, auth, intake_key, accounts):
    me = auth.WhoAmI(stubs.auth_pb2.WhoAmIRequest(), metadata=intake_key.metadata, timeout=30)
    assert me.name == intake_key.name and me.name.startswith("key:pytest-intake-")
    assert me.role == stubs.auth_pb2.ROLE_INTAKE
    assert not me.HasField("expires_at"), "API keys last until revoked"
    agency = f"Pytest Police {accounts.tag}"
    liaison = accounts.key("liaison", agency=agency)
    me = auth.WhoAmI(stubs.auth_pb2.WhoAmIRequest(), metadata=liaison.metadata, timeout=30)
    assert (me.name, me.role, me.agency) == (liaison.name, stubs.auth_pb2.ROLE_LIAISON, agency)


def test_logout_ends_the_session(stubs, auth, accounts):
    user = accounts.user("investigator", hint="logout")
    other = accounts.login(user.name, user.password)
    auth.Logout(stubs.auth_pb2.LogoutRequest(), metadata=user.metadata, timeout=30)
    with pytest.raises(grpc.RpcError) as raised:
        auth.WhoAmI(stubs.auth_pb2.WhoAmIRequest(), metadata=user.metadata, timeout=30)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # The user's other session goes on.
    assert auth.WhoAmI(stubs.auth_pb2.WhoAmIRequest(), metadata=bearer(other), timeout=30).name == user.name


def test_revoked_key_is_unauthenticated(stubs, channel, auth, accounts):
    key = accounts.key("intake", hint="revoked")
    accounts.cli("key", "revoke", "--name", key.name.removeprefix("key:"))
    listed = [line.split("\t") for line in accounts.cli("key", "list").splitlines()[1:]]
    revoked_at = {row[0]: row[4] for row in listed}[key.name.removeprefix("key:")]
    assert revoked_at != "-", "key list shows when it was revoked"
    # Never used before its revocation, so no server has it cached: refused at once.
    intake = stubs.intake_pb2_grpc.IntakeServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        intake.SubmitReport(
            stubs.intake_pb2.SubmitReportRequest(report=scam_report(stubs, iban=unique_iban())),
            metadata=key.metadata,
            timeout=30,
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


# ---------------------------------------------------------------------------- authorisation


def test_intake_key_on_triage_methods_is_permission_denied(stubs, channel, intake, intake_key):
    r, c, t = stubs.report_pb2, stubs.cluster_pb2, stubs.triage_pb2
    answer = submit(stubs, intake, scam_report(stubs, iban=unique_iban(), domain=unique_domain()))
    as_intake = stubs.triage_pb2_grpc.TriageServiceStub(authorized(channel, intake_key.token))
    calls = {
        "GetReport": lambda: as_intake.GetReport(t.GetReportRequest(report_id=answer.report_id), timeout=30),
        "GetCluster": lambda: as_intake.GetCluster(t.GetClusterRequest(cluster_id=answer.cluster_id), timeout=30),
        "ListQueues": lambda: as_intake.ListQueues(t.ListQueuesRequest(), timeout=30),
        "ClaimNext": lambda: as_intake.ClaimNext(t.ClaimNextRequest(queue=c.QUEUE_NEW), timeout=30),
        "SetIdentifierState": lambda: as_intake.SetIdentifierState(
            t.SetIdentifierStateRequest(
                key=answer.identifiers[0].normalized.key, state=c.IDENTIFIER_STATE_EXCLUDED, reason="not mine"
            ),
            timeout=30,
        ),
    }
    codes = {name: code_of(call) for name, call in calls.items()}
    assert codes == {name: grpc.StatusCode.PERMISSION_DENIED for name in calls}
    # Nor may it look identifiers up.
    as_intake_lookup = stubs.lookup_pb2_grpc.LookupServiceStub(authorized(channel, intake_key.token))
    with pytest.raises(grpc.RpcError) as raised:
        as_intake_lookup.LookupIdentifiers(
            stubs.lookup_pb2.LookupIdentifiersRequest(values=[r.ScammerIdentifier(value=unique_iban())]), timeout=30
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_supervisor_may_not_submit_reports(stubs, channel, supervisor):
    as_supervisor = stubs.intake_pb2_grpc.IntakeServiceStub(authorized(channel, supervisor.token))
    with pytest.raises(grpc.RpcError) as raised:
        submit(stubs, as_supervisor, scam_report(stubs, iban=unique_iban()))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_only_a_supervisor_safelists_and_assigns_others(stubs, intake, triage, investigator, supervisor):
    c, t = stubs.cluster_pb2, stubs.triage_pb2
    iban = unique_iban()
    answer = submit(stubs, intake, scam_report(stubs, iban=iban, domain=unique_domain()))
    key = f"iban:{iban}"

    safelist = t.SetIdentifierStateRequest(key=key, state=c.IDENTIFIER_STATE_SAFELISTED, reason="the victim's own bank")
    with pytest.raises(grpc.RpcError) as raised:
        triage.SetIdentifierState(safelist, metadata=investigator.metadata, timeout=30)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, raised.value.details()
    # An investigator may exclude; the supervisor (the triage stub's default) may safelist.
    exclude = t.SetIdentifierStateRequest(key=key, state=c.IDENTIFIER_STATE_EXCLUDED, reason="a shared account")
    excluded = triage.SetIdentifierState(exclude, metadata=investigator.metadata, timeout=30)
    assert excluded.identifier.state == c.IDENTIFIER_STATE_EXCLUDED
    safelisted = triage.SetIdentifierState(safelist, timeout=30)
    assert safelisted.identifier.state == c.IDENTIFIER_STATE_SAFELISTED

    version = triage.GetCluster(t.GetClusterRequest(cluster_id=answer.cluster_id), timeout=30).cluster.version
    to_supervisor = t.UpdateClusterRequest(
        cluster_id=answer.cluster_id, version=version, status=c.CLUSTER_STATUS_ASSIGNED, assignee=supervisor.name
    )
    with pytest.raises(grpc.RpcError) as raised:
        triage.UpdateCluster(to_supervisor, metadata=investigator.metadata, timeout=30)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, raised.value.details()
    to_investigator = t.UpdateClusterRequest(
        cluster_id=answer.cluster_id, version=version, status=c.CLUSTER_STATUS_ASSIGNED, assignee=investigator.name
    )
    assigned = triage.UpdateCluster(to_investigator, timeout=30).cluster
    assert (assigned.assignee, assigned.version) == (investigator.name, version + 1)


def test_liaison_reads_only_clusters_referred_to_its_agency(stubs, channel, intake, triage, accounts):
    t = stubs.triage_pb2
    agency = f"Pytest Police {accounts.tag}"
    liaison = accounts.key("liaison", agency=agency)
    as_liaison = stubs.triage_pb2_grpc.TriageServiceStub(authorized(channel, liaison.token))
    iban = unique_iban()
    answer = submit(stubs, intake, scam_report(stubs, iban=iban, domain=unique_domain()))

    found = stubs.lookup_pb2_grpc.LookupServiceStub(authorized(channel, liaison.token)).LookupIdentifiers(
        stubs.lookup_pb2.LookupIdentifiersRequest(values=[stubs.report_pb2.ScammerIdentifier(value=iban)]), timeout=30
    )
    assert found.results[0].known and found.results[0].cluster_id == answer.cluster_id
    with pytest.raises(grpc.RpcError) as raised:
        as_liaison.GetReport(t.GetReportRequest(report_id=answer.report_id), timeout=30)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, "a liaison reads no victim data"
    with pytest.raises(grpc.RpcError) as raised:
        as_liaison.GetCluster(t.GetClusterRequest(cluster_id=answer.cluster_id), timeout=30)
    # Outside its scope a liaison hears what an unknown cluster answers.
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND, "not referred yet"
    assert raised.value.details() == "no such cluster"

    version = triage.GetCluster(t.GetClusterRequest(cluster_id=answer.cluster_id), timeout=30).cluster.version
    triage.UpdateCluster(
        t.UpdateClusterRequest(cluster_id=answer.cluster_id, version=version, referred_to=agency), timeout=30
    )
    got = as_liaison.GetCluster(t.GetClusterRequest(cluster_id=answer.cluster_id), timeout=30)
    assert got.cluster.referred_to == agency

    # Another agency's liaison still may not read it.
    other = accounts.key("liaison", agency=f"Other Police {accounts.tag}")
    with pytest.raises(grpc.RpcError) as raised:
        stubs.triage_pb2_grpc.TriageServiceStub(channel).GetCluster(
            t.GetClusterRequest(cluster_id=answer.cluster_id), metadata=other.metadata, timeout=30
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


# ---------------------------------------------------------------------------- audit trail


def test_get_report_is_audited_and_only_admins_read_the_trail(stubs, admin, intake, triage, supervisor, accounts):
    answer = submit(stubs, intake, scam_report(stubs, iban=unique_iban()))
    triage.GetReport(stubs.triage_pb2.GetReportRequest(report_id=answer.report_id), timeout=30)
    request = stubs.admin_pb2.ListAuditEventsRequest(actor=supervisor.name, page_size=1000)

    with pytest.raises(grpc.RpcError) as raised:
        admin.ListAuditEvents(request, metadata=supervisor.metadata, timeout=30)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED

    administrator = accounts.user("admin")
    events = admin.ListAuditEvents(request, metadata=administrator.metadata, timeout=30).events
    assert events and all(e.actor == supervisor.name for e in events)
    get_report = "/scamtrail.v1.TriageService/GetReport"
    mine = [e for e in events if e.action == get_report and list(e.targets) == [f"report:{answer.report_id}"]]
    assert len(mine) == 1, [(e.sequence, e.action, list(e.targets)) for e in events]
    event = mine[0]
    assert event.role == stubs.auth_pb2.ROLE_SUPERVISOR
    assert event.outcome == "OK"
    assert event.peer.startswith("127.0.0.1:")
    assert re.fullmatch(r"[0-9a-f]{64}", event.hash)
    assert [e.sequence for e in events] == sorted({e.sequence for e in events}), "oldest first, no repeats"
