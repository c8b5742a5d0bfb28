"""The operator dies (SIGKILL, at a named point of the run) and starts
again: the run completes from status, nothing is injected twice, and
nothing is left behind.  Then two operators share a Lease: the leader is
killed mid-run and the other finishes that run, exactly once."""

import json
import time

import pytest

import harness
import opharness as oh

# Each point is where the code calls fl_failpoint(); the operator kills
# itself there with SIGKILL, as if its node had died.
POINTS = [
    "after-preparing",
    "after-targets-written",
    "after-injecting",
    "after-marked-injecting",
    "after-inject",
    "after-inject:2",
    "after-observing",
    "after-recovering",
    "before-revert",
    "after-reverted",
    "after-validating",
    "before-status-write:3",
]


@pytest.fixture(scope="module")
def kubeconfig(control_plane):
    return oh.install(control_plane)


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_each_point_then_restart(control_plane, kubeconfig,
                                            point):
    cp = control_plane
    self_ns = cp.create_namespace("op")
    ns = cp.create_namespace("restart")
    names = oh.make_pods(cp, ns, 3, {"app": "web"})
    op = oh.Operator(cp, kubeconfig, self_ns, args=["--leader-elect=false"])
    try:
        op.start(extra_env={"FAULTLINE_FAILPOINTS": point})
        oh.apply(cp, ns, oh.experiment("crash", oh.pod_delete_spec(
            {"app": "web"}, mode={"count": 2}, duration="1s")))
        code = op.wait_exit(timeout=60)
        assert code in (9, -9), f"exit {code}{op.describe()}"
        assert any(f"failpoint {point.split(':')[0]}" in line.get("raw", "")
                   for line in op.log_lines()), op.describe()
        before = (oh.get(cp, ns, "crash") or {}).get("status", {})

        op.start()
        obj = oh.wait_phase(cp, ns, "crash", oh.TERMINAL, 60, [op.proc])
    finally:
        op.stop()
    st = obj["status"]
    assert st["phase"] == "Completed" and st["verdict"] == "Passed", st
    if before.get("runId"):
        assert st["runId"] == before["runId"], "the run was started again"
    chosen = sorted(t["name"] for t in st["targets"])
    assert len(chosen) == 2 and len(set(chosen)) == 2
    # Each chosen pod evicted exactly once, and no other pod.
    assert oh.evictions(cp, ns) == chosen
    assert oh.pods(cp, ns) == sorted(set(names) - set(chosen))
    assert all(t["state"] == "Reverted" for t in st["targets"]), st
    assert [h["runId"] for h in st["history"]] == [st["runId"]]


def test_two_operators_one_leads_and_the_other_finishes(control_plane):
    cp = control_plane
    self_ns = cp.create_namespace("op")
    ns = cp.create_namespace("lead")
    oh.make_pods(cp, ns, 4, {"app": "web"})
    lease = ["--leader-elect=true", "--lease-duration=3s",
             "--renew-deadline=2s", "--retry-period=300ms"]
    ops = [oh.Operator(cp, oh.install(cp, user=f"faultline-{who}"), self_ns,
                       args=lease, name=f"op-{who}") for who in ("a", "b")]
    try:
        for op in ops:
            op.start()
        leader = harness.wait_until(
            "a leader", lambda: next((o for o in ops if
                                      o.metric("faultline_leader") == 1),
                                     None), 30, [o.proc for o in ops])
        other = ops[1] if leader is ops[0] else ops[0]
        assert other.metric("faultline_leader") == 0
        assert other.get("/readyz")[1].startswith("ok: standing by")

        oh.apply(cp, ns, oh.experiment("handover", oh.pod_delete_spec(
            {"app": "web"}, mode={"count": 2}, duration="6s")))
        obs = oh.wait_phase(cp, ns, "handover", "Observing", 60,
                            [leader.proc])
        run_id = obs["status"]["runId"]
        leader.kill()
        killed_at = time.time()

        obj = oh.wait_phase(cp, ns, "handover", oh.TERMINAL, 60,
                            [other.proc])
        assert other.metric("faultline_leader") == 1
    finally:
        for op in ops:
            op.stop()
    st = obj["status"]
    assert st["phase"] == "Completed" and st["verdict"] == "Passed", st
    assert st["runId"] == run_id
    assert [h["runId"] for h in st["history"]] == [run_id]
    chosen = sorted(t["name"] for t in st["targets"])
    assert oh.evictions(cp, ns, ("faultline-a", "faultline-b")) == chosen
    # The standby wrote nothing about the experiment before it led, and
    # the leader wrote nothing after it died.
    standby = f"faultline-{other.name[-1]}"
    writes = [w for w in oh.operator_writes(cp, user=standby)
              if w[3] == ns]
    assert writes and all(w[1] in ("chaosexperiments", "events")
                          for w in writes), writes
    assert [w for w in writes if w[2] == "status"], \
        "the standby never finished the run"
    assert min(oh.write_times(cp, standby, ns)) > killed_at
    assert max(oh.write_times(cp, f"faultline-{leader.name[-1]}", ns)) < \
        killed_at


