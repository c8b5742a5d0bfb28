"""Running faultline-operator against the test control plane, and the
objects its tests need: pods that look Running and Ready (there is no
kubelet here, so the test writes their status through the status
subresource, as a kubelet would), experiments, and the audit trail of
what the operator changed."""

import atexit
import ipaddress
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import yaml
from cryptography import x509

import harness

REPO = pathlib.Path(__file__).resolve().parents[2]
CRD = REPO / "crds" / "chaosexperiments.faultline.dev.yaml"
RBAC = REPO / "deploy" / "rbac" / "operator.yaml"
OPERATOR_USER = "faultline-operator"
TERMINAL = ("Completed", "Aborted", "Failed")


def install(cp, user=OPERATOR_USER, crd=CRD):
    """The CRD, and the operator's ClusterRole bound to user (its own
    identity), so that the tests also prove the role is enough.  Returns
    user's kubeconfig."""
    cp.kubectl("apply", "-f", str(crd))
    cp.wait_crd_established("chaosexperiments.faultline.dev")
    cp.kubectl("apply", "-f", str(RBAC))
    cp.kubectl("apply", "-f", "-", input=cp.kubectl(
        "create", "clusterrolebinding", f"faultline-operator-{slug(user)}",
        "--clusterrole=faultline-operator", f"--user={user}",
        "--dry-run=client", "-o", "yaml").stdout)
    return cp.kubeconfig_for(user)


def install_without(cp, user, resource, verb):
    """Like install(), but user's ClusterRole is the operator's without
    verb on the core resource, to see what the operator does when a call
    it needs is forbidden.  Returns user's kubeconfig."""
    install(cp)
    role = yaml.safe_load(RBAC.read_text())
    name = f"faultline-operator-no-{verb}-{resource}"
    role["metadata"]["name"] = name
    rules = []
    for rule in role["rules"]:
        if (rule.get("apiGroups") != [""] or
                resource not in rule["resources"] or
                verb not in rule["verbs"]):
            rules.append(rule)
            continue
        others = [r for r in rule["resources"] if r != resource]
        if others:
            rules.append(dict(rule, resources=others))
        verbs = [v for v in rule["verbs"] if v != verb]
        if verbs:
            rules.append(dict(rule, resources=[resource], verbs=verbs))
    role["rules"] = rules
    cp.kubectl("apply", "-f", "-", input=json.dumps(role))
    cp.kubectl("apply", "-f", "-", input=cp.kubectl(
        "create", "clusterrolebinding", f"{name}-{slug(user)}",
        f"--clusterrole={name}", f"--user={user}",
        "--dry-run=client", "-o", "yaml").stdout)
    return cp.kubeconfig_for(user)


