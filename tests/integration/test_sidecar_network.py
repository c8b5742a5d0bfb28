"""The sidecar's network faults against the real kernel: two network
namespaces joined by a veth pair, addresses from 10.213.0.0/16 used only
inside them (traffic never leaves), a real peer (netpeer.py) in the
server namespace, and the real build/faultline-sidecar run in one of them
through `ip netns exec`, as root.

Figures are measured, not trusted: round trips for latency, numbered
datagrams for loss, corruption and duplication, the device's own byte
counters for bandwidth.  Every test checks that nothing of ours is left
(qdisc, nftables table, ifb device, process), and removes its
namespaces even when it fails.

This kernel has no sch_netem, so latency, loss, corruption and
duplication run through the NFQUEUE engine; the netem test detects it and
says so when it skips.
"""

import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
PEER = HERE / "netpeer.py"
PORT, OTHER = 7000, 7001  # the faulted port, and one left alone

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft")
    or not shutil.which("tc"),
    reason="needs root, ip, tc and nft")


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True,
                          text=True, timeout=60).stdout


class Net:
    """A client and a server namespace, a veth pair, a peer server."""

    def __init__(self, sidecar_path):
        r = uuid.uuid4().hex[:6]
        self.sidecar_path = str(sidecar_path)
        self.c, self.s = "flt-c-" + r, "flt-s-" + r
        self.cdev, self.sdev = "flc" + r, "fls" + r
        x = random.randint(1, 250)
        self.caddr, self.saddr = "10.213.%d.1" % x, "10.213.%d.2" % x
        self.server = None
        self.runs = []

    def up(self):
        sh("ip", "netns", "add", self.c)
        sh("ip", "netns", "add", self.s)
        sh("ip", "link", "add", self.cdev, "netns", self.c, "type", "veth",
           "peer", "name", self.sdev, "netns", self.s)
        for ns, dev, addr in ((self.c, self.cdev, self.caddr),
                              (self.s, self.sdev, self.saddr)):
            sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # One segment per GSO packet: the device's byte counters then
            # count every frame's headers, as the shaper and a real wire
            # do (a 64 KiB GSO packet is counted with one set of headers).
            sh("ip", "-n", ns, "link", "set", dev, "gso_max_segs", "1")
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.s, sys.executable, str(PEER),
             "serve", str(PORT), str(OTHER)],
            stdout=subprocess.PIPE, text=True)
        assert json.loads(self.server.stdout.readline())["ready"]

    def down(self):
        for run in self.runs:
            run.kill()
        if self.server:
            self.server.kill()
            self.server.wait()
        for ns in (self.c, self.s):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def peer(self, mode, *args, ns=None):
        out = sh("ip", "netns", "exec", ns or self.c, sys.executable,
                 str(PEER), mode, *[str(a) for a in args])
        return json.loads(out)

    def rtt(self, port=PORT, n=30):
        return self.peer("rtt", self.saddr, port, n)

    def connect(self, port, timeout=1.0):
        return self.peer("connect", self.saddr, port, timeout)["result"]

    def run(self, faults, ns=None, **extra):
        run = Run(self, ns or self.c, faults, **extra)
        self.runs.append(run)
        return run

    def snapshot(self):
        out = []
        for ns in (self.c, self.s):
            out.append(sh("ip", "netns", "exec", ns, "nft", "list",
                          "ruleset"))
            out.append(sh("tc", "-n", ns, "qdisc", "show"))
            out.append(sh("tc", "-n", ns, "filter", "show", "dev",
                          self.cdev if ns == self.c else self.sdev,
                          "ingress"))
            out.append(" ".join(sorted(
                l.split(":")[1].strip().split("@")[0]
                for l in sh("ip", "-n", ns, "-o", "link").splitlines())))
        return out

    def assert_clean(self):
        """Nothing of ours in either namespace, and no sidecar alive."""
        for ns in (self.c, self.s):
            assert "faultline" not in sh("ip", "netns", "exec", ns, "nft",
                                         "list", "tables")
            qd = sh("tc", "-n", ns, "qdisc", "show")
            assert "fa17:" not in qd and "ingress" not in qd, qd
            assert "flifb" not in sh("ip", "-n", ns, "link")
        for run in self.runs:
            assert run.proc.poll() is not None, "a sidecar still runs"


