"""Fixtures for checking the scamtrail server with the official Python gRPC client (grpcio).

- ``stubs``: Python modules generated from /proto with grpc_tools.protoc into a temp dir (every
  file of proto/scamtrail/v1, auth.proto and admin.proto included).
- ``server``: ``scamtrail serve`` on a free 127.0.0.1 port with a temp SQLite database
  (binary: $SCAMTRAIL_BIN, default target/debug/scamtrail), healthy before tests run; one for the
  whole session, so tests share its database. $SCAMTRAIL_TEST_DATABASE_URL, if set, is used as
  --database-url instead (e.g. a database in the server that scripts/pg-test-server starts, which
  may hold earlier runs' reports, users and keys). $SCAMTRAIL_TEST_BACKEND (sqlite or postgres;
  make test sets it) says which database the run is for: with postgres, a URL that is empty or not
  postgres:// stops the session before any test runs, so that a SQLite run never passes for a
  PostgreSQL one; with sqlite, the URL must be empty or sqlite:. Rate limits are off (--intake-rate-per-key 0
  --intake-rate-per-peer 0 --login-rate-per-peer 0): the tests submit faster than they allow.
- ``channel``: an insecure grpcio channel to it, without credentials (health needs none).
- ``accounts``: makes credentials with the scamtrail CLI (``key create``, ``user create`` with the
  password on stdin) against the server's database while it runs, and signs users in with
  AuthService/Login. Names carry the session's tag, so a reused database holds none of them.
  ``intake_key``, ``supervisor``, ``investigator``: one of each for the session.
- ``intake``: the IntakeService stub sending the intake key; ``triage``, ``lookup``: the
  TriageService and LookupService stubs sending the supervisor's token; ``auth``, ``admin``: the
  AuthService and AdminService stubs, without credentials. Credentials go as grpcio metadata
  ``("authorization", "Bearer ...")``, added by an interceptor unless a call passes its own
  ``metadata=`` (e.g. ``metadata=account.metadata``).

When a test fails, the tail of the server's log is attached to its report.
"""

from __future__ import annotations

import importlib
import os
import random
import secrets
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
        auth_pb2=importlib.import_module("scamtrail.v1.auth_pb2"),
        auth_pb2_grpc=importlib.import_module("scamtrail.v1.auth_pb2_grpc"),
        admin_pb2=importlib.import_module("scamtrail.v1.admin_pb2"),
        admin_pb2_grpc=importlib.import_module("scamtrail.v1.admin_pb2_grpc"),
        export_pb2=importlib.import_module("scamtrail.v1.export_pb2"),
        export_pb2_grpc=importlib.import_module("scamtrail.v1.export_pb2_grpc"),
    )


@dataclass
class Server:
    address: str
    process: subprocess.Popen
    log_path: Path
    db_path: Path
    database_url: str
    binary: Path
    workdir: Path
    metrics_address: str

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _requested_database_url() -> str:
    """SCAMTRAIL_TEST_DATABASE_URL, checked against the database SCAMTRAIL_TEST_BACKEND asks for;
    empty for a new SQLite file."""
    backend = os.environ.get("SCAMTRAIL_TEST_BACKEND", "")
    url = os.environ.get("SCAMTRAIL_TEST_DATABASE_URL", "")
    if backend == "postgres":
        if not url.startswith(("postgres://", "postgresql://")):
            raise pytest.UsageError(
                f"a PostgreSQL run (SCAMTRAIL_TEST_BACKEND=postgres) needs "
                f"SCAMTRAIL_TEST_DATABASE_URL=postgres://..., not {url!r}"
            )
    elif backend == "sqlite":
        if url and not url.startswith("sqlite:"):
            raise pytest.UsageError(
                f"a SQLite run (SCAMTRAIL_TEST_BACKEND=sqlite) was given SCAMTRAIL_TEST_DATABASE_URL={url!r}"
            )
    elif backend:
        raise pytest.UsageError(f"SCAMTRAIL_TEST_BACKEND is sqlite or postgres, not {backend!r}")
    return url


def pytest_configure(config) -> None:
    # Before any test: a run for the wrong database must not start.
    _requested_database_url()


def _start(binary: Path, workdir: Path) -> Server:
    db_path = workdir / "scamtrail.db"
    database_url = _requested_database_url() or f"sqlite://{db_path}"
    log_path = workdir / "server.log"
    last_error = ""
    for _attempt in range(3):
        address = f"127.0.0.1:{_free_port()}"
        metrics_address = f"127.0.0.1:{_free_port()}"
        log = open(log_path, "wb")
        process = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--listen",
                address,
                "--database-url",
                database_url,
                # No rate limits: the tests submit and sign in faster than the defaults allow.
                "--intake-rate-per-key",
                "0",
                "--intake-rate-per-peer",
                "0",
                "--login-rate-per-peer",
                "0",
                "--metrics-listen",
                metrics_address,
            ],
            # Files the server makes beside itself (e.g. its card key) stay out of the tree.
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        server = Server(address, process, log_path, db_path, database_url, binary, workdir, metrics_address)
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


