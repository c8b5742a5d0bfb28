"""The node simulator (tests/sim/nodesim.py) against the real control
plane: pods scheduled to it run for real (a network namespace with an
address, an HTTP app in its own cgroup and PID namespace), ephemeral
containers run the real build/faultline-sidecar in the pod's namespaces,
a Service address spreads connections over the Ready pods, and nothing
is left behind, even after a SIGKILL.

Root only.  Traffic stays on loopback and in namespaces the simulator
made (pod CIDRs 10.244.x.0/24, the service CIDR 10.0.0.0/24).
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

import harness
from simharness import APP, NodeSim

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"),
    reason="needs root, ip and nft")

CGROUP = pathlib.Path("/sys/fs/cgroup")


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=60).stdout


def leftovers(node_ns, netns_names=()):
    """What of a simulator (named by its node namespace) is still on the
    machine: namespaces, its host link, cgroups."""
    key = node_ns.rsplit("-", 1)[1]
    netns = sh("ip", "netns", "list").split()
    found = [n for n in (node_ns, *netns_names) if n in netns]
    if os.path.exists(f"/sys/class/net/flh{key}"):
        found.append(f"flh{key}")
    for ctrl in ("cpu", "cpuacct", "memory"):
        top = CGROUP / ctrl / "faultline-sim" / key
        if top.exists():
            found.append(str(top))
    return found


@pytest.fixture(scope="module")
def control_plane(own_control_plane):
    return own_control_plane


@pytest.fixture(scope="module")
def sim(control_plane, sidecar):
    node = NodeSim(control_plane, "sim-a", pod_cidr="10.244.10.0/24",
                   sidecar=sidecar)
    try:
        node.start()
        yield node
        # SIGTERM alone: the simulator removes everything it made (stop()
        # below would also run `nodesim.py cleanup`).
        node_ns = node.info["nodeNamespace"]
        assert node.terminate() == 0, node.log()
        assert leftovers(node_ns) == []
        assert "10.244.10." not in sh("ip", "route")
        assert "10.0.0.0/24" not in sh("ip", "route")
    finally:
        node.stop()


@pytest.fixture
def ns(control_plane):
    return control_plane.create_namespace("sim")


POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  containers:
  - name: app
    image: example.com/web:1
    {ports}
    {resources}
"""


def make_pod(cp, ns, name, app="web", port=None, resources=None):
    ports = (f"ports: [{{containerPort: {port}}}]" if port else "")
    res = (f"resources: {json.dumps(resources)}" if resources else "")
    cp.kubectl("apply", "-n", ns, "-f", "-",
               input=POD.format(name=name, app=app, ports=ports,
                                resources=res))


def http_get(url, timeout=5):
    import urllib.request
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def container_cgroup(sim, pod, container):
    key = sim.info["nodeNamespace"].rsplit("-", 1)[1]
    return f"faultline-sim/{key}/pod{pod['metadata']['uid']}/{container}"


def procs_in(rel, ctrl="cpu"):
    path = CGROUP / ctrl / rel / "cgroup.procs"
    return [int(p) for p in path.read_text().split()]


def eph_status(sim, ns, pod, name):
    p = sim.pod(ns, pod)
    for st in (p.get("status") or {}).get("ephemeralContainerStatuses") or []:
        if st["name"] == name:
            return st
    return None


def wait_eph(sim, ns, pod, name, state, timeout=60):
    def check():
        st = eph_status(sim, ns, pod, name)
        return st if st and state in st.get("state", {}) else None
    return sim.wait(f"ephemeral container {name} {state}", check, timeout)


def add_ephemeral(cp, ns, pod, container):
    """Add an ephemeral container through the pods/ephemeralcontainers
    subresource with a strategic-merge patch, as kubectl debug does."""
    body = json.dumps({"spec": {"ephemeralContainers": [container]}})
    cp.kubectl("patch", "pod", "-n", ns, pod, "--subresource",
               "ephemeralcontainers", "--type", "strategic", "-p", body)


