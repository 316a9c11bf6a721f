"""Exports checked with the parsers police and analysts use: the STIX bundle validates with
stix2-validator and parses with stix2, the MISP event loads in PyMISP with every object checked
against its template (strict), the GraphML reads back with networkx with typed values, the CSVs
with Python's csv, the referral package's BagIt manifests check, case.html renders in headless
chromium, and no victim personal data or narrative is in any of them."""

import csv
import hashlib
import io
import json
import pathlib
import re
import shutil
import subprocess
import tempfile
import uuid
import zipfile

import grpc
import networkx
import pytest
import stix2
from pymisp import MISPEvent, MISPObject
from stix2validator import ValidationOptions, validate_string

from conftest import authorized
from test_grpcio_client import paper, submit, ts, unique_domain, unique_iban

VICTIM_NAME = "Marguerite Exportvictim"
VICTIM_EMAIL = "marguerite.exportvictim@example.org"
VICTIM_PHONE = "+33612345678"
NARRATIVE = "NARRATIVE-MUST-NOT-LEAVE-7f3a"
SECRETS = [VICTIM_NAME, VICTIM_EMAIL, VICTIM_PHONE, "33612345678", NARRATIVE, "exportvictim"]


def unique_evm() -> str:
    return "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def case(stubs, intake):
    """A cluster of three reports sharing an IBAN, with a number, a wallet, an e-mail address, a
    domain, a shortened link and a Telegram handle, and victims with names, e-mails, phones and
    narratives."""
    r = stubs.report_pb2
    iban, domain, wallet = unique_iban(), unique_domain(), unique_evm()
    link = f"https://bit.ly/{uuid.uuid4().hex[:9]}"
    mule = f"mule-{uuid.uuid4().hex[:10]}@scam-mail.net"
    phone = "+4479%08d" % (uuid.uuid4().int % 10**8)
    answers = []
    for n in range(3):
        identifiers = [
            r.ScammerIdentifier(value=domain, role=r.IDENTIFIER_ROLE_WEBSITE),
            r.ScammerIdentifier(value=link, role=r.IDENTIFIER_ROLE_WEBSITE),
            r.ScammerIdentifier(value=phone, role=r.IDENTIFIER_ROLE_CALLER_NUMBER),
            r.ScammerIdentifier(value=mule, role=r.IDENTIFIER_ROLE_EMAIL),
            r.ScammerIdentifier(value=wallet, role=r.IDENTIFIER_ROLE_WALLET),
        ]
        report = r.Report(
            category=r.SCAM_CATEGORY_INVESTMENT,
            narrative=f"{NARRATIVE} I called {VICTIM_PHONE} back.",
            first_contact_at=ts(2026, 8, 20 + n, 9),
            payments=[
                r.Payment(
                    amount_minor=100_000 + n,
                    currency="EUR",
                    method=r.PAYMENT_METHOD_BANK_TRANSFER,
                    paid_at=ts(2026, 9, 1 + n, 12),
                    beneficiaries=[
                        r.ScammerIdentifier(value=paper(iban), role=r.IDENTIFIER_ROLE_BENEFICIARY_ACCOUNT)
                    ],
                )
            ],
            identifiers=identifiers,
            # The third victim does not consent to share the report with the police.
            victim=r.Victim(name=VICTIM_NAME, email=VICTIM_EMAIL, phone=VICTIM_PHONE, country="FR",
                            consent_to_share_with_police=n < 2),
        )
        answers.append(submit(stubs, intake, report))
    cluster = answers[0].cluster_id
    assert all(a.cluster_id == cluster for a in answers)
    return {"cluster": cluster, "iban": iban, "domain": domain, "wallet": wallet.lower(), "mule": mule,
            "link": link, "phone": phone, "references": [a.reference for a in answers]}


@pytest.fixture(scope="module")
def exports(channel, stubs, investigator):
    return stubs.export_pb2_grpc.ExportServiceStub(authorized(channel, investigator.token))


def export(stubs, exports, cluster, fmt, **options):
    chunks = list(
        exports.ExportCluster(
            stubs.export_pb2.ExportClusterRequest(
                cluster_id=cluster, format=fmt, options=stubs.export_pb2.ExportOptions(**options)
            ),
            timeout=60,
        )
    )
    assert chunks and chunks[0].content_type and chunks[0].file_name
    assert all(not c.content_type for c in chunks[1:]), "only the first chunk names the content"
    return chunks[0], b"".join(c.data for c in chunks)