class Operator:
    """One faultline-operator process.  Stops (SIGTERM, then SIGKILL)
    even when a test fails; its log is kept for the failure message."""

    def __init__(self, cp, kubeconfig, self_ns, args=(), env=None,
                 name="operator", binary=None):
        self.cp = cp
        self.kubeconfig = kubeconfig
        self.self_ns = self_ns
        self.args = list(args)
        self.env = env or {}
        self.name = name
        self.binary = binary or os.environ.get(
            "FAULTLINE_OPERATOR", str(REPO / "build" / "faultline-operator"))
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="faultline-op-"))
        # Logs stay readable after stop(), for the test's assertions, and
        # go when the test process ends.
        atexit.register(shutil.rmtree, self.dir, True)
        self.proc = None
        self.metrics_port = None
        self.starts = 0

    def start(self, extra_env=None):
        harness._running.add(self)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.metrics_port = harness.free_port()
        self.starts += 1
        argv = [self.binary, f"--kubeconfig={self.kubeconfig}",
                f"--self-namespace={self.self_ns}",
                f"--metrics-addr=127.0.0.1:{self.metrics_port}",
                "--health-addr=", "--log-format=json",
                f"--pod-name={self.name}", *self.args]
        env = dict(os.environ)
        env.pop("FAULTLINE_FAILPOINTS", None)
        env.update(self.env)
        env.update(extra_env or {})
        old = os.environ.copy()
        try:
            os.environ.clear()
            os.environ.update(env)
            self.proc = harness.Process(
                self.name, argv, self.dir / f"{self.name}-{self.starts}.log")
        finally:
            os.environ.clear()
            os.environ.update(old)
        harness.wait_until(f"{self.name} to serve /metrics",
                           lambda: self.get("/metrics")[0] == 200, 30,
                           [self.proc])
        return self

    def get(self, path):
        """(status, body) of GET path on the metrics port; (0, "") when it
        does not answer."""
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def metric(self, name, labels=None):
        """The value of one series on /metrics, or 0.0 when absent."""
        _, text = self.get("/metrics")
        want = name
        if labels:
            want += "{" + ",".join(f'{k}="{v}"' for k, v in
                                   labels.items()) + "}"
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return 0.0

    def log_lines(self):
        out = []
        for path in sorted(self.dir.glob(f"{self.name}-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"raw": line})
        return out

    def wait_exit(self, timeout=60):
        """Waits for the process to end by itself; returns its status."""
        return harness.wait_until(
            f"{self.name} to exit", lambda: self._exited(), timeout)[1]

    def _exited(self):
        code = self.proc.exit_status()
        return (True, code) if code is not None else None

    def kill(self):
        """SIGKILL, as a node failure would."""
        os.killpg(self.proc.popen.pid, signal.SIGKILL)
        self.proc.popen.wait()

    def stop(self):
        if self.proc:
            self.proc.stop()
        harness._running.discard(self)

    def describe(self):
        return self.proc.describe_tail() if self.proc else ""


class AgentChannel:
    """What the operator's agent channel needs to serve injectors on a
    simulated node: a CA, a serving certificate naming the node's
    address (the operator listens there), a master key and a port; and
    the operator flags that use them.  Remove with cleanup()."""

    def __init__(self, node_ip, grace_s=4, heartbeat_s=1):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="faultline-agent-"))
        self.ca = harness.CertificateAuthority(self.dir)
        self.cert, self.key = self.ca.issue(
            "agent", "faultline-agent",
            server_names=[x509.IPAddress(ipaddress.ip_address(node_ip))])
        self.master = self.dir / "master.key"
        self.master.write_bytes(secrets.token_bytes(48))
        self.master.chmod(0o600)
        self.ip = node_ip
        self.port = harness.free_port()
        self.grace_s = grace_s
        self.heartbeat_s = heartbeat_s

    def args(self):
        return [f"--agent-url=wss://{self.ip}:{self.port}",
                f"--agent-addr={self.ip}",
                f"--agent-cert={self.cert}", f"--agent-key={self.key}",
                f"--agent-ca={self.ca.cert_path}",
                f"--agent-master-key-file={self.master}",
                f"--agent-grace={self.grace_s}s",
                f"--agent-heartbeat={self.heartbeat_s}s",
                # The simulator runs the sidecar whatever the image says.
                "--injector-image=registry.example/faultline-sidecar:test",
                "--leader-elect=false"]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# -- objects -------------------------------------------------------------------


def make_pods(cp, ns, count, labels, prefix="app", ready=True):
    """count pods in ns, marked Running (and Ready unless told otherwise)
    through the status subresource.  Returns their names."""
    names = []
    for i in range(count):
        name = f"{prefix}-{i}"
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": ns, "labels": labels},
               "spec": {"containers": [{"name": "app",
                                        "image": "registry.invalid/app:1"}]}}
        cp.kubectl("apply", "-f", "-", input=json.dumps(pod))
        set_pod_status(cp, ns, name, ready)
        names.append(name)
    return names


