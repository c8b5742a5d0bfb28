"""The sidecar's resource and process faults against the real kernel:
cgroup v1 cpu, cpuacct and memory controllers, a tmpfs, real processes and
signals.  Runs the real build/faultline-sidecar as root.

Each test makes its own cgroups, mounts and processes under a unique name
and removes them, and checks that the sidecar left nothing behind: no
worker process, no fill file, no state record, no stopped process.
"""

import json
import os
import pathlib
import random
import select
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

CGROOT = pathlib.Path("/sys/fs/cgroup")
MiB = 1 << 20

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (CGROOT / "cpu" / "cpu.cfs_quota_us").exists(),
    reason="needs root and the cgroup v1 cpu controller")


# ---- helpers ----


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("FAULTLINE_STATE_DIR", str(d))
    yield d
    assert not d.exists() or not list(d.iterdir()), \
        "state records left: %s" % list(d.iterdir())


def tag():
    return "t" + uuid.uuid4().hex[:8]


def workers(tag_=None):
    """Live (not zombie) processes named fl-<tag> (any tag when None)."""
    found = []
    for d in pathlib.Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        state = stat[stat.rindex(")") + 2]
        if state in "ZX":
            continue
        if comm.startswith("fl-" + (tag_ or "")):
            found.append(int(d.name))
    return found


def proc_state(pid):
    stat = pathlib.Path("/proc/%d/stat" % pid).read_text()
    return stat[stat.rindex(")") + 2]