def stix_valid(data: bytes):
    """Validates with stix2-validator; prints its verdict (warnings are allowed, errors are not)."""
    results = validate_string(data.decode(), ValidationOptions(version="2.1"))
    found = results.object_results if hasattr(results, "object_results") else [results]
    errors = [str(e) for o in found for e in o.errors]
    warnings = sorted({str(w) for o in found for w in o.warnings})
    print(f"stix2-validator: valid={results.is_valid} errors={len(errors)} warnings={warnings}")
    assert results.is_valid, errors


def no_victim_data(data: bytes):
    text = data.decode("utf-8", "replace").lower()
    for secret in SECRETS:
        assert secret.lower() not in text, f"victim data {secret!r} in an export"


def test_stix_bundle_validates_and_parses(stubs, exports, case):
    head, data = export(stubs, exports, case["cluster"], stubs.export_pb2.EXPORT_FORMAT_STIX)
    assert head.content_type.startswith("application/stix+json")
    no_victim_data(data)
    stix_valid(data)
    bundle = stix2.parse(data.decode(), allow_custom=True)
    objects = bundle.objects
    types = [o["type"] for o in objects]
    for t in ["identity", "marking-definition", "extension-definition", "bank-account", "phone-number",
              "cryptocurrency-wallet", "domain-name", "url", "email-addr", "grouping"]:
        assert t in types, f"{t} missing from {sorted(set(types))}"
    assert types.count("observed-data") == 3
    by_type = {o["type"]: o for o in objects}
    # SCO ids as stix2 computes them (UUIDv5 over the id-contributing properties).
    assert by_type["domain-name"]["id"] == stix2.DomainName(value=case["domain"]).id
    assert by_type["email-addr"]["id"] == stix2.EmailAddress(value=case["mule"]).id
    assert by_type["url"]["id"] == stix2.URL(value=case["link"]).id
    assert by_type["bank-account"]["iban"] == case["iban"]
    assert by_type["phone-number"]["value"] == case["phone"]
    assert by_type["cryptocurrency-wallet"]["value"] == case["wallet"]
    assert "ETH" in by_type["cryptocurrency-wallet"]["labels"]
    grouping = by_type["grouping"]
    assert grouping["context"] == "suspicious-activity"
    ids = {o["id"] for o in objects}
    assert set(grouping["object_refs"]) <= ids
    amber_strict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    assert all(amber_strict in o.get("object_marking_refs", []) for o in objects if o["type"] not in
               ("identity", "marking-definition", "extension-definition"))
    references = {r["external_id"] for o in objects if o["type"] == "observed-data" for r in o["external_references"]}
    assert references == set(case["references"])
    _, green = export(stubs, exports, case["cluster"], stubs.export_pb2.EXPORT_FORMAT_STIX,
                      tlp=stubs.export_pb2.TLP_MARKING_GREEN)
    assert b"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb" in green


def test_misp_event_loads_in_strict_template_mode(stubs, exports, case):
    head, data = export(stubs, exports, case["cluster"], stubs.export_pb2.EXPORT_FORMAT_MISP)
    no_victim_data(data)
    event = MISPEvent(strict_validation=True)
    event.load(data.decode())
    assert "tlp:amber+strict" in [t.name for t in event.tags]
    names = sorted(o.name for o in event.objects)
    assert names.count("report") == 3
    for name in ["annotation", "bank-account", "phone-number", "coin-address"]:
        assert name in names
    for obj in event.objects:
        # Rebuilt with strict=True: an unknown relation or a missing required one raises.
        strict = MISPObject(obj.name, strict=True)
        assert strict._known_template, obj.name
        assert obj.template_uuid == strict.template_uuid
        for attribute in obj.attributes:
            strict.add_attribute(attribute.object_relation, value=attribute.value, type=attribute.type,
                                 category=attribute.category)
        strict._validate()
    values = {a.value for a in event.attributes}
    assert case["domain"] in values and case["mule"] in values
    assert [a.type for a in event.attributes if a.value == case["link"]] == ["url"]
    reports = [o for o in event.objects if o.name == "report"]
    uuids = {o.uuid for o in event.objects} | {a.uuid for a in event.attributes}
    for report in reports:
        assert report.references, "a report object refers to its identifiers"
        assert all(ref.referenced_uuid in uuids for ref in report.references)


