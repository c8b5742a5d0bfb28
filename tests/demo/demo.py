"""`make demo`: faultline end to end on this machine, with real parts.

What it starts, all local and all stopped again at the end:

- a Kubernetes control plane: the real etcd and kube-apiserver on
  127.0.0.1 (tests/integration/harness.py);
- the node simulator (tests/sim/nodesim.py) as node "demo-node" with the
  pod CIDR 10.244.40.0/24: pods run for real, in network namespaces, as
  tests/sim/app.py (HTTP on 8080 with /healthz); ephemeral containers run
  the real build/faultline-sidecar; a Service's clusterIP is DNATed to its
  Ready pods and the host has a route to the service CIDR;
- the real build/faultline-operator with the agent channel, as the
  integration tests run it (opharness.AgentChannel), with a grace of 10s
  and a heartbeat of 2s rather than the tests' shorter defaults: an
  injector that hears nothing from the operator for 10s reverts by
  itself.

Then it creates the demo app in namespace "demo" (three pods labelled
app=demo and a ClusterIP Service "demo" on port 8080; bare pods, as there
is no controller-manager to run a Deployment), and runs
deploy/examples/quickstart.yaml with `build/kubectl-faultline run --wait`,
which shows the run's progress and ends with the verdict.  It prints the
experiment as `kubectl get chaosexperiments` lists it, `kubectl faultline
describe` and the Markdown report, and cleans everything up, also on
Ctrl-C, SIGTERM or a failure.

One change is made to the experiment before it is applied, and the demo
says so when it makes it: the probe's URL http://demo.demo.svc:8080/healthz
becomes http://<the Service's clusterIP>:8080/healthz.  The local control
plane has no cluster DNS, and the operator, which sends the probe, runs
on this host.  deploy/examples/quickstart.yaml itself is not changed; the
rewritten copy lives in a temporary directory.

Environment:

  FAULTLINE_DEMO_DURATION   replaces the experiment's spec.duration (a
                            duration such as 20s or 1m), to make the demo
                            shorter, as tests/integration/test_demo.py
                            does.  Unset (the default), the experiment
                            runs for quickstart.yaml's own duration (2m).
                            Nothing else changes: maxRecoveryTime stays.

Needs root (network namespaces, veth links, nftables, cgroups), the
binaries `make all` builds and the tools scripts/setup.sh builds; `make
demo` sees to both.  All network traffic stays on 127.0.0.1 and in the
namespaces the simulator makes; proxy settings in the environment are
dropped for that reason.

Exit status: 0 when the experiment's run ended, whatever its verdict
(which is printed); 1 when the demo itself broke (a part did not start,
the run did not end in time); 128 + the signal's number when
interrupted (130 for Ctrl-C, 143 for SIGTERM).
"""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import yaml  # noqa: E402

import harness  # noqa: E402
import opharness  # noqa: E402
from simharness import NodeSim  # noqa: E402

BUILD = REPO / "build"
CLI = BUILD / "kubectl-faultline"
SIDECAR = BUILD / "faultline-sidecar"
OPERATOR = BUILD / "faultline-operator"
EXAMPLE = REPO / "deploy" / "examples" / "quickstart.yaml"

NODE = "demo-node"
POD_CIDR = "10.244.40.0/24"
NAMESPACE = "demo"
OPERATOR_NAMESPACE = "faultline-system"
APP = "demo"
PODS = 3
PORT = 8080
PROBE_URL = "http://demo.demo.svc:8080/healthz"
EXPERIMENT = "quickstart"
AGENT_GRACE_S = 10
AGENT_HEARTBEAT_S = 2
DURATION_ENV = "FAULTLINE_DEMO_DURATION"
# How long past the experiment's duration and recovery bound the demo
# waits for a verdict before it calls the run stuck.
VERDICT_SLACK_S = 180

EXIT_ENDED, EXIT_BROKE = 0, 1

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  containers:
  - name: app
    image: registry.example/demo-app:1
    ports: [{{containerPort: {port}}}]
    resources: {{limits: {{cpu: 500m, memory: 128Mi}}}}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {{name: {app}}}
