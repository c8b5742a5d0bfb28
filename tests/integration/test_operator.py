"""faultline-operator end to end on the real API server: a podDelete run
from Pending to a verdict, the safety rules (PodDisruptionBudgets,
protected namespaces, dry run), status as GitOps tools read it, the
kill switch, aborts, deletion, re-runs and schedules.

There is no kubelet: pods are marked Running and Ready through the status
subresource, and an evicted pod (never bound to a node) goes away at
once, as the API server does for unscheduled pods."""

import json

import pytest

import harness
import opharness as oh


@pytest.fixture(scope="module")
def env(control_plane):
    kubeconfig = oh.install(control_plane)
    self_ns = control_plane.create_namespace("faultline-system")
    op = oh.Operator(control_plane, kubeconfig, self_ns,
                     args=["--leader-elect=false"])
    op.start()
    yield control_plane, op
    op.stop()


def run_to_end(cp, op, ns, name, timeout=60):
    return oh.wait_phase(cp, ns, name, oh.TERMINAL, timeout, [op.proc])


def test_pod_delete_runs_to_completion(env):
    cp, op = env
    ns = cp.create_namespace("pd")
    names = oh.make_pods(cp, ns, 5, {"app": "web"})
    oh.make_pods(cp, ns, 2, {"app": "other"}, prefix="other")
    oh.apply(cp, ns, oh.experiment("kill-two", oh.pod_delete_spec(
        {"app": "web"}, mode={"count": 2}, blast=50)))

    obj = run_to_end(cp, op, ns, "kill-two")
    st = obj["status"]
    assert st["phase"] == "Completed", st
    assert st["verdict"] == "Passed", st
    assert st["observedGeneration"] == obj["metadata"]["generation"]
    assert st["targetCount"] == 2
    chosen = sorted(t["name"] for t in st["targets"])
    assert all(t["state"] == "Reverted" for t in st["targets"]), st
    assert all(t.get("uid") and t.get("injectedAt") and t.get("revertedAt")
               for t in st["targets"])
    # Exactly the chosen pods went, each evicted once; the rest stayed.
    assert oh.evictions(cp, ns) == chosen
    left = oh.pods(cp, ns)
    assert sorted(set(names) - set(left)) == chosen
    assert "other-0" in left and "other-1" in left
    # Every phase has a start time; one history entry for this run.
    for phase in ("Pending", "Preparing", "Injecting", "Observing",
                  "Recovering", "Validating", "Completed"):
        assert phase in st["phaseTimes"], phase
    assert [h["runId"] for h in st["history"]] == [st["runId"]]
    assert st["history"][0]["verdict"] == "Passed"
    # kstatus: finished and healthy.
    assert oh.condition(obj, "Complete")["status"] == "True"
    assert oh.condition(obj, "Ready")["status"] == "True"
    assert oh.condition(obj, "Reconciling")["status"] == "False"
    assert oh.condition(obj, "Stalled")["status"] == "False"
    # The finalizer guarded the run only while it could hold faults: it
    # comes off right after the run's last status write.
    harness.wait_until("the finalizer to come off", lambda: (
        "faultline.dev/revert" not in oh.get(cp, ns, "kill-two")[
            "metadata"].get("finalizers", [])), 30, [op.proc])
    assert ("patch", "chaosexperiments", "", ns, "kill-two", 200) in \
        oh.operator_writes(cp)
    # An Event per transition, about this experiment.
    events = json.loads(cp.kubectl(
        "get", "events.events.k8s.io", "-n", ns, "-o", "json").stdout)
    reasons = {e["reason"] for e in events["items"]
               if e["regarding"]["name"] == "kill-two"}
    assert {"Pending", "Preparing", "Injecting", "Observing", "Recovering",
            "Validating", "Passed"} <= reasons
    # The operator never changed spec: the generation is still 1.
    assert obj["metadata"]["generation"] == 1


