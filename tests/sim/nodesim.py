"""A node simulator for faultline's tests and demos: it plays kubelet (and
the scheduler's binding) for a local control plane that has neither, so
that pods run for real.  Never shipped.

    nodesim.py --kubeconfig K --node NAME [--pod-cidr 10.244.0.0/24]
               [--service-cidr 10.0.0.0/24] [--sidecar PATH]
               [--state-dir D] [--provider-id ID]
    nodesim.py cleanup --node NAME [--state-dir D]

What it does, as root:

- Registers the Node (Ready, capacity, addresses, podCIDR) and keeps its
  Ready condition and its Lease in kube-node-lease fresh.
- Binds unscheduled pods to its node (pods/binding) unless they name
  another node or their nodeSelector does not match its labels.
- Gives each pod on its node a sandbox: a network namespace
  "fl-<first 8 of uid>" with eth0, one end of a veth pair whose other end
  sits on the bridge br0 of the simulator's own "node" namespace
  (fl-node-<hash>), an address from the pod CIDR and a default route via
  the bridge.  The node namespace has no route anywhere else, so pod
  traffic stays among the pods, the node namespace and the host.
- The host reaches the pods through one more veth pair, flh<hash> in the
  root namespace (the node's InternalIP, the last address of the pod
  CIDR) with its peer on the bridge; the host also gets a route for the
  service CIDR via the bridge's address.  Pods reach the host (an
  operator's agent channel, say) at that InternalIP.
- Runs every app container as tests/sim/app.py (the image is not real):
  HTTP on the container's first containerPort (default 8080) with
  /healthz, /echo and /, in its own cgroup (cpu, cpuacct and memory v1;
  limits from resources.limits) and its own PID and mount namespaces (a
  fresh /proc and /run).  The app is PID 2 there under a small
  init (as in an image with tini), so a processKill from an ephemeral
  container reaches it; when the app ends, its PID namespace ends, and
  so does every ephemeral container that joined it (137), as with a real
  runtime.  Readiness is a real HTTP GET from the host: the container's
  readinessProbe.httpGet, else /healthz on its port.  A container that
  exits is restarted per restartPolicy, with restartCount and lastState.
- Runs every ephemeral container with the real faultline sidecar (see
  ephemeral_argv for how command and args map; env is exactly the
  container's env and envFrom, with fieldRef, secretKeyRef and
  configMapKeyRef resolved, plus PATH and HOSTNAME) in the pod's network
  namespace, in its target container's PID and mount namespaces when
  targetContainerName is set (else new ones), in its own cgroup, and
  reports waiting, running and terminated (exit code, reason).
- securityContext (container over pod), enforced with setpriv:
  capabilities (containerd's default set, plus add, minus drop; drop ALL
  empties it; privileged gets all): the bounding, inheritable and, as
  root, permitted and effective sets hold exactly those; runAsUser and
  runAsGroup (ambient capabilities for a non-root uid); runAsNonRoot
  (refused without a non-zero runAsUser, as there is no image user);
  allowPrivilegeEscalation false (no_new_privs).  Not enforced:
  readOnlyRootFilesystem (there is no image root: containers see the
  host's filesystem but for their own /proc and /run), seccomp,
  AppArmor, SELinux, procMount, sysctls.
- A Service of type ClusterIP with a selector gets its clusterIP:port
  DNATed, round robin, to the Ready pods' addresses (nftables in the node
  namespace; connections from the host and from pods).
- Deleting a pod: SIGTERM, SIGKILL after its grace period (at most 10s),
  sandbox removed, then the pod is deleted with grace 0, like kubelet.
- Cleanup: everything it makes is named from the node name or recorded
  in the state directory before it is made (a pod namespace without a
  record is still known by its eth0's peer in the node namespace).  At
  start, on SIGTERM or SIGINT, and with `cleanup`, it removes processes
  (by cgroup), cgroups, pod and node namespaces and the host veth.
  Container processes also die with the simulator (PR_SET_PDEATHSIG), so
  a SIGKILL leaves only namespaces, links and cgroups, which the next
  start (or `cleanup`) removes.
- Not simulated: volumes, init containers (reported Completed without
  running), liveness and startup probes, image pulls, app containers'
  command and args (every app container runs app.py), pod-to-pod traffic
  across two simulated nodes (and only one simulator per machine can
  route the service CIDR from the host), hostNetwork and hostPID
  (ignored: such a pod gets a sandbox like any other), and
  exec/logs/port-forward (no kubelet server).

Container logs go to STATE_DIR/logs/<namespace>_<pod>_<container>.log
(there is no kubelet server for `kubectl logs`).
"""

import argparse
import ctypes
import hashlib
import ipaddress
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
APP = HERE / "app.py"
CGROUP_BASE = pathlib.Path("/sys/fs/cgroup")
# cpuacct too, where it is its own hierarchy, so tests can read usage.
CONTROLLERS = ("cpu", "memory")
if (CGROUP_BASE / "cpuacct").is_dir() and (CGROUP_BASE / "cpu").is_dir() \
        and not os.path.samefile(CGROUP_BASE / "cpu",
                                 CGROUP_BASE / "cpuacct"):
    CONTROLLERS = ("cpu", "cpuacct", "memory")
CGROUP_TOP = "faultline-sim"
SETPRIV = "/usr/bin/setpriv"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SIDECAR_NAMES = ("faultline-sidecar", "faultline-sidecar-static")
MAX_GRACE = 10
HEARTBEAT = 10

# The capabilities a container gets without a securityContext, as
# containerd's default spec gives them.
DEFAULT_CAPS = ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD",
                "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
                "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_REC, MS_PRIVATE = 16384, 1 << 18
