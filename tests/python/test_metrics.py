"""The Prometheus endpoint (`serve --metrics-listen`), read with prometheus_client's own text
parser: every served method has its series from the start, and the counters move with the calls
made, whether over gRPC or gRPC-Web, answered or refused by the guard, or to a path nobody serves."""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import health_status

CODES = [
    "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
    "Internal", "Unavailable", "DataLoss", "Unauthenticated",
]


def scrape(server) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def series(name: str, service: str, method: str, kind: str = "unary", **extra: str):
    labels = {"grpc_service": service, "grpc_method": method, "grpc_type": kind, **extra}
    return (name, frozenset(labels.items()))


def handled(service: str, method: str, code: str, kind: str = "unary"):
    return series("grpc_server_handled_total", service, method, kind, grpc_code=code)


def served_methods(stubs) -> list[tuple[str, str, str]]:
    methods = []
    for module in (stubs.intake_pb2, stubs.triage_pb2, stubs.lookup_pb2, stubs.auth_pb2, stubs.admin_pb2, stubs.export_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for m in service.methods:
                kind = {
                    (False, False): "unary", (False, True): "server_stream",
                    (True, False): "client_stream", (True, True): "bidi_stream",
                }[(m.client_streaming, m.server_streaming)]
                methods.append((service.full_name, m.name, kind))
    return methods


def test_every_served_method_has_its_series_from_the_start(server, stubs):
    samples = scrape(server)
    methods = served_methods(stubs)
    assert len(methods) >= 20
    for service, method, kind in methods:
        assert series("grpc_server_started_total", service, method, kind) in samples, (service, method)
        for code in CODES:
            assert handled(service, method, code, kind) in samples, (service, method, code)
    # No label value comes from a caller: every service label is a known one.
    services = {dict(labels).get("grpc_service") for name, labels in samples if name.startswith("grpc_server_")}
    assert services == {s for s, _, _ in methods} | {
        "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
        "unknown",
    }


def test_counters_move_with_the_calls_made(server, stubs, channel, intake):
    intake_service = "scamtrail.v1.IntakeService"
    before = scrape(server)

    # Answered: one report stored.
    report = stubs.report_pb2.Report(
        category=stubs.report_pb2.SCAM_CATEGORY_ROMANCE,
        narrative="He said he was an engineer on an oil rig and needed money for customs.",
    )
    intake.SubmitReport(stubs.intake_pb2.SubmitReportRequest(report=report), timeout=30)
    # Refused by the handler: no report at all.
    with pytest.raises(grpc.RpcError) as bad:
        intake.SubmitReport(stubs.intake_pb2.SubmitReportRequest(), timeout=30)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Refused by the guard: no credentials, twice.
    anonymous = stubs.intake_pb2_grpc.IntakeServiceStub(channel)
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as refused:
            anonymous.NormalizeIdentifiers(stubs.intake_pb2.NormalizeIdentifiersRequest(), timeout=30)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # A path nobody serves, chosen by the caller: folded into "unknown".
    made_up = channel.unary_unary("/scamtrail.v1.TriageService/DropEverything",
                                  request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as unknown:
        made_up(b"", timeout=30)
    assert unknown.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Over gRPC and over gRPC-Web (HTTP/1.1, as a browser sends it): two health checks.
    assert health_status(channel) == 1
    web = urllib.request.Request(
        f"http://{server.address}/grpc.health.v1.Health/Check",
        data=b"\x00\x00\x00\x00\x00",
        headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1"},
        method="POST",
    )
    with urllib.request.urlopen(web, timeout=10) as answer:
        assert answer.status == 200
        assert b"grpc-status:0" in answer.read().replace(b" ", b"")

    after = scrape(server)

    def moved(key) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved(series("grpc_server_started_total", intake_service, "SubmitReport")) == 2
    assert moved(handled(intake_service, "SubmitReport", "OK")) == 1
    assert moved(handled(intake_service, "SubmitReport", "InvalidArgument")) == 1
    assert moved(handled(intake_service, "NormalizeIdentifiers", "Unauthenticated")) == 2
    assert moved(handled("unknown", "unknown", "PermissionDenied", "unknown")) == 1
    assert moved(handled("grpc.health.v1.Health", "Check", "OK")) == 2
    assert moved(series("grpc_server_handling_seconds_count", intake_service, "SubmitReport")) == 2
    assert moved(series("grpc_server_handling_seconds_bucket", intake_service, "SubmitReport", le="+Inf")) == 2
    assert moved(("scamtrail_reports_submitted_total", frozenset({"category": "romance"}.items()))) == 1
    assert not any("DropEverything" in str(labels) for _, labels in after)


def test_the_store_is_measured(server, stubs, intake):
    """The writers' batches and commits, live clusters by status, queue depths and the pool: the
    batch counter moves with a stored report, and the counts (read every 5 s) see its cluster."""
    import time

    def reports_batches(scraped) -> float:
        return scraped.get(("scamtrail_writer_batch_size_count", frozenset({"writer": "reports"}.items())), 0.0)

    before = scrape(server)
    for name in ("scamtrail_writer_commit_seconds_count", "scamtrail_audit_append_seconds_count",
                 "scamtrail_clusters", "scamtrail_queue_clusters", "scamtrail_identifiers_not_linking",
                 "scamtrail_db_pool_connections"):
        assert any(n == name for n, _ in before), f"{name} is exported from the start"
    report = stubs.report_pb2.Report(
        category=stubs.report_pb2.SCAM_CATEGORY_ROMANCE,
        narrative="A soldier on a peacekeeping mission needed money for his leave papers.",
    )
    intake.SubmitReport(stubs.intake_pb2.SubmitReportRequest(report=report), timeout=30)
    deadline = time.monotonic() + 15
    while True:
        after = scrape(server)
        new = after.get(("scamtrail_clusters", frozenset({"status": "new"}.items())), 0.0)
        waiting = after.get(("scamtrail_queue_clusters", frozenset({"queue": "new"}.items())), 0.0)
        if reports_batches(after) > reports_batches(before) and new >= 1 and waiting >= 1:
            break
        assert time.monotonic() < deadline, (reports_batches(before), reports_batches(after), new, waiting)
        time.sleep(0.2)
    assert after[("scamtrail_db_pool_connections", frozenset({"state": "idle"}.items()))] >= 0


def test_the_dashboard_refers_only_to_exported_series(server):
    """deploy/grafana-dashboard.json is valid JSON and every series its queries name is one the
    server exports (a renamed metric must not leave an empty panel behind)."""
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json").read_text())
    exported = {name for name, _ in scrape(server)}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert len(exprs) >= 8
    functions = {"sum", "rate", "by", "histogram_quantile", "label_values", "job", "le", "grpc_type", "grpc_code",
                 "grpc_service", "grpc_method", "category", "limit", "max", "writer", "status", "queue", "state"}
    named = set()
    for expr in exprs:
        for word in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", re.sub(r'"[^"]*"|\$\w+|\[[^\]]*\]', "", expr)):
            if word not in functions:
                named.add(word)
    assert named, exprs
    assert named <= exported, f"series the dashboard reads but the server does not export: {named - exported}"