# -- the node -----------------------------------------------------------------


def test_node_is_ready_and_heartbeats(control_plane, sim):
    node = json.loads(control_plane.kubectl(
        "get", "node", "sim-a", "-o", "json").stdout)
    conds = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conds["Ready"] == "True"
    assert {"type": "InternalIP", "address": sim.node_ip} in \
        node["status"]["addresses"]
    assert node["status"]["capacity"]["pods"] == "110"
    assert int(node["status"]["allocatable"]["cpu"]) >= 1
    assert node["spec"]["podCIDR"] == "10.244.10.0/24"

    def renew():
        r = control_plane.kubectl("get", "lease", "-n", "kube-node-lease",
                                  "sim-a", "-o", "json", check=False)
        return json.loads(r.stdout)["spec"]["renewTime"] \
            if r.returncode == 0 else None
    first = sim.wait("the node's lease", renew, 30)
    # The lease is renewed with every heartbeat (every 10s).
    sim.wait("a lease renewal", lambda: renew() not in (None, first), 40)


# -- pods ---------------------------------------------------------------------


def test_pods_run_ready_and_reachable(control_plane, sim, ns):
    make_pod(control_plane, ns, "web-a", port=9090,
             resources={"limits": {"cpu": "250m", "memory": "96Mi"}})
    make_pod(control_plane, ns, "web-b")
    a = sim.wait_pod_ready(ns, "web-a")
    b = sim.wait_pod_ready(ns, "web-b")
    for pod in (a, b):
        st = pod["status"]
        assert pod["spec"]["nodeName"] == "sim-a"  # bound by the simulator
        assert st["podIP"].startswith("10.244.10.")
        assert st["podIPs"] == [{"ip": st["podIP"]}]
        assert st["hostIP"] == sim.node_ip
        conds = {c["type"]: c["status"] for c in st["conditions"]}
        for t in ("Ready", "ContainersReady", "Initialized", "PodScheduled"):
            assert conds[t] == "True", (t, conds)
        (cs,) = st["containerStatuses"]
        assert cs["ready"] and cs["started"] and "running" in cs["state"]
        assert cs["containerID"].startswith("nodesim://")
        assert cs["imageID"]
    assert a["status"]["podIP"] != b["status"]["podIP"]

    # The host reaches each pod's app on its containerPort (8080 without).
    assert http_get(f"http://{a['status']['podIP']}:9090/healthz") == \
        (200, "ok")
    assert http_get(f"http://{b['status']['podIP']}:8080/healthz") == \
        (200, "ok")
    assert http_get(f"http://{b['status']['podIP']}:8080/") == (200, "web-b")

    # Pod to pod: a client in web-a's namespace reaches web-b.
    got = sim.app_client(a, "measure",
                         f"http://{b['status']['podIP']}:8080/echo", 5)
    assert got["errors"] == 0 and got["median_ms"] is not None

    # Each pod is in its own network namespace; nothing leaves it but the
    # pod CIDR (the only route is the bridge).
    routes = sim.in_pod(a, "ip", "route")
    assert "default via 10.244.10.1" in routes
    assert a["status"]["podIP"] in sim.in_pod(a, "ip", "-o", "addr")

    # web-a's app is in its own cgroup with the limits, and its own PID
    # namespace (PID 2 there, under the init).
    rel = container_cgroup(sim, a, "app")
    assert (CGROUP / "cpu" / rel / "cpu.cfs_quota_us").read_text().strip() \
        == "25000"
    assert int((CGROUP / "memory" / rel / "memory.limit_in_bytes")
               .read_text()) == 96 * 2**20
    pids = procs_in(rel)
    apps = [p for p in pids
            if pathlib.Path(f"/proc/{p}/comm").read_text().strip() == "app"]
    assert len(apps) == 1, pids
    nspid = [line for line in pathlib.Path(f"/proc/{apps[0]}/status")
             .read_text().splitlines() if line.startswith("NSpid:")][0]
    assert nspid.split()[-1] == "2", nspid
    assert apps[0] in procs_in(rel, "memory")


