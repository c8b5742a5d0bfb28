"""Pod faults end to end: kubectl apply a ChaosExperiment, and the real
operator adds an injector (an ephemeral container) to the chosen pod; the
node simulator (tests/sim/nodesim.py) runs it as the real
build/faultline-sidecar inside that pod's namespaces; the injector talks
to the operator over the agent channel (TLS WebSocket, a certificate from
a test CA naming the simulated node's address), and the operator ends it.

What is checked, each against the pod itself rather than the status:
latency seen by a client in another pod, a partition seen by that
client, CPU charged to the pod's cgroup, the app's process killed and
restarted; each gone after the run, and the status telling what
happened.  Then what must never go wrong: the kill switch and a deletion
revert at once; an operator killed mid-run leaves injectors that revert
on their own, and its successor ends the run truthfully; a namespace
whose PodSecurity forbids NET_ADMIN, an injector that cannot start and a
pod that goes away each end in a per-target state and an Event, never a
stuck run.

Root only.  Traffic stays in namespaces the simulator made.
"""

import json
import os
import pathlib
import shutil
import time

import pytest

import harness
import opharness
from simharness import NodeSim
from test_agent import RawClient, hello_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"),
    reason="needs root, ip and nft")

CGROUP = pathlib.Path("/sys/fs/cgroup")
GRACE_S = 4
HEARTBEAT_S = 1


@pytest.fixture(scope="module")
def control_plane(own_control_plane):
    return own_control_plane


@pytest.fixture(scope="module")
def sim(control_plane, sidecar):
    node = NodeSim(control_plane, "sim-op", pod_cidr="10.244.30.0/24",
                   sidecar=sidecar)
    try:
        node.start()
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def agent(sim):
    a = opharness.AgentChannel(sim.node_ip, grace_s=GRACE_S,
                               heartbeat_s=HEARTBEAT_S)
    yield a
    a.cleanup()


@pytest.fixture(scope="module")
def kubeconfig(control_plane):
    return opharness.install(control_plane)


@pytest.fixture(scope="module")
def op_ns(control_plane):
    return control_plane.create_namespace("faultline")


@pytest.fixture
def operator(control_plane, kubeconfig, op_ns, agent):
    op = opharness.Operator(control_plane, kubeconfig, op_ns,
                            args=agent.args())
    try:
        op.start()
        yield op
    finally:
        op.stop()
        # The kill switch, if a test set it, must not outlive the test.
        control_plane.kubectl("annotate", "namespace", op_ns,
                              "faultline.dev/kill-switch-", check=False)


@pytest.fixture
def ns(control_plane):
    return control_plane.create_namespace("pods")


POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  {pod_security}
  containers:
  - name: {container}
    image: example.com/web:1
    ports: [{{containerPort: 8080}}]
    resources: {{limits: {{cpu: "1", memory: 128Mi}}}}
