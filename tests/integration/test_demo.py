"""`make demo` (tests/demo/demo.py) end to end: the demo starts a real
control plane, the node simulator and the operator, runs
deploy/examples/quickstart.yaml against its app (shortened to 20s with
FAULTLINE_DEMO_DURATION), prints the results, and leaves nothing behind.

How "nothing behind" is checked: the demo runs with an environment
variable of this test's own (FAULTLINE_DEMO_TEST_MARK, a random value the
demo never reads), which every process it starts inherits, and with
TMPDIR pointing to an empty directory of this test's.  While it runs, the
test records the marked processes (pid and command line) and requires an
etcd, a kube-apiserver, a faultline-operator and a nodesim among them;
afterwards none of those may still run, and no marked process at all.
The simulator's node namespace, host link and cgroups, the pods'
network namespaces the demo printed, and the demo's temporary
directories must all be gone.  Other test runs on this machine are left
out by the mark, so they cannot make this test fail.

Root only, like the demo.  Node "demo-node", pod CIDR 10.244.40.0/24.
"""

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

import harness

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"),
    reason="needs root, ip and nft")

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO = REPO / "tests" / "demo" / "demo.py"
NODE = "demo-node"
SERVICE_CIDR = "10.0.0.0/24"
MARK = "FAULTLINE_DEMO_TEST_MARK"
KINDS = {"etcd": re.compile(r"(^|/)etcd$"),
         "kube-apiserver": re.compile(r"(^|/)kube-apiserver$"),
         "faultline-operator": re.compile(r"(^|/)faultline-operator$"),
         "nodesim": re.compile(r"(^|/)nodesim\.py$")}


def node_key(node):
    """The suffix the simulator names its node namespace, host link and
    cgroups with (tests/sim/nodesim.py's short_hash)."""
    return hashlib.sha256(node.encode()).hexdigest()[:6]


def marked(value):
    """{pid: argv} of every process whose environment holds MARK=value."""
    want = f"{MARK}={value}".encode()
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if want in env:
            found[int(entry.name)] = [a.decode(errors="replace")
                                      for a in argv if a]
    return found


def kind_of(argv):
    for kind, pattern in KINDS.items():
        if any(pattern.search(a) for a in argv[:2]):
            return kind
    return None


def cmdline(pid):
    try:
        raw = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def netns_list():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True,
                       text=True, timeout=30)
    return {line.split()[0] for line in r.stdout.splitlines() if line}


def service_route():
    r = subprocess.run(["ip", "route", "show", SERVICE_CIDR],
                       capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


def test_demo_runs_reports_and_leaves_nothing(tmp_path):
    # Only one node simulator on a machine can route the service CIDR
    # from the host; the demo needs that route for its Service.
    try:
        harness.wait_until("no other simulator to route the service CIDR",
                           lambda: not service_route(), 120, interval=1)
    except harness.HarnessError:
        pytest.skip(f"another node simulator routes {SERVICE_CIDR} "
                    f"({service_route()}); the demo cannot reach its "
                    "Service while it does")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    mark = uuid.uuid4().hex
    env = dict(os.environ, FAULTLINE_DEMO_DURATION="20s", TMPDIR=str(tmpdir),
               **{MARK: mark})
    out_path = tmp_path / "demo.out"
    seen = {}  # pid -> argv of the demo's marked processes, while it ran

    t0 = time.monotonic()
    with open(out_path, "w") as out:
        demo = subprocess.Popen([sys.executable, str(DEMO)], env=env,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        def finished():
            seen.update(marked(mark))
            code = demo.poll()
            return None if code is None else (code,)
        (code,) = harness.wait_until("the demo to finish", finished, 360,
                                     interval=0.5)
    finally:
        if demo.poll() is None:
            demo.terminate()
            demo.wait(60)
    took = time.monotonic() - t0
    output = out_path.read_text()
    print(f"demo took {took:.1f}s; last lines:\n" +
          "\n".join(output.splitlines()[-25:]))

    assert code == 0, output
    assert "probe URL rewritten: http://demo.demo.svc:8080/healthz -> " \
        "http://10.0.0." in output, output
    assert "FAULTLINE_DEMO_DURATION=20s: the experiment runs for 20s " \
        "instead of 2m" in output, output
    ended = re.search(r"^demo: the run ended: (\w+), verdict (\w+)$",
                      output, re.M)
    assert ended, output
    phase, verdict = ended.groups()
    assert phase in ("Completed", "Failed", "Aborted"), output
    # The report, with its heading and the same verdict.
    assert "\n# Chaos experiment demo/quickstart\n" in output, output
    assert f"| Verdict | {verdict} |" in output, output

    # Nothing left running.
    kinds = {kind_of(argv) for argv in seen.values()}
    assert set(KINDS) <= kinds, f"not seen while the demo ran: {seen}"
    still = {pid: argv for pid, argv in seen.items()
             if cmdline(pid) == argv}
    assert not still, f"still running after the demo: {still}"
    assert not marked(mark), "processes of the demo still running"

    # Nothing left of the simulator or in the temporary directory.
    key = node_key(NODE)
    pod_netns = set(re.findall(r"network namespace (fl-[0-9a-f]{8})",
                               output))
    assert len(pod_netns) == 3, output
    left = netns_list() & (pod_netns | {f"fl-node-{key}"})
    assert not left, f"network namespaces left: {left}"
    assert not os.path.exists(f"/sys/class/net/flh{key}")
    for ctrl in ("cpu", "cpuacct", "memory"):
        assert not (pathlib.Path("/sys/fs/cgroup") / ctrl / "faultline-sim" /
                    key).exists()
    assert list(tmpdir.iterdir()) == []