def status_writes(cp, ns, name):
    return [e for e in cp.audit_events()
            if e.get("verb") == "patch"
            and (e.get("objectRef") or {}).get("namespace") == ns
            and (e.get("objectRef") or {}).get("name") == name
            and (e.get("objectRef") or {}).get("subresource") == "status"]


def test_status_is_kept_true_without_churn(control_plane, sim, ns):
    make_pod(control_plane, ns, "steady")
    sim.wait_pod_ready(ns, "steady")
    # A Ready pod's status is not written again while nothing changes (a
    # window of a few resyncs: absence cannot be polled for)...
    before = len(status_writes(control_plane, ns, "steady"))
    assert before >= 1
    time.sleep(3)
    assert len(status_writes(control_plane, ns, "steady")) == before
    # ...but someone else's change to it is undone.
    control_plane.kubectl(
        "patch", "pod", "-n", ns, "steady", "--subresource", "status",
        "--type", "merge", "-p", json.dumps({"status": {"phase": "Failed"}}))
    sim.wait("phase Running again", lambda: sim.pod(ns, "steady")[
        "status"]["phase"] == "Running", 30)


def test_pod_for_another_node_is_left_alone(control_plane, sim, ns):
    control_plane.kubectl("apply", "-n", ns, "-f", "-", input="""
apiVersion: v1
kind: Pod
metadata: {name: elsewhere}
spec:
  nodeSelector: {kubernetes.io/hostname: some-other-node}
  containers: [{name: app, image: example.com/web:1}]
""")
    make_pod(control_plane, ns, "here")
    sim.wait_pod_ready(ns, "here")
    pod = sim.pod(ns, "elsewhere")
    assert not pod["spec"].get("nodeName")
    assert pod["status"].get("phase") == "Pending"


def test_deleting_a_pod_removes_its_sandbox(control_plane, sim, ns):
    make_pod(control_plane, ns, "doomed")
    pod = sim.wait_pod_ready(ns, "doomed")
    netns = sim.netns(pod)
    rel = container_cgroup(sim, pod, "app")
    assert netns in sh("ip", "netns", "list").split()
    app = procs_in(rel)
    assert app
    # The default grace period: the simulator sends SIGTERM, the app
    # exits, the sandbox goes and the pod is deleted with grace 0.
    control_plane.kubectl("delete", "pod", "-n", ns, "doomed",
                          "--wait=false")
    sim.wait("pod doomed gone from the API",
             lambda: sim.pod(ns, "doomed") is None, 30)
    assert netns not in sh("ip", "netns", "list").split()
    assert not (CGROUP / "cpu" / rel).exists()
    for pid in app:
        assert not os.path.exists(f"/proc/{pid}")


def test_a_killed_app_is_restarted(control_plane, sim, ns):
    make_pod(control_plane, ns, "phoenix")
    pod = sim.wait_pod_ready(ns, "phoenix")
    rel = container_cgroup(sim, pod, "app")
    (app,) = [p for p in procs_in(rel)
              if pathlib.Path(f"/proc/{p}/comm").read_text().strip() == "app"]
    os.kill(app, signal.SIGKILL)

    def restarted():
        st = (sim.pod(ns, "phoenix")["status"]["containerStatuses"])[0]
        return st if st["restartCount"] == 1 and st["ready"] else None
    st = sim.wait("the app restarted", restarted, 30)
    assert st["lastState"]["terminated"]["exitCode"] == 137
    assert http_get(f"http://{pod['status']['podIP']}:8080/healthz") == \
        (200, "ok")


# -- ephemeral containers -----------------------------------------------------