@pytest.fixture
def net(sidecar):
    n = Net(sidecar)
    try:
        n.up()
        yield n
    finally:
        n.down()


class Run:
    """One `faultline-sidecar run` in a namespace, with its status
    lines."""

    def __init__(self, net_, ns, faults, duration="60s", control=None,
                 allow_cut=None):
        spec = {"tag": "t" + uuid.uuid4().hex[:6], "duration": duration,
                "faults": faults}
        if control:
            spec["control"] = control
        if allow_cut is not None:
            spec["allowControlCut"] = allow_cut
        self.nfaults = len(faults)
        self.lines = []
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, net_.sidecar_path, "run", "--spec",
             json.dumps(spec)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_applied(self):
        applied = []
        while len(applied) < self.nfaults:
            line = self.proc.stdout.readline()
            assert line, "sidecar ended: %s" % self.proc.stderr.read()
            st = json.loads(line)
            self.lines.append(st)
            assert st["state"] != "failed", st
            if st["state"] == "applied":
                applied.append(st)
        return applied

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        self.lines += [json.loads(l) for l in out.splitlines()]
        assert self.proc.returncode == 0, (self.lines, err)
        assert sum(l["state"] == "reverted" for l in self.lines) == \
            self.nfaults, self.lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def within(value, want, tolerance):
    return abs(value - want) <= tolerance


# ---- latency, loss, corruption, duplication (NFQUEUE engine) ----


def test_latency(net):
    base = net.rtt()["median_ms"]
    run = net.run([{"kind": "networkLatency",
                    "params": {"delay": "100ms"}}])
    st = run.wait_applied()[0]
    assert st["engine"] == "nfqueue"
    assert "unknown" in st["netem"]  # the kernel's own message
    got = net.rtt()["median_ms"] - base
    run.stop()
    print("latency: asked 100 ms, measured %.2f ms" % got)
    assert within(got, 100, max(5.0, 1.0))
    assert net.rtt()["median_ms"] < base + 1
    net.assert_clean()


def test_loss(net):
    run = net.run([{"kind": "networkLoss", "params": {"percent": 30}}])
    run.wait_applied()
    b = net.peer("burst", net.saddr, PORT, 2000, 2000)
    run.stop()
    loss = 100 * (1 - b["unique"] / b["sent"])
    print("loss: asked 30%%, measured %.2f%%" % loss)
    assert within(loss, 30, 3)
    after = net.peer("burst", net.saddr, PORT, 500, 2000)
    assert after["unique"] == 500
    net.assert_clean()


def udp_csum_errors(ns):
    lines = [l.split() for l in sh("ip", "netns", "exec", ns, "cat",
                                   "/proc/net/snmp").splitlines()
             if l.startswith("Udp:")]
    return int(lines[1][lines[0].index("InCsumErrors")])


def test_corruption(net):
    before = udp_csum_errors(net.s)
    run = net.run([{"kind": "networkCorruption",
                    "params": {"percent": 30}}])
    run.wait_applied()
    b = net.peer("burst", net.saddr, PORT, 2000, 2000)
    run.stop()
    bad = 100 * (udp_csum_errors(net.s) - before) / b["sent"]
    lost = 100 * (1 - b["unique"] / b["sent"])
    print("corruption: asked 30%%, %.2f%% arrived with a bad checksum"
          % bad)
    assert within(bad, 30, 3)
    assert within(lost, bad, 1)  # the server's stack dropped them
    net.assert_clean()


def test_duplication(net):
    run = net.run([{"kind": "networkDuplication",
                    "params": {"percent": 30}}])
    run.wait_applied()
    b = net.peer("burst", net.saddr, PORT, 2000, 2000)
    run.stop()
    dup = 100 * (b["total"] - b["unique"]) / b["sent"]
    print("duplication: asked 30%%, measured %.2f%%" % dup)
    assert b["unique"] == b["sent"]
    assert within(dup, 30, 3)
    net.assert_clean()


