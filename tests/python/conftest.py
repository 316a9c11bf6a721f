"""Fixtures for checking the scamtrail server with the official Python gRPC client (grpcio).

- ``stubs``: Python modules generated from /proto with grpc_tools.protoc into a temp dir.
- ``server``: ``scamtrail serve`` on a free 127.0.0.1 port with a temp SQLite database
  (binary: $SCAMTRAIL_BIN, default target/debug/scamtrail), healthy before tests run; one for the
  whole session, so tests share its database. $SCAMTRAIL_TEST_DATABASE_URL, if set, is used as
  --database-url instead (e.g. a database in the server that scripts/pg-test-server starts, which
  may hold earlier runs' reports).
- ``channel``: an insecure grpcio channel to it; ``intake``, ``triage``, ``lookup``: the stubs.

When a test fails, the tail of the server's log is attached to its report.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
STARTUP_TIMEOUT = float(os.environ.get("SCAMTRAIL_STARTUP_TIMEOUT", "60"))

_current_server: "Server | None" = None


def _server_binary() -> Path:
    raw = os.environ.get("SCAMTRAIL_BIN") or str(ROOT / "target" / "debug" / "scamtrail")
    path = Path(raw)
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# grpc.health.v1: HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1}
# (SERVING = 1). Encoded by hand so no extra package is needed.
def health_status(channel: grpc.Channel, service: str = "", timeout: float = 2.0) -> int:
    encoded_service = service.encode()
    request = (b"\x0a" + bytes([len(encoded_service)]) + encoded_service) if service else b""
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    response = check(request, timeout=timeout)
    if response == b"":
        return 0  # UNKNOWN (the default value is not sent)
    assert response[0] == 0x08, f"unexpected HealthCheckResponse bytes {response!r}"
    return response[1]


@pytest.fixture(scope="session")
def stubs(tmp_path_factory) -> SimpleNamespace:
    """Generates the scamtrail.v1 Python stubs with grpc_tools.protoc and imports them."""
    from grpc_tools import protoc
    import grpc_tools

    out = tmp_path_factory.mktemp("gen")
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / "scamtrail" / "v1").glob("*.proto"))
    assert protos, f"no .proto files under {PROTO_DIR}/scamtrail/v1"
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            *protos,
        ]
    )
    assert rc == 0, f"grpc_tools.protoc failed with {rc} on {protos}"
    sys.path.insert(0, str(out))
    importlib.invalidate_caches()
    return SimpleNamespace(
        report_pb2=importlib.import_module("scamtrail.v1.report_pb2"),
        intake_pb2=importlib.import_module("scamtrail.v1.intake_pb2"),
        intake_pb2_grpc=importlib.import_module("scamtrail.v1.intake_pb2_grpc"),
        triage_pb2=importlib.import_module("scamtrail.v1.triage_pb2"),
        triage_pb2_grpc=importlib.import_module("scamtrail.v1.triage_pb2_grpc"),
        cluster_pb2=importlib.import_module("scamtrail.v1.cluster_pb2"),
        lookup_pb2=importlib.import_module("scamtrail.v1.lookup_pb2"),
        lookup_pb2_grpc=importlib.import_module("scamtrail.v1.lookup_pb2_grpc"),
    )


@dataclass
class Server:
    address: str
    process: subprocess.Popen
    log_path: Path
    db_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _start(binary: Path, workdir: Path) -> Server:
    db_path = workdir / "scamtrail.db"
    database_url = os.environ.get("SCAMTRAIL_TEST_DATABASE_URL") or f"sqlite://{db_path}"
    log_path = workdir / "server.log"
    last_error = ""
    for _attempt in range(3):
        address = f"127.0.0.1:{_free_port()}"
        log = open(log_path, "wb")
        process = subprocess.Popen(
            [str(binary), "serve", "--listen", address, "--database-url", database_url],
            # Files the server makes beside itself (e.g. its card key) stay out of the tree.
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        server = Server(address, process, log_path, db_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with grpc.insecure_channel(address) as channel:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if health_status(channel, timeout=1.0) == 1:
                        return server
                except grpc.RpcError as e:
                    last_error = f"{e.code()}: {e.details()}"
                time.sleep(0.2)
        if process.poll() is None:
            _stop(server)
            raise RuntimeError(
                f"server at {address} not SERVING after {STARTUP_TIMEOUT}s ({last_error})\n{server.log_tail()}"
            )
        if "address already in use" in server.log_tail().lower():
            continue
        raise RuntimeError(f"server exited with {process.returncode}\n{server.log_tail()}")
    raise RuntimeError("could not find a free port for the server")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    global _current_server
    binary = _server_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(
            f"server binary {binary} not found (cargo build -p scamtrail-server, or set SCAMTRAIL_BIN)",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("server")
    srv = _start(binary, workdir)
    _current_server = srv
    try:
        yield srv
    finally:
        _current_server = None
        _stop(srv)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def channel(server) -> grpc.Channel:
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


@pytest.fixture(scope="session")
def intake(channel, stubs):
    return stubs.intake_pb2_grpc.IntakeServiceStub(channel)


@pytest.fixture(scope="session")
def triage(channel, stubs):
    return stubs.triage_pb2_grpc.TriageServiceStub(channel)


@pytest.fixture(scope="session")
def lookup(channel, stubs):
    return stubs.lookup_pb2_grpc.LookupServiceStub(channel)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _current_server is not None:
        srv = _current_server
        state = "running" if srv.process.poll() is None else f"exited with {srv.process.returncode}"
        report.sections.append((f"scamtrail server log ({srv.address}, {state})", srv.log_tail()))