def test_printer_columns_and_kubectl_wait(env):
    cp, op = env
    ns = cp.create_namespace("cols")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("waited", oh.pod_delete_spec(
        {"app": "web"}, duration="3s")))
    # Blocks until the run ends (at once if it already has).
    out = cp.kubectl("wait", "-n", ns, "--for=condition=Complete",
                     "chaosexperiment/waited", "--timeout=90s").stdout
    assert "condition met" in out
    assert oh.get(cp, ns, "waited")["status"]["phase"] == "Completed"
    table = cp.kubectl("get", "chaos", "-n", ns).stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "PHASE", "VERDICT", "TARGETS"]
    assert table[1].split()[:4] == ["waited", "Completed", "Passed", "1"]


def test_pdb_is_respected_and_reported(env):
    cp, op = env
    ns = cp.create_namespace("pdb")
    names = oh.make_pods(cp, ns, 3, {"app": "web"})
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "web"},
           "spec": {"minAvailable": 3,
                    "selector": {"matchLabels": {"app": "web"}}}}
    oh.apply(cp, ns, pdb)
    oh.apply(cp, ns, oh.experiment("blocked", oh.pod_delete_spec(
        {"app": "web"})))

    st = run_to_end(cp, op, ns, "blocked")["status"]
    assert st["verdict"] == "Failed", st
    (target,) = st["targets"]
    assert target["state"] == "Failed"
    assert "PodDisruptionBudget" in target["reason"], target
    assert "PodDisruptionBudget" in st["message"]
    assert oh.pods(cp, ns) == names
    assert oh.evictions(cp, ns) == []

    # Told to ignore budgets, it deletes instead of evicting.
    spec = oh.pod_delete_spec({"app": "web"})
    spec["faults"][0]["podDelete"] = {"ignorePodDisruptionBudgets": True}
    oh.apply(cp, ns, oh.experiment("forced", spec))
    st = run_to_end(cp, op, ns, "forced")["status"]
    assert st["verdict"] == "Passed", st
    assert len(oh.pods(cp, ns)) == 2


def test_protected_and_own_namespaces_are_never_touched(env):
    cp, op = env
    ns = cp.create_namespace("prot")
    cp.kubectl("create", "namespace", "kube-system", check=False)
    system = oh.unique("sys")
    oh.make_pods(cp, "kube-system", 2, {"app": system}, prefix=system)
    oh.make_pods(cp, op.self_ns, 2, {"app": system}, prefix=system)
    for target_ns, name in (("kube-system", "hit-system"),
                            (op.self_ns, "hit-operator")):
        spec = oh.pod_delete_spec({"app": system}, mode={"all": True})
        spec["targets"][0]["pods"]["namespaces"] = [target_ns]
        oh.apply(cp, ns, oh.experiment(name, spec))
        st = run_to_end(cp, op, ns, name)["status"]
        assert st["phase"] == "Failed" and st["verdict"] == "Error", st
        assert "protected" in st["message"] or \
            "operator's own" in st["message"], st
        assert not st.get("targets")
    assert oh.evictions(cp, "kube-system") == []
    assert oh.evictions(cp, op.self_ns) == []
    assert len(oh.pods(cp, "kube-system")) >= 2


def test_dry_run_makes_no_mutating_call_on_targets(env):
    cp, op = env
    ns = cp.create_namespace("dry")
    names = oh.make_pods(cp, ns, 4, {"app": "web"})
    spec = oh.pod_delete_spec({"app": "web"}, mode={"all": True})
    spec["safety"]["dryRun"] = True
    oh.apply(cp, ns, oh.experiment("plan", spec))

    obj = run_to_end(cp, op, ns, "plan")
    st = obj["status"]
    assert st["phase"] == "Completed" and "verdict" not in st, st
    assert st["message"].startswith("dry run:"), st
    assert st["targetCount"] == 4
    assert all(t["state"] == "Selected" for t in st["targets"])
    assert oh.pods(cp, ns) == names
    # Every write the operator made in this namespace was to the
    # experiment's status or an Event: nothing else, not even a
    # finalizer.
    writes = [w for w in oh.operator_writes(cp) if w[3] == ns]
    assert writes, "the audit log shows no write at all"
    for verb, res, sub, _, name, code in writes:
        assert (res, sub) in (("chaosexperiments", "status"),
                              ("events", "")), (verb, res, sub, name)
    assert "finalizers" not in obj["metadata"]