def test_latency_scoped_to_port(net):
    base = net.rtt(OTHER)["median_ms"]
    run = net.run([{"kind": "networkLatency", "params": {
        "delay": "50ms",
        "to": [{"cidr": net.saddr + "/32", "ports": [PORT]}]}}])
    run.wait_applied()
    hit, miss = net.rtt(PORT)["median_ms"], net.rtt(OTHER)["median_ms"]
    run.stop()
    assert within(hit - base, 50, 2.5)
    assert miss < base + 1
    net.assert_clean()


def test_latency_ingress(net):
    base = net.rtt()["median_ms"]
    run = net.run([{"kind": "networkLatency", "params": {
        "delay": "40ms", "direction": "ingress"}}])
    run.wait_applied()
    got = net.rtt()["median_ms"] - base
    run.stop()
    assert within(got, 40, 2)
    net.assert_clean()


def test_netem_engine_when_the_kernel_has_it(net):
    probe = subprocess.run(
        ["tc", "-n", net.c, "qdisc", "add", "dev", net.cdev, "root",
         "netem", "delay", "1ms"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("this kernel has no sch_netem (%s): the netem engine "
                    "cannot be tested here" % probe.stderr.strip())
    sh("tc", "-n", net.c, "qdisc", "del", "dev", net.cdev, "root")
    base = net.rtt()["median_ms"]
    run = net.run([{"kind": "networkLatency",
                    "params": {"delay": "100ms"}}])
    assert run.wait_applied()[0]["engine"] == "netem"
    got = net.rtt()["median_ms"] - base
    run.stop()
    assert within(got, 100, 5)
    net.assert_clean()


# ---- bandwidth ----


def test_bandwidth_egress(net):
    run = net.run([{"kind": "bandwidth", "params": {"rate": "10mbit"}}])
    assert run.wait_applied()[0]["engine"] == "tbf"
    r = net.peer("bulk", net.saddr, PORT, 5, net.cdev)
    run.stop()
    got = r["bytes_per_sec"] * 8
    print("bandwidth: asked 10 mbit/s, measured %.3f mbit/s" % (got / 1e6))
    assert within(got, 10e6, 0.05 * 10e6)
    net.assert_clean()


def test_bandwidth_scoped_by_port(net):
    run = net.run([{"kind": "bandwidth", "params": {
        "rate": "5mbit",
        "to": [{"cidr": net.saddr + "/32", "ports": [PORT]}]}}])
    assert run.wait_applied()[0]["engine"] == "htb"
    hit = net.peer("bulk", net.saddr, PORT, 4, net.cdev)["bytes_per_sec"]
    miss = net.peer("bulk", net.saddr, OTHER, 3, net.cdev)["bytes_per_sec"]
    run.stop()
    assert within(hit * 8, 5e6, 0.05 * 5e6)
    assert miss * 8 > 50e6
    net.assert_clean()


def test_bandwidth_ingress_through_ifb(net):
    run = net.run([{"kind": "bandwidth", "params": {
        "rate": "8mbit", "direction": "ingress"}}])
    st = run.wait_applied()[0]
    assert st["ingress"] == "ifb"
    ifindex = sh("ip", "-n", net.c, "-o", "link", "show", net.cdev).split(
        ":")[0]
    ifb = "flifb" + ifindex
    r = net.peer("download", net.saddr, PORT + 1000, 5, ifb)
    run.stop()
    got = r["bytes_per_sec"] * 8
    print("ingress bandwidth: asked 8 mbit/s, measured %.3f mbit/s"
          % (got / 1e6))
    assert within(got, 8e6, 0.05 * 8e6)
    net.assert_clean()


def test_latency_loss_and_rate_together(net):
    base = net.rtt(n=20)["median_ms"]
    run = net.run([
        {"kind": "networkLatency", "params": {"delay": "50ms"}},
        {"kind": "networkLoss", "params": {"percent": 10}},
        {"kind": "bandwidth", "params": {"rate": "4mbit"}},
    ])
    run.wait_applied()
    lat = net.rtt(n=20)["median_ms"] - base
    b = net.peer("burst", net.saddr, PORT, 2000, 1000)
    rate = net.peer("blast", net.saddr, PORT, 4, 12e6, net.cdev)
    run.stop()
    loss = 100 * (1 - b["unique"] / b["sent"])
    got = rate["bytes_per_sec"] * 8
    print("together: latency %.2f ms (50), loss %.2f%% (10), rate %.3f "
          "mbit/s (4)" % (lat, loss, got / 1e6))
    assert within(lat, 50, 2.5)
    assert within(loss, 10, 3)
    assert within(got, 4e6, 0.05 * 4e6)
    net.assert_clean()


# ---- nftables faults ----


def test_partition_times_out(net):
    run = net.run([{"kind": "networkPartition", "params": {
        "to": [{"cidr": net.saddr + "/32", "ports": [PORT]}]}}])
    assert run.wait_applied()[0]["hook"] == "egress"
    assert net.connect(PORT) == "timeout"
    assert net.connect(OTHER) == "ok"
    run.stop()
    assert net.connect(PORT) == "ok"
    net.assert_clean()


def test_dependency_timeout_is_silent_for_udp(net):
    """A UDP client (a DNS lookup, say) must wait for its own timeout:
    sendto() succeeds and no answer comes, where a drop at the output
    hook would fail sendto() at once with EPERM."""
    run = net.run([{"kind": "dependencyTimeout", "params": {
        "to": [{"cidr": net.saddr + "/32", "ports": [PORT],
                "protocol": "udp"}]}}])
    run.wait_applied()
    assert net.peer("udp", net.saddr, PORT, 0.5) == {"errno": 0,
                                                    "echo": False}
    assert net.peer("udp", net.saddr, OTHER, 0.5)["echo"]
    assert net.connect(PORT) == "ok"  # tcp is not named
    run.stop()
    assert net.peer("udp", net.saddr, PORT, 0.5)["echo"]
    net.assert_clean()


def test_dependency_timeout(net):
    run = net.run([{"kind": "dependencyTimeout", "params": {
        "to": [{"cidr": "10.213.0.0/16", "protocol": "tcp"}]}}])
    run.wait_applied()
    assert net.connect(PORT) == "timeout"
    assert net.rtt(n=5)["lost"] == 0  # udp is not named
    run.stop()
    assert net.connect(PORT) == "ok"
    net.assert_clean()


def test_partition_ipv6(net):
    x = net.caddr.split(".")[2]
    c6, s6 = "fd13:213:%s::1" % x, "fd13:213:%s::2" % x
    for ns, dev, addr in ((net.c, net.cdev, c6), (net.s, net.sdev, s6)):
        sh("ip", "-n", ns, "addr", "add", addr + "/64", "dev", dev, "nodad")
    run = net.run([{"kind": "networkPartition", "params": {
        "to": [{"cidr": "fd13:213:%s::/64" % x, "ports": [PORT]}]}}])
    run.wait_applied()
    assert net.peer("connect", s6, PORT, 1.0)["result"] == "timeout"
    assert net.peer("connect", s6, OTHER, 1.0)["result"] == "ok"
    assert net.connect(PORT) == "ok"  # IPv4 is not named
    run.stop()
    assert net.peer("connect", s6, PORT, 1.0)["result"] == "ok"
    net.assert_clean()


def test_service_unavailable_refuses(net):
    run = net.run([{"kind": "serviceUnavailable",
                    "params": {"ports": [PORT], "protocol": "tcp"}}],
                  ns=net.s)
    run.wait_applied()
    assert net.connect(PORT) == "refused"
    assert net.connect(OTHER) == "ok"
    run.stop()
    assert net.connect(PORT) == "ok"
    net.assert_clean()


def test_partition_spares_the_control_channel(net):
    control = {"cidr": net.saddr + "/32", "port": OTHER}
    run = net.run([{"kind": "networkPartition", "params": {}}],
                  control=control)
    run.wait_applied()
    assert net.connect(PORT) == "timeout"
    assert net.connect(OTHER) == "ok"
    run.stop()

    run = net.run([{"kind": "networkPartition", "params": {}}],
                  control=control, allow_cut=True)
    run.wait_applied()
    assert net.connect(OTHER) == "timeout"
    run.stop()
    net.assert_clean()


# ---- safety ----


def test_bad_specs_change_nothing(net):
    before = net.snapshot()
    bad = [
        ({"kind": "networkLatency", "params": {"delay": "soon"}}, 2),
        ({"kind": "networkLatency", "params": {
            "delay": "10ms", "to": [{"cidr": "10.0.0.0/33"}]}}, 2),
        ({"kind": "bandwidth", "params": {"rate": "fast"}}, 2),
        ({"kind": "networkLoss", "params": {"percent": 10,
                                            "direction": "sideways"}}, 2),
        ({"kind": "serviceUnavailable", "params": {"ports": [0]}}, 2),
    ]
    for fault, code in bad:
        run = net.run([fault])
        out, err = run.proc.communicate(timeout=30)
        assert run.proc.returncode == code, (fault, out, err)
        assert err.strip(), fault
    # Valid, but fails when applied: an interface that does not exist.
    # The latency before it is applied, then taken back.
    run = net.run([{"kind": "networkLatency", "params": {"delay": "10ms"}},
                   {"kind": "bandwidth", "params": {
                       "rate": "1mbit", "interface": "nosuch0"}}])
    out, err = run.proc.communicate(timeout=30)
    assert run.proc.returncode == 3, (out, err)
    assert "nosuch0" in out
    assert net.snapshot() == before


def test_sigkill_then_sweep_leaves_nothing(net):
    faults = [
        {"kind": "networkLatency", "params": {"delay": "20ms"}},
        {"kind": "networkLoss", "params": {"percent": 5}},
        {"kind": "bandwidth", "params": {"rate": "20mbit",
                                         "direction": "both"}},
        {"kind": "networkPartition", "params": {
            "to": [{"cidr": net.saddr + "/32", "ports": [OTHER]}]}},
    ]
    rng = random.Random(1)
    for i in range(50):
        run = net.run(faults)
        time.sleep(rng.uniform(0, 0.4))
        run.proc.kill()
        run.proc.wait()
        # The nftables tables belong to the dead process's socket: the
        # kernel removed them already.  Only tc's things wait for sweep.
        assert "faultline" not in sh("ip", "netns", "exec", net.c, "nft",
                                     "list", "tables")
        sweep = subprocess.run(["ip", "netns", "exec", net.c,
                                net.sidecar_path, "sweep"],
                               capture_output=True, text=True, timeout=30)
        assert sweep.returncode == 0, sweep.stderr
        net.assert_clean()
    assert net.connect(PORT) == "ok"
    assert net.connect(OTHER) == "ok"


def test_sweep_spares_a_live_instance(net):
    """A sweep (every run starts with one) removes what dead instances
    left, never what a live one installed: its nftables tables are owned
    by its socket, and its qdiscs and ifb devices are guarded by owned
    beacon tables."""
    live = net.run([
        {"kind": "bandwidth", "params": {"rate": "5mbit",
                                         "direction": "both"}},
        {"kind": "networkPartition", "params": {
            "to": [{"cidr": net.saddr + "/32", "ports": [PORT]}]}},
    ])
    live.wait_applied()
    before = net.snapshot()
    sweep = subprocess.run(["ip", "netns", "exec", net.c, net.sidecar_path,
                            "sweep"], capture_output=True, text=True,
                           timeout=30)
    assert sweep.returncode == 0, sweep.stderr
    assert net.snapshot() == before
    assert net.connect(PORT) == "timeout"
    live.stop()
    net.assert_clean()
