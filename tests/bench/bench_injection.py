#!/usr/bin/env python3
"""Benchmark of pod-fault injection end to end: how long from `kubectl
apply` of a ChaosExperiment until its fault is in force inside the pod,
and from an abort (or the kill switch) until it is gone again.

Real parts throughout: the local control plane, the operator with its
agent channel, the node simulator (node "bench-node", pods in
10.244.50.0/24) running each injector as the real build/faultline-sidecar
in the pod's namespaces.  "In force" and "gone" are read in the pod, not
from status: the sidecar's own "applied" and "reverted" lines carry the
time it applied or reverted the fault (RFC 3339, milliseconds), and each
figure is that time minus the wall clock just before kubectl started.
status.targets[].injector.activeAt, the operator's view, is printed
alongside.

  1. RUNS runs (default 20) of a networkLatency fault (100ms) on one pod:
     apply -> applied, then abort (faultline.dev/abort) -> reverted.
     Each run is a new experiment; a pod serves PER_POD runs (default 5)
     before a fresh one takes over, as every injection leaves its
     (terminated) ephemeral container in the pod's spec.  Pods done with
     stay, idle, until the end.
  2. KILL_RUNS runs (default 5) of the same fault on 3 pods at once:
     kill switch (faultline.dev/kill-switch=true on the operator's
     namespace) -> the last of the 3 reverted.

Prints figures; never fails on a time.  Exits 1 when something broke: a
run that never became Active, a revert that never came.

Run as root after `make`:  python3 tests/bench/bench_injection.py
Environment: RUNS, PER_POD, KILL_RUNS.
"""

import os
import pathlib
import shutil
import signal
import sys
import time
import uuid
from datetime import datetime

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402
import opharness as oh  # noqa: E402
from simharness import NodeSim  # noqa: E402

SIDECAR = REPO / "build" / "faultline-sidecar"
NODE, POD_CIDR = "bench-node", "10.244.50.0/24"
RUNS = max(1, int(os.environ.get("RUNS", "20")))
PER_POD = max(1, int(os.environ.get("PER_POD", "5")))
KILL_RUNS = max(1, int(os.environ.get("KILL_RUNS", "5")))
KILL_PODS = 3
DELAY = "100ms"
DURATION = "60s"  # far longer than a run: only the abort ends the fault
ACTIVE_TIMEOUT = 60
REVERT_TIMEOUT = 30

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{bench: {group}}}}}
spec:
  containers:
  - name: app
    image: example.com/web:1
    ports: [{{containerPort: 8080}}]
    resources: {{limits: {{cpu: "1", memory: 128Mi}}}}