def test_ephemeral_sidecar_adds_latency(control_plane, sim, ns):
    make_pod(control_plane, ns, "server")
    make_pod(control_plane, ns, "client", app="client")
    server = sim.wait_pod_ready(ns, "server")
    client = sim.wait_pod_ready(ns, "client")
    url = f"http://{server['status']['podIP']}:8080/echo"
    base = sim.app_client(client, "measure", url, 20)["median_ms"]

    spec = {"tag": "lat" + uuid.uuid4().hex[:6], "duration": "6s",
            "faults": [{"kind": "networkLatency",
                        "params": {"delay": "100ms"}}]}
    # kubectl debug: the real client's path (a strategic-merge patch of
    # pods/ephemeralcontainers).  netadmin adds NET_ADMIN and NET_RAW.
    control_plane.kubectl(
        "debug", "-n", ns, "server", "--image=ghcr.io/example/faultline:dev",
        "--container=chaos", "--target=app", "--profile=netadmin", "--",
        "/faultline-sidecar", "run", "--spec", json.dumps(spec))
    wait_eph(sim, ns, "server", "chaos", "running")
    sim.wait("the sidecar's applied line",
             lambda: '"applied"' in sim.log_of(ns, "server", "chaos"), 30)

    during = sim.app_client(client, "measure", url, 10)
    added = during["median_ms"] - base
    print(f"latency from another pod: base {base:.2f} ms, "
          f"with the fault +{added:.2f} ms (asked 100)")
    assert 90 <= added < 180, (base, during)

    st = wait_eph(sim, ns, "server", "chaos", "terminated", 30)
    term = st["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed", st
    lines = [json.loads(line) for line in
             sim.log_of(ns, "server", "chaos").splitlines()
             if line.startswith("{")]
    assert [x["state"] for x in lines if x.get("kind") ==
            "networkLatency"][-2:] == ["applied", "reverted"]
    after = sim.app_client(client, "measure", url, 20)["median_ms"]
    assert after < base + 20, (base, after)


def test_ephemeral_capabilities_env_and_exit_codes(control_plane, sim, ns):
    make_pod(control_plane, ns, "target")
    make_pod(control_plane, ns, "bystander")
    target = sim.wait_pod_ready(ns, "target")
    bystander = sim.wait_pod_ready(ns, "bystander")
    spec = {"tag": "cap" + uuid.uuid4().hex[:6], "duration": "30s",
            "faults": [{"kind": "networkLatency",
                        "params": {"delay": "1ms"}}]}
    # Only NET_ADMIN; the spec comes through the environment.
    add_ephemeral(control_plane, ns, "target", {
        "name": "netonly", "image": "ghcr.io/example/faultline:dev",
        "args": ["run"], "targetContainerName": "app",
        "env": [{"name": "FAULTLINE_SPEC", "value": json.dumps(spec)}],
        "securityContext": {"capabilities": {"add": ["NET_ADMIN"],
                                             "drop": ["ALL"]}}})
    wait_eph(sim, ns, "target", "netonly", "running")
    sim.wait("netonly applied",
             lambda: '"applied"' in sim.log_of(ns, "target", "netonly"), 30)
    rel = container_cgroup(sim, target, "netonly")
    sidecars = [p for p in procs_in(rel)
                if "faultline-side" in
                pathlib.Path(f"/proc/{p}/comm").read_text()]
    assert len(sidecars) == 1
    status = pathlib.Path(f"/proc/{sidecars[0]}/status").read_text()
    caps = {line.split(":")[0]: int(line.split()[1], 16)
            for line in status.splitlines() if line.startswith("Cap")}
    NET_ADMIN = 1 << 12
    assert caps["CapEff"] == NET_ADMIN, status
    assert caps["CapBnd"] == NET_ADMIN, status
    environ = pathlib.Path(f"/proc/{sidecars[0]}/environ").read_bytes()
    assert b"FAULTLINE_SPEC=" + json.dumps(spec).encode() in \
        environ.split(b"\0")
    # It shares the target's PID namespace: PID 1 there is the app's init.
    nspid = [line for line in status.splitlines()
             if line.startswith("NSpid:")][0]
    assert len(nspid.split()) == 3  # host pid and a pid in the pod's ns
    pidns = os.readlink(f"/proc/{sidecars[0]}/ns/pid")
    app_rel = container_cgroup(sim, target, "app")
    assert any(os.readlink(f"/proc/{p}/ns/pid") == pidns
               for p in procs_in(app_rel))
    assert pidns != os.readlink("/proc/self/ns/pid")
    # SIGTERM (pod deletion would send it) is not needed: a bad spec in a
    # second container exits 2 at once.
    add_ephemeral(control_plane, ns, "target", {
        "name": "badspec", "image": "ghcr.io/example/faultline:dev",
        "command": ["/usr/bin/faultline-sidecar"],
        "args": ["check", "--spec", '{"tag": "x", "faults": []}']})
    st = wait_eph(sim, ns, "target", "badspec", "terminated")
    assert st["state"]["terminated"]["exitCode"] == 2, st
    assert st["state"]["terminated"]["reason"] == "Error"
    assert "duration" in sim.log_of(ns, "target", "badspec")

    assert "running" in eph_status(sim, ns, "target", "netonly")["state"]

    # A non-root user with NET_ADMIN (ambient) and no_new_privs; any other
    # command than the sidecar's runs as found on the host.
    add_ephemeral(control_plane, ns, "target", {
        "name": "asuser", "image": "example.com/tools:1",
        "command": ["sleep"], "args": ["300"], "targetContainerName": "app",
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1001,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"add": ["NET_ADMIN"],
                                             "drop": ["ALL"]}}})
    wait_eph(sim, ns, "target", "asuser", "running")
    sleeper = sim.wait("the sleep process", lambda: [
        p for p in procs_in(container_cgroup(sim, target, "asuser"))
        if pathlib.Path(f"/proc/{p}/comm").read_text().strip() == "sleep"])
    fields = dict(line.split(":", 1) for line in pathlib.Path(
        f"/proc/{sleeper[0]}/status").read_text().splitlines())
    assert fields["Uid"].split()[:2] == ["1000", "1000"]
    assert fields["Gid"].split()[:2] == ["1001", "1001"]
    assert int(fields["CapEff"], 16) == NET_ADMIN
    assert int(fields["CapAmb"], 16) == NET_ADMIN
    assert fields["NoNewPrivs"].strip() == "1"

    # runAsNonRoot without a uid is refused, as kubelet refuses it.
    add_ephemeral(control_plane, ns, "target", {
        "name": "nonroot", "image": "ghcr.io/example/faultline:dev",
        "args": ["check"],
        "securityContext": {"runAsNonRoot": True}})
    st = wait_eph(sim, ns, "target", "nonroot", "waiting")

    def refused():
        st = eph_status(sim, ns, "target", "nonroot")
        return st["state"]["waiting"] if st["state"].get("waiting", {}).get(
            "reason") == "CreateContainerConfigError" else None
    assert "runAsNonRoot" in sim.wait("nonroot refused", refused)["message"]

    # processKill in the target's PID namespace kills the target's app
    # (PID 2 there, under the init), which the simulator restarts; the
    # bystander's app, also called "app", lives in another PID namespace
    # and is untouched.  The target's PID namespace ends with its app, and
    # with it every ephemeral container that joined it, as with a real
    # runtime: both sidecars end with 137 (SIGKILL).
    by_rel = container_cgroup(sim, bystander, "app")
    by_before = procs_in(by_rel)
    add_ephemeral(control_plane, ns, "target", {
        "name": "killer", "image": "ghcr.io/example/faultline:dev",
        "args": ["run", "--spec", json.dumps({
            "tag": "k" + uuid.uuid4().hex[:6], "duration": "1s",
            "faults": [{"kind": "processKill",
                        "params": {"process": "app"}}]})],
        "targetContainerName": "app",
        "securityContext": {"capabilities": {"add": ["KILL"],
                                             "drop": ["ALL"]}}})
    st = wait_eph(sim, ns, "target", "killer", "terminated")
    applied = [json.loads(line) for line in
               sim.log_of(ns, "target", "killer").splitlines()
               if '"applied"' in line]
    assert applied and applied[0]["pids"] == [2], applied
    assert st["state"]["terminated"]["exitCode"] == 137, st

    def restarted():
        cs = sim.pod(ns, "target")["status"]["containerStatuses"][0]
        return cs if cs["restartCount"] >= 1 and cs["ready"] else None
    cs = sim.wait("the target's app restarted", restarted, 30)
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert procs_in(by_rel) == by_before
    bs = sim.pod(ns, "bystander")["status"]["containerStatuses"][0]
    assert bs["restartCount"] == 0
    for name in ("netonly", "asuser"):
        st = wait_eph(sim, ns, "target", name, "terminated")
        assert st["state"]["terminated"]["exitCode"] == 137, st