def test_mode_one_and_default_cap_on_a_small_population(env):
    cp, op = env
    ns = cp.create_namespace("cap")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    oh.make_pods(cp, ns, 1, {"app": "web"}, prefix="unready", ready=False)
    spec = oh.pod_delete_spec({"app": "web"}, mode={"all": True})
    del spec["safety"]  # default maxBlastRadius: 10%
    oh.apply(cp, ns, oh.experiment("capped", spec))
    st = run_to_end(cp, op, ns, "capped")["status"]
    # 10% of 3 eligible pods rounds down to 0, but a population that is
    # not empty always allows one; the unready pod is never eligible.
    assert st["targetCount"] == 1, st
    assert "maxBlastRadius 10%" in st["plan"], st
    assert st["targets"][0]["name"].startswith("app-")

    # minHealthy leaves no room: the run ends before touching anything.
    spec = oh.pod_delete_spec({"app": "web"}, mode={"count": 1})
    spec["safety"]["minHealthy"] = 2
    oh.apply(cp, ns, oh.experiment("too-few", spec))
    st = run_to_end(cp, op, ns, "too-few")["status"]
    assert st["verdict"] == "Error" and "minHealthy" in st["message"], st


def test_rerun_annotation_and_spec_change_start_new_runs(env):
    cp, op = env
    ns = cp.create_namespace("rerun")
    oh.make_pods(cp, ns, 6, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("again", oh.pod_delete_spec(
        {"app": "web"}, duration="1s")))
    first = run_to_end(cp, op, ns, "again")["status"]["runId"]

    cp.kubectl("annotate", "chaosexperiment", "again", "-n", ns,
               "faultline.dev/rerun=one")
    obj = harness.wait_until("a second run", lambda: (
        lambda o: o if o["status"].get("runId") != first and
        o["status"].get("phase") in oh.TERMINAL else None)(
            oh.get(cp, ns, "again")), 60, [op.proc])
    second = obj["status"]["runId"]
    assert obj["status"]["lastRerun"] == "one"

    spec = obj["spec"]
    spec["duration"] = "2s"
    oh.apply(cp, ns, oh.experiment("again", spec))
    obj = harness.wait_until("a third run", lambda: (
        lambda o: o if o["status"].get("observedGeneration") == 2 and
        o["status"].get("phase") in oh.TERMINAL else None)(
            oh.get(cp, ns, "again")), 60, [op.proc])
    runs = [h["runId"] for h in obj["status"]["history"]]
    assert runs[:2] == [first, second] and len(runs) == 3, runs
    assert obj["status"]["history"][2]["generation"] == 2
    assert len(oh.pods(cp, ns)) == 3


def test_abort_annotation_ends_the_run(env):
    cp, op = env
    ns = cp.create_namespace("abort")
    oh.make_pods(cp, ns, 2, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("long", oh.pod_delete_spec(
        {"app": "web"}, duration="10m")))
    oh.wait_phase(cp, ns, "long", "Observing", 60, [op.proc])
    cp.kubectl("annotate", "chaosexperiment", "long", "-n", ns,
               "faultline.dev/abort=now")
    obj = run_to_end(cp, op, ns, "long")
    st = obj["status"]
    assert st["phase"] == "Aborted" and st["verdict"] == "Aborted", st
    assert "AbortRequested" in st["message"]
    assert oh.condition(obj, "Ready")["status"] == "False"
    assert oh.condition(obj, "Complete")["status"] == "True"
    assert all(t["state"] == "Reverted" for t in st["targets"])


def test_kill_switch_aborts_running_experiments(env):
    cp, op = env
    ns = cp.create_namespace("kill")
    oh.make_pods(cp, ns, 4, {"app": "web"})
    for name in ("ks-a", "ks-b"):
        spec = oh.pod_delete_spec({"app": "web"}, duration="10m")
        oh.apply(cp, ns, oh.experiment(name, spec))
    for name in ("ks-a", "ks-b"):
        oh.wait_phase(cp, ns, name, "Observing", 60, [op.proc])
    cp.kubectl("annotate", "namespace", op.self_ns,
               "faultline.dev/kill-switch=true")
    try:
        for name in ("ks-a", "ks-b"):
            st = run_to_end(cp, op, ns, name)["status"]
            assert st["phase"] == "Aborted" and "KillSwitch" in \
                st["message"], st
        # Nothing new starts while it is engaged.
        oh.apply(cp, ns, oh.experiment("ks-c", oh.pod_delete_spec(
            {"app": "web"}, duration="1s")))
        assert op.metric("faultline_kill_switch") == 1
        assert "status" not in (oh.get(cp, ns, "ks-c") or {})
    finally:
        cp.kubectl("annotate", "namespace", op.self_ns,
                   "faultline.dev/kill-switch-")
    # Released: the waiting experiment runs.
    st = run_to_end(cp, op, ns, "ks-c")["status"]
    assert st["verdict"] == "Passed", st