"""


class Broken(Exception):
    """Something that should have happened did not: the benchmark has no
    figure to give for it."""


class Bench:
    def __init__(self, cp, sim, op, ns, op_ns):
        self.cp, self.sim = cp, sim
        self.ns, self.op_ns = ns, op_ns
        self.procs = [op.proc, sim.proc]

    def wait(self, what, check, timeout):
        try:
            return harness.wait_until(what, check, timeout, self.procs)
        except harness.HarnessError as e:
            raise Broken(str(e)) from None

    # -- pods and experiments

    def make_pods(self, group, count):
        names = [f"{group}-{i}" for i in range(count)]
        for name in names:
            self.cp.kubectl("apply", "-n", self.ns, "-f", "-",
                            input=POD.format(name=name, group=group))
        for name in names:
            self.ready(name)
        return names

    def ready(self, pod):
        try:
            self.sim.wait_pod_ready(self.ns, pod)
        except harness.HarnessError as e:
            raise Broken(str(e)) from None

    def apply(self, name, group, mode):
        spec = {"hypothesis": "the pod keeps serving",
                "duration": DURATION,
                "targets": [{"name": "web", "pods": {
                    "selector": {"matchLabels": {"bench": group}}}}],
                "faults": [{"name": "slow", "target": "web", "mode": mode,
                            "networkLatency": {"delay": DELAY}}],
                "safety": {"maxBlastRadius": 100}}
        t0 = time.time()
        oh.apply(self.cp, self.ns, oh.experiment(name, spec))
        return t0

    # -- what the sidecar said

    def line(self, pod, container, state):
        for line in self.sim.json_lines(self.ns, pod, container):
            if line.get("state") == "failed":
                raise Broken(f"the injector {container} in {pod} failed: "
                             f"{line}")
            if line.get("state") == state:
                return line
        return None

    def wait_active(self, name, count):
        """Waits until count targets of experiment name have an injector
        that is Active in status and has said "applied" in its pod.
        Returns [(target entry, applied line)]."""
        def check():
            obj = oh.get(self.cp, self.ns, name) or {}
            st = obj.get("status") or {}
            if st.get("phase") in oh.TERMINAL:
                raise Broken(f"{name} ended {st['phase']} before its "
                             f"injectors were Active: {st.get('message')}")
            ts = st.get("targets") or []
            for t in ts:
                if t.get("state") == "Failed":
                    raise Broken(f"{name}: target {t['name']} failed: "
                                 f"{t.get('reason')}")
            ts = [t for t in ts
                  if (t.get("injector") or {}).get("state") == "Active"]
            if len(ts) < count:
                return None
            got = [(t, self.line(t["name"], t["injector"]["container"],
                                 "applied")) for t in ts]
            return got if all(line for _, line in got) else None
        return self.wait(f"{name}: {count} injector(s) Active and applied",
                         check, ACTIVE_TIMEOUT)

    def wait_reverted(self, name, active, why, orders):
        """Waits for the "reverted" line of each injector in active; checks
        that an order from the operator (one of orders: "abort",
        "revert"), not the sidecar's own deadline or dead-man switch,
        ended it.  Returns the lines."""
        out = []
        for t, _ in active:
            pod, ctr = t["name"], t["injector"]["container"]
            line = self.wait(f"{name}: the injector in {pod} to revert",
                             lambda: self.line(pod, ctr, "reverted"),
                             REVERT_TIMEOUT)
            if not any(line.get("reason", "").startswith(f"{o} order")
                       for o in orders):
                raise Broken(f"{name}: the injector in {pod} reverted, but "
                             f"not on the {why}: {line}")
            out.append(line)
        return out

    def wait_ended(self, name, active):
        """The run Aborted and every injector's container terminated, so
        that the next run starts on a quiet pod."""
        obj = self.wait(f"{name} to be Aborted",
                        lambda: self.phase(name, "Aborted"), REVERT_TIMEOUT)
        for t, _ in active:
            pod, ctr = t["name"], t["injector"]["container"]
            self.wait(f"the injector {ctr} in {pod} to end",
                      lambda: self.terminated(pod, ctr), REVERT_TIMEOUT)
        return obj

    def phase(self, name, want):
        obj = oh.get(self.cp, self.ns, name) or {}
        phase = (obj.get("status") or {}).get("phase")
        if phase in oh.TERMINAL and phase != want:
            raise Broken(f"{name} ended {phase}, not {want}: "
                         f"{obj['status'].get('message')}")
        return obj if phase == want else None

    def terminated(self, pod, container):
        p = self.sim.pod(self.ns, pod) or {}
        for st in ((p.get("status") or {}).get("ephemeralContainerStatuses")
                   or []):
            if st["name"] == container:
                return "terminated" in st.get("state", {})
        return False

    # -- the measurements

    def abort_runs(self):
        """apply -> applied, then abort -> reverted, on one pod at a
        time.  Returns the four lists of seconds."""
        applied, active_at, requested, reverted = [], [], [], []
        for i in range(RUNS):
            if i % PER_POD == 0:
                group = f"web{i // PER_POD}"
                [pod] = self.make_pods(group, 1)
            self.ready(pod)
            name = f"lat-{i:02d}"
            t0 = self.apply(name, group, {"one": True})
            [(t, line)] = self.wait_active(name, 1)
            inj = t["injector"]
            applied.append(wall(line["time"]) - t0)
            active_at.append(wall(inj["activeAt"]) - t0)
            requested.append(wall(inj["requestedAt"]) - t0)

            t1 = time.time()
            self.cp.kubectl("annotate", "chaosexperiment", "-n", self.ns,
                            name, f"faultline.dev/abort=bench-{uuid.uuid4()}")
            [line] = self.wait_reverted(name, [(t, line)], "abort",
                                        ("abort",))
            reverted.append(wall(line["time"]) - t1)
            self.wait_ended(name, [(t, line)])
        return applied, active_at, requested, reverted

    def kill_switch_runs(self):
        """The kill switch over KILL_PODS injectors at once; seconds to
        the last "reverted" line, one figure per run."""
        took = []
        pods = self.make_pods("many", KILL_PODS)
        for i in range(KILL_RUNS):
            for pod in pods:
                self.ready(pod)
            name = f"all-{i:02d}"
            self.apply(name, "many", {"all": True})
            active = self.wait_active(name, KILL_PODS)
            t0 = time.time()
            self.cp.kubectl("annotate", "namespace", self.op_ns,
                            "faultline.dev/kill-switch=true")
            try:
                lines = self.wait_reverted(name, active, "kill switch",
                                           ("abort",))
                took.append(max(wall(ln["time"]) for ln in lines) - t0)
                obj = self.wait_ended(name, active)
                if "kill switch" not in obj["status"].get("message", ""):
                    raise Broken(f"{name} was aborted, but not by the kill "
                                 f"switch: {obj['status']}")
            finally:
                self.release()
        return took

    def release(self):
        self.cp.kubectl("annotate", "namespace", self.op_ns,
                        "faultline.dev/kill-switch-", check=False)


def wall(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def figures(label, xs):
    return (f"  {label:<34} p50 {quantile(xs, 0.5) * 1000:5.0f} ms  "
            f"p99 {quantile(xs, 0.99) * 1000:5.0f} ms  "
            f"min {min(xs) * 1000:5.0f} ms  max {max(xs) * 1000:5.0f} ms")


def report(abort, took, seconds):
    applied, active_at, requested, reverted = abort
    print(f"pod faults: networkLatency {DELAY} on one pod, {RUNS} runs "
          f"(a fresh pod every {PER_POD});\n  kill switch: {KILL_RUNS} "
          f"runs of {KILL_PODS} pods at once")
    print(f"  on {os.cpu_count()} cores, one machine: API server, etcd, "
          f"the operator, and the sidecar\n  run by the node simulator in "
          f"the pods' namespaces")
    print("  times: the sidecar's own applied/reverted line (or the status "
          "field) minus\n  the wall clock just before kubectl apply or "
          "annotate started")
    print(figures("apply -> requestedAt (status)", requested))
    print(figures("apply -> applied in the pod", applied))
    print(figures("apply -> activeAt (status)", active_at))
    print(figures("abort -> reverted in the pod", reverted))
    print(figures(f"kill switch -> last of {KILL_PODS} reverted", took))
    print(f"  ({RUNS} and {KILL_RUNS} samples: p99 is the maximum with "
          f"fewer than 100)")
    print(f"  {'total wall time':<34} {seconds:5.1f} s")


def main():
    if os.geteuid() != 0 or not shutil.which("ip") or \
            not shutil.which("nft"):
        sys.exit("bench_injection: needs root, ip and nft")
    if not SIDECAR.exists():
        sys.exit(f"bench_injection: {SIDECAR} missing: run make")
    # A SIGTERM still runs the cleanup below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    start = time.monotonic()
    cp = harness.ControlPlane(audit=False)
    sim = agent = op = None
    try:
        cp.start()
        kubeconfig = oh.install(cp)
        sim = NodeSim(cp, NODE, pod_cidr=POD_CIDR, sidecar=SIDECAR)
        sim.start()
        agent = oh.AgentChannel(sim.node_ip)
        op_ns = cp.create_namespace("faultline")
        op = oh.Operator(cp, kubeconfig, op_ns, args=agent.args())
        op.start()
        bench = Bench(cp, sim, op, cp.create_namespace("bench"), op_ns)
        abort = bench.abort_runs()
        took = bench.kill_switch_runs()
        report(abort, took, time.monotonic() - start)
    except (Broken, harness.HarnessError) as e:
        print(f"bench_injection: {e}", file=sys.stderr)
        if op:
            print(op.describe(), file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench_injection: interrupted; cleaning up", file=sys.stderr)
        sys.exit(130)
    finally:
        if op:
            op.stop()
        if sim:
            sim.stop()
        if agent:
            agent.cleanup()
        cp.stop()


if __name__ == "__main__":
    main()