PR_SET_PDEATHSIG = 1


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} nodesim: {msg}", file=sys.stderr,
          flush=True)


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run(*argv, check=True, input=None):
    r = subprocess.run(argv, capture_output=True, text=True, input=input,
                       timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


def short_hash(text, n=6):
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def cap_names():
    """Every capability the kernel knows, as setpriv names them."""
    r = run(SETPRIV, "--list-caps", check=False)
    return [c.strip().upper() for c in r.stdout.split() if c.strip()]


# -- the launcher: runs in a fresh python process, single threaded -----------


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def launch(spec):
    """Become one container: join its cgroups and the pod's network
    namespace, join the target's PID and mount namespaces or make new
    ones, then run the program under setpriv with the container's
    capabilities.  Exits with the program's status (128+N for signal N),
    and forwards SIGTERM, SIGINT and SIGHUP to it."""
    libc = _libc()
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0),
           "prctl")
    if os.getppid() != spec["parent"]:
        sys.exit(111)  # the simulator is already gone
    for cg in spec["cgroups"]:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    fd = os.open(spec["netns"], os.O_RDONLY)
    _check(libc.setns(fd, CLONE_NEWNET), "setns net")
    os.close(fd)
    join = spec.get("join_pid")
    if join:
        pidns = os.open(f"/proc/{join}/ns/pid", os.O_RDONLY)
        mntns = os.open(f"/proc/{join}/ns/mnt", os.O_RDONLY)
        _check(libc.setns(pidns, CLONE_NEWPID), "setns pid")
        _check(libc.setns(mntns, CLONE_NEWNS), "setns mnt")
    else:
        _check(libc.unshare(CLONE_NEWPID | CLONE_NEWNS), "unshare")
        _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None),
               "mount --make-rprivate /")
    child = os.fork()
    if child == 0:
        try:
            if join:
                _exec(spec)
            else:
                _init(libc, spec)
        except BaseException as e:
            print(f"nodesim launcher: {e}", file=sys.stderr, flush=True)
        os._exit(127)
    _follow(child)


def _follow(child):
    """Forward signals to child, wait for it, exit with its status."""
    def forward(signum, frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, forward)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            sys.exit(127)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


def _init(libc, spec):
    """PID 1 of a container's new PID namespace: mount its /proc and
    /run, start the program as PID 2, reap orphans, exit with the
    program's status (the kernel then kills whatever is left).  /tmp is
    left as the host's: the checkout (app.py, the injector) may live
    there, and containers that join this mount namespace must still
    reach it."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _check(libc.mount(b"proc", b"/proc", b"proc",
                      MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    for path, size in ((b"/run", b"size=16m,mode=755"),):
        _check(libc.mount(b"tmpfs", path, b"tmpfs", MS_NOSUID | MS_NODEV,
                          size), f"mount {path.decode()}")
    prog = os.fork()
    if prog == 0:
        try:
            _exec(spec)
        except BaseException as e:
            print(f"nodesim init: {e}", file=sys.stderr, flush=True)
        os._exit(127)

    def forward(signum, frame):
        try:
            os.kill(prog, signum)
        except ProcessLookupError:
            pass
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(127)
        except InterruptedError:
            continue
        if pid == prog:
            if os.WIFSIGNALED(status):
                os._exit(128 + os.WTERMSIG(status))
            os._exit(os.WEXITSTATUS(status))


def _exec(spec):
    os.chdir(spec.get("cwd") or "/")
    argv = list(spec["argv"])
    priv = spec.get("setpriv")
    if priv is not None:
        argv = [SETPRIV, *priv, "--", *argv]
    os.execvpe(argv[0], argv, spec["env"])


# -- talking to the API server ------------------------------------------------


class ApiError(RuntimeError):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


class Api:
    """Raw JSON requests through the kubernetes client's configuration
    (so any kubeconfig it reads works)."""

    def __init__(self, kubeconfig):
        from kubernetes import client, config
        self.conf = client.Configuration()
        config.load_kube_config(config_file=kubeconfig,
                                client_configuration=self.conf)
        self.client = client.ApiClient(self.conf)

    def request(self, method, path, body=None, ctype="application/json",
                query=None, stream=False, timeout=30):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = ctype
        from kubernetes.client.rest import ApiException
        try:
            resp = self.client.call_api(
                path, method, query_params=list((query or {}).items()),
                header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=None if stream else timeout)
        except ApiException as e:
            raise ApiError(e.status, (e.body or b"").decode(
                errors="replace") if isinstance(e.body, bytes)
                else str(e.body)) from None
        if stream:
            return resp
        data = resp.data
        return json.loads(data) if data else {}

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def merge_patch(self, path, body):
        return self.request("PATCH", path, body=body,
                            ctype="application/merge-patch+json")


# -- host plumbing ------------------------------------------------------------


def cgroup_kill_tree(root):
    """SIGKILL every process in the cgroup tree root (each v1 controller)
    until none is left, then remove its directories, deepest first."""
    dirs = []
    for ctrl in CONTROLLERS:
        top = CGROUP_BASE / ctrl / root
        if top.is_dir():
            dirs += sorted((p for p in top.rglob("*") if p.is_dir()),
                           key=lambda p: len(p.parts), reverse=True)
            dirs.append(top)
    deadline = time.monotonic() + 10
    while True:
        alive = 0
        for d in dirs:
            try:
                pids = (d / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                alive += 1
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for d in dirs:
        for _ in range(50):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


def netns_exists(name):
    return os.path.exists(f"/run/netns/{name}")


def cpu_millis(text):
    text = str(text)
    if text.endswith("m"):
        return int(float(text[:-1]))
    return int(float(text) * 1000)


UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
         "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def mem_bytes(text):
    text = str(text)
    for suffix in sorted(UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return int(float(text[:-len(suffix)]) * UNITS[suffix])
    return int(float(text))


# -- one container's process --------------------------------------------------


class Container:
    """A container of a pod: its cgroups, its launcher process and the
    state kubelet would report."""

    def __init__(self, pod, spec, ephemeral=False):
        self.pod = pod
        self.spec = spec
        self.name = spec["name"]
        self.ephemeral = ephemeral
        self.proc = None
        self.log = None
        self.restarts = 0
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.container_id = None
        self.started_at = None
        self.next_start = 0.0
        self.ready = False
        self.probe_ok = 0
        self.probe_fail = 0
        self.term_deadline = None
        self.done = False  # terminated and will not run again

    @property
    def cgroup_rel(self):
        return f"{self.pod.cgroup_rel}/{self.name}"

    def cgroup_dirs(self):
        return [CGROUP_BASE / c / self.cgroup_rel for c in CONTROLLERS]

    def init_pid(self):
        """The host pid of PID 1 of this container's PID namespace (the
        launcher's only child), or None."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        try:
            text = pathlib.Path(
                f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
            ).read_text().split()
        except OSError:
            return None
        return int(text[0]) if text else None

    def port(self):
        for p in self.spec.get("ports") or []:
            if p.get("containerPort"):
                return int(p["containerPort"])
        return 8080