def test_deleting_a_running_experiment_ends_it_first(env):
    cp, op = env
    ns = cp.create_namespace("del")
    oh.make_pods(cp, ns, 2, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("doomed", oh.pod_delete_spec(
        {"app": "web"}, duration="10m")))
    obj = oh.wait_phase(cp, ns, "doomed", "Observing", 60, [op.proc])
    uid = obj["metadata"]["uid"]
    cp.kubectl("delete", "chaosexperiment", "doomed", "-n", ns,
               "--wait=true", "--timeout=60s")
    assert oh.get(cp, ns, "doomed") is None
    # Before the finalizer came off, the run was written as ended.
    writes = [w for w in oh.operator_writes(cp) if w[3] == ns and
              w[4] == "doomed"]
    kinds = [(w[0], w[2]) for w in writes]
    last_status = max(i for i, k in enumerate(kinds) if k[1] == "status")
    finalizer_off = max(i for i, k in enumerate(kinds)
                        if k == ("patch", ""))
    assert last_status < finalizer_off, kinds
    logs = [line for line in op.log_lines()
            if line.get("name") == "doomed"]
    assert any("finalizer removed" in line.get("msg", "") for line in logs)
    assert uid


def test_metrics_and_health(env):
    cp, op = env
    status, text = op.get("/metrics")
    assert status == 200
    assert "# TYPE faultline_runs_total counter" in text
    assert "# TYPE faultline_reconcile_seconds histogram" in text
    assert op.metric("faultline_runs_total",
                     {"phase": "Completed", "verdict": "Passed"}) >= 1
    assert op.get("/healthz")[0] == 200
    status, body = op.get("/readyz")
    assert status == 200 and "leading" in body
    assert op.get("/nope")[0] == 404


def test_schedule_starts_runs_on_time(env):
    cp, op = env
    ns = cp.create_namespace("cron")
    oh.make_pods(cp, ns, 4, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("nightly", oh.pod_delete_spec(
        {"app": "web"}, duration="1s", schedule="* * * * *")))
    try:
        # No run at once: the first one waits for the next minute.
        obj = harness.wait_until("the next run time", lambda: (
            lambda o: o if o.get("status", {}).get("nextScheduleTime") else
            None)(oh.get(cp, ns, "nightly")), 30, [op.proc])
        first = obj["status"]["nextScheduleTime"]
        assert first.endswith(":00.000Z"), first
        assert "runId" not in obj["status"]
        obj = oh.wait_phase(cp, ns, "nightly", "Completed", 90, [op.proc])
    finally:
        # Left in place, it would start a run every minute under the
        # operators of the tests that follow, which watch every
        # namespace.
        cp.kubectl("delete", "chaosexperiment", "nightly", "-n", ns,
                   "--wait=true", "--timeout=60s", check=False)
    st = obj["status"]
    assert st["lastScheduleTime"] == first
    assert st["nextScheduleTime"] > first
    assert st["verdict"] == "Passed"
    started = st["phaseTimes"]["Pending"]
    assert started >= first, (started, first)


def epoch(ts):
    import datetime
    return datetime.datetime.fromisoformat(
        ts.replace("Z", "+00:00")).timestamp()


