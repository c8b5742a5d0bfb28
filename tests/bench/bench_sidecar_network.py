#!/usr/bin/env python3
"""Benchmark of the sidecar's network faults: what the sidecar itself
costs while it holds each fault under a steady load (its RSS, peak and
steady, and its CPU), and how long a revert takes from SIGTERM until the
namespace is back to its baseline (p50, p99).  Prints figures; never fails
on a time.

Two network namespaces joined by a veth pair, with addresses from
10.213.0.0/16 used only inside them (as in
tests/integration/test_sidecar_network.py); a UDP echo peer
(tests/integration/netpeer.py) in the server namespace; the sidecar runs
in the client namespace (serviceUnavailable: in the server's, where the
refused service lives).  A loader in the client namespace sends PPS
datagrams a second to the faulted port for the whole of each fault's
rounds, so the NFQUEUE engine (latency, loss, corruption, duplication)
handles a fixed packet rate while it is held and while it reverts.

"Baseline" is the namespace's nftables tables, qdiscs and links, read
through netlink dumps from this process (sockets opened inside the
namespace), exactly as they were before the fault was applied.

Run as root after `make`:
  python3 tests/bench/bench_sidecar_network.py
Environment: ROUNDS (default 20), PPS (default 2000).
"""

import ctypes
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid

HERE = pathlib.Path(__file__).resolve()
REPO = HERE.parents[2]
SIDECAR = REPO / "build" / "faultline-sidecar"
PEER = REPO / "tests" / "integration" / "netpeer.py"
TICK = os.sysconf("SC_CLK_TCK")
ROUNDS = max(1, int(os.environ.get("ROUNDS", "20")))
PPS = int(os.environ.get("PPS", "2000"))
PAYLOAD = 100  # bytes of UDP payload per datagram
PORT, OTHER = 7000, 7001
SAMPLED = 3  # rounds whose hold is measured (RSS, CPU)
WINDOW = 1.0  # seconds of each measured hold
HOLD = 0.2  # seconds held before SIGTERM in the other rounds
GIVE_UP = 10.0  # seconds a revert may take before we stop polling

CLONE_NEWNET = 0x40000000
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_GETLINK, RTM_GETQDISC = 18, 38
NFT_MSG_GETTABLE = (10 << 8) | 1  # NFNL_SUBSYS_NFTABLES
NETLINK_NETFILTER = 12


# ---- netlink dumps, from sockets opened inside a namespace ----


class Netlink:
    """Routing and nftables netlink sockets of one namespace."""

    def __init__(self, ns):
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + ns, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns " + ns)
            # A netlink socket stays in the namespace it was made in.
            self.route = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                       socket.NETLINK_ROUTE)
            self.nft = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                     NETLINK_NETFILTER)
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
            os.close(fd)
            os.close(own)
        self.seq = 0

    def close(self):
        self.route.close()
        self.nft.close()

    def dump(self, sock, msgtype, payload):
        """Returns the payload of every message of a dump."""
        self.seq += 1
        sock.send(struct.pack("=IHHII", 16 + len(payload), msgtype,
                              NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0)
                  + payload)
        out = []
        while True:
            data = sock.recv(1 << 17)
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                body = data[off + 16:off + ln]
                off += (ln + 3) & ~3
                if seq != self.seq:
                    continue
                if typ == NLMSG_DONE:
                    return out
                if typ == NLMSG_ERROR:
                    err = struct.unpack_from("=i", body)[0]
                    if err:
                        raise OSError(-err, "netlink dump %d" % msgtype)
                    continue
                out.append(body)

    def snapshot(self):
        """(nftables tables, qdiscs, links) of the namespace."""
        tables = frozenset(
            (m[0], attrs(m, 4).get(1, b""))
            for m in self.dump(self.nft, NFT_MSG_GETTABLE,
                               struct.pack("=BBH", 0, 0, 0)))
        qdiscs = frozenset(
            struct.unpack_from("=iII", m, 4) + (attrs(m, 20).get(1, b""),)
            for m in self.dump(self.route, RTM_GETQDISC,
                               struct.pack("=BxxxiIII", 0, 0, 0, 0, 0)))
        links = frozenset(
            attrs(m, 16).get(3, b"")
            for m in self.dump(self.route, RTM_GETLINK,
                               struct.pack("=BxHiII", 0, 0, 0, 0, 0)))
        return tables, qdiscs, links


def attrs(msg, off):
    """Top-level attributes of a message after its fixed header."""
    out = {}
    while off + 4 <= len(msg):
        ln, typ = struct.unpack_from("=HH", msg, off)
        if ln < 4:
            break
        out[typ & 0x3fff] = msg[off + 4:off + ln].rstrip(b"\0")
        off += (ln + 3) & ~3
    return out