def test_ephemeral_cpu_stress_charges_the_app_cgroup(control_plane, sim,
                                                     ns):
    make_pod(control_plane, ns, "busy")
    pod = sim.wait_pod_ready(ns, "busy")
    rel = container_cgroup(sim, pod, "app")
    tag = "cpu" + uuid.uuid4().hex[:6]
    # target.pid 1: the app container's init, seen from the target's PID
    # namespace, so the workers go to the app's cgroups.
    add_ephemeral(control_plane, ns, "busy", {
        "name": "stress", "image": "ghcr.io/example/faultline:dev",
        "args": ["run", "--spec", json.dumps({
            "tag": tag, "duration": "4s", "target": {"pid": 1},
            "faults": [{"kind": "cpuStress",
                        "params": {"load": 50, "workers": 1}}]})],
        "targetContainerName": "app"})
    sim.wait("the stress sidecar applied",
             lambda: '"applied"' in sim.log_of(ns, "busy", "stress"), 30)

    def workers(ctrl):
        return [p for p in procs_in(rel, ctrl)
                if pathlib.Path(f"/proc/{p}/comm").read_text().strip()
                == f"fl-{tag}"]
    assert len(workers("cpu")) == 1
    assert workers("memory") == workers("cpu")
    st = wait_eph(sim, ns, "busy", "stress", "terminated", 30)
    assert st["state"]["terminated"]["exitCode"] == 0, (
        st, sim.log_of(ns, "busy", "stress"))
    assert workers("cpu") == []