def test_graphml_reads_back_with_typed_values(stubs, exports, case):
    head, data = export(stubs, exports, case["cluster"], stubs.export_pb2.EXPORT_FORMAT_GRAPHML)
    no_victim_data(data)
    graph = networkx.read_graphml(io.BytesIO(data))
    iban = graph.nodes[f"iban:{case['iban']}"]
    assert iban["kind"] == "iban" and iban["report_count"] == 3 and isinstance(iban["report_count"], int)
    assert iban["links"] is True and iban["bridge"] is False
    report = graph.nodes[f"report:{case['references'][0]}"]
    assert report["kind"] == "report" and report["loss_minor"] == 100_000 and report["currency"] == "EUR"
    edge = graph.edges[f"report:{case['references'][0]}", f"iban:{case['iban']}"]
    assert edge["role"] == "beneficiary_account" and isinstance(edge["weight"], float)
    assert networkx.is_bipartite(graph)


def read_csv(data: bytes):
    assert b"\r\n" in data, "RFC 4180 lines end with CRLF"
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def test_csv_files_have_stable_headers(stubs, exports, case):
    head, data = export(stubs, exports, case["cluster"], stubs.export_pb2.EXPORT_FORMAT_CSV)
    no_victim_data(data)
    files = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(files.namelist()) == ["identifiers.csv", "payments.csv", "reports.csv"]
    reports = read_csv(files.read("reports.csv"))
    assert reports[0] == ["reference", "received_at", "category", "first_contact_at", "last_contact_at",
                          "contact_channels", "contact_ongoing", "payment_count", "identifier_keys"]
    assert sorted(row[0] for row in reports[1:]) == sorted(case["references"])
    payments = read_csv(files.read("payments.csv"))
    assert payments[0] == ["reference", "position", "amount_minor", "amount", "currency", "method", "paid_at",
                           "transaction_hash", "recall_requested", "beneficiary_key"]
    assert sorted(row[3] for row in payments[1:]) == ["1000.00", "1000.01", "1000.02"]
    assert {row[9] for row in payments[1:]} == {f"iban:{case['iban']}"}
    identifiers = read_csv(files.read("identifiers.csv"))
    assert identifiers[0][:3] == ["key", "kind", "value"]
    keys = {row[0]: row for row in identifiers[1:]}
    assert keys[f"iban:{case['iban']}"][5] == "3"


def test_referral_package_manifest_checks(stubs, exports, case, accounts, channel):
    head, data = export(stubs, exports, case["cluster"], stubs.export_pb2.EXPORT_FORMAT_PACKAGE)
    assert head.file_name.endswith(".zip")
    no_victim_data(data)
    package = zipfile.ZipFile(io.BytesIO(data))
    names = set(package.namelist())
    cluster = case["cluster"]
    for name in ["data/case.html", "data/reports.csv", "data/payments.csv", "data/identifiers.csv",
                 f"data/cluster-{cluster}.stix.json", f"data/cluster-{cluster}.misp.json",
                 f"data/cluster-{cluster}.graphml", "bagit.txt", "bag-info.txt", "manifest-sha256.txt",
                 "tagmanifest-sha256.txt"]:
        assert name in names
    for manifest in ["manifest-sha256.txt", "tagmanifest-sha256.txt"]:
        lines = package.read(manifest).decode().splitlines()
        assert lines
        for line in lines:
            digest, path = line.split("  ", 1)
            assert hashlib.sha256(package.read(path)).hexdigest() == digest, path
    listed = {line.split("  ", 1)[1] for line in package.read("manifest-sha256.txt").decode().splitlines()}
    assert listed == {n for n in names if n.startswith("data/")}
    info = dict(line.split(": ", 1) for line in package.read("bag-info.txt").decode().splitlines())
    sequence = int(info["Scamtrail-Audit-Sequence"])
    admin = accounts.user("admin")
    audit = stubs.admin_pb2_grpc.AdminServiceStub(authorized(channel, admin.token))
    events = audit.ListAuditEvents(stubs.admin_pb2.ListAuditEventsRequest(after_sequence=sequence - 1, page_size=1),
                                   timeout=30).events
    assert events and events[0].sequence == sequence
    assert f"cluster:{cluster}" in events[0].targets and "format:package" in events[0].targets
    size = int(info["Payload-Oxum"].split(".")[0])
    assert f"bytes:{size}" in events[0].targets
    # A referral carries the reports of the victims who consented to share them with the police.
    reports = read_csv(package.read("data/reports.csv"))
    assert sorted(row[0] for row in reports[1:]) == sorted(case["references"][:2])
    html = package.read("data/case.html")
    assert b"2 of 3 reports are listed" in html
    # Self-contained: no scripts and nothing loaded from elsewhere (links reported by victims are
    # text in it).
    assert b"<script" not in html and not re.search(rb"\b(src|href)\s*=|url\(|@import", html)
    assert case["link"].encode() in html
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "headless chromium is missing: scripts/install-test-deps installs Debian's"
    with tempfile.TemporaryDirectory() as tmp:
        page = pathlib.Path(tmp) / "case.html"
        page.write_bytes(html)
        shot = pathlib.Path(tmp) / "case.png"
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                        f"--user-data-dir={tmp}/profile", "--window-size=1024,1400", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
        assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 1000