"""


def make_pod(cp, sim, ns, name, app, container="app", pod_security=""):
    cp.kubectl("apply", "-n", ns, "-f", "-",
               input=POD.format(name=name, app=app, container=container,
                                pod_security=pod_security))
    return sim.wait_pod_ready(ns, name)


def spec(fault, duration="12s", app="web", probes=None):
    s = {"hypothesis": "the web pod keeps serving",
         "duration": duration,
         "targets": [{"name": "web",
                      "pods": {"selector": {"matchLabels": {"app": app}}}}],
         "faults": [{"name": "f", "target": "web", "mode": {"one": True},
                     **fault}],
         "safety": {"maxBlastRadius": 100}}
    if probes:
        s["probes"] = probes
    return s


def apply(cp, ns, name, s):
    opharness.apply(cp, ns, opharness.experiment(name, s))


def entry(cp, ns, name):
    obj = opharness.get(cp, ns, name)
    targets = (obj.get("status") or {}).get("targets") or []
    return targets[0] if targets else None


def wait_active(cp, ns, name, procs, timeout=60):
    def active():
        e = entry(cp, ns, name)
        inj = (e or {}).get("injector") or {}
        return e if inj.get("state") == "Active" else None
    return harness.wait_until(f"{name}'s injector to be active", active,
                              timeout, procs)


def eph_status(sim, ns, pod, container):
    p = sim.pod(ns, pod)
    for st in (p.get("status") or {}).get("ephemeralContainerStatuses") or []:
        if st["name"] == container:
            return st
    return None


def wait_terminated(sim, ns, pod, container, timeout=60):
    def done():
        st = eph_status(sim, ns, pod, container)
        return st if st and "terminated" in st.get("state", {}) else None
    return sim.wait(f"injector {container} to end", done, timeout)


def echo_ms(sim, client, target, n=6):
    url = f"http://{target['status']['podIP']}:8080/echo"
    return sim.app_client(client, "measure", url, n)


def events(cp, ns, reason):
    r = cp.kubectl("get", "events.events.k8s.io", "-n", ns, "-o", "json")
    return [e for e in json.loads(r.stdout)["items"]
            if e.get("reason") == reason]


def finished(cp, ns, name, op, sim, timeout=90):
    return opharness.wait_phase(cp, ns, name, opharness.TERMINAL, timeout,
                                [op.proc, sim.proc])


# -- the faults, measured in the pod ------------------------------------------


def test_latency_seen_by_another_pod_and_gone_after(control_plane, sim,
                                                    operator, ns):
    cp = control_plane
    web = make_pod(cp, sim, ns, "web-0", "web")
    client = make_pod(cp, sim, ns, "client-0", "client")
    before = echo_ms(sim, client, web)
    assert before["errors"] == 0 and before["median_ms"] < 100, before

    apply(cp, ns, "slow", spec({"networkLatency": {"delay": "300ms"}},
                               duration="15s"))
    e = wait_active(cp, ns, "slow", [operator.proc, sim.proc])
    inj = e["injector"]
    assert e["name"] == "web-0" and e["state"] == "Injected"
    assert inj["container"].startswith("faultline-")
    assert inj["targetContainer"] == "app" and inj["activeAt"]

    # The injector's container is what the operator said it would be.
    pod = sim.pod(ns, "web-0")
    (ctr,) = [c for c in pod["spec"]["ephemeralContainers"]
              if c["name"] == inj["container"]]
    sc = ctr["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert ctr["targetContainerName"] == "app"

    during = echo_ms(sim, client, web)
    assert during["errors"] == 0 and during["median_ms"] >= 280, during
    assert operator.metric("faultline_injectors_connected") == 1

    obj = finished(cp, ns, "slow", operator, sim)
    st = obj["status"]
    assert st["phase"] == "Completed" and st["verdict"] == "Passed", st
    e = st["targets"][0]
    assert e["state"] == "Reverted" and e["engine"] == "injector", e
    term = wait_terminated(sim, ns, "web-0", inj["container"])
    assert term["state"]["terminated"]["exitCode"] == 0

    after = echo_ms(sim, client, web)
    assert after["errors"] == 0 and after["median_ms"] < 100, after
    harness.wait_until(
        "the injector to disconnect",
        lambda: operator.metric("faultline_injectors_connected") == 0, 30,
        [operator.proc])
    lines = sim.json_lines(ns, "web-0", inj["container"])
    states = [(l["state"], l.get("reason", "")) for l in lines]
    assert ("applied", "") in states, states
    assert any(s == "reverted" and r.startswith("revert order")
               for s, r in states), states


def test_partition_seen_by_another_pod_and_gone_after(control_plane, sim,
                                                      operator, ns):
    cp = control_plane
    web = make_pod(cp, sim, ns, "web-0", "web")
    client = make_pod(cp, sim, ns, "client-0", "client")
    apply(cp, ns, "cut", spec({"networkPartition": {}}, duration="12s"))
    wait_active(cp, ns, "cut", [operator.proc, sim.proc])
    during = echo_ms(sim, client, web, n=2)
    assert during["errors"] == 2, during
    obj = finished(cp, ns, "cut", operator, sim)
    # The agent channel was exempt: the operator's order ended the fault,
    # not the injector's own deadline or dead-man switch.
    assert obj["status"]["verdict"] == "Passed", obj["status"]
    container = obj["status"]["targets"][0]["injector"]["container"]
    lines = sim.json_lines(ns, "web-0", container)
    assert any(l["state"] == "reverted" and
               l.get("reason", "").startswith("revert order")
               for l in lines), lines
    after = echo_ms(sim, client, web)
    assert after["errors"] == 0, after


def cpu_usage_ns(sim, pod):
    key = sim.info["nodeNamespace"].rsplit("-", 1)[1]
    rel = f"faultline-sim/{key}/pod{pod['metadata']['uid']}"
    for ctrl in ("cpuacct", "cpu"):
        path = CGROUP / ctrl / rel / "cpuacct.usage"
        if path.exists():
            return int(path.read_text())
    pytest.skip("no cpuacct.usage for the pod's cgroup")


def test_cpu_stress_charged_to_the_pod(control_plane, sim, operator, ns):
    cp = control_plane
    web = make_pod(cp, sim, ns, "web-0", "web")
    apply(cp, ns, "burn", spec({"cpuStress": {"load": 50, "workers": 1}},
                               duration="10s"))
    e = wait_active(cp, ns, "burn", [operator.proc, sim.proc])
    # No capability at all for a resource fault.
    pod = sim.pod(ns, "web-0")
    (ctr,) = [c for c in pod["spec"]["ephemeralContainers"]
              if c["name"] == e["injector"]["container"]]
    assert ctr["securityContext"]["capabilities"] == {"drop": ["ALL"]}

    t0, u0 = time.monotonic(), cpu_usage_ns(sim, web)
    harness.wait_until("CPU to be charged", lambda: time.monotonic() - t0 >
                       2, 10, interval=0.5)
    used = (cpu_usage_ns(sim, web) - u0) / 1e9 / (time.monotonic() - t0)
    assert used >= 0.3, f"pod used {used:.2f} CPU while stressed"

    obj = finished(cp, ns, "burn", operator, sim)
    assert obj["status"]["verdict"] == "Passed", obj["status"]
    wait_terminated(sim, ns, "web-0", e["injector"]["container"])
    t0, u0 = time.monotonic(), cpu_usage_ns(sim, web)
    harness.wait_until("a quiet second", lambda: time.monotonic() - t0 > 2,
                       10, interval=0.5)
    idle = (cpu_usage_ns(sim, web) - u0) / 1e9 / (time.monotonic() - t0)
    assert idle < 0.15, f"pod still used {idle:.2f} CPU after the revert"


def test_process_kill_restarts_the_app(control_plane, sim, operator, ns):
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web", container="shop")
    apply(cp, ns, "kill", spec({"processKill": {"process": "shop"}},
                               duration="10s"))

    def restarted():
        p = sim.pod(ns, "web-0")
        for cs in p["status"].get("containerStatuses") or []:
            if cs["name"] == "shop" and cs.get("restartCount", 0) >= 1:
                return cs
        return None
    cs = sim.wait("the killed app to be restarted", restarted, 60)
    assert cs["lastState"]["terminated"]["exitCode"] == 137, cs
    obj = finished(cp, ns, "kill", operator, sim)
    assert obj["status"]["verdict"] == "Passed", obj["status"]
    # The injector went down with the app's PID namespace: the fault
    # done, not lost, and no reason to give.
    (e,) = obj["status"]["targets"]
    assert e["state"] == "Reverted" and "reason" not in e, e
    assert e["injector"]["state"] == "Ended", e
    pod = sim.wait_pod_ready(ns, "web-0")
    (ctr,) = pod["spec"]["ephemeralContainers"]
    assert ctr["targetContainerName"] == "shop"
    assert ctr["securityContext"]["capabilities"] == {
        "drop": ["ALL"], "add": ["KILL"]}


# -- ending early --------------------------------------------------------------


def reverted_at(sim, ns, pod, container):
    for line in sim.json_lines(ns, pod, container):
        if line["state"] == "reverted":
            return line
    return None


def wall(rfc3339):
    from datetime import datetime
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_kill_switch_reverts_at_once(control_plane, sim, operator, ns,
                                     op_ns):
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web")
    make_pod(cp, sim, ns, "web-1", "web")
    s = spec({"networkLatency": {"delay": "200ms"}}, duration="5m")
    s["faults"][0]["mode"] = {"all": True}
    apply(cp, ns, "long", s)

    def both_active():
        obj = opharness.get(cp, ns, "long")
        ts = (obj.get("status") or {}).get("targets") or []
        return ts if len(ts) == 2 and all(
            (t.get("injector") or {}).get("state") == "Active"
            for t in ts) else None
    targets = harness.wait_until("both injectors active", both_active, 60,
                                 [operator.proc, sim.proc])
    t0 = time.time()
    cp.kubectl("annotate", "namespace", op_ns,
               "faultline.dev/kill-switch=true")
    took = []
    for t in targets:
        line = sim.wait("the injector to revert",
                        lambda t=t: reverted_at(sim, ns, t["name"],
                                                t["injector"]["container"]),
                        30)
        assert line["reason"].startswith("abort order"), line
        took.append(wall(line["time"]) - t0)
    print(f"kill switch: reverted {len(took)} injectors "
          f"{max(took) * 1000:.0f} ms after the annotation")
    obj = finished(cp, ns, "long", operator, sim)
    st = obj["status"]
    assert st["phase"] == "Aborted", st
    assert "kill switch" in st["message"], st
    assert all(t["state"] == "Reverted" for t in st["targets"]), st


def test_abort_request_reaches_the_injector(control_plane, sim, operator,
                                            ns, agent):
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web")
    apply(cp, ns, "stop", spec({"networkLatency": {"delay": "200ms"}},
                               duration="5m"))
    e = wait_active(cp, ns, "stop", [operator.proc, sim.proc])

    # Whoever can read the pod sees the injector's token; with its MAC
    # changed, the operator refuses it, and counts the refusal.
    pod = sim.pod(ns, "web-0")
    (ctr,) = pod["spec"]["ephemeralContainers"]
    env = {v["name"]: v["value"] for v in ctr["env"]}
    tok = json.loads(env["FAULTLINE_SPEC"])["agent"]
    claims, mac = tok["token"].split(".")
    forged = dict(tok, token=claims + "." + ("A" if mac[0] != "A" else "B")
                  + mac[1:])
    c = RawClient(agent.port, pathlib.Path(agent.ca.cert_path).read_text(),
                  agent.ip)
    try:
        challenge = c.recv()["challenge"]
        c.send(hello_for(challenge, forged))
        assert c.recv() == {"type": "bye", "reason": "forged"}
    finally:
        c.close()
    assert operator.metric("faultline_agent_refusals_total",
                           {"reason": "forged"}) == 1
    # The real injector was not disturbed.
    assert operator.metric("faultline_injectors_connected") == 1

    cp.kubectl("annotate", "chaosexperiment", "-n", ns, "stop",
               "faultline.dev/abort=now")
    obj = finished(cp, ns, "stop", operator, sim)
    assert obj["status"]["phase"] == "Aborted", obj["status"]
    line = reverted_at(sim, ns, "web-0", e["injector"]["container"])
    assert line["reason"].startswith("abort order: aborted on request"), \
        line


def test_deletion_reverts_before_the_object_goes(control_plane, sim,
                                                 operator, ns):
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web")
    apply(cp, ns, "gone", spec({"networkLatency": {"delay": "200ms"}},
                               duration="5m"))
    e = wait_active(cp, ns, "gone", [operator.proc, sim.proc])
    container = e["injector"]["container"]
    assert reverted_at(sim, ns, "web-0", container) is None
    cp.kubectl("delete", "chaosexperiment", "-n", ns, "gone", "--wait=false")
    harness.wait_until(
        "the experiment to go",
        lambda: cp.kubectl("get", "chaosexperiment", "-n", ns, "gone",
                           check=False).returncode != 0,
        60, [operator.proc])
    # The finalizer came off only once the injector had said "reverted".
    line = reverted_at(sim, ns, "web-0", container)
    assert line and line["reason"].startswith("abort order"), \
        sim.json_lines(ns, "web-0", container)


def test_operator_killed_injectors_revert_alone(control_plane, sim,
                                                operator, ns):
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web")
    apply(cp, ns, "orphan", spec({"networkLatency": {"delay": "200ms"}},
                                 duration="5m"))
    e = wait_active(cp, ns, "orphan", [operator.proc, sim.proc])
    container = e["injector"]["container"]
    operator.kill()
    t0 = time.time()
    line = sim.wait("the injector to revert by itself",
                    lambda: reverted_at(sim, ns, "web-0", container),
                    GRACE_S + 30)
    assert line["reason"].startswith("operator silent"), line
    print(f"operator SIGKILLed: injector reverted "
          f"{(wall(line['time']) - t0) * 1000:.0f} ms later "
          f"(grace {GRACE_S}s)")
    term = wait_terminated(sim, ns, "web-0", container)
    assert term["state"]["terminated"]["exitCode"] == 6

    # The successor finds the injector gone and says so: the fault did
    # not run its course.
    operator.start()

    def lost():
        e = entry(cp, ns, "orphan")
        return e if e and e["state"] == "Failed" else None
    e = harness.wait_until("the successor to mark the target Failed", lost,
                           60, [operator.proc])
    assert "exited with 6" in e["reason"], e
    assert "agent channel failed" in e["reason"], e
    assert e["injector"]["state"] == "Terminated", e
    assert e["injector"]["exitCode"] == 6, e
    assert events(cp, ns, "FaultLost")
    cp.kubectl("annotate", "chaosexperiment", "-n", ns, "orphan",
               "faultline.dev/abort=after-restart")
    obj = finished(cp, ns, "orphan", operator, sim)
    assert obj["status"]["phase"] == "Aborted", obj["status"]


@pytest.mark.parametrize("point", ["after-marked-injecting", "after-inject"])
def test_operator_killed_around_the_injection(control_plane, kubeconfig,
                                              op_ns, agent, sim, ns, point):
    """SIGKILL just before the injector is added, and just after (before
    status says so): the successor checks the pod, never adds a second
    injector, and the run completes."""
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web")
    op = opharness.Operator(cp, kubeconfig, op_ns, args=agent.args())
    try:
        op.start(extra_env={"FAULTLINE_FAILPOINTS": point})
        apply(cp, ns, "crash", spec({"networkLatency": {"delay": "100ms"}},
                                    duration="10s"))
        code = op.wait_exit(timeout=60)
        assert code in (9, -9), f"exit {code}{op.describe()}"
        op.start()
        obj = finished(cp, ns, "crash", op, sim)
    finally:
        op.stop()
    st = obj["status"]
    assert st["verdict"] == "Passed", st
    (e,) = st["targets"]
    assert e["state"] == "Reverted", e
    pod = sim.pod(ns, "web-0")
    assert [c["name"] for c in pod["spec"]["ephemeralContainers"]] == \
        [e["injector"]["container"]]
    term = wait_terminated(sim, ns, "web-0", e["injector"]["container"])
    assert term["state"]["terminated"]["exitCode"] == 0


# -- refusals, explained -------------------------------------------------------


def test_pod_security_refuses_net_admin(control_plane, sim, operator, ns):
    cp = control_plane
    cp.kubectl("label", "namespace", ns,
               "pod-security.kubernetes.io/enforce=baseline")
    make_pod(cp, sim, ns, "web-0", "web")
    apply(cp, ns, "denied", spec({"networkLatency": {"delay": "100ms"}}))
    obj = finished(cp, ns, "denied", operator, sim)
    st = obj["status"]
    assert st["verdict"] == "Failed", st
    e = st["targets"][0]
    assert e["state"] == "Failed", e
    assert "forbidden" in e["reason"] and "NET_ADMIN" in e["reason"], e
    assert not sim.pod(ns, "web-0")["spec"].get("ephemeralContainers")
    assert any("NET_ADMIN" in (ev.get("note") or "")
               for ev in events(cp, ns, "InjectionFailed"))


def test_injector_that_cannot_start(control_plane, sim, operator, ns):
    cp = control_plane
    # runAsNonRoot on the pod: the injector (root) is refused by the
    # node, as kubelet would refuse it.
    make_pod(cp, sim, ns, "web-0", "web",
             pod_security="securityContext: {runAsNonRoot: true, "
                          "runAsUser: 1000}")
    apply(cp, ns, "nostart", spec({"networkLatency": {"delay": "100ms"}},
                                  duration="30s"))
    obj = finished(cp, ns, "nostart", operator, sim)
    st = obj["status"]
    e = st["targets"][0]
    assert e["state"] == "Failed", e
    assert "cannot start" in e["reason"], e
    assert "CreateContainerConfigError" in e["reason"], e
    assert st["verdict"] == "Failed", st
    assert events(cp, ns, "FaultLost")


def test_pod_that_goes_away(control_plane, sim, operator, ns):
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web")
    apply(cp, ns, "vanish", spec({"networkLatency": {"delay": "100ms"}},
                                 duration="40s"))
    wait_active(cp, ns, "vanish", [operator.proc, sim.proc])
    cp.kubectl("delete", "pod", "-n", ns, "web-0", "--wait=false")
    obj = finished(cp, ns, "vanish", operator, sim)
    e = obj["status"]["targets"][0]
    assert e["state"] == "Failed", e
    assert "went away" in e["reason"], e


def test_without_agent_channel_nothing_is_touched(control_plane, kubeconfig,
                                                  op_ns, sim, ns):
    cp = control_plane
    make_pod(cp, sim, ns, "web-0", "web")
    op = opharness.Operator(cp, kubeconfig, op_ns,
                            args=["--leader-elect=false"])
    try:
        op.start()
        apply(cp, ns, "noagent", spec({"networkLatency": {"delay": "1s"}}))
        obj = opharness.wait_phase(cp, ns, "noagent", opharness.TERMINAL, 60,
                                   [op.proc])
    finally:
        op.stop()
    st = obj["status"]
    assert st["phase"] == "Failed", st
    assert "--agent-url" in st["message"], st
    assert not sim.pod(ns, "web-0")["spec"].get("ephemeralContainers")


def test_leader_labels_its_pod_for_the_agent_service(control_plane,
                                                     kubeconfig, op_ns,
                                                     agent):
    """The agent Service selects faultline.dev/leader=true: a standby
    takes the label off its pod (left from when it led), the leader
    puts it on."""
    cp = control_plane
    # A pod standing for the operator's own, bound to a node nobody runs.
    cp.kubectl("apply", "-n", op_ns, "-f", "-", input="""