def test_staged_faults_inject_and_end_on_their_own_time(env):
    cp, op = env
    ns = cp.create_namespace("staged")
    oh.make_pods(cp, ns, 4, {"app": "web"})
    spec = oh.pod_delete_spec({"app": "web"}, duration="5s")
    spec["faults"] = [
        {"name": "first", "target": "web", "mode": {"count": 1},
         "duration": "1s", "podDelete": {}},
        {"name": "later", "target": "web", "mode": {"count": 2},
         "startAfter": "2s", "podDelete": {}}]
    oh.apply(cp, ns, oh.experiment("staged", spec))

    st = run_to_end(cp, op, ns, "staged")["status"]
    assert st["phase"] == "Completed" and st["verdict"] == "Passed", st
    t0 = epoch(st["phaseTimes"]["Injecting"])
    recovering = epoch(st["phaseTimes"]["Recovering"])
    (first,) = [t for t in st["targets"] if t["fault"] == "first"]
    later = [t for t in st["targets"] if t["fault"] == "later"]
    assert len(later) == 2, st["targets"]
    # The first fault at once, and over after its own 1s, well before
    # the run's 5s end.
    assert first["state"] == "Reverted", first
    assert epoch(first["injectedAt"]) - t0 < 2.0, (first, t0)
    assert 1.0 <= epoch(first["revertedAt"]) - t0, (first, t0)
    assert epoch(first["revertedAt"]) < recovering, (first, recovering)
    # The later fault waits for its startAfter.  It shares the target's
    # draw, so its first pick is the pod the first fault evicted, gone
    # by its turn; the other one it evicts, and it lasts to the end.
    (same,) = [t for t in later if t["name"] == first["name"]]
    (other,) = [t for t in later if t["name"] != first["name"]]
    assert same["state"] == "Skipped" and "injectedAt" not in same, same
    assert other["state"] == "Reverted", other
    assert epoch(other["injectedAt"]) - t0 >= 2.0, (other, t0)
    assert epoch(other["revertedAt"]) >= recovering, (other, recovering)
    assert oh.evictions(cp, ns) == sorted([first["name"], other["name"]])


def test_spec_change_to_another_kind_reverts_with_the_kind_injected(env):
    cp, op = env
    ns = cp.create_namespace("kind")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("switch", oh.pod_delete_spec(
        {"app": "web"}, duration="10m")))
    obj = oh.wait_phase(cp, ns, "switch", "Observing", 60, [op.proc])
    first = obj["status"]["runId"]
    # Same fault name, another kind (one this operator, started without
    # the agent channel, cannot carry out): the running podDelete must
    # still be reverted as a podDelete.
    spec = obj["spec"]
    spec["faults"][0] = {"name": "kill", "target": "web",
                         "mode": {"count": 1},
                         "networkLatency": {"delay": "100ms"}}
    oh.apply(cp, ns, oh.experiment("switch", spec))
    obj = harness.wait_until("the second generation's run to end", lambda: (
        lambda o: o if o["status"].get("observedGeneration") == 2 and
        o["status"].get("phase") in oh.TERMINAL else None)(
            oh.get(cp, ns, "switch")), 60, [op.proc])
    hist = obj["status"]["history"]
    assert [h["runId"] for h in hist][0] == first, hist
    assert hist[0]["phase"] == "Aborted", hist
    assert "SpecChanged" in hist[0]["message"], hist
    assert "networkLatency" in obj["status"]["message"], obj["status"]
    assert not [line for line in op.log_lines()
                if line.get("ns") == ns and
                "cannot revert" in line.get("msg", "")]


def set_status(cp, ns, name, status):
    cp.kubectl("patch", "chaosexperiment", name, "-n", ns,
               "--subresource=status", "--type=merge",
               "-p", json.dumps({"status": status}))


def test_abort_request_outlives_a_failing_revert(env):
    cp, op = env
    ns = cp.create_namespace("abrt")
    oh.make_pods(cp, ns, 2, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("stuck", oh.pod_delete_spec(
        {"app": "web"}, duration="10m")))
    obj = oh.wait_phase(cp, ns, "stuck", "Observing", 60, [op.proc])
    good = obj["status"]["targets"]
    # Status now says the target holds a fault of a kind this operator
    # does not know (as one from a newer version would): every revert of
    # it fails, as a revert whose API keeps failing would.
    set_status(cp, ns, "stuck", {"targets": [
        dict(t, fault="gone", kind="retiredKind", state="Reverting")
        for t in good]})
    cp.kubectl("annotate", "chaosexperiment", "stuck", "-n", ns,
               "faultline.dev/abort=now")

    def failed_reverts():
        return len([line for line in op.log_lines()
                    if line.get("ns") == ns and "cannot revert" in
                    line.get("msg", "")])
    harness.wait_until("the abort to be tried again (two failed reverts)",
                       lambda: failed_reverts() >= 2,
                       30, [op.proc])
    st = oh.get(cp, ns, "stuck")["status"]
    # Not done while a fault may remain: the request is still pending.
    assert st["phase"] == "Observing", st
    assert "lastAbort" not in st, st

    set_status(cp, ns, "stuck", {"targets": good})
    st = run_to_end(cp, op, ns, "stuck")["status"]
    assert st["phase"] == "Aborted" and "AbortRequested" in st["message"], st
    assert st["lastAbort"] == "now"
    assert all(t["state"] == "Reverted" for t in st["targets"]), st