# ---- the load, run inside the client namespace ----


def load(host, port, pps):
    """Sends pps datagrams a second to host:port until SIGTERM, reads (and
    drops) whatever comes back, then prints the rate it kept."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    payload = b"l" * PAYLOAD
    start, sent = time.monotonic(), 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            due = int((time.monotonic() - start) * pps)
            while sent < due:
                try:
                    s.sendto(payload, (host, port))
                except OSError:
                    pass  # refused or unreachable: the fault at work
                sent += 1
            try:
                while s.recv(2048):
                    pass
            except OSError:
                pass
            time.sleep(0.0005)
    finally:
        print(json.dumps({"pps": sent / (time.monotonic() - start)}),
              flush=True)


# ---- the namespaces ----


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True,
                          timeout=60).stdout


class Net:
    def __init__(self):
        r = uuid.uuid4().hex[:6]
        self.c, self.s = "flb-c-" + r, "flb-s-" + r
        self.cdev, self.sdev = "flbc" + r, "flbs" + r
        x = random.randint(1, 250)
        self.caddr, self.saddr = "10.213.%d.1" % x, "10.213.%d.2" % x
        self.procs = []
        self.nl = {}
        self.pristine = {}  # each namespace's snapshot before any fault

    def up(self):
        for ns in (self.c, self.s):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", self.cdev, "netns", self.c, "type", "veth",
           "peer", "name", self.sdev, "netns", self.s)
        for ns, dev, addr in ((self.c, self.cdev, self.caddr),
                              (self.s, self.sdev, self.saddr)):
            sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            self.nl[ns] = Netlink(ns)
            self.pristine[ns] = self.nl[ns].snapshot()
        server = self.spawn(self.s, sys.executable, str(PEER), "serve",
                            str(PORT), str(OTHER), stdout=subprocess.PIPE)
        assert json.loads(server.stdout.readline())["ready"]

    def spawn(self, ns, *argv, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", ns] + list(argv),
                             text=True, **kw)
        self.procs.append(p)
        return p

    def down(self):
        # SIGTERM first: a sidecar still running then reverts as it
        # should; whatever does not end soon is killed.
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for nl in self.nl.values():
            nl.close()
        for ns in (self.c, self.s):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


# ---- one fault ----


def cases(net):
    to = [{"cidr": net.saddr + "/32", "ports": [PORT]}]
    return [
        ("networkLatency", {"delay": "50ms"}, net.c),
        ("networkLoss", {"percent": 30}, net.c),
        ("networkCorruption", {"percent": 30}, net.c),
        ("networkDuplication", {"percent": 30}, net.c),
        # Below the load's rate, so that the shaper holds a backlog.
        ("bandwidth", {"rate": "1mbit"}, net.c),
        ("networkPartition", {"to": to}, net.c),
        ("dependencyTimeout",
         {"to": [dict(to[0], protocol="udp")]}, net.c),
        ("serviceUnavailable", {"ports": [PORT]}, net.s),
    ]


def start(net, ns, kind, params):
    spec = {"tag": "b" + uuid.uuid4().hex[:8], "duration": "120s",
            "faults": [{"kind": kind, "params": params}]}
    p = net.spawn(ns, str(SIDECAR), "run", "--spec", json.dumps(spec),
                  stdout=subprocess.PIPE)
    # A run starts with a sweep, which reports what it removed (another
    # user's stragglers, say) before the apply.
    st = {"state": "swept"}
    while st["state"] == "swept":
        line = p.stdout.readline()
        st = json.loads(line) if line else {"state": "ended"}
    if st["state"] != "applied":
        p.terminate()
        p.communicate(timeout=30)
        net.procs.remove(p)
        raise RuntimeError("%s did not apply: %s" % (kind, st))
    # `ip netns exec` execs the command: this pid is the sidecar's.
    assert os.readlink("/proc/%d/exe" % p.pid) == str(SIDECAR.resolve())
    return p, st


def cpu_ns(pid):
    """CPU time of every thread of pid, in nanoseconds."""
    total = 0
    for t in pathlib.Path("/proc/%d/task" % pid).iterdir():
        try:
            total += int((t / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            s = (t / "stat").read_text()
            f = s[s.rindex(")") + 2:].split()
            total += (int(f[11]) + int(f[12])) * 10**9 // TICK
    return total


def status_kib(pid, field):
    status = pathlib.Path("/proc/%d/status" % pid).read_text()
    return int(status.split(field + ":")[1].split()[0])


def hold_cost(p):
    """Holds for WINDOW; returns peak RSS, steady RSS (KiB) and CPU%."""
    c0, t0 = cpu_ns(p.pid), time.monotonic()
    time.sleep(WINDOW)
    c1, t1 = cpu_ns(p.pid), time.monotonic()
    return (status_kib(p.pid, "VmHWM"), status_kib(p.pid, "VmRSS"),
            (c1 - c0) / 1e9 / (t1 - t0) * 100)


def revert(p, nl, baseline):
    """SIGTERM; ms until the namespace is back to baseline (None if it is
    not within GIVE_UP), and ms until the sidecar has exited."""
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    back = gone = None
    # Poll rather than wait(timeout): Popen's timed wait sleeps up to 50ms
    # between its checks.
    while back is None or gone is None:
        now = time.monotonic() - t0
        if gone is None and p.poll() is not None:
            gone = now * 1000
        if back is None and now < GIVE_UP and nl.snapshot() == baseline:
            back = now * 1000
        if now >= GIVE_UP and (gone is not None or now >= 30):
            break
        time.sleep(0.0002)
    p.communicate(timeout=5)
    return back, gone, p.returncode


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def bench_fault(net, kind, params, ns):
    nl = net.nl[ns]
    baseline = nl.snapshot()
    loader = net.spawn(net.c, sys.executable, str(HERE), "load", net.saddr,
                       str(PORT), str(PPS), stdout=subprocess.PIPE)
    time.sleep(0.3)  # the load is steady before the first apply
    rss_peak, rss, cpu, back, gone, engine = [], [], [], [], [], "-"
    changed, bad_exit = False, 0
    try:
        for i in range(ROUNDS):
            p, st = start(net, ns, kind, params)
            engine = st.get("engine") or st.get("hook") or "nftables"
            changed = changed or nl.snapshot() != baseline
            if i < SAMPLED:
                h, r, c = hold_cost(p)
                rss_peak.append(h)
                rss.append(r)
                cpu.append(c)
            else:
                time.sleep(HOLD)
            b, g, rc = revert(p, nl, baseline)
            net.procs.remove(p)
            if b is not None:
                back.append(b)
            gone.append(g)
            bad_exit += rc != 0
    finally:
        loader.send_signal(signal.SIGTERM)
        out = loader.communicate(timeout=10)[0]
        net.procs.remove(loader)
    pps = json.loads(out)["pps"] if out else 0.0
    notes = []
    if baseline != net.pristine[ns]:
        notes.append("an earlier fault was left behind")
    if not changed:
        notes.append("applied state equals baseline")
    if len(back) < ROUNDS:
        notes.append("%d rounds not back within %gs"
                     % (ROUNDS - len(back), GIVE_UP))
    if bad_exit:
        notes.append("%d nonzero exits" % bad_exit)
    return engine, pps, max(rss_peak), max(rss), statistics.mean(cpu), \
        back, gone, notes


def ms(xs, q):
    return "%.2fms" % pct(xs, q) if xs else "n/a"


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "load":
        load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    if os.geteuid() != 0 or not SIDECAR.exists():
        sys.exit("run as root after make")
    # A SIGTERM to the benchmark still runs the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    state = tempfile.mkdtemp(prefix="fl-bench-state-")
    os.environ["FAULTLINE_STATE_DIR"] = state
    net = Net()
    print("network faults: %d rounds each; load: %d UDP datagrams/s of %d "
          "bytes to the faulted port;\nRSS and CPU over %d holds of %.1fs; "
          "revert: SIGTERM until the namespace's nftables\ntables, qdiscs "
          "and links equal the baseline; exit: until the sidecar has "
          "exited" % (ROUNDS, PPS, PAYLOAD, SAMPLED, WINDOW))
    row = "%-18s %-8s %6s %8s %8s %6s %10s %10s %10s  %s"
    print(row % ("fault", "engine", "load", "rss peak", "rss", "cpu",
                 "revert p50", "revert p99", "exit p50", "notes"))
    print(row % ("", "", "(pps)", "(KiB)", "(KiB)", "(%)", "", "", "", ""))
    try:
        net.up()
        for kind, params, ns in cases(net):
            try:
                engine, pps, hwm, rss, cpu, back, gone, notes = \
                    bench_fault(net, kind, params, ns)
            except (RuntimeError, OSError, AssertionError,
                    subprocess.TimeoutExpired) as e:
                print("%-18s failed: %s" % (kind, e), flush=True)
                continue
            print(row % (kind, engine, "%.0f" % pps, hwm, rss,
                         "%.1f" % cpu, ms(back, 50), ms(back, 99),
                         ms(gone, 50), "; ".join(notes)), flush=True)
    finally:
        net.down()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