# -- services -----------------------------------------------------------------


def test_service_spreads_over_ready_pods(control_plane, sim, ns):
    for i in range(3):
        make_pod(control_plane, ns, f"svc-{i}", app="spread")
    for i in range(3):
        sim.wait_pod_ready(ns, f"svc-{i}")
    make_pod(control_plane, ns, "caller", app="caller")
    caller = sim.wait_pod_ready(ns, "caller")
    control_plane.kubectl("apply", "-n", ns, "-f", "-", input="""
apiVersion: v1
kind: Service
metadata: {name: spread}
spec:
  selector: {app: spread}
  ports: [{port: 80, targetPort: 8080}]
""")
    cip = json.loads(control_plane.kubectl(
        "get", "svc", "-n", ns, "spread", "-o", "json").stdout)[
        "spec"]["clusterIP"]
    assert cip.startswith("10.0.0.")
    url = f"http://{cip}/"

    def from_host():
        r = subprocess.run([sys.executable, str(APP), "spread", url, "30"],
                           capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout)

    def all_three(result):
        return result["errors"] == 0 and set(result["bodies"]) == \
            {"svc-0", "svc-1", "svc-2"}
    host = sim.wait("the service answering from the host",
                    lambda: (lambda r: r if all_three(r) else None)(
                        from_host()), 30)
    print(f"service from the host: {host}")
    pod = sim.app_client(caller, "spread", url, 30)
    assert all_three(pod), pod

    # A deleted pod leaves the service's endpoints.
    control_plane.kubectl("delete", "pod", "-n", ns, "svc-1",
                          "--wait=false")
    sim.wait("svc-1 gone", lambda: sim.pod(ns, "svc-1") is None, 30)
    result = from_host()
    assert result["errors"] == 0
    assert set(result["bodies"]) == {"svc-0", "svc-2"}, result


