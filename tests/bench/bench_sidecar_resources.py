#!/usr/bin/env python3
"""Benchmark of the sidecar's resource and process faults: what the sidecar
itself costs while it holds each fault (its own RSS and CPU, not its
workers'), and how long a revert takes from SIGTERM until the system is
back to its baseline (p50, p99).  Prints figures; never fails on a time.

Run as root after `make`:  python3 tests/bench/bench_sidecar_resources.py
"""

import json
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parents[2]
SIDECAR = REPO / "build" / "faultline-sidecar"
TICK = os.sysconf("SC_CLK_TCK")
ROUNDS = int(os.environ.get("ROUNDS", "20"))


def stat_fields(pid):
    s = pathlib.Path("/proc/%d/stat" % pid).read_text()
    return s[s.rindex(")") + 2:].split()


def workers(tag):
    out = []
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                s = (d / "stat").read_text()
            except OSError:
                continue
            comm = s[s.index("(") + 1:s.rindex(")")]
            if comm == ("fl-" + tag)[:15] and s[s.rindex(")") + 2] != "Z":
                out.append(int(d.name))
    return out


def start(tag, fault, params):
    spec = {"tag": tag, "duration": "60s",
            "faults": [{"kind": fault, "params": params}]}
    p = subprocess.Popen([str(SIDECAR), "run", "--spec", json.dumps(spec)],
                         stdout=subprocess.PIPE, text=True)
    line = json.loads(p.stdout.readline())
    assert line["state"] == "applied", line
    return p


def hold_cost(p, window=1.0):
    f0 = stat_fields(p.pid)
    time.sleep(window)
    f1 = stat_fields(p.pid)
    cpu = (int(f1[11]) + int(f1[12]) - int(f0[11]) - int(f0[12])) / TICK
    status = pathlib.Path("/proc/%d/status" % p.pid).read_text()
    rss = int(status.split("VmRSS:")[1].split()[0])
    return rss, cpu / window * 100


def revert_latency(p, back):
    t0 = time.perf_counter()
    p.send_signal(signal.SIGTERM)
    while not back():
        time.sleep(0.0002)
    took = time.perf_counter() - t0
    p.communicate()
    return took * 1000


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def main():
    if os.geteuid() != 0 or not SIDECAR.exists():
        sys.exit("run as root after make")
    state = tempfile.mkdtemp(prefix="fl-bench-state-")
    fill_dir = tempfile.mkdtemp(prefix="fl-bench-fill-")
    os.environ["FAULTLINE_STATE_DIR"] = state
    victim_name = "bench-victim-" + uuid.uuid4().hex[:6]
    victim = subprocess.Popen([victim_name, "600"], executable="/bin/sleep")

    def paused_back():
        return stat_fields(victim.pid)[0] in "SR"

    cases = [
        ("cpuStress", {"load": 50, "workers": 1}, None),
        ("memoryStress", {"size": "64Mi"}, None),
        ("diskStress", {"path": fill_dir, "size": "32Mi", "ioWorkers": 1},
         lambda tag: not os.path.exists(
             os.path.join(fill_dir, ".faultline-fill-" + tag))),
        ("processPause", {"process": victim_name},
         lambda tag: paused_back()),
    ]
    print("%-13s %10s %9s %12s %12s" % (
        "fault", "rss (KiB)", "cpu (%)", "revert p50", "revert p99"))
    try:
        for kind, params, back in cases:
            rss, cpu, lat = [], [], []
            for i in range(ROUNDS):
                tag = "b" + uuid.uuid4().hex[:8]
                p = start(tag, kind, params)
                if i < 3:
                    r, c = hold_cost(p, 0.5)
                    rss.append(r)
                    cpu.append(c)
                done = (lambda t=tag: not workers(t)) if back is None \
                    else (lambda t=tag, b=back: b(t))
                lat.append(revert_latency(p, done))
            print("%-13s %10d %9.1f %10.2fms %10.2fms" % (
                kind, max(rss), statistics.mean(cpu), pct(lat, 50),
                pct(lat, 99)))
    finally:
        victim.kill()
        victim.wait()
        shutil.rmtree(fill_dir, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