spec:
  type: ClusterIP
  selector: {{app: {app}}}
  ports: [{{port: {port}, targetPort: {port}}}]
"""

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY",
              "HTTPS_PROXY", "ALL_PROXY")


class DemoError(Exception):
    """The demo itself broke (not the experiment)."""


class Interrupted(BaseException):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so that cleanup runs."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# -- output -------------------------------------------------------------------

T0 = time.monotonic()


def say(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def section(title):
    print(f"\n== {title}", flush=True)


def span(seconds):
    m, s = divmod(seconds, 60)
    return f"{int(m)}m{s:04.1f}s" if m else f"{s:.1f}s"


# -- checks before anything starts --------------------------------------------


def preflight():
    if os.geteuid() != 0:
        raise DemoError(
            "needs root: the node simulator makes network namespaces, veth "
            "links, nftables rules and cgroups.  Run it as root "
            "(sudo make demo).")
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            raise DemoError(f"'{tool}' not found: run scripts/setup.sh")
    for path in (CLI, SIDECAR, OPERATOR):
        if not os.access(path, os.X_OK):
            raise DemoError(f"{path} missing: run make all")
    try:
        harness.tool("kubectl")
    except harness.HarnessError as e:
        raise DemoError(str(e)) from None


def parse_duration(text):
    """Seconds in a duration such as 90s, 2m or 1m30s; None when text is
    not one."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


def example_duration():
    return yaml.safe_load(EXAMPLE.read_text())["spec"]["duration"]


def duration_override():
    value = os.environ.get(DURATION_ENV)
    if value is None:
        return None
    seconds = parse_duration(value)
    if not seconds:
        raise DemoError(f"{DURATION_ENV}={value!r} is not a duration such "
                        "as 20s or 1m")
    return value


# -- the parts ----------------------------------------------------------------


