#!/usr/bin/env python3
"""Benchmark of the operator on the local control plane: N dry-run
experiments (default 1000), each planning against a namespace of pods,
created as fast as the API server takes them.  Prints the operator's peak
RSS and CPU seconds, the time from each create to its Completed status as
seen by a watch (p50, p99), and the operator's own reconcile latency from
its /metrics histogram.  Never fails on a time.

Run after `make`:  python3 tests/bench/bench_operator.py [N]
"""

import concurrent.futures
import os
import pathlib
import statistics
import sys
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402
import opharness as oh  # noqa: E402

from kubernetes import client, config, watch  # noqa: E402

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
TICK = os.sysconf("SC_CLK_TCK")


def proc_figures(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines()
               if line.startswith("VmHWM:"))
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    return hwm, cpu


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def histogram_quantile(text, name, q):
    """Upper bound of the bucket holding quantile q."""
    buckets = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float(le), float(line.split()[-1])))
    total = buckets[-1][1]
    for le, count in buckets:
        if count >= q * total:
            return le
    return float("inf")


def main():
    cp = harness.ControlPlane(audit=False)
    op = None
    try:
        cp.start()
        kubeconfig = oh.install(cp)
        ns = cp.create_namespace("bench")
        oh.make_pods(cp, ns, 10, {"app": "web"})
        op = oh.Operator(cp, kubeconfig, cp.create_namespace("op"),
                         args=["--leader-elect=false", "--kube-qps=500"])
        op.start()
        pid = op.proc.popen.pid

        config.load_kube_config(cp.kubeconfig)
        api = client.CustomObjectsApi()
        created, done = {}, {}
        lock = threading.Lock()
        all_done = threading.Event()

        # Watch from a listed version, so no change before it opened is
        # missed.
        rv = api.list_namespaced_custom_object(
            "faultline.dev", "v1alpha1", ns,
            "chaosexperiments")["metadata"]["resourceVersion"]

        def watcher():
            w = watch.Watch()
            for ev in w.stream(api.list_namespaced_custom_object,
                               "faultline.dev", "v1alpha1", ns,
                               "chaosexperiments", resource_version=rv,
                               timeout_seconds=600):
                obj = ev["object"]
                name = obj["metadata"]["name"]
                if obj.get("status", {}).get("phase") == "Completed":
                    with lock:
                        if name not in done:
                            done[name] = time.monotonic()
                            if len(done) == COUNT:
                                all_done.set()
                                w.stop()

        t = threading.Thread(target=watcher, daemon=True)
        t.start()

        spec = oh.pod_delete_spec({"app": "web"}, mode={"count": 2})
        spec["safety"]["dryRun"] = True

        def create(i):
            name = f"dry-{i:05d}"
            body = oh.experiment(name, spec)
            api.create_namespaced_custom_object(
                "faultline.dev", "v1alpha1", ns, "chaosexperiments", body)
            with lock:
                created[name] = time.monotonic()

        hwm0, cpu0 = proc_figures(pid)
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(create, range(COUNT)))
        create_s = time.monotonic() - start
        if not all_done.wait(600):
            print(f"only {len(done)} of {COUNT} completed in 600 s")
        total_s = time.monotonic() - start
        hwm, cpu = proc_figures(pid)
        lat = [done[n] - created[n] for n in done if n in created]
        _, metrics = op.get("/metrics")

        print(f"operator: {COUNT} dry-run experiments against 10 pods")
        print(f"  created in            {create_s:8.2f} s (8 client threads)")
        print(f"  all completed after   {total_s:8.2f} s")
        print(f"  peak RSS              {hwm / 1024:8.1f} MiB "
              f"(at start {hwm0 / 1024:.1f} MiB)")
        print(f"  CPU                   {cpu - cpu0:8.2f} s "
              f"({(cpu - cpu0) / COUNT * 1000:.2f} ms per experiment)")
        print(f"  create -> Completed   p50 {quantile(lat, 0.5) * 1000:7.0f} "
              f"ms   p99 {quantile(lat, 0.99) * 1000:7.0f} ms   "
              f"mean {statistics.mean(lat) * 1000:7.0f} ms")
        name = "faultline_reconcile_seconds"
        print(f"  reconcile (histogram) p50 <= "
              f"{histogram_quantile(metrics, name, 0.5) * 1000:.0f} ms   "
              f"p99 <= {histogram_quantile(metrics, name, 0.99) * 1000:.0f}"
              f" ms   count {op.metric(name + '_count'):.0f}")
    finally:
        if op:
            op.stop()
        cp.stop()


if __name__ == "__main__":
    main()