def test_sigterm_shuts_down_cleanly_and_hands_the_lease_over(control_plane):
    cp = control_plane
    self_ns = cp.create_namespace("op")
    lease = ["--leader-elect=true", "--lease-duration=15s",
             "--renew-deadline=10s", "--retry-period=300ms"]
    ops = [oh.Operator(cp, oh.install(cp, user=f"faultline-{who}"), self_ns,
                       args=lease, name=f"op-{who}") for who in ("c", "d")]
    try:
        for op in ops:
            op.start()
        leader = harness.wait_until(
            "a leader", lambda: next((o for o in ops if
                                      o.metric("faultline_leader") == 1),
                                     None), 30, [o.proc for o in ops])
        other = ops[1] if leader is ops[0] else ops[0]
        leader.proc._signal(__import__("signal").SIGTERM)
        assert leader.wait_exit(30) == 0, leader.describe()
        msgs = [line.get("msg", "") for line in leader.log_lines()]
        assert any("shutting down" in m for m in msgs), msgs
        assert "stopped" in msgs[-1], msgs
        # The Lease was given up, not left to run out.
        holder = json.loads(cp.kubectl(
            "get", "lease", "faultline-operator", "-n", self_ns, "-o",
            "json").stdout)["spec"].get("holderIdentity", "")
        assert not holder.startswith(leader.name), holder
        harness.wait_until("the other to lead", lambda:
                           other.metric("faultline_leader") == 1, 60,
                           [other.proc])
    finally:
        for op in ops:
            op.stop()


def test_target_that_cannot_be_checked_after_a_restart_is_reverted(
        control_plane):
    cp = control_plane
    user = "faultline-nopodget"
    kubeconfig = oh.install_without(cp, user, "pods", "get")
    self_ns = cp.create_namespace("op")
    ns = cp.create_namespace("nocheck")
    names = oh.make_pods(cp, ns, 3, {"app": "web"})
    op = oh.Operator(cp, kubeconfig, self_ns, args=["--leader-elect=false"],
                     name="op-nopodget")
    try:
        # Dies with the target marked Injecting; after the restart the
        # check (a GET of the pod) is forbidden, so whether the fault is
        # in place cannot be known.
        op.start(extra_env={"FAULTLINE_FAILPOINTS": "after-marked-injecting"})
        oh.apply(cp, ns, oh.experiment("blind", oh.pod_delete_spec(
            {"app": "web"}, duration="1s")))
        code = op.wait_exit(timeout=60)
        assert code in (9, -9), f"exit {code}{op.describe()}"
        op.start()
        obj = oh.wait_phase(cp, ns, "blind", oh.TERMINAL, 60, [op.proc])
    finally:
        op.stop()
    st = obj["status"]
    (target,) = st["targets"]
    # Reverted to be safe and counted as failed: neither dropped from
    # the reverts as if it held nothing, nor injected again.
    assert target["state"] == "Failed", target
    assert "cannot tell whether the fault was applied" in \
        target["reason"], target
    assert "403" in target["reason"], target
    assert target.get("revertedAt"), target
    assert st["verdict"] == "Failed", st
    assert oh.evictions(cp, ns, user) == []
    assert oh.pods(cp, ns) == names