class Demo:
    def __init__(self):
        self.cp = None
        self.sim = None
        self.agent = None
        self.operator = None
        self.dir = None
        self.timings = []

    def mark(self, name, since):
        self.timings.append((name, time.monotonic() - since))

    def start(self):
        t = time.monotonic()
        say("starting the control plane (etcd and kube-apiserver on "
            "127.0.0.1)")
        self.cp = harness.ControlPlane(audit=False)
        self.cp.start()
        say(f"control plane ready at {self.cp.server}")

        say(f"starting the node simulator: node {NODE}, pod CIDR "
            f"{POD_CIDR}")
        self.sim = NodeSim(self.cp, NODE, pod_cidr=POD_CIDR, sidecar=SIDECAR)
        self.sim.start()
        say(f"node {NODE} ready, InternalIP {self.sim.node_ip}")

        kubeconfig = opharness.install(self.cp)
        self.cp.kubectl("create", "namespace", OPERATOR_NAMESPACE)
        self.agent = opharness.AgentChannel(
            self.sim.node_ip, grace_s=AGENT_GRACE_S,
            heartbeat_s=AGENT_HEARTBEAT_S)
        self.operator = opharness.Operator(
            self.cp, kubeconfig, OPERATOR_NAMESPACE, args=self.agent.args(),
            binary=str(OPERATOR))
        self.operator.start()
        say(f"operator running (namespace {OPERATOR_NAMESPACE}, agent "
            f"channel wss://{self.agent.ip}:{self.agent.port}, grace "
            f"{AGENT_GRACE_S}s, heartbeat {AGENT_HEARTBEAT_S}s)")
        self.mark("start the control plane, node and operator", t)

    def make_app(self):
        t = time.monotonic()
        say(f"creating the demo app in namespace {NAMESPACE}: {PODS} pods "
            f"labelled app={APP} and the Service {APP} (port {PORT})")
        self.cp.kubectl("create", "namespace", NAMESPACE)
        names = [f"{APP}-{i}" for i in range(PODS)]
        for name in names:
            self.cp.kubectl("apply", "-n", NAMESPACE, "-f", "-",
                            input=POD.format(name=name, app=APP, port=PORT))
        self.cp.kubectl("apply", "-n", NAMESPACE, "-f", "-",
                        input=SERVICE.format(app=APP, port=PORT))
        for name in names:
            pod = self.sim.wait_pod_ready(NAMESPACE, name)
            say(f"pod {name} Ready at {pod['status']['podIP']} (network "
                f"namespace {self.sim.netns(pod)})")
        svc = json.loads(self.cp.kubectl("get", "service", "-n", NAMESPACE,
                                         APP, "-o", "json").stdout)
        cip = svc["spec"]["clusterIP"]
        self.check_service_route(cip)
        url = f"http://{cip}:{PORT}/healthz"
        self.sim.wait(f"the Service {APP} to answer {url} from the host",
                      lambda: http_ok(url), 30)
        say(f"Service {APP}: clusterIP {cip}, {url} answers 200 from "
            "this host")
        self.mark("create the demo app", t)
        return cip

    def check_service_route(self, cip):
        """The host's route to the clusterIP must go through this node:
        only one simulator on a machine routes the service CIDR."""
        key = self.sim.info["nodeNamespace"].rsplit("-", 1)[1]
        mine = f"flh{key}"
        r = subprocess.run(["ip", "-j", "route", "get", cip],
                           capture_output=True, text=True, timeout=30)
        routes = json.loads(r.stdout or "[]") if r.returncode == 0 else []
        dev = routes[0].get("dev") if routes else None
        if dev != mine:
            raise DemoError(
                f"this host routes {cip} via {dev or 'nothing'}, not via "
                f"{mine}, the demo node's link: another node simulator on "
                "this machine holds the route to the service CIDR.  Stop "
                "it (or wait for its tests to end) and run the demo again.")

    def write_experiment(self, cip, duration):
        """quickstart.yaml with the probe URL pointed at the clusterIP
        (and, when asked, another duration), in a temporary file."""
        doc = yaml.safe_load(EXAMPLE.read_text())
        http = [p["http"] for p in doc["spec"].get("probes") or []
                if (p.get("http") or {}).get("url") == PROBE_URL]
        if len(http) != 1:
            raise DemoError(f"{EXAMPLE} has no single http probe of "
                            f"{PROBE_URL}: the demo needs updating")
        new_url = f"http://{cip}:{PORT}/healthz"
        http[0]["url"] = new_url
        say(f"probe URL rewritten: {PROBE_URL} -> {new_url} (this local "
            "control plane has no cluster DNS, and the operator that sends "
            f"the probe runs on this host; {EXAMPLE.relative_to(REPO)} is "
            "not changed)")
        if duration:
            say(f"{DURATION_ENV}={duration}: the experiment runs for "
                f"{duration} instead of {doc['spec']['duration']}")
            doc["spec"]["duration"] = duration
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="faultline-demo-"))
        path = self.dir / "quickstart.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path, doc

    def cli(self, *args, capture=True, timeout=60):
        argv = [str(CLI), f"--kubeconfig={self.cp.kubeconfig}", "-n",
                NAMESPACE, *args]
        if capture:
            return subprocess.run(argv, capture_output=True, text=True,
                                  timeout=timeout)
        sys.stdout.flush()
        return subprocess.run(argv, stdin=subprocess.DEVNULL,
                              timeout=timeout)

    def run_experiment(self, path, doc):
        t = time.monotonic()
        spec = doc["spec"]
        bound = (parse_duration(spec["duration"]) +
                 parse_duration((spec.get("successCriteria") or {})
                                .get("maxRecoveryTime") or "0s") +
                 VERDICT_SLACK_S)
        say(f"running the experiment for {spec['duration']}, its probe "
            f"every {spec['probes'][0].get('interval', '?')}")
        section(f"kubectl faultline run -f {path} -n {NAMESPACE} --wait "
                "(times from its start)")
        r = self.cli("run", "-f", str(path), "--wait",
                     f"--timeout={int(bound)}s", capture=False,
                     timeout=bound + 60)
        obj = opharness.get(self.cp, NAMESPACE, EXPERIMENT)
        st = (obj or {}).get("status") or {}
        if st.get("phase") not in opharness.TERMINAL:
            raise DemoError(
                f"kubectl faultline run exited {r.returncode} and the run "
                f"has not ended (phase {st.get('phase') or 'none'})"
                + self.operator.describe())
        print(flush=True)
        self.mark("run the experiment", t)
        say(f"the run ended: phase {st['phase']}, verdict "
            f"{st.get('verdict') or 'none'} (kubectl faultline run exited "
            f"{r.returncode})")
        return st

    def show_results(self):
        t = time.monotonic()
        section(f"kubectl get chaosexperiments -n {NAMESPACE}")
        print(self.cp.kubectl("get", "chaosexperiments", "-n",
                              NAMESPACE).stdout, end="")
        for title, args in (
                (f"kubectl faultline describe {EXPERIMENT} -n {NAMESPACE}",
                 ("describe", EXPERIMENT)),
                (f"kubectl faultline report {EXPERIMENT} -n {NAMESPACE} "
                 "--format markdown",
                 ("report", EXPERIMENT, "--format", "markdown"))):
            section(title)
            r = self.cli(*args)
            print(r.stdout, end="" if r.stdout.endswith("\n") else "\n")
            if r.returncode != 0:
                raise DemoError(f"{title} exited {r.returncode}: "
                                f"{r.stderr.strip()}")
        print(flush=True)
        self.mark("show the results", t)

    def stop(self):
        """Stops everything that was started, last first.  Each step runs
        even when one before it fails."""
        t = time.monotonic()
        say("cleaning up: the operator, the node simulator (its namespaces, "
            "links and cgroups), the control plane, temporary files")
        steps = []
        if self.operator:
            steps += [self.operator.stop,
                      lambda: shutil.rmtree(self.operator.dir, True)]
        if self.agent:
            steps.append(self.agent.cleanup)
        if self.sim:
            steps.append(self.sim.stop)
        if self.cp:
            steps.append(self.cp.stop)
        if self.dir:
            steps.append(lambda: shutil.rmtree(self.dir, True))
        failed = []
        for step in steps:
            try:
                step()
            except Exception as e:  # clean up the rest, then say so
                failed.append(f"{type(e).__name__}: {e}")
        self.mark("clean up", t)
        if failed:
            raise DemoError("cleanup failed: " + "; ".join(failed))
        say("cleaned up: nothing of the demo is left running")