# ---------------------------------------------------------------------------- credentials


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """grpcio metadata carrying a session token or an API key."""
    return (("authorization", f"Bearer {token}"),)


@dataclass
class Account:
    """A credential: a signed-in user (``token`` is a session token) or an API key (``name`` is
    ``key:NAME`` as the server names its caller, ``token`` the key)."""

    name: str
    role: str
    token: str
    password: str = ""
    agency: str = ""

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.token)


def new_password() -> str:
    """At least 12 characters, at least 5 different ones, no user name in it."""
    return "Pw-" + secrets.token_hex(12)


class Accounts:
    """Makes users and keys with the scamtrail CLI against the server's database."""

    def __init__(self, server: Server, stubs: SimpleNamespace, channel: grpc.Channel):
        self.server = server
        self.stubs = stubs
        self.auth = stubs.auth_pb2_grpc.AuthServiceStub(channel)
        # Unique per session: a reused database may hold earlier runs' users and keys.
        self.tag = f"{int(time.time())}-{os.getpid()}-{random.randrange(10**6):06d}"
        self._count = 0

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Runs `scamtrail ARGS --database-url URL`; returns stdout, fails the test on an error."""
        done = subprocess.run(
            [str(self.server.binary), *args, "--database-url", self.server.database_url],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            cwd=self.server.workdir,
            timeout=120,
        )
        if done.returncode != 0:
            pytest.fail(f"scamtrail {' '.join(args)} exited with {done.returncode}:\n{done.stderr}", pytrace=False)
        return done.stdout

    def new_name(self, hint: str) -> str:
        self._count += 1
        return f"pytest-{hint}-{self.tag}-{self._count}"

    def key(self, role: str, agency: str | None = None, hint: str | None = None) -> Account:
        name = self.new_name(hint or role)
        args = ["key", "create", "--name", name, "--role", role]
        if agency:
            args += ["--agency", agency]
        key = self.cli(*args).strip()
        assert key.startswith("stk_") and "\n" not in key, f"key create printed {key!r}"
        return Account(name=f"key:{name}", role=role, token=key, agency=agency or "")

    def create_user(self, role: str, hint: str | None = None, agency: str | None = None) -> tuple[str, str]:
        """A new user and its password (not signed in)."""
        name, password = self.new_name(hint or role), new_password()
        args = ["user", "create", "--name", name, "--role", role]
        if agency:
            args += ["--agency", agency]
        self.cli(*args, stdin=password + "\n")
        return name, password

    def login(self, name: str, password: str) -> str:
        answer = self.auth.Login(self.stubs.auth_pb2.LoginRequest(user_name=name, password=password), timeout=30)
        assert answer.token.startswith("sts_"), f"Login answered token {answer.token!r}"
        return answer.token

    def user(self, role: str, hint: str | None = None) -> Account:
        """A new user, signed in."""
        name, password = self.create_user(role, hint)
        return Account(name=name, role=role, token=self.login(name, password), password=password)


class BearerAuth(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds `authorization: Bearer TOKEN` to calls that do not carry their own."""

    def __init__(self, token: str):
        self.header = bearer(token)[0]

    def _with_token(self, details):
        # grpcio's call details are a namedtuple.
        metadata = list(details.metadata or ())
        if not any(k == "authorization" for k, _ in metadata):
            metadata.append(self.header)
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)


def authorized(channel: grpc.Channel, token: str) -> grpc.Channel:
    """`channel` with every call carrying `token` (unless the call gives its own)."""
    return grpc.intercept_channel(channel, BearerAuth(token))


@pytest.fixture(scope="session")
def accounts(server, stubs, channel) -> Accounts:
    return Accounts(server, stubs, channel)


@pytest.fixture(scope="session")
def intake_key(accounts) -> Account:
    return accounts.key("intake")


@pytest.fixture(scope="session")
def supervisor(accounts) -> Account:
    return accounts.user("supervisor")


@pytest.fixture(scope="session")
def investigator(accounts) -> Account:
    return accounts.user("investigator")


@pytest.fixture(scope="session")
def intake(channel, stubs, intake_key):
    return stubs.intake_pb2_grpc.IntakeServiceStub(authorized(channel, intake_key.token))


@pytest.fixture(scope="session")
def triage(channel, stubs, supervisor):
    return stubs.triage_pb2_grpc.TriageServiceStub(authorized(channel, supervisor.token))


@pytest.fixture(scope="session")
def lookup(channel, stubs, supervisor):
    return stubs.lookup_pb2_grpc.LookupServiceStub(authorized(channel, supervisor.token))


@pytest.fixture(scope="session")
def auth(channel, stubs):
    return stubs.auth_pb2_grpc.AuthServiceStub(channel)


@pytest.fixture(scope="session")
def admin(channel, stubs):
    return stubs.admin_pb2_grpc.AdminServiceStub(channel)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _current_server is not None:
        srv = _current_server
        state = "running" if srv.process.poll() is None else f"exited with {srv.process.returncode}"
        report.sections.append((f"scamtrail server log ({srv.address}, {state})", srv.log_tail()))