def test_bad_flags_are_refused_and_change_nothing(control_plane, sidecar):
    before = (sh("ip", "netns", "list"), sh("ip", "-o", "link"))
    sim = NodeSim(control_plane, "sim-bad", sidecar=sidecar)
    for flags, field in ((["--pod-cidr", "10.244.0.0/30"], "--pod-cidr"),
                         (["--pod-cidr", "ten"], "--pod-cidr"),
                         (["--service-cidr", "fd00::/64"], "--service-cidr"),
                         (["--sidecar", "/nonexistent"], "--sidecar")):
        sim.dir = pathlib.Path("/nonexistent-nodesim")
        argv = sim.argv() + flags
        sim.dir = None
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (flags, r.stderr)
        assert field in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = subprocess.run([harness.venv_tool("python"), str(APP.parent /
                        "nodesim.py"), "--node", "Not_A_Node",
                        "--kubeconfig", control_plane.kubeconfig],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--node" in r.stderr, r.stderr
    assert (sh("ip", "netns", "list"), sh("ip", "-o", "link")) == before
    r = control_plane.kubectl("get", "node", "sim-bad", check=False)
    assert r.returncode != 0


# -- cleanup ------------------------------------------------------------------


def test_sigkill_leaves_what_a_restart_cleans(control_plane, sidecar):
    provider = "aws:///us-east-1a/i-0123456789abcdef0"
    sim = NodeSim(control_plane, "sim-crash", pod_cidr="10.244.11.0/24",
                  sidecar=sidecar, provider_id=provider)
    ns = control_plane.create_namespace("crash")
    try:
        sim.start()
        node_ns = sim.info["nodeNamespace"]
        assert control_plane.kubectl(
            "get", "node", "sim-crash", "-o",
            "jsonpath={.spec.providerID}").stdout == provider
        control_plane.kubectl("apply", "-n", ns, "-f", "-", input="""
apiVersion: v1
kind: Pod
metadata: {name: crashy}
spec:
  nodeName: sim-crash
  containers: [{name: app, image: example.com/web:1}]
""")
        pod = sim.wait_pod_ready(ns, "crashy")
        netns = sim.netns(pod)
        app = procs_in(container_cgroup(sim, pod, "app"))
        # A mark in the old sandbox, to tell it from a new one.
        sh("ip", "-n", netns, "link", "add", "oldmark", "type", "veth",
           "peer", "name", "oldmark2")
        sim.kill()
        # The container processes die with the simulator; the rest stays.
        harness.wait_until("the app to die with the simulator",
                           lambda: not any(os.path.exists(f"/proc/{p}")
                                           for p in app), 10)
        left = leftovers(node_ns, [netns])
        assert {node_ns, netns, "flh" + node_ns.rsplit("-", 1)[1],
                str(CGROUP / "cpu" / "faultline-sim" /
                    node_ns.rsplit("-", 1)[1])} <= set(left), left
        assert "oldmark" in sh("ip", "-n", netns, "link")

        # Same node, same state directory, but without the pod's record:
        # the old namespace is still found (by its link into the node's).
        records = pathlib.Path(sim.state_dir) / "pods"
        assert len(list(records.glob("*.json"))) == 1
        for rec in records.glob("*.json"):
            rec.unlink()
        sim.start()
        pod = sim.wait_pod_ready(ns, "crashy")
        assert "oldmark" not in sh("ip", "-n", netns, "link")
        # Removed at start, not found in the way when the sandbox was made.
        assert f"ip netns add {netns}" not in sim.log(), sim.log()
        assert http_get(f"http://{pod['status']['podIP']}:8080/healthz") == \
            (200, "ok")
        sim.kill()
        sim.stop()  # runs `nodesim.py cleanup`
        assert leftovers(node_ns, [netns]) == []
    finally:
        sim.stop()