def http_ok(url):
    # No proxy: the address is local to this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as resp:
            return resp.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


def raise_interrupted(signum, frame):
    raise Interrupted(signum)


def main():
    for name in PROXY_VARS:
        os.environ.pop(name, None)
    signal.signal(signal.SIGTERM, raise_interrupted)
    signal.signal(signal.SIGHUP, raise_interrupted)
    demo = Demo()
    code, verdict = EXIT_BROKE, None
    try:
        duration = duration_override()
        print("faultline demo: a local control plane, a simulated node, the "
              "operator, and\ndeploy/examples/quickstart.yaml against a "
              f"small app.  The experiment runs for\n"
              f"{duration or example_duration()}; the rest takes under a "
              "minute.\n", flush=True)
        preflight()
        demo.start()
        cip = demo.make_app()
        path, doc = demo.write_experiment(cip, duration)
        st = demo.run_experiment(path, doc)
        verdict = f"{st['phase']}, verdict {st.get('verdict') or 'none'}"
        demo.show_results()
        code = EXIT_ENDED
    except KeyboardInterrupt:
        print(flush=True)
        say("interrupted (Ctrl-C)")
        code = 128 + signal.SIGINT
    except Interrupted as e:
        print(flush=True)
        say(f"interrupted ({e})")
        code = 128 + e.signum
    except (DemoError, harness.HarnessError, subprocess.SubprocessError,
            OSError) as e:
        print(f"demo: {e}", file=sys.stderr, flush=True)
        code = EXIT_BROKE
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            demo.stop()
        except DemoError as e:
            print(f"demo: {e}", file=sys.stderr, flush=True)
            code = code or EXIT_BROKE
    print("timings: " + ", ".join(f"{name} {span(s)}"
                                  for name, s in demo.timings) +
          f"; total {span(time.monotonic() - T0)}")
    if code == EXIT_ENDED:
        print(f"demo: the run ended: {verdict}")
    else:
        print(f"demo: did not complete (exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
