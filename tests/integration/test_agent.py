"""The agent channel end to end: the operator's server module (through
tests/drivers/agent_server_driver) on 127.0.0.1 with a certificate from a
test CA, and the real build/faultline-sidecar (run as root) holding a
cpuStress fault in a cgroup the test makes.

What is checked: a sidecar is welcomed and heartbeats; revert and abort
orders make it revert (its workers gone from the cgroup) and exit 0;
killing the server makes it revert after its grace period (dead-man
switch, exit 6); forged, expired and second-copy tokens are refused and
the refused sidecar reverts; a hello recorded on one connection is refused
on another; a server certificate from another CA is not trusted; hostile
frames are refused while the server stays up.  A small WebSocket client
written here plays the attacker (replay, garbage); the sidecar under test
is the real binary.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import pathlib
import queue
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import uuid

import pytest
from cryptography import x509

from harness import CertificateAuthority
from test_sidecar_resources import (CGROOT, Run, cgroup,  # noqa
                                    spec, state_dir, tag, workers)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (CGROOT / "cpu" / "cpu.cfs_quota_us").exists(),
    reason="needs root and the cgroup v1 cpu controller")

WAIT = 30  # seconds any one expected event may take, at most


# ---- the server ----


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("agent-pki")
    (d / "ca").mkdir()
    (d / "other").mkdir()
    ca = CertificateAuthority(d / "ca")
    crt, key = ca.issue("agent-server", "faultline-agent", server_names=[
        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    other = CertificateAuthority(d / "other")
    master = d / "master.key"
    master.write_bytes(os.urandom(32))
    other_master = d / "other-master.key"
    other_master.write_bytes(os.urandom(32))
    return {"ca": pathlib.Path(ca.cert_path).read_text(),
            "other_ca": pathlib.Path(other.cert_path).read_text(),
            "cert": str(crt), "key": str(key), "master": str(master),
            "other_master": str(other_master)}


def driver(build_dir):
    # FAULTLINE_AGENT_DRIVER runs these tests against another build of
    # the server, such as build-san's (with FAULTLINE_SIDECAR for the
    # sidecar's).
    path = pathlib.Path(os.environ.get(
        "FAULTLINE_AGENT_DRIVER",
        build_dir / "tests" / "drivers" / "agent_server_driver"))
    assert path.exists(), f"{path} missing: run make"
    return path


class AgentServer:
    """agent_server_driver serve, its events read on a thread."""

    def __init__(self, build_dir, pki, *args):
        self.events = queue.Queue()
        self.seen = []
        self.p = subprocess.Popen(
            [str(driver(build_dir)), "serve", "--cert", pki["cert"],
             "--key", pki["key"], "--master-file", pki["master"],
             "--addr", "127.0.0.1", "--port", "0", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.wait(lambda e: e["event"] == "listening")["port"]

    def _read(self):
        for line in self.p.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def wait(self, pred, timeout=WAIT, since=0):
        """The first event (seen before, from index since, or arriving)
        that pred accepts."""
        for e in self.seen[since:]:
            if pred(e):
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                e = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            assert e is not None, "server exited: %s" % self.p.stderr.read()
            self.seen.append(e)
            if pred(e):
                return e
        raise AssertionError("no such event within %ss; seen: %s"
                             % (timeout, self.seen))

    def command(self, line, event):
        """Sends a command; returns its answer (the next event named
        event that arrives after it)."""
        n = len(self.seen)
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.wait(lambda e: e["event"] == event, since=n)

    def session(self, inj):
        return self.command("session " + inj, "session")

    def alive(self):
        """The server answers a command (it did not crash)."""
        assert self.p.poll() is None, self.p.stderr.read()
        return self.command("live", "live")["n"]

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()


@pytest.fixture
def server(build_dir, pki):
    s = AgentServer(build_dir, pki, "--heartbeat", "1", "--silence", "4",
                    "--hello", "2")
    yield s
    s.stop()
    assert s.p.returncode == 0, s.p.stderr.read()


def mint(build_dir, pki, inj, exp_in=600, master="master"):
    r = subprocess.run(
        [str(driver(build_dir)), "mint", "--master-file", pki[master],
         "--run", "r1a2b3", "--ns", "shop", "--name", "slow-payments",
         "--target", "pod/shop/payments-0", "--inj", inj,
         "--exp-in", str(exp_in)],
        capture_output=True, text=True, timeout=30, check=True)
    return json.loads(r.stdout)


def inj_id():
    return "i-" + uuid.uuid4().hex[:8]


def agent_spec(tag_, cg, port, pki, tok, grace=5, ca="ca"):
    return spec(tag_, [("cpuStress", {"load": 20, "workers": 1})],
                duration="120s", target={"cgroup": str(cg["cpu"])},
                agent={"url": "wss://127.0.0.1:%d" % port,
                       "caCert": pki[ca], "token": tok["token"],
                       "proofKey": tok["proofKey"], "graceSeconds": grace})


def procs(cg):
    return (cg["cpu"] / "cgroup.procs").read_text().split()


def reverted(run):
    return [x for x in run.lines if x["state"] == "reverted"]


def assert_refused(run, code, err, why):
    """The run ended on the channel's verdict why (a refusal or the
    dead-man switch): exit 6, the verdict on
    stderr, and whatever it had applied (the refusal may come first)
    reverted for that reason."""
    assert code == 6, err
    assert "faultline-sidecar: agent: " + why in err, err
    applied = [x["index"] for x in run.lines if x["state"] == "applied"]
    assert [x["index"] for x in reverted(run)] == applied
    assert all(x["reason"] == why for x in reverted(run)), run.lines


@pytest.fixture
def runs():
    """Sidecar runs, killed and swept if a test leaves one running."""
    started = []
    yield started
    for r in started:
        if r.p.returncode is None:
            r.kill()


def start(runs, sidecar, s):
    r = Run(sidecar, s)
    runs.append(r)
    return r


# ---- a WebSocket client of our own, to play the attacker ----


class RawClient:
    """A minimal client-side WebSocket (RFC 6455) over TLS: enough to send
    exactly the frames a test wants."""

    def __init__(self, port, ca_pem, host="127.0.0.1"):
        ctx = ssl.create_default_context(cadata=ca_pem)
        raw = socket.create_connection((host, port), timeout=WAIT)
        self.s = ctx.wrap_socket(raw, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((
            "GET / HTTP/1.1\r\nHost: %s:%d\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: faultline-agent-v1\r\n\r\n"
            % (host, port, key)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = self.s.recv(4096)
            assert d, "closed during the handshake"
            buf += d
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
            .digest()).decode()
        assert want.encode() in head, head

    def send(self, data, opcode=1):
        data = data.encode() if isinstance(data, str) else data
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            hdr = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.s.sendall(hdr + mask + body)

    def _take(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text message as JSON; EOFError on a close."""
        while True:
            b0, b1 = self._take(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack(">H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._take(8))[0]
            data = self._take(n)
            if b0 & 0x0f == 8:
                raise EOFError("close frame")
            if b0 & 0x0f == 1:
                return json.loads(data)

    def closed(self):
        """True once the server closes the connection (after any frames
        still on their way)."""
        try:
            while True:
                self.recv()
        except (EOFError, ConnectionError, ssl.SSLError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def hello_for(challenge, tok, ts=None):
    ts = int(time.time()) if ts is None else ts
    key = base64.urlsafe_b64decode(tok["proofKey"] + "=")
    mac = hmac.new(key, ("%s|%d" % (challenge, ts)).encode(),
                   hashlib.sha256).digest()
    return json.dumps({"type": "hello", "token": tok["token"],
                       "proof": base64.urlsafe_b64encode(mac).decode()
                       .rstrip("="), "ts": ts})


# ---- the tests ----


@pytest.mark.parametrize("order", ["revert", "abort"])
def test_welcome_heartbeat_order(server, pki, build_dir, sidecar, cgroup,
                                 state_dir, runs, order):
    inj = inj_id()
    t = tag()
    run = start(runs, sidecar, agent_spec(t, cgroup, server.port, pki,
                                          mint(build_dir, pki, inj)))
    run.wait_applied()
    server.wait(lambda e: e["event"] == "welcomed" and e["inj"] == inj)
    server.wait(lambda e: e["event"] == "status" and e["inj"] == inj and
                e["state"] == "active")
    assert workers(t) and procs(cgroup), "the fault is not in the cgroup"

    # Heartbeats both ways: the server counts the sidecar's, and the
    # sidecar (grace 5s) outlives more than one grace period of the
    # server's alone only because it hears them.
    deadline = time.monotonic() + WAIT
    while server.session(inj)["heartbeatsRx"] < 7:
        assert time.monotonic() < deadline, server.session(inj)
        assert run.p.poll() is None, run.finish()
        time.sleep(0.5)
    assert run.p.poll() is None and workers(t)

    assert server.command("order %s %s canary failed" % (inj, order),
                          "ordered")["inj"] == inj
    code, err = run.finish(timeout=WAIT)
    assert code == 0, err
    assert [x["reason"] for x in reverted(run)] == \
        ["%s order: canary failed" % order]
    assert not workers(t) and not procs(cgroup)
    server.wait(lambda e: e["event"] == "status" and e["inj"] == inj and
                e["state"] == "reverted")
    server.wait(lambda e: e["event"] == "closed" and e["inj"] == inj)
    s = server.session(inj)
    assert s["state"] == "reverted" and not s["live"]
    assert s["ordersSent"] == 1
    assert server.alive() == 0


def test_order_for_unknown_injection(server):
    assert server.command("order i-nobody abort x", "no-session")
    assert server.alive() == 0


def test_dead_man_switch(build_dir, pki, sidecar, cgroup, state_dir, runs):
    srv = AgentServer(build_dir, pki, "--heartbeat", "1")
    try:
        inj = inj_id()
        t = tag()
        run = start(runs, sidecar, agent_spec(
            t, cgroup, srv.port, pki, mint(build_dir, pki, inj), grace=3))
        run.wait_applied()
        srv.wait(lambda e: e["event"] == "status" and e["inj"] == inj and
                 e["state"] == "active")
        assert workers(t)
        srv.p.kill()
        srv.p.wait()
        code, err = run.finish(timeout=WAIT)
    finally:
        srv.stop()
    assert code == 6, err
    why = [x["reason"] for x in reverted(run)]
    assert why == ["operator silent for more than 3s"], why
    assert not workers(t) and not procs(cgroup)


def test_operator_restart_within_grace(build_dir, pki, sidecar, cgroup,
                                      state_dir, runs):
    """An operator that comes back (same address, same master key) before
    the grace period ends finds the sidecar again: it reconnects, is
    welcomed, and still obeys."""
    srv = AgentServer(build_dir, pki, "--heartbeat", "1")
    port = srv.port
    inj = inj_id()
    t = tag()
    try:
        run = start(runs, sidecar, agent_spec(
            t, cgroup, port, pki, mint(build_dir, pki, inj), grace=20))
        run.wait_applied()
        srv.wait(lambda e: e["event"] == "status" and e["inj"] == inj and
                 e["state"] == "active")
        srv.p.kill()
        srv.p.wait()
        srv = AgentServer(build_dir, pki, "--heartbeat", "1",
                          "--port", str(port))
        srv.wait(lambda e: e["event"] == "welcomed" and e["inj"] == inj)
        srv.wait(lambda e: e["event"] == "status" and e["inj"] == inj and
                 e["state"] == "active")
        assert run.p.poll() is None and workers(t)
        srv.command("order %s revert after restart" % inj, "ordered")
        code, err = run.finish(timeout=WAIT)
    finally:
        srv.stop()
    assert code == 0, err
    assert [x["reason"] for x in reverted(run)] == \
        ["revert order: after restart"]
    assert not workers(t) and not procs(cgroup)


@pytest.mark.parametrize("case,reason", [
    ("forged", "forged"), ("expired", "expired")])
def test_bad_token_refused(server, pki, build_dir, sidecar, cgroup,
                           state_dir, runs, case, reason):
    inj = inj_id()
    tok = (mint(build_dir, pki, inj, master="other_master")
           if case == "forged" else mint(build_dir, pki, inj, exp_in=-3600))
    t = tag()
    run = start(runs, sidecar, agent_spec(t, cgroup, server.port, pki, tok,
                                          grace=60))
    code, err = run.finish(timeout=WAIT)
    # Refused at once: long before its grace period (60s).
    assert_refused(run, code, err, "refused by the operator: " + reason)
    assert not workers(t) and not procs(cgroup)
    e = server.wait(lambda e: e["event"] == "refused" and
                    e["reason"] == reason)
    assert "inj" not in e, "a bad token must not name a session"
    assert not server.session(inj)["found"]
    assert server.alive() == 0


def test_second_sidecar_with_same_token(server, pki, build_dir, sidecar,
                                        cgroup, state_dir, runs):
    inj = inj_id()
    tok = mint(build_dir, pki, inj)
    t1, t2 = tag(), tag()
    first = start(runs, sidecar, agent_spec(t1, cgroup, server.port, pki,
                                            tok))
    first.wait_applied()
    server.wait(lambda e: e["event"] == "status" and e["inj"] == inj and
                e["state"] == "active")

    second = start(runs, sidecar, agent_spec(t2, cgroup, server.port, pki,
                                             tok, grace=60))
    code, err = second.finish(timeout=WAIT)
    assert_refused(second, code, err, "refused by the operator: in-use")
    assert not workers(t2)
    server.wait(lambda e: e["event"] == "refused" and
                e["reason"] == "in-use" and e["inj"] == inj)

    # The first is untouched: still live, still holding its fault.
    assert first.p.poll() is None and workers(t1)
    assert server.session(inj)["live"]
    server.command("order %s revert done" % inj, "ordered")
    code, err = first.finish(timeout=WAIT)
    assert code == 0, err
    assert not workers(t1) and not procs(cgroup)


def test_recorded_hello_replayed(server, pki, build_dir):
    inj = inj_id()
    tok = mint(build_dir, pki, inj)
    a = RawClient(server.port, pki["ca"])
    b = c = None
    try:
        ch = a.recv()
        assert ch["type"] == "challenge"
        recorded = hello_for(ch["challenge"], tok)
        a.send(recorded)
        assert a.recv() == {"type": "welcome", "inj": inj, "heartbeat": 1}

        # The same bytes on a new connection, while the first is live.
        b = RawClient(server.port, pki["ca"])
        ch2 = b.recv()
        assert ch2["challenge"] != ch["challenge"]
        b.send(recorded)
        assert b.recv() == {"type": "bye", "reason": "bad-proof"}
        assert b.closed()
        server.wait(lambda e: e["event"] == "refused" and
                    e["reason"] == "bad-proof" and e["inj"] == inj)

        # And after the first has gone: still worthless.
        a.close()
        server.wait(lambda e: e["event"] == "closed" and e["inj"] == inj)
        c = RawClient(server.port, pki["ca"])
        c.recv()
        c.send(recorded)
        assert c.recv() == {"type": "bye", "reason": "bad-proof"}
        assert c.closed()
    finally:
        for x in (a, b, c):
            if x:
                x.close()
    assert server.alive() == 0


def test_no_hello_closed(server, pki):
    a = RawClient(server.port, pki["ca"])
    try:
        assert a.recv()["type"] == "challenge"
        # Nothing said: the server (--hello 2) hangs up.
        assert a.closed()
    finally:
        a.close()
    assert server.alive() == 0


def test_table_full(build_dir, pki):
    srv = AgentServer(build_dir, pki, "--max-sessions", "1")
    a = b = c = None
    try:
        first, second = inj_id(), inj_id()
        a = RawClient(srv.port, pki["ca"])
        a.send(hello_for(a.recv()["challenge"], mint(build_dir, pki, first)))
        assert a.recv()["type"] == "welcome"
        b = RawClient(srv.port, pki["ca"])
        b.send(hello_for(b.recv()["challenge"],
                         mint(build_dir, pki, second)))
        assert b.recv() == {"type": "bye", "reason": "full"}
        # A closed session makes room (it is kept until then).
        a.close()
        srv.wait(lambda e: e["event"] == "closed" and e["inj"] == first)
        c = RawClient(srv.port, pki["ca"])
        c.send(hello_for(c.recv()["challenge"],
                         mint(build_dir, pki, second)))
        assert c.recv()["type"] == "welcome"
        assert not srv.session(first)["found"]
    finally:
        for x in (a, b, c):
            if x:
                x.close()
        srv.stop()
    assert srv.p.returncode == 0, srv.p.stderr.read()


def test_silent_session_closed(server, pki, build_dir):
    inj = inj_id()
    tok = mint(build_dir, pki, inj)
    a = RawClient(server.port, pki["ca"])
    try:
        a.send(hello_for(a.recv()["challenge"], tok))
        assert a.recv()["type"] == "welcome"
        # We never answer: the server (--silence 4) closes the session.
        e = server.wait(lambda e: e["event"] == "closed" and
                        e["inj"] == inj)
        assert e["closedWhy"] == "silent"
        assert a.closed()
    finally:
        a.close()


@pytest.mark.parametrize("frame,opcode,reason", [
    ("not json", 1, "protocol"),
    (json.dumps({"type": "status", "state": "active"}), 1, "protocol"),
    (json.dumps({"type": "hello", "token": "x", "proof": "y"}), 1,
     "protocol"),
    (json.dumps({"type": "hello", "token": "x.y", "proof": "y", "ts": 1}),
     1, "malformed"),
    (b"\x00\x01binary", 2, "protocol"),
    ("[" * 100000, 1, "protocol"),
    (json.dumps({"type": "hello", "token": "a" * 70000, "proof": "p",
                 "ts": 1}), 1, "protocol"),
])
def test_hostile_frames(server, pki, build_dir, frame, opcode, reason):
    a = RawClient(server.port, pki["ca"])
    try:
        a.recv()
        a.send(frame, opcode)
        assert a.recv() == {"type": "bye", "reason": reason}
        assert a.closed()
    finally:
        a.close()
    server.wait(lambda e: e["event"] == "refused" and
                e["reason"] == reason)
    # Still serving: a good hello after the bad one is welcomed.
    inj = inj_id()
    b = RawClient(server.port, pki["ca"])
    try:
        b.send(hello_for(b.recv()["challenge"], mint(build_dir, pki, inj)))
        assert b.recv()["type"] == "welcome"
    finally:
        b.close()


def test_server_not_trusted(server, pki, build_dir, sidecar, cgroup,
                            state_dir, runs):
    """A sidecar whose spec names another CA never says hello to this
    server: it reverts when its grace period ends."""
    inj = inj_id()
    t = tag()
    run = start(runs, sidecar, agent_spec(
        t, cgroup, server.port, pki, mint(build_dir, pki, inj), grace=3,
        ca="other_ca"))
    code, err = run.finish(timeout=WAIT)
    assert_refused(run, code, err, "operator silent for more than 3s")
    assert "cannot connect" in err
    assert not server.session(inj)["found"]
    assert not workers(t)


def test_bad_agent_spec(sidecar):
    s = spec("tbadagent", [("cpuStress", {"load": 20})],
             agent={"url": "wss://agent.example:443", "caCert": "none",
                    "token": "x", "proofKey": "short", "graceSeconds": 0,
                    "extra": 1})
    r = subprocess.run([str(sidecar), "check", "--spec", json.dumps(s)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    for field in ("agent.url", "agent.caCert", "agent.token",
                  "agent.proofKey", "agent.graceSeconds", "agent.extra"):
        assert field in r.stderr, (field, r.stderr)


@pytest.mark.parametrize("url,ok", [
    ("wss://127.0.0.1:8443", True),
    ("wss://[::1]:8443/agent", True),
    ("wss://10.0.0.5:443/", True),
    ("ws://127.0.0.1:8443", False),
    ("wss://127.0.0.1", False),
    ("wss://127.0.0.1:0", False),
    ("wss://127.0.0.1:70000", False),
    ("wss://127.0.0.1:8443x", False),
    ("wss://[::1:8443", False),
    ("wss://operator.faultline:8443", False),
    ("wss://127.0.0.1:8443/a b", False),
])
def test_agent_url(sidecar, pki, build_dir, url, ok):
    tok = mint(build_dir, pki, "i-url")
    s = spec("turl", [("cpuStress", {"load": 20})],
             agent={"url": url, "caCert": pki["ca"], "token": tok["token"],
                    "proofKey": tok["proofKey"]})
    r = subprocess.run([str(sidecar), "check", "--spec", json.dumps(s)],
                       capture_output=True, text=True, timeout=30)
    if ok:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 2 and "agent.url" in r.stderr, r.stderr


def test_static_sidecar_in_empty_root(server, pki, build_dir, tmp_path):
    """The static sidecar in a root holding nothing but itself (no libc,
    no NSS, no CA store; /proc, /sys and /dev/urandom as a container
    runtime gives them): it reaches the operator by IP address, verifies
    it with the CA from its spec, and obeys an order."""
    static = build_dir / "faultline-sidecar-static"
    assert static.exists(), f"{static} missing: run make sidecar-static"
    root = tmp_path / "root"
    for d in ("bin", "proc", "sys", "tmp", "dev"):
        (root / d).mkdir(parents=True)
    (root / "dev" / "urandom").touch()
    (root / "bin" / "sidecar").write_bytes(static.read_bytes())
    (root / "bin" / "sidecar").chmod(0o755)
    inj = inj_id()
    tok = mint(build_dir, pki, inj)
    s = spec(tag(), [("cpuStress", {"load": 10, "workers": 1})],
             duration="120s",
             agent={"url": "wss://127.0.0.1:%d" % server.port,
                    "caCert": pki["ca"], "token": tok["token"],
                    "proofKey": tok["proofKey"], "graceSeconds": 10})
    (root / "tmp" / "spec.json").write_text(json.dumps(s))
    script = ("mount --bind /proc {r}/proc && mount --rbind /sys {r}/sys"
              " && mount --bind /dev/urandom {r}/dev/urandom"
              " && exec env -i FAULTLINE_STATE_DIR=/tmp/state"
              " {chroot} {r} /bin/sidecar run --spec-file /tmp/spec.json"
              .format(r=root, chroot=shutil.which("chroot")))
    p = subprocess.Popen(["unshare", "-m", "sh", "-c", script],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        server.wait(lambda e: p.poll() is not None or (
            e["event"] == "status" and e["inj"] == inj
            and e["state"] == "active"))
        assert p.poll() is None, p.communicate()
        server.command("order %s revert done" % inj, "ordered")
        out, err = p.communicate(timeout=WAIT)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["reason"] for x in lines if x["state"] == "reverted"] == \
        ["revert order: done"]
    assert not workers(s["tag"])