class Run:
    """One `faultline-sidecar run` with its status lines."""

    def __init__(self, sidecar, spec):
        self.spec = spec
        self.p = subprocess.Popen(
            [str(sidecar), "run", "--spec", json.dumps(spec)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []

    def read_line(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.p.stdout], [], [], 0.2)
            if r:
                line = self.p.stdout.readline()
                if not line:
                    return None
                self.lines.append(json.loads(line))
                return self.lines[-1]
        raise AssertionError("no status line within %ss" % timeout)

    def wait_applied(self, timeout=20):
        """Waits until every fault is applied; returns the applied lines."""
        applied = []
        while len(applied) < len(self.spec["faults"]):
            line = self.read_line(timeout)
            assert line is not None, "exited early: %s" % self.finish()[1]
            assert line["state"] != "failed", line
            if line["state"] == "applied":
                applied.append(line)
        return applied

    def finish(self, sig=None, timeout=20):
        if sig:
            self.p.send_signal(sig)
        out, err = self.p.communicate(timeout=timeout)
        self.lines += [json.loads(x) for x in out.splitlines() if x]
        return self.p.returncode, err

    def kill(self):
        """Cleanup after a failed test: SIGKILL, then sweep what the run
        left, so that one failure does not cascade."""
        if self.p.poll() is None:
            self.p.kill()
            subprocess.run([self.p.args[0], "sweep"], capture_output=True,
                           timeout=30)
        self.p.communicate()


def spec(tag_, faults, duration="30s", **extra):
    s = {"tag": tag_, "duration": duration,
         "faults": [{"kind": k, "params": p} for k, p in faults]}
    s.update(extra)
    return s


# ---- cgroups and mounts ----


@pytest.fixture
def cgroup():
    """cpu (1 CPU of quota), cpuacct and memory (512Mi limit) cgroups of
    one unique name; removed afterwards."""
    name = "faultline-test-" + uuid.uuid4().hex[:10]
    dirs = {c: CGROOT / c / name for c in ("cpu", "cpuacct", "memory")}
    for d in dirs.values():
        d.mkdir()
    try:
        (dirs["cpu"] / "cpu.cfs_period_us").write_text("100000")
        (dirs["cpu"] / "cpu.cfs_quota_us").write_text("100000")
        # Other work shares this machine's two CPUs: a high weight keeps
        # the measurement about our duty cycle, not about neighbours.
        (dirs["cpu"] / "cpu.shares").write_text("262144")
        (dirs["memory"] / "memory.limit_in_bytes").write_text(
            str(512 * MiB))
        yield dirs
    finally:
        for d in dirs.values():
            left = (d / "cgroup.procs").read_text().split()
            for pid in left:
                os.kill(int(pid), signal.SIGKILL)
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        assert not left, "processes left in the cgroup: %s" % left


@pytest.fixture
def tmpfs():
    """A 64 MiB tmpfs of our own, unmounted afterwards."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="fl-tmpfs-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "fltest",
                    str(d)], check=True)
    try:
        yield d
    finally:
        left = list(d.iterdir())
        subprocess.run(["umount", str(d)], check=True)
        d.rmdir()
        assert not left, "files left: %s" % left


def used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@pytest.fixture
def victim():
    """A process with a unique argv[0], killed afterwards."""
    name = "victim-" + uuid.uuid4().hex[:8]
    p = subprocess.Popen([name, "600"], executable="/bin/sleep")
    yield name, p
    if p.poll() is None:
        p.send_signal(signal.SIGCONT)
        p.kill()
    p.wait()


# ---- cpuStress ----


def cpuacct_usage(cg):
    return int((cg["cpuacct"] / "cpuacct.usage").read_text())


@pytest.mark.parametrize("load", [20, 50, 80])
def test_cpu_stress_takes_its_share_of_the_quota(sidecar, state_dir, cgroup,
                                                 load):
    t = tag()
    run = Run(sidecar, spec(t, [("cpuStress", {"load": load})],
                            target={"cgroup": str(cgroup["cpu"])}))
    try:
        applied = run.wait_applied()
        assert applied[0]["workers"] == 1
        time.sleep(0.3)
        u0, t0 = cpuacct_usage(cgroup), time.monotonic()
        time.sleep(1.5)
        u1, t1 = cpuacct_usage(cgroup), time.monotonic()
        share = (u1 - u0) / ((t1 - t0) * 1e9) * 100
        print("cpuStress load %d%%: measured %.1f%% of the quota"
              % (load, share))
        assert abs(share - load) <= 5, share
        assert len(workers(t)) == 1
        rc, err = run.finish(signal.SIGTERM)
    finally:
        run.kill()
    assert rc == 0, err
    assert run.lines[-1]["state"] == "reverted"
    assert run.lines[-1]["reason"] == "SIGTERM"
    assert workers(t) == []


# ---- memoryStress ----


def usage(cg):
    return int((cg["memory"] / "memory.usage_in_bytes").read_text())


@pytest.mark.parametrize("params", [{"size": "128Mi"}, {"percent": 25}])
def test_memory_stress_holds_its_size(sidecar, state_dir, cgroup, params):
    t = tag()
    want = 128 * MiB
    before = usage(cgroup)
    run = Run(sidecar, spec(t, [("memoryStress", params)],
                            target={"cgroup": str(cgroup["cpu"])}))
    try:
        applied = run.wait_applied()
        assert applied[0]["bytes"] == want
        (pid,) = workers(t)
        status = pathlib.Path("/proc/%d/status" % pid).read_text()
        # Anonymous pages only: the file pages of the binary and libraries
        # it shares with the sidecar are not what the fault holds.
        rss = int(status.split("RssAnon:")[1].split()[0]) * 1024
        delta = usage(cgroup) - before
        print("memoryStress %s: rss %.1f MiB, usage delta %.1f MiB"
              % (params, rss / MiB, delta / MiB))
        assert abs(delta - want) <= want * 0.02, delta
        assert abs(rss - want) <= want * 0.02, rss
        rc, err = run.finish(signal.SIGTERM)
    finally:
        run.kill()
    assert rc == 0, err
    assert workers(t) == []
    assert usage(cgroup) - before < 4 * MiB


def test_memory_beyond_the_limit_fails_cleanly(sidecar, state_dir, cgroup):
    # The cgroup's limit is 512Mi: the OOM killer takes our worker (it
    # volunteers first) before it is ready, and the run fails with 3.
    t = tag()
    run = Run(sidecar, spec(t, [("memoryStress", {"size": "600Mi"})],
                            target={"cgroup": str(cgroup["cpu"])}))
    rc, err = run.finish(timeout=30)
    assert rc == 3, err
    assert "died before it was ready" in run.lines[-1]["reason"]
    assert workers(t) == []


def test_a_worker_that_dies_is_reported(sidecar, state_dir, cgroup):
    t = tag()
    run = Run(sidecar, spec(t, [("memoryStress", {"size": "8Mi"})],
                            target={"cgroup": str(cgroup["cpu"])}))
    try:
        run.wait_applied()
        (pid,) = workers(t)
        os.kill(pid, signal.SIGKILL)
        line = run.read_line()
        assert line["state"] == "failed", line
        assert line["kind"] == "memoryStress"
        assert line["reason"] == "worker %d was killed by signal 9" % pid
        rc, err = run.finish(signal.SIGTERM)
    finally:
        run.kill()
    assert rc == 0, err
    assert run.lines[-1]["state"] == "reverted"


# ---- diskStress ----


def test_disk_stress_fills_and_cleans_up(sidecar, state_dir, tmpfs):
    t = tag()
    before = used(tmpfs)
    run = Run(sidecar, spec(t, [("diskStress", {
        "path": str(tmpfs), "size": "16Mi", "ioWorkers": 2})]))
    try:
        run.wait_applied()
        fill = tmpfs / (".faultline-fill-" + t)
        assert fill.exists()
        assert used(tmpfs) - before >= 16 * MiB
        assert len(workers(t)) == 2
        assert (state_dir / ("%s.diskStress.json" % t)).exists()
        rc, err = run.finish(signal.SIGTERM)
    finally:
        run.kill()
    assert rc == 0, err
    assert not fill.exists()
    assert used(tmpfs) - before < MiB
    assert workers(t) == []


def test_disk_stress_fills_to_a_percent(sidecar, state_dir, tmpfs):
    t = tag()
    st = os.statvfs(tmpfs)
    total = st.f_blocks * st.f_frsize
    run = Run(sidecar, spec(t, [("diskStress", {
        "path": str(tmpfs), "percent": 50})]))
    try:
        run.wait_applied()
        share = used(tmpfs) / total * 100
        assert abs(share - 50) <= 1, share
        rc, err = run.finish(signal.SIGTERM)
    finally:
        run.kill()
    assert rc == 0, err
    assert used(tmpfs) < MiB


def test_disk_stress_refuses_to_fill_the_last_bytes(sidecar, state_dir,
                                                     tmpfs):
    t = tag()
    run = Run(sidecar, spec(t, [("diskStress", {
        "path": str(tmpfs), "size": "60Mi"})]))
    rc, err = run.finish(timeout=20)
    assert rc == 3, err
    failed = [x for x in run.lines if x["state"] == "failed"]
    assert "would leave less than" in failed[0]["reason"]
    assert not list(tmpfs.iterdir())


# ---- processKill, processPause ----


def test_process_kill_kills_by_name(sidecar, state_dir, victim):
    name, p = victim
    t = tag()
    run = Run(sidecar, spec(t, [("processKill", {"process": name})]))
    try:
        applied = run.wait_applied()
        assert applied[0]["pids"] == [p.pid]
        assert p.wait(timeout=5) == -signal.SIGKILL
        rc, err = run.finish(signal.SIGTERM)
    finally:
        run.kill()
    assert rc == 0, err


def test_process_kill_with_a_chosen_signal(sidecar, state_dir, victim):
    name, p = victim
    run = Run(sidecar, spec(tag(), [("processKill", {
        "process": name, "signal": "SIGTERM"})]))
    try:
        run.wait_applied()
        assert p.wait(timeout=5) == -signal.SIGTERM
        rc, err = run.finish(signal.SIGINT)
    finally:
        run.kill()
    assert rc == 0, err
    assert run.lines[-1]["reason"] == "SIGINT"


def test_process_pause_stops_and_resumes(sidecar, state_dir, victim):
    name, p = victim
    run = Run(sidecar, spec(tag(), [("processPause", {"process": name})]))
    try:
        run.wait_applied()
        assert proc_state(p.pid) == "T"
        rc, err = run.finish(signal.SIGTERM)
    finally:
        run.kill()
    assert rc == 0, err
    assert proc_state(p.pid) in "SR"


# ---- the deadline, failures, bad specs ----


def test_deadline_reverts_without_a_signal(sidecar, state_dir, victim,
                                           tmpfs):
    name, p = victim
    t = tag()
    start = time.monotonic()
    run = Run(sidecar, spec(t, [
        ("cpuStress", {"load": 10, "workers": 1}),
        ("processPause", {"process": name}),
        ("diskStress", {"path": str(tmpfs), "size": "1Mi"}),
    ], duration="1500ms"))
    try:
        run.wait_applied()
        assert proc_state(p.pid) == "T"
        rc, err = run.finish(timeout=10)
    finally:
        run.kill()
    took = time.monotonic() - start
    assert rc == 0, err
    assert 1.4 <= took < 3, took
    reverted = [x for x in run.lines if x["state"] == "reverted"]
    assert [x["kind"] for x in reverted] == [
        "diskStress", "processPause", "cpuStress"]
    assert all(x["reason"] == "deadline" for x in reverted)
    assert proc_state(p.pid) in "SR"
    assert workers(t) == []


def test_a_failed_apply_reverts_the_others(sidecar, state_dir, tmpfs):
    t = tag()
    run = Run(sidecar, spec(t, [
        ("cpuStress", {"load": 10, "workers": 2}),
        ("diskStress", {"path": str(tmpfs), "size": "2Mi"}),
        ("processKill", {"process": "no-such-process-" + t}),
    ]))
    rc, err = run.finish(timeout=20)
    assert rc == 3, err
    states = [(x["state"], x["kind"]) for x in run.lines]
    assert states == [
        ("applied", "cpuStress"), ("applied", "diskStress"),
        ("failed", "processKill"),
        ("reverted", "diskStress"), ("reverted", "cpuStress")]
    assert "no process called" in run.lines[2]["reason"]
    assert workers(t) == []
    assert not list(tmpfs.iterdir())


BAD = [
    ({"kind": "cpuStress", "params": {"load": 150}},
     "faults[0].params.load: 150 must be less than or equal to 100"),
    ({"kind": "cpuStress", "params": {"load": -5}},
     "faults[0].params.load: -5 must be greater than or equal to 1"),
    ({"kind": "cpuStress", "params": {"load": 50, "workers": 100000}},
     "faults[0].params.workers"),
    ({"kind": "memoryStress", "params": {"size": "-1Gi"}},
     "faults[0].params.size"),
    ({"kind": "memoryStress", "params": {"size": "1Gi", "percent": 5}},
     "exactly one of size, percent"),
    ({"kind": "diskStress", "params": {"path": "tmp", "size": "1Mi"}},
     "faults[0].params.path"),
    ({"kind": "processKill", "params": {"process": "x", "signal": "SIGFOO"}},
     "faults[0].params.signal: unsupported value"),
    ({"kind": "fooStress", "params": {}},
     "faults[0].kind: unknown fault kind 'fooStress'"),
    ({"kind": "podDelete", "params": {}},
     "faults[0].kind: unknown fault kind 'podDelete'"),
]


@pytest.mark.parametrize("fault,message", BAD)
def test_bad_fault_exits_2_and_changes_nothing(sidecar, state_dir, fault,
                                               message):
    # The bad fault comes second: the good one before it must not have
    # been applied either.
    s = {"tag": tag(), "duration": "30s",
         "faults": [{"kind": "cpuStress", "params": {"load": 10}}, fault]}
    p = subprocess.run([str(sidecar), "run", "--spec", json.dumps(s)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2, p.stderr
    assert message.replace("[0]", "[1]") in p.stderr, p.stderr
    assert p.stdout == ""
    assert workers(s["tag"]) == []
    assert not state_dir.exists() or not list(state_dir.iterdir())


@pytest.mark.parametrize("bad,message", [
    ({"duration": "-1s"}, "duration"),
    ({"duration": "soon"}, "duration"),
    ({"duration": "48h"}, "duration"),
    ({"duration": None}, "duration: required"),
    ({"tag": "Bad Tag"}, "tag"),
    ({"faults": []}, "faults"),
    ({"target": {"pid": -1}}, "target.pid"),
    ({"target": {"cgroup": "/sys/fs/cgroup/../etc"}}, "target.cgroup"),
    ({"control": {"cidr": "10.0.0.5", "port": 8443}}, "control.cidr"),
    ({"extra": 1}, "extra: unknown field"),
])
def test_bad_spec_exits_2(sidecar, state_dir, bad, message):
    s = spec(tag(), [("cpuStress", {"load": 10})])
    s.update(bad)
    s = {k: v for k, v in s.items() if v is not None}
    p = subprocess.run([str(sidecar), "run", "--spec", json.dumps(s)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr, p.stderr
    assert p.stdout == ""


def test_spec_from_file_and_environment(sidecar, state_dir, tmp_path):
    s = json.dumps(spec(tag(), [("cpuStress", {"load": 10})]))
    f = tmp_path / "spec.json"
    f.write_text(s + "\n")
    p = subprocess.run([str(sidecar), "check", "--spec-file", str(f)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["state"] == "valid"
    p = subprocess.run([str(sidecar), "check"], capture_output=True,
                       text=True, env=dict(os.environ, FAULTLINE_SPEC=s))
    assert p.returncode == 0, p.stderr
    p = subprocess.run([str(sidecar), "check"], capture_output=True,
                       text=True, env={"PATH": "/usr/bin"})
    assert p.returncode == 2


# ---- SIGKILL at a random moment, 50 times ----


def test_sigkill_then_sweep_leaves_nothing(sidecar, state_dir, tmpfs,
                                           victim, cgroup):
    name, p = victim
    rng = random.Random(1234)
    mid_apply = 0
    # Only this test's workers count: another sidecar on the machine (a
    # benchmark, say) may hold workers of its own meanwhile.
    ours = []

    def our_workers():
        return [pid for t_ in ours for pid in workers(t_)]

    for i in range(50):
        t = tag()
        ours.append(t)
        run = Run(sidecar, spec(t, [
            ("cpuStress", {"load": 20, "workers": 2}),
            ("memoryStress", {"size": "16Mi"}),
            ("processPause", {"process": name}),
            ("diskStress", {"path": str(tmpfs), "size": "4Mi",
                            "ioWorkers": 1}),
        ], target={"cgroup": str(cgroup["cpu"])}))
        time.sleep(rng.uniform(0, 0.25))
        run.p.send_signal(signal.SIGKILL)
        out, _ = run.p.communicate()
        mid_apply += out.count('"applied"') < 4
        if i % 2 == 0:
            sw = subprocess.run([str(sidecar), "sweep"], capture_output=True,
                                text=True, timeout=20)
            assert sw.returncode == 0, sw.stderr
        else:
            ours.append(tag())
            again = Run(sidecar, spec(ours[-1], [("cpuStress", {"load": 5})],
                                      duration="300ms"))
            rc, err = again.finish(timeout=20)
            assert rc == 0, (err, again.lines)
        # Workers die with their parent (PR_SET_PDEATHSIG); give the
        # kernel a moment to deliver it.
        for _ in range(50):
            if not our_workers():
                break
            time.sleep(0.02)
        assert our_workers() == [], "iteration %d" % i
        assert not list(tmpfs.iterdir()), "iteration %d" % i
        assert not state_dir.exists() or not list(state_dir.iterdir()), \
            "iteration %d: %s" % (i, list(state_dir.iterdir()))
        assert proc_state(p.pid) in "SR", "iteration %d" % i
    print("50 SIGKILLs, %d of them before every fault was applied"
          % mid_apply)


def test_two_faults_of_one_kind_keep_two_records(sidecar, state_dir, tmpfs,
                                                 victim):
    """Each fault has its own state record: after a SIGKILL, a sweep
    continues the processes of both pauses and deletes both fills."""
    name, p = victim
    other = "victim-" + uuid.uuid4().hex[:8]
    q = subprocess.Popen([other, "600"], executable="/bin/sleep")
    run = Run(sidecar, spec(tag(), [
        ("processPause", {"process": name}),
        ("processPause", {"process": other}),
        ("diskStress", {"path": str(tmpfs), "size": "1Mi"}),
        ("diskStress", {"path": str(tmpfs), "size": "1Mi"}),
    ]))
    try:
        run.wait_applied()
        assert proc_state(p.pid) == "T" and proc_state(q.pid) == "T"
        assert len(list(state_dir.iterdir())) == 4
        assert len(list(tmpfs.iterdir())) == 2
        run.p.kill()
        run.p.communicate()
        sw = subprocess.run([str(sidecar), "sweep"], capture_output=True,
                            text=True, timeout=20)
        assert sw.returncode == 0, sw.stderr
        assert proc_state(p.pid) in "SR"
        assert proc_state(q.pid) in "SR"
    finally:
        run.kill()
        q.send_signal(signal.SIGCONT)
        q.kill()
        q.wait()


def test_sweep_spares_other_programs_called_fl(sidecar, state_dir,
                                               tmp_path):
    """A sweep kills orphaned workers of ours, not whatever else happens
    to be called fl-something."""
    # The kernel names a process after the file it executed.
    exe = tmp_path / ("fl-" + uuid.uuid4().hex[:8])
    exe.symlink_to("/bin/sleep")
    p = subprocess.Popen([str(exe), "600"])
    try:
        assert workers(exe.name[3:]) == [p.pid]
        sw = subprocess.run([str(sidecar), "sweep"], capture_output=True,
                            text=True, timeout=20)
        assert sw.returncode == 0, sw.stderr
        assert p.poll() is None, "sweep killed an unrelated process"
    finally:
        p.kill()
        p.wait()
