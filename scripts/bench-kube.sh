#!/usr/bin/env bash
# Benchmark the reflector against a real kube-apiserver on loopback:
#
#   1. create N pods (default 10000) in a fresh namespace;
#   2. list and store them all (kube_watch_driver bench), timing the list;
#   3. delete them in one deletecollection call while the driver waits,
#      then time how fast its watch takes the backlog of events (from the
#      API server's watch cache) until its store is empty;
#   4. print the figures and the driver's peak RSS (getrusage ru_maxrss).
#
# Prints numbers; never fails on a time.  Usage:
#   scripts/bench-kube.sh [N [DRIVER-OPTION...]]
# e.g. scripts/bench-kube.sh 10000 --strip-managed-fields
# Needs the test environment (scripts/setup.sh) and the development build
# of tests/drivers/kube_watch_driver.c (built here if missing).
set -euo pipefail

cd "$(dirname "$0")/.."
COUNT=${1:-10000}
shift || true
make -s build/tests/drivers/kube_watch_driver
. "$(scripts/setup.sh)"

exec "$FAULTLINE_VENV/bin/python" - "$COUNT" "$@" <<'EOF'
import http.client
import json
import pathlib
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, "tests/integration")
import harness  # noqa: E402

COUNT = int(sys.argv[1])
EXTRA = sys.argv[2:]
THREADS = 16
DRIVER = pathlib.Path("build/tests/drivers/kube_watch_driver").resolve()


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "app", "image": "bench:1"}]}}


def create_pods(cp, ns):
    """COUNT pods, created by THREADS connections in parallel."""
    user = json.loads(open(cp.kubeconfig).read())["users"][0]["user"]
    ctx = ssl.create_default_context(cafile=cp.ca.cert_path)
    ctx.load_cert_chain(user["client-certificate"], user["client-key"])
    errors = []

    def worker(first):
        conn = http.client.HTTPSConnection(harness.LOOPBACK, cp.port,
                                           context=ctx, timeout=60)
        for i in range(first, COUNT, THREADS):
            body = json.dumps(pod(f"bench-{i}"))
            conn.request("POST", f"/api/v1/namespaces/{ns}/pods", body,
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 201:
                errors.append(resp.status)
        conn.close()

    threads = [threading.Thread(target=worker, args=(t,))
               for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"creating pods failed: {errors[:5]}")


with harness.ControlPlane(audit=False) as cp:
    ns = cp.create_namespace("bench")
    t0 = time.monotonic()
    create_pods(cp, ns)
    print(f"created {COUNT} pods in {time.monotonic() - t0:.1f} s")

    drv = subprocess.Popen(
        [str(DRIVER), "bench", "--kubeconfig", cp.kubeconfig,
         "--expect", str(COUNT), "--page-size", "500", "--for", "900",
         *EXTRA, "core", "v1", "pods", ns],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        result = None
        for line in drv.stdout:
            msg = json.loads(line)
            if msg.get("note") == "stored":
                print(f"stored {msg['objects']} pods; deleting them all")
                t1 = time.monotonic()
                cp.kubectl("delete", "--raw",
                           f"/api/v1/namespaces/{ns}/pods", timeout=600)
                print(f"deleted them in {time.monotonic() - t1:.1f} s")
                drv.stdin.write("go\n")
                drv.stdin.flush()
            elif msg.get("note") == "bench":
                result = msg
            elif msg.get("note") == "failed":
                print(f"driver: {msg}")
        drv.wait(60)
    finally:
        if drv.poll() is None:
            drv.kill()
            drv.wait()

    if not result:
        raise SystemExit("the driver printed no figures")
    list_s = result["list_ms"] / 1000
    watch_s = max(result["watch_ms"], 1) / 1000
    print(f"list+store: {COUNT} pods in {list_s:.2f} s "
          f"({COUNT / max(list_s, 0.001):.0f} objects/s)")
    print(f"watch: {result['watch_events']} events in {watch_s:.2f} s "
          f"({result['watch_events'] / watch_s:.0f} events/s)")
    print(f"peak RSS after the list: {result['maxrss_kb_after_list']} KiB "
          f"({result['maxrss_kb_after_list'] * 1024 / COUNT:.0f} bytes "
          f"per stored pod, process overhead included)")
    print(f"peak RSS overall: {result['maxrss_kb']} KiB")
EOF