def set_pod_status(cp, ns, name, ready):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {
        "phase": "Running", "podIP": "10.1.0.1",
        "conditions": [{"type": "Ready",
                        "status": "True" if ready else "False",
                        "lastTransitionTime": now}]}}
    cp.kubectl("patch", "pod", name, "-n", ns, "--subresource=status",
               "--type=merge", "-p", json.dumps(status))


def pods(cp, ns):
    """Names of the pods in ns that are not being deleted."""
    items = json.loads(cp.kubectl("get", "pods", "-n", ns, "-o",
                                  "json").stdout)["items"]
    return sorted(p["metadata"]["name"] for p in items
                  if not p["metadata"].get("deletionTimestamp"))


def experiment(name, spec):
    return {"apiVersion": "faultline.dev/v1alpha1", "kind": "ChaosExperiment",
            "metadata": {"name": name}, "spec": spec}


def pod_delete_spec(selector, mode=None, duration="2s", blast=100, **extra):
    spec = {
        "hypothesis": "the service survives losing pods",
        "duration": duration,
        "targets": [{"name": "web", "pods": {
            "selector": {"matchLabels": selector}}}],
        "faults": [{"name": "kill", "target": "web",
                    "mode": mode or {"count": 1}, "podDelete": {}}],
        "safety": {"maxBlastRadius": blast},
    }
    spec.update(extra)
    return spec


def apply(cp, ns, obj):
    cp.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(obj))


def get(cp, ns, name):
    r = cp.kubectl("get", "chaosexperiment", name, "-n", ns, "-o", "json",
                   check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def wait_phase(cp, ns, name, phases, timeout=60, procs=(), run_id=None):
    """Polls until status.phase is one of phases (for run_id when given);
    returns the object."""
    if isinstance(phases, str):
        phases = (phases,)

    def check():
        obj = get(cp, ns, name)
        st = (obj or {}).get("status", {})
        if st.get("phase") in phases and (run_id is None or
                                          st.get("runId") == run_id):
            return obj
        return None
    return harness.wait_until(f"{ns}/{name} to reach {'/'.join(phases)}",
                              check, timeout, procs)


def condition(obj, ctype):
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == ctype:
            return c
    return None


def operator_writes(cp, user=OPERATOR_USER):
    """The mutating requests the operator made, from the audit log, as
    (verb, resource, subresource, namespace, name, code) tuples.  user
    may be one name or a tuple of them."""
    users = (user,) if isinstance(user, str) else tuple(user)
    out = []
    for ev in cp.audit_events():
        if ev.get("stage") != "ResponseComplete":
            continue
        if ev.get("user", {}).get("username") not in users:
            continue
        if ev.get("verb") not in ("create", "update", "patch", "delete",
                                  "deletecollection"):
            continue
        ref = ev.get("objectRef", {})
        out.append((ev["verb"], ref.get("resource"),
                    ref.get("subresource", ""), ref.get("namespace"),
                    ref.get("name"),
                    ev.get("responseStatus", {}).get("code")))
    return out


def write_times(cp, user, ns):
    """When (epoch seconds, as the API server logged it) user's mutating
    requests in ns completed."""
    import datetime
    out = []
    for ev in cp.audit_events():
        if (ev.get("stage") == "ResponseComplete" and
                ev.get("user", {}).get("username") == user and
                ev.get("objectRef", {}).get("namespace") == ns and
                ev.get("verb") in ("create", "update", "patch", "delete")):
            t = datetime.datetime.fromisoformat(
                ev["stageTimestamp"].replace("Z", "+00:00"))
            out.append(t.timestamp())
    return out


def evictions(cp, ns, user=OPERATOR_USER):
    """Pods the operator evicted (or deleted) in ns, successfully."""
    return sorted(name for verb, res, sub, n, name, code in
                  operator_writes(cp, user)
                  if n == ns and res == "pods" and code in (200, 201) and
                  ((verb == "create" and sub == "eviction") or
                   (verb == "delete" and sub == "")))


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def slug(text):
    return re.sub(r"[^a-z0-9-]", "-", text.lower())
