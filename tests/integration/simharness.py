"""Start and stop the node simulator (tests/sim/nodesim.py) for a test or
a demo, so that pods on the local control plane run for real:

    with ControlPlane() as cp, NodeSim(cp, "node-a") as node:
        cp.kubectl("apply", "-f", "pods.yaml")
        node.wait_pod_ready("default", "web-0")

Like harness.Process, the simulator runs in its own process group and is
registered with harness's atexit hook; stop() sends SIGTERM (the
simulator then removes every namespace, link, cgroup and process it
made), SIGKILL after a grace period, and then runs `nodesim.py cleanup`
so that even a killed simulator leaves nothing behind.  Needs root.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile

import harness

SIM = pathlib.Path(__file__).resolve().parents[1] / "sim" / "nodesim.py"
APP = SIM.parent / "app.py"


class NodeSim:
    def __init__(self, control_plane, node="sim-node",
                 pod_cidr="10.244.0.0/24", sidecar=None, provider_id=None,
                 ready_timeout=60):
        self.cp = control_plane
        self.node = node
        self.pod_cidr = pod_cidr
        self.sidecar = sidecar
        self.provider_id = provider_id
        self.ready_timeout = ready_timeout
        self.dir = None
        self.proc = None
        self.info = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def state_dir(self):
        return str(self.dir / "state")

    def argv(self, command="run"):
        argv = [harness.venv_tool("python"), str(SIM), command,
                "--node", self.node, "--state-dir", self.state_dir]
        if command == "run":
            argv += ["--kubeconfig", self.cp.kubeconfig,
                     "--pod-cidr", self.pod_cidr]
            if self.sidecar:
                argv += ["--sidecar", str(self.sidecar)]
            if self.provider_id:
                argv += ["--provider-id", self.provider_id]
        return argv

    def start(self):
        harness._running.add(self)
        try:
            if self.dir is None:
                self.dir = pathlib.Path(
                    tempfile.mkdtemp(prefix="faultline-nodesim-"))
            log = self.dir / "nodesim.log"
            self._log_start = log.stat().st_size if log.exists() else 0
            self.proc = harness.Process("nodesim", self.argv(), log)
            harness.wait_until("the node simulator to start", self._started,
                               self.ready_timeout, [self.proc])
        except BaseException:
            self.stop()
            raise
        return self

    def _started(self):
        with open(self.proc.log_path, "rb") as f:
            f.seek(self._log_start)
            text = f.read().decode(errors="replace")
        for line in text.splitlines():
            if line.startswith('{"ready"'):
                self.info = json.loads(line)
                return True
        return False

    @property
    def node_ip(self):
        return self.info["nodeIP"]

    def terminate(self, timeout=30):
        """SIGTERM to the simulator alone (not its process group), as a
        service manager would send it; waits and returns its exit
        status.  The simulator removes everything it made first."""
        os.kill(self.proc.popen.pid, signal.SIGTERM)
        harness.wait_until("the simulator to exit on SIGTERM",
                           lambda: self.proc.exit_status() is not None,
                           timeout)
        return self.proc.exit_status()

    def kill(self):
        """SIGKILL the simulator (and nothing else), as a crash would."""
        self.proc._signal(signal.SIGKILL)
        self.proc.popen.wait()

    def stop(self, grace=20):
        if self.proc is not None:
            self.proc.stop(grace=grace)
            self.proc = None
        if self.dir is not None:
            subprocess.run(self.argv("cleanup"), capture_output=True,
                           timeout=60)
            subprocess.run(["rm", "-rf", str(self.dir)])
            self.dir = None
        harness._running.discard(self)

    def log(self):
        return self.proc.tail(200) if self.proc else ""

    # -- helpers for tests

    def pod(self, namespace, name):
        r = self.cp.kubectl("get", "pod", "-n", namespace, name, "-o", "json",
                            check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def wait_pod_ready(self, namespace, name, timeout=60):
        def ready():
            pod = self.pod(namespace, name)
            if not pod:
                return None
            st = pod.get("status") or {}
            conds = {c["type"]: c["status"]
                     for c in st.get("conditions") or []}
            if st.get("phase") == "Running" and conds.get("Ready") == "True":
                return pod
            return None
        return harness.wait_until(f"pod {namespace}/{name} Ready", ready,
                                  timeout, [self.proc])

    def netns(self, pod):
        return "fl-" + pod["metadata"]["uid"][:8]

    def in_pod(self, pod, *argv, timeout=120):
        """Run argv inside the pod's network namespace; stdout (text)."""
        r = subprocess.run(["ip", "netns", "exec", self.netns(pod), *argv],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise harness.HarnessError(f"{argv} in {self.netns(pod)} exited "
                                       f"{r.returncode}: {r.stderr}")
        return r.stdout

    def app_client(self, pod, mode, url, n):
        """tests/sim/app.py's measure or spread client, run in pod's
        network namespace; its JSON result."""
        return json.loads(self.in_pod(pod, sys.executable, str(APP), mode,
                                      url, str(n)))

    def log_of(self, namespace, pod, container):
        path = (pathlib.Path(self.state_dir) / "logs" /
                f"{namespace}_{pod}_{container}.log")
        return path.read_text(errors="replace") if path.exists() else ""

    def json_lines(self, namespace, pod, container):
        """The JSON lines of a container's log, in order (the injector
        prints one per state change); other lines are left out."""
        out = []
        for line in self.log_of(namespace, pod, container).splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait(self, what, check, timeout=60):
        return harness.wait_until(what, check, timeout, [self.proc])