# -- one pod ------------------------------------------------------------------


class Pod:
    def __init__(self, sim, obj, ip):
        meta = obj["metadata"]
        self.sim = sim
        self.uid = meta["uid"]
        self.namespace = meta["namespace"]
        self.name = meta["name"]
        self.netns = f"fl-{self.uid[:8]}"
        self.veth = f"v{self.uid[:8]}"
        self.ip = ip
        self.obj = obj
        self.cgroup_rel = f"{sim.cgroup_root}/pod{self.uid}"
        self.containers = {}
        self.ephemeral = {}
        self.start_time = now_rfc3339()
        self.conditions = {}
        self.deleting_since = None
        self.last_status = None

    @property
    def path(self):
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.name}"


# -- the simulator ------------------------------------------------------------


class NodeSim:
    def __init__(self, args):
        self.args = args
        self.node = args.node
        key = short_hash(args.node)
        self.node_ns = f"fl-node-{key}"
        self.host_veth = f"flh{key}"
        self.cgroup_root = f"{CGROUP_TOP}/{key}"
        self.state_dir = pathlib.Path(
            args.state_dir or f"/run/faultline-sim/{args.node}")
        self.logs = self.state_dir / "logs"
        self.cidr = ipaddress.ip_network(args.pod_cidr)
        hosts = list(self.cidr.hosts())
        self.gateway = str(hosts[0])
        self.node_ip = str(hosts[-1])
        self.pool = [str(h) for h in hosts[1:-1]]
        self.service_cidr = ipaddress.ip_network(args.service_cidr)
        self.sidecar = os.path.abspath(args.sidecar)
        self.pods = {}  # uid -> Pod
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.api = None
        self.last_heartbeat = 0.0
        self.services_rules = None
        self.all_caps = cap_names()
        self.labels = {"kubernetes.io/hostname": self.node,
                       "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64",
                       "faultline.dev/simulated": "true"}

    # -- leftovers

    def cleanup(self):
        """Remove every process, cgroup, namespace and link a simulator
        for this node made, whether it is running or crashed."""
        cgroup_kill_tree(self.cgroup_root)
        pods_dir = self.state_dir / "pods"
        if pods_dir.is_dir():
            for rec in pods_dir.glob("*.json"):
                try:
                    netns = json.loads(rec.read_text())["netns"]
                except (OSError, ValueError, KeyError):
                    rec.unlink(missing_ok=True)
                    continue
                if netns_exists(netns):
                    run("ip", "netns", "del", netns, check=False)
                rec.unlink(missing_ok=True)
        # Pod namespaces without a record (a lost state directory): those
        # whose eth0's peer is in our node namespace.
        if netns_exists(self.node_ns):
            listed = run("ip", "netns", "list", check=False).stdout
            for name in (line.split()[0] for line in listed.splitlines()
                         if line.strip()):
                if not re.fullmatch(r"fl-[0-9a-f]{8}", name):
                    continue
                eth0 = run("ip", "-n", name, "-o", "link", "show", "eth0",
                           check=False).stdout
                if f"link-netns {self.node_ns}" in eth0:
                    run("ip", "netns", "del", name, check=False)
            run("ip", "netns", "del", self.node_ns, check=False)
        if os.path.exists(f"/sys/class/net/{self.host_veth}"):
            run("ip", "link", "del", self.host_veth, check=False)
        # Our top cgroup folder, when no other node uses it.
        for ctrl in CONTROLLERS:
            try:
                (CGROUP_BASE / ctrl / CGROUP_TOP).rmdir()
            except OSError:
                pass
        if self.state_dir.is_dir():
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if not self.args.state_dir:
            try:
                self.state_dir.parent.rmdir()
            except OSError:
                pass

    # -- the node's network

    def setup_network(self):
        ns = self.node_ns
        prefix = self.cidr.prefixlen
        (self.state_dir / "pods").mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", ns, "addr", "add", f"{self.gateway}/{prefix}",
            "dev", "br0")
        run("ip", "-n", ns, "link", "set", "br0", "up")
        run("ip", "link", "add", self.host_veth, "type", "veth", "peer",
            "name", "host0", "netns", ns)
        run("ip", "-n", ns, "link", "set", "host0", "master", "br0", "up")
        run("ip", "addr", "add", f"{self.node_ip}/{prefix}", "dev",
            self.host_veth)
        run("ip", "link", "set", self.host_veth, "up")
        r = run("ip", "route", "add", str(self.service_cidr), "via",
                self.gateway, "dev", self.host_veth, check=False)
        if r.returncode != 0:
            # Another simulator on this machine has it: the host then
            # reaches Services through that node only.
            log(f"no host route for {self.service_cidr}: "
                f"{r.stderr.strip()}")
        for key, value in (("net/ipv4/ip_forward", "1"),
                           ("net/ipv4/conf/all/send_redirects", "0"),
                           ("net/ipv4/conf/br0/send_redirects", "0")):
            run("ip", "netns", "exec", ns, "sh", "-c",
                f"echo {value} > /proc/sys/{key}")
        for ctrl in CONTROLLERS:
            (CGROUP_BASE / ctrl / self.cgroup_root).mkdir(parents=True,
                                                          exist_ok=True)
        self.apply_services([])

    # -- the node object

    def register(self):
        cpus = os.cpu_count() or 1
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
        status = {
            "capacity": {"cpu": str(cpus), "memory": f"{mem_kib}Ki",
                         "pods": "110", "ephemeral-storage": "10Gi"},
            "allocatable": {"cpu": str(cpus), "memory": f"{mem_kib}Ki",
                            "pods": "110", "ephemeral-storage": "10Gi"},
            "addresses": [{"type": "InternalIP", "address": self.node_ip},
                          {"type": "Hostname", "address": self.node}],
            "conditions": self.node_conditions(),
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": "", "machineID": "",
                "systemUUID": "", "containerRuntimeVersion": "nodesim://1",
                "kernelVersion": os.uname().release,
                "kubeProxyVersion": "", "kubeletVersion": "v1.34.0-nodesim",
                "operatingSystem": "linux",
                "osImage": "faultline node simulator"},
        }
        spec = {"podCIDR": str(self.cidr), "podCIDRs": [str(self.cidr)]}
        if self.args.provider_id:
            spec["providerID"] = self.args.provider_id
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node, "labels": self.labels},
                "spec": spec}
        try:
            self.api.request("POST", "/api/v1/nodes", body=body)
        except ApiError as e:
            if e.status != 409:
                raise
            self.api.merge_patch(f"/api/v1/nodes/{self.node}",
                                 {"metadata": {"labels": self.labels},
                                  "spec": spec})
        self.api.merge_patch(f"/api/v1/nodes/{self.node}/status",
                             {"status": status})
        self.last_heartbeat = time.monotonic()
        self.renew_lease()

    def node_conditions(self):
        t = now_rfc3339()
        conds = [("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                 ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                 ("PIDPressure", "False", "KubeletHasSufficientPID"),
                 ("Ready", "True", "KubeletReady")]
        return [{"type": c, "status": s, "reason": r,
                 "message": "node simulator", "lastHeartbeatTime": t,
                 "lastTransitionTime": t} for c, s, r in conds]

    def heartbeat(self):
        try:
            node = self.api.get(f"/api/v1/nodes/{self.node}")
        except ApiError as e:
            if e.status != 404:
                raise
            log(f"node {self.node} was deleted: registering it again")
            self.register()
            return
        conds = node.get("status", {}).get("conditions") or []
        t = now_rfc3339()
        fresh = self.node_conditions()
        for c in fresh:
            old = next((o for o in conds if o["type"] == c["type"]), None)
            if old and old.get("status") == c["status"]:
                c["lastTransitionTime"] = old.get("lastTransitionTime", t)
        self.api.merge_patch(f"/api/v1/nodes/{self.node}/status",
                             {"status": {"conditions": fresh}})
        self.renew_lease()
        self.last_heartbeat = time.monotonic()

    def renew_lease(self):
        path = ("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
                "leases")
        renew = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        spec = {"holderIdentity": self.node, "leaseDurationSeconds": 40,
                "renewTime": renew}
        try:
            self.api.merge_patch(f"{path}/{self.node}", {"spec": spec})
        except ApiError as e:
            if e.status != 404:
                raise
            self.api.request("POST", path, body={
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.node, "namespace":
                             "kube-node-lease"}, "spec": spec})

    # -- watching

    def watcher(self, path):
        """Wake the main loop on every event of a watch on path."""
        from kubernetes import client, config
        conf = client.Configuration()
        config.load_kube_config(config_file=self.args.kubeconfig,
                                client_configuration=conf)
        api = Api.__new__(Api)
        api.conf, api.client = conf, client.ApiClient(conf)
        while not self.stop.is_set():
            try:
                resp = api.request("GET", path, query={
                    "watch": "1", "timeoutSeconds": "60",
                    "allowWatchBookmarks": "false"}, stream=True)
                for _ in resp.stream(4096):
                    self.wake.set()
                    if self.stop.is_set():
                        break
                resp.release_conn()
            except Exception as e:  # the API server may be restarting
                if self.stop.is_set():
                    break
                log(f"watch {path}: {e}")
                self.stop.wait(1)

    # -- the main loop

    def main(self):
        self.api = Api(self.args.kubeconfig)
        self.cleanup()
        self.setup_network()
        self.register()
        for path in ("/api/v1/pods", "/api/v1/services"):
            threading.Thread(target=self.watcher, args=(path,),
                             daemon=True).start()
        threading.Thread(target=self.prober, daemon=True).start()
        print(json.dumps({"ready": True, "node": self.node,
                          "nodeIP": self.node_ip,
                          "nodeNamespace": self.node_ns}), flush=True)
        while not self.stop.is_set():
            try:
                self.sync()
            except Exception as e:  # keep playing kubelet; say why
                log(f"sync: {type(e).__name__}: {e}")
            self.wake.wait(0.5)
            self.wake.clear()
        log("stopping: removing everything")
        self.cleanup()

    def sync(self):
        if time.monotonic() - self.last_heartbeat > HEARTBEAT:
            self.heartbeat()
        pods = self.api.get("/api/v1/pods")["items"]
        seen = set()
        for obj in pods:
            spec = obj.get("spec", {})
            uid = obj["metadata"]["uid"]
            if not spec.get("nodeName"):
                self.maybe_bind(obj)
                continue
            if spec["nodeName"] != self.node:
                continue
            seen.add(uid)
            try:
                self.sync_pod(obj)
            except Exception as e:
                log(f"pod {obj['metadata']['namespace']}/"
                    f"{obj['metadata']['name']}: {type(e).__name__}: {e}")
        for uid in list(self.pods):
            if uid not in seen:
                self.teardown(self.pods.pop(uid))
        services = self.api.get("/api/v1/services")["items"]
        self.sync_services(services)

    def maybe_bind(self, obj):
        spec, meta = obj["spec"], obj["metadata"]
        if spec.get("schedulerName", "default-scheduler") != \
                "default-scheduler":
            return
        if meta.get("deletionTimestamp"):
            return
        selector = spec.get("nodeSelector") or {}
        if any(self.labels.get(k) != v for k, v in selector.items()):
            return
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta["name"], "uid": meta["uid"]},
                "target": {"apiVersion": "v1", "kind": "Node",
                           "name": self.node}}
        try:
            self.api.request("POST", f"/api/v1/namespaces/{meta['namespace']}"
                             f"/pods/{meta['name']}/binding", body=body)
            log(f"bound {meta['namespace']}/{meta['name']}")
        except ApiError as e:
            if e.status not in (404, 409):
                raise
        self.wake.set()

    # -- pods

    def alloc_ip(self, obj):
        used = {p.ip for p in self.pods.values()}
        want = (obj.get("status") or {}).get("podIP")
        if want in self.pool and want not in used:
            return want
        for ip in self.pool:
            if ip not in used:
                return ip
        raise RuntimeError(f"pod CIDR {self.cidr} is full")

    def sync_pod(self, obj):
        uid = obj["metadata"]["uid"]
        pod = self.pods.get(uid)
        if pod is None:
            if obj["metadata"].get("deletionTimestamp"):
                self.confirm_deletion(obj)
                return
            phase = (obj.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                return
            pod = self.create_sandbox(obj)
        pod.obj = obj
        if obj["metadata"].get("deletionTimestamp"):
            self.terminate(pod)
            return
        for c in obj["spec"]["containers"]:
            if c["name"] not in pod.containers:
                pod.containers[c["name"]] = Container(pod, c)
        for c in obj["spec"].get("ephemeralContainers") or []:
            if c["name"] not in pod.ephemeral:
                pod.ephemeral[c["name"]] = Container(pod, c, ephemeral=True)
        policy = obj["spec"].get("restartPolicy", "Always")
        for c in pod.containers.values():
            self.sync_container(pod, c, policy)
        for c in pod.ephemeral.values():
            self.sync_container(pod, c, "Never")
        self.write_status(pod)

    def create_sandbox(self, obj):
        ip = self.alloc_ip(obj)
        pod = Pod(self, obj, ip)
        rec = self.state_dir / "pods" / f"{pod.uid}.json"
        rec.write_text(json.dumps({"netns": pod.netns, "ip": ip,
                                   "namespace": pod.namespace,
                                   "name": pod.name}))
        prefix = self.cidr.prefixlen
        n, ns = self.node_ns, pod.netns
        try:
            run("ip", "netns", "add", ns)
            run("ip", "-n", n, "link", "add", pod.veth, "type", "veth",
                "peer", "name", "eth0", "netns", ns)
            run("ip", "-n", n, "link", "set", pod.veth, "master", "br0",
                "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "addr", "add", f"{ip}/{prefix}", "dev",
                "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "route", "add", "default", "via",
                self.gateway)
            for ctrl in CONTROLLERS:
                (CGROUP_BASE / ctrl / pod.cgroup_rel).mkdir(parents=True,
                                                            exist_ok=True)
        except BaseException:
            # Half a sandbox: take it down, so the next sync starts over.
            self.teardown(pod)
            raise
        self.pods[pod.uid] = pod
        log(f"sandbox for {pod.namespace}/{pod.name}: {ns} {ip}")
        return pod

    def sync_container(self, pod, c, policy):
        if c.proc is not None:
            code = c.proc.poll()
            if code is None:
                if c.state.get("waiting") or not c.state.get("running"):
                    c.state = {"running": {"startedAt": c.started_at}}
                return
            c.proc = None
            c.log.close()
            term = {"exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": c.started_at, "finishedAt": now_rfc3339(),
                    "containerID": c.container_id}
            if code in (111, 127) and not c.ephemeral:
                term["reason"] = "StartError"
            c.ready = False
            c.probe_ok = c.probe_fail = 0
            log(f"{pod.namespace}/{pod.name} {c.name} exited {code}")
            if policy == "Always" or (policy == "OnFailure" and code != 0):
                c.last_state = {"terminated": term}
                c.state = {"waiting": {"reason": "CrashLoopBackOff"}}
                # A short back-off: tests want to see the restart.
                c.next_start = time.monotonic() + min(1 + c.restarts, 10)
                c.restarts += 1
            else:
                c.state = {"terminated": term}
                c.done = True
            return
        if c.done or time.monotonic() < c.next_start:
            return
        if c.ephemeral:
            prev = next((s for s in (pod.obj.get("status") or {}).get(
                "ephemeralContainerStatuses") or []
                if s.get("name") == c.name), None)
            if prev and (prev.get("state") or {}).get("terminated"):
                c.state, c.done = prev["state"], True
                c.container_id = prev.get("containerID")
                return
            if prev and (prev.get("state") or {}).get("running"):
                # It ran under a simulator that died (and took it along).
                c.state = {"terminated": {
                    "exitCode": 137, "reason": "ContainerStatusUnknown",
                    "message": "the node simulator restarted",
                    "startedAt": prev["state"]["running"].get("startedAt"),
                    "finishedAt": now_rfc3339()}}
                c.done = True
                return
        self.start_container(pod, c)

    def start_container(self, pod, c):
        spec = c.spec
        for d in c.cgroup_dirs():
            d.mkdir(parents=True, exist_ok=True)
        limits = (spec.get("resources") or {}).get("limits") or {}
        if "cpu" in limits:
            cpu = CGROUP_BASE / "cpu" / c.cgroup_rel
            (cpu / "cpu.cfs_period_us").write_text("100000")
            (cpu / "cpu.cfs_quota_us").write_text(
                str(max(1000, cpu_millis(limits["cpu"]) * 100)))
        if "memory" in limits:
            (CGROUP_BASE / "memory" / c.cgroup_rel /
             "memory.limit_in_bytes").write_text(
                str(mem_bytes(limits["memory"])))
        try:
            env = self.container_env(pod, c)
            if c.ephemeral:
                argv = self.ephemeral_argv(spec)
                join = None
                target = spec.get("targetContainerName")
                if target:
                    tc = pod.containers.get(target)
                    join = tc.init_pid() if tc else None
                    if join is None:
                        raise RuntimeError(f"target container {target!r} "
                                           "is not running")
                priv = self.setpriv_args(pod, spec)
            else:
                argv = [sys.executable, str(APP), "serve", str(c.port()),
                        c.name]
                join, priv = None, self.setpriv_args(pod, spec)
        except (RuntimeError, ApiError, KeyError) as e:
            c.state = {"waiting": {"reason": "CreateContainerConfigError",
                                   "message": str(e)}}
            c.next_start = time.monotonic() + 1
            return
        launch_spec = {"parent": os.getpid(),
                       "cgroups": [str(d) for d in c.cgroup_dirs()],
                       "netns": f"/run/netns/{pod.netns}",
                       "join_pid": join, "argv": argv, "env": env,
                       "cwd": spec.get("workingDir") or "/",
                       "setpriv": priv}
        logfile = self.logs / f"{pod.namespace}_{pod.name}_{c.name}.log"
        c.log = open(logfile, "ab")
        c.proc = subprocess.Popen(
            [sys.executable, __file__, "_launch", json.dumps(launch_spec)],
            stdin=subprocess.DEVNULL, stdout=c.log, stderr=subprocess.STDOUT)
        c.container_id = "nodesim://" + hashlib.sha256(
            f"{pod.uid}/{c.name}/{c.restarts}/{time.time()}".encode()
        ).hexdigest()
        c.started_at = now_rfc3339()
        c.state = {"running": {"startedAt": c.started_at}}
        log(f"{pod.namespace}/{pod.name} {c.name} started: {argv}")

    def ephemeral_argv(self, spec):
        """The container's command and args, as the runtime would run
        them: the command (else the image's entrypoint, which for any
        image is the sidecar) with args after it.  A command whose first
        word is the sidecar's name (any directory) runs our sidecar; any
        other command runs as found on the host's PATH."""
        command = list(spec.get("command") or [])
        args = list(spec.get("args") or [])
        argv = command + args if command else [self.sidecar] + args
        if os.path.basename(argv[0]) in SIDECAR_NAMES:
            argv[0] = self.sidecar
        return argv

    def setpriv_args(self, pod, spec):
        """setpriv options for the container's securityContext (over the
        pod's): capabilities (add/drop over containerd's defaults;
        privileged gets all), runAsUser/runAsGroup, and no_new_privs
        when allowPrivilegeEscalation is false."""
        psc = pod.obj["spec"].get("securityContext") or {}
        sc = spec.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        add = {c.upper().removeprefix("CAP_") for c in caps.get("add") or []}
        drop = {c.upper().removeprefix("CAP_")
                for c in caps.get("drop") or []}
        if sc.get("privileged") or "ALL" in add:
            have = set(self.all_caps)
        else:
            have = set(DEFAULT_CAPS)
        if "ALL" in drop:
            have = set()
        have |= add - {"ALL"}
        have -= drop
        have &= set(self.all_caps)
        capset = ",".join(["-all"] + [f"+{c.lower()}" for c in sorted(have)])
        opts = [f"--bounding-set={capset}", f"--inh-caps={capset}"]
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        gid = sc.get("runAsGroup", psc.get("runAsGroup"))
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) and not uid:
            # kubelet's check; the image has no user to fall back on.
            raise RuntimeError("runAsNonRoot is set but runAsUser is not "
                               "a non-zero uid")
        if uid not in (None, 0):
            opts += [f"--reuid={uid}", f"--regid={gid or 0}",
                     "--clear-groups", f"--ambient-caps={capset}"]
        elif gid not in (None, 0):
            opts += [f"--regid={gid}", "--clear-groups"]
        if sc.get("allowPrivilegeEscalation") is False:
            opts.append("--no-new-privs")
        return opts

    def container_env(self, pod, c):
        meta = pod.obj["metadata"]
        env = {"PATH": DEFAULT_PATH, "HOSTNAME": pod.name}
        for src in c.spec.get("envFrom") or []:
            prefix = src.get("prefix", "")
            for kind, path in (("configMapRef", "configmaps"),
                               ("secretRef", "secrets")):
                ref = src.get(kind)
                if not ref:
                    continue
                obj = self.api.get(f"/api/v1/namespaces/{pod.namespace}/"
                                   f"{path}/{ref['name']}")
                for k, v in (obj.get("data") or {}).items():
                    env[prefix + k] = (decode_secret(v) if kind ==
                                       "secretRef" else v)
        for e in c.spec.get("env") or []:
            if "value" in e or "valueFrom" not in e:
                env[e["name"]] = e.get("value", "")
                continue
            vf = e["valueFrom"]
            if "fieldRef" in vf:
                fp = vf["fieldRef"]["fieldPath"]
                env[e["name"]] = {
                    "metadata.name": meta["name"],
                    "metadata.namespace": meta["namespace"],
                    "metadata.uid": meta["uid"],
                    "spec.nodeName": self.node,
                    "spec.serviceAccountName":
                        pod.obj["spec"].get("serviceAccountName", ""),
                    "status.podIP": pod.ip, "status.hostIP": self.node_ip,
                }.get(fp, "")
            elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
                secret = "secretKeyRef" in vf
                ref = vf["secretKeyRef" if secret else "configMapKeyRef"]
                kind = "secrets" if secret else "configmaps"
                obj = self.api.get(f"/api/v1/namespaces/{pod.namespace}/"
                                   f"{kind}/{ref['name']}")
                value = (obj.get("data") or {}).get(ref["key"])
                if value is None:
                    raise RuntimeError(f"{kind} {ref['name']} has no key "
                                       f"{ref['key']!r}")
                env[e["name"]] = decode_secret(value) if secret else value
        return env

    # -- readiness

    def prober(self):
        """Every second, an HTTP GET from the host to each running app
        container (its readinessProbe.httpGet, else /healthz on its
        port); wakes the main loop when a container's readiness flips."""
        while not self.stop.is_set():
            for pod in list(self.pods.values()):
                for c in list(pod.containers.values()):
                    if c.proc is None or pod.deleting_since:
                        continue
                    probe = c.spec.get("readinessProbe") or {}
                    get = probe.get("httpGet") or {}
                    port = get.get("port", c.port())
                    if isinstance(port, str):
                        port = next((p["containerPort"] for p in
                                     c.spec.get("ports") or []
                                     if p.get("name") == port), c.port())
                    path = get.get("path", "/healthz")
                    url = f"http://{pod.ip}:{port}{path}"
                    ok = http_ok(url, probe.get("timeoutSeconds", 1))
                    if ok:
                        c.probe_ok, c.probe_fail = c.probe_ok + 1, 0
                    else:
                        c.probe_fail, c.probe_ok = c.probe_fail + 1, 0
                    was = c.ready
                    if c.probe_ok >= probe.get("successThreshold", 1):
                        c.ready = True
                    if c.probe_fail >= probe.get("failureThreshold", 3) or \
                            (not ok and not c.ready):
                        c.ready = False
                    if was != c.ready:
                        self.wake.set()
            self.stop.wait(1)

    # -- status

    def container_status(self, c):
        image = c.spec.get("image", "")
        st = {"name": c.name, "image": image,
              "imageID": "nodesim://sha256:" + hashlib.sha256(
                  image.encode()).hexdigest(),
              "ready": bool(c.ready and c.proc is not None),
              "restartCount": c.restarts,
              "state": c.state, "lastState": c.last_state}
        if not c.ephemeral:
            st["started"] = "running" in c.state
        else:
            st["ready"] = False
        if c.container_id and "waiting" not in c.state:
            st["containerID"] = c.container_id
        return st

    def write_status(self, pod):
        conts = [pod.containers[c["name"]] for c in
                 pod.obj["spec"]["containers"]]
        all_ready = all(c.ready and c.proc is not None for c in conts)
        all_done = all(c.done for c in conts)
        if all_done:
            failed = any(c.state["terminated"]["exitCode"] for c in conts)
            phase = "Failed" if failed else "Succeeded"
        else:
            phase = "Running"
        conds = []
        for ctype, value in (("PodReadyToStartContainers", True),
                             ("Initialized", True),
                             ("Ready", all_ready and not all_done),
                             ("ContainersReady", all_ready and not all_done),
                             ("PodScheduled", True)):
            status = "True" if value else "False"
            old = pod.conditions.get(ctype)
            if old is None or old["status"] != status:
                old = {"type": ctype, "status": status,
                       "lastTransitionTime": now_rfc3339()}
                if status == "False":
                    old["reason"] = "ContainersNotReady"
                pod.conditions[ctype] = old
            conds.append(old)
        status = {
            "phase": phase, "conditions": conds,
            "hostIP": self.node_ip, "hostIPs": [{"ip": self.node_ip}],
            "podIP": pod.ip, "podIPs": [{"ip": pod.ip}],
            "startTime": pod.start_time,
            "qosClass": qos_class(pod.obj["spec"]["containers"]),
            "containerStatuses": [self.container_status(c) for c in conts],
        }
        inits = pod.obj["spec"].get("initContainers") or []
        if inits:
            # Init containers are not run: reported as done at once.
            status["initContainerStatuses"] = [{
                "name": c["name"], "image": c.get("image", ""),
                "imageID": "", "ready": True, "restartCount": 0,
                "started": False, "state": {"terminated": {
                    "exitCode": 0, "reason": "Completed",
                    "message": "not run by the node simulator",
                    "startedAt": pod.start_time,
                    "finishedAt": pod.start_time}}} for c in inits]
        if pod.ephemeral:
            status["ephemeralContainerStatuses"] = [
                self.container_status(c) for c in pod.ephemeral.values()]
        if status == pod.last_status and \
                subset_of(status, pod.obj.get("status") or {}):
            return
        self.api.merge_patch(f"{pod.path}/status", {
            "metadata": {"uid": pod.uid}, "status": status})
        pod.last_status = status

    # -- deletion

    def terminate(self, pod):
        """A pod being deleted: SIGTERM its containers, SIGKILL after the
        grace period (at most MAX_GRACE), remove the sandbox, confirm."""
        meta = pod.obj["metadata"]
        if pod.deleting_since is None:
            pod.deleting_since = time.monotonic()
            for c in list(pod.containers.values()) + \
                    list(pod.ephemeral.values()):
                if c.proc is not None and c.proc.poll() is None:
                    c.proc.send_signal(signal.SIGTERM)
        grace = min(int(meta.get("deletionGracePeriodSeconds") or 0),
                    MAX_GRACE)
        procs = [c.proc for c in list(pod.containers.values()) +
                 list(pod.ephemeral.values()) if c.proc is not None]
        if any(p.poll() is None for p in procs) and \
                time.monotonic() - pod.deleting_since < grace:
            return
        self.pods.pop(pod.uid, None)
        self.teardown(pod)
        self.confirm_deletion(pod.obj)

    def confirm_deletion(self, obj):
        meta = obj["metadata"]
        try:
            self.api.request(
                "DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/"
                f"{meta['name']}", body={
                    "apiVersion": "v1", "kind": "DeleteOptions",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": meta["uid"]}})
            log(f"deleted {meta['namespace']}/{meta['name']}")
        except ApiError as e:
            if e.status not in (404, 409):
                raise

    def teardown(self, pod):
        for c in list(pod.containers.values()) + list(pod.ephemeral.values()):
            if c.proc is not None:
                if c.proc.poll() is None:
                    c.proc.kill()
                c.proc.wait()
                c.proc = None
            if c.log is not None:
                c.log.close()
        cgroup_kill_tree(pod.cgroup_rel)
        run("ip", "netns", "del", pod.netns, check=False)
        # The next pod may get this address: the host must not keep
        # sending its traffic to the old pod's MAC until the entry ages.
        run("ip", "neigh", "del", pod.ip, "dev", self.host_veth,
            check=False)
        (self.state_dir / "pods" / f"{pod.uid}.json").unlink(missing_ok=True)
        log(f"removed sandbox of {pod.namespace}/{pod.name}")
        self.wake.set()

    # -- services

    def sync_services(self, services):
        rules = []
        for svc in services:
            spec = svc.get("spec") or {}
            cip = spec.get("clusterIP")
            sel = spec.get("selector")
            if not sel or not cip or cip == "None":
                continue
            try:
                if ipaddress.ip_address(cip) not in self.service_cidr:
                    continue
            except ValueError:
                continue
            ns = svc["metadata"]["namespace"]
            ready = sorted(
                (p for p in self.pods.values()
                 if p.namespace == ns and not p.deleting_since
                 and all((p.obj["metadata"].get("labels") or {}).get(k) == v
                         for k, v in sel.items())
                 and p.containers
                 and all(c.ready and c.proc is not None
                         for c in p.containers.values())),
                key=lambda p: p.ip)
            for port in spec.get("ports") or []:
                proto = port.get("protocol", "TCP").lower()
                if proto not in ("tcp", "udp"):
                    continue
                eps = []
                for p in ready:
                    tp = port.get("targetPort", port["port"])
                    if isinstance(tp, str):
                        tp = next((cp["containerPort"]
                                   for c in p.obj["spec"]["containers"]
                                   for cp in c.get("ports") or []
                                   if cp.get("name") == tp), None)
                    if tp:
                        eps.append((p.ip, int(tp)))
                rules.append((cip, proto, int(port["port"]), eps))
        self.apply_services(rules)

    def apply_services(self, rules):
        if rules == self.services_rules:
            return
        lines = ["add table ip flsim", "delete table ip flsim",
                 "table ip flsim {"]
        pre = []
        for i, (cip, proto, port, eps) in enumerate(rules):
            match = f"ip daddr {cip} {proto} dport {port}"
            if not eps:
                pre.append(f"{match} reject")
                continue
            vmap = []
            for j, (ip, tp) in enumerate(eps):
                lines += [f"chain ep{i}_{j} {{",
                          f"meta l4proto {proto} dnat to {ip}:{tp}", "}"]
                vmap.append(f"{j} : jump ep{i}_{j}")
            pre.append(f"{match} numgen inc mod {len(eps)} vmap "
                       f"{{ {', '.join(vmap)} }}")
        lines += ["chain pre {",
                  "type nat hook prerouting priority dstnat; policy accept;",
                  *pre, "}", "chain post {",
                  "type nat hook postrouting priority srcnat; "
                  "policy accept;", "ct status dnat masquerade", "}", "}"]
        run("ip", "netns", "exec", self.node_ns, "nft", "-f", "-",
            input="\n".join(lines) + "\n")
        self.services_rules = rules
        log(f"services: {rules}")


def subset_of(want, have):
    """Whether every field of want is in have with the same value (lists
    element by element): the API server adds fields of its own."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            subset_of(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(
            subset_of(w, h) for w, h in zip(want, have))
    return want == have


def decode_secret(value):
    import base64
    return base64.b64decode(value).decode(errors="replace")


def http_ok(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 400
    except Exception:
        return False


def qos_class(containers):
    reqs = [(c.get("resources") or {}) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in reqs):
        return "BestEffort"
    for r in reqs:
        lim, req = r.get("limits") or {}, r.get("requests") or {}
        if not all(k in lim for k in ("cpu", "memory")):
            return "Burstable"
        if any(req.get(k, lim[k]) != lim[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", nargs="?", default="run",
                    choices=("run", "cleanup"))
    ap.add_argument("--kubeconfig")
    ap.add_argument("--node", required=True)
    ap.add_argument("--pod-cidr", default="10.244.0.0/24")
    ap.add_argument("--service-cidr", default="10.0.0.0/24")
    ap.add_argument("--sidecar", default=str(
        HERE.parents[1] / "build" / "faultline-sidecar"))
    ap.add_argument("--state-dir")
    ap.add_argument("--provider-id")
    args = ap.parse_args(argv)
    if args.command == "run" and not args.kubeconfig:
        ap.error("--kubeconfig is required")
    for flag, value in (("--pod-cidr", args.pod_cidr),
                        ("--service-cidr", args.service_cidr)):
        try:
            net = ipaddress.ip_network(value)
        except ValueError as e:
            ap.error(f"{flag} {value!r}: {e}")
        if net.version != 4 or net.num_addresses < 8:
            ap.error(f"{flag} {value!r}: must be an IPv4 network of at "
                     "least 8 addresses")
    if args.command == "run" and not os.access(args.sidecar, os.X_OK):
        ap.error(f"--sidecar {args.sidecar!r}: not an executable file")
    if len(args.node) > 253 or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", args.node):
        ap.error(f"--node {args.node!r}: not a valid node name")
    return args


def main(argv):
    if argv[:1] == ["_launch"]:
        launch(json.loads(argv[1]))
        return
    if os.geteuid() != 0:
        sys.exit("nodesim: needs root (network namespaces, cgroups)")
    args = parse_args(argv)
    sim = NodeSim(args)
    if args.command == "cleanup":
        sim.cleanup()
        return

    def on_signal(signum, frame):
        sim.stop.set()
        sim.wake.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sim.main()
    except BaseException:
        sim.stop.set()
        sim.cleanup()
        raise


if __name__ == "__main__":
    main(sys.argv[1:])