def test_exports_are_identical_twice(stubs, exports, case):
    f = stubs.export_pb2
    for fmt in [f.EXPORT_FORMAT_STIX, f.EXPORT_FORMAT_MISP, f.EXPORT_FORMAT_GRAPHML, f.EXPORT_FORMAT_CSV]:
        assert export(stubs, exports, case["cluster"], fmt)[1] == export(stubs, exports, case["cluster"], fmt)[1]
    # A package differs only in the tag files that name its own audit event.
    a = zipfile.ZipFile(io.BytesIO(export(stubs, exports, case["cluster"], f.EXPORT_FORMAT_PACKAGE)[1]))
    b = zipfile.ZipFile(io.BytesIO(export(stubs, exports, case["cluster"], f.EXPORT_FORMAT_PACKAGE)[1]))
    for name in a.namelist():
        if name not in ("bag-info.txt", "tagmanifest-sha256.txt"):
            assert a.read(name) == b.read(name), name


def test_feed_pages_with_a_cursor(stubs, channel, accounts, case):
    liaison = accounts.key("liaison", agency="Feed Police")
    feed = stubs.export_pb2_grpc.ExportServiceStub(authorized(channel, liaison.token))
    f = stubs.export_pb2

    def page(since, fmt, **kw):
        chunks = list(feed.ExportIdentifiers(f.ExportIdentifiersRequest(since=since, format=fmt, **kw), timeout=60))
        return chunks[-1].next_cursor, b"".join(c.data for c in chunks)

    cursor, data = page("", f.EXPORT_FORMAT_CSV, kinds=[stubs.report_pb2.IDENTIFIER_KIND_IBAN], min_reports=3)
    rows = read_csv(data)
    assert rows[0][0] == "key"
    assert f"iban:{case['iban']}" in {row[0] for row in rows[1:]}
    assert all(row[1] == "iban" and int(row[5]) >= 3 for row in rows[1:])
    no_victim_data(data)
    later, data = page(cursor, f.EXPORT_FORMAT_CSV, kinds=[stubs.report_pb2.IDENTIFIER_KIND_IBAN], min_reports=3)
    assert f"iban:{case['iban']}".encode() not in data, "the next page starts after the cursor"
    assert later == cursor
    _, links = page("", f.EXPORT_FORMAT_CSV, kinds=[stubs.report_pb2.IDENTIFIER_KIND_WEBSITE], min_reports=3)
    kinds = {row[1] for row in read_csv(links)[1:]}
    assert kinds <= {"domain", "url"} and f"url:{case['link'][len('https://'):]}" in links.decode(), kinds
    _, stix = page("", f.EXPORT_FORMAT_STIX)
    stix_valid(stix)
    _, misp = page("", f.EXPORT_FORMAT_MISP, page_size=50)
    MISPEvent(strict_validation=True).load(misp.decode())
    with pytest.raises(grpc.RpcError) as refused:
        page("", f.EXPORT_FORMAT_GRAPHML)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "format" in refused.value.details() + str(
        refused.value.trailing_metadata())