def test_long_rerun_value_starts_one_run(env):
    cp, op = env
    ns = cp.create_namespace("longrr")
    oh.make_pods(cp, ns, 6, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("long", oh.pod_delete_spec(
        {"app": "web"}, duration="1s")))
    first = run_to_end(cp, op, ns, "long")["status"]["runId"]

    def run_after(prev):
        return harness.wait_until("another run", lambda: (
            lambda o: o if o["status"].get("runId") != prev and
            o["status"].get("phase") in oh.TERMINAL else None)(
                oh.get(cp, ns, "long")), 60, [op.proc])

    # Longer than status keeps (256 characters): acted on once, and
    # remembered in the form status keeps, cut at a character boundary
    # within 256 bytes.
    value = "x" + "é" * 300
    cp.kubectl("annotate", "chaosexperiment", "long", "-n", ns,
               f"faultline.dev/rerun={value}")
    st = run_after(first)["status"]
    second = st["runId"]
    assert st["lastRerun"] == "x" + "é" * 127, st["lastRerun"]
    cp.kubectl("annotate", "--overwrite", "chaosexperiment", "long", "-n",
               ns, "faultline.dev/rerun=short")
    st = run_after(second)["status"]
    assert [h["runId"] for h in st["history"]] == \
        [first, second, st["runId"]], st["history"]


def test_kill_switch_unreadable_stops_the_operator(control_plane):
    cp = control_plane
    kubeconfig = oh.install_without(cp, "faultline-noget", "namespaces",
                                    "get")
    self_ns = cp.create_namespace("op")
    op = oh.Operator(cp, kubeconfig, self_ns, args=["--leader-elect=false"],
                     name="op-noget")
    try:
        try:
            op.start()
        except harness.HarnessError:
            pass  # it may exit before /metrics answers
        code = op.wait_exit(timeout=30)
    finally:
        op.stop()
    assert code == 1, f"exit {code}{op.describe()}"
    assert any("cannot read namespace" in line.get("msg", "")
               for line in op.log_lines()), op.describe()


def test_plan_larger_than_status_holds_fails_at_once(env):
    cp, op = env
    ns = cp.create_namespace("huge")
    count = 1025  # status.targets holds at most 1024
    pods = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": f"p-{i}", "namespace": ns,
                      "labels": {"app": "many"}},
         "spec": {"containers": [{"name": "app",
                                  "image": "registry.invalid/app:1"}]}}
        for i in range(count)]}
    cp.kubectl("create", "-f", "-", input=json.dumps(pods))
    # Running and Ready, in one kubectl call rather than one per pod.
    listed = json.loads(cp.kubectl("get", "pods", "-n", ns, "-o",
                                   "json").stdout)
    for pod in listed["items"]:
        pod["status"] = {"phase": "Running", "podIP": "10.1.0.1",
                         "conditions": [{
                             "type": "Ready", "status": "True",
                             "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    cp.kubectl("replace", "--subresource=status", "-f", "-",
               input=json.dumps(listed))
    oh.apply(cp, ns, oh.experiment("huge", oh.pod_delete_spec(
        {"app": "many"}, mode={"all": True})))

    st = run_to_end(cp, op, ns, "huge", timeout=120)["status"]
    assert st["phase"] == "Failed" and st["verdict"] == "Error", st
    assert f"{count} targets" in st["message"], st["message"]
    assert not st.get("targets")
    assert oh.evictions(cp, ns) == []