apiVersion: v1
kind: Pod
metadata: {name: op-0, labels: {faultline.dev/leader: "true"}}
spec:
  nodeName: nowhere
  containers: [{name: operator, image: example.com/op:1}]
""")
    cp.kubectl("create", "role", "leader-label", "-n", op_ns,
               "--verb=patch", "--resource=pods")
    cp.kubectl("create", "rolebinding", "leader-label", "-n", op_ns,
               "--role=leader-label", f"--user={opharness.OPERATOR_USER}")
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    cp.kubectl("apply", "-n", op_ns, "-f", "-", input=f"""
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {{name: faultline-operator}}
spec: {{holderIdentity: someone-else, leaseDurationSeconds: 3600,
        acquireTime: "{now}", renewTime: "{now}"}}
""")

    def label():
        pod = json.loads(cp.kubectl("get", "pod", "-n", op_ns, "op-0", "-o",
                                    "json").stdout)
        return pod["metadata"].get("labels", {}).get("faultline.dev/leader")
    args = [a for a in agent.args() if not a.startswith("--leader-elect")]
    op = opharness.Operator(cp, kubeconfig, op_ns, name="op-0",
                            args=args + ["--agent-leader-label",
                                         "--lease-duration=2s",
                                         "--renew-deadline=1s",
                                         "--retry-period=500ms"])
    try:
        op.start()
        harness.wait_until("the standby to drop the label",
                           lambda: label() is None, 30, [op.proc])
        # The other holder lets go; this one leads and labels its pod.
        cp.kubectl("delete", "lease", "-n", op_ns, "faultline-operator")
        harness.wait_until("the leader to label its pod",
                           lambda: label() == "true", 30, [op.proc])
    finally:
        op.stop()
        cp.kubectl("delete", "pod", "-n", op_ns, "op-0", "--grace-period=0",
                   "--force", check=False)
