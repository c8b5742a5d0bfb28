"""Specs that slip past the CRD (an older, looser CRD; hand-crafted
JSON) end in Stalled with a message naming the field, once, and the
operator keeps running: no crash, no loop of writes.  Fixing the spec
starts a run."""

import json

import pytest
import yaml

import harness
import opharness as oh

BAD = {
    # name: (spec, text the message must contain)
    "bad-duration": ({"duration": "forever"}, "spec.duration"),
    "bad-target": ({"faults": [{"name": "kill", "target": "nowhere",
                                "mode": {"count": 1}, "podDelete": {}}]},
                   "spec.faults[0].target"),
    "bad-mode": ({"faults": [{"name": "kill", "target": "web",
                              "mode": {"count": 0}, "podDelete": {}}]},
                 "spec.faults[0].mode"),
    "bad-type": ({"duration": 5}, "spec.duration"),
    "two-kinds": ({"faults": [{"name": "kill", "target": "web",
                               "podDelete": {},
                               "cpuStress": {"workers": 1}}]},
                  "spec.faults[0]"),
    "bad-schedule": ({"schedule": "61 * * * *"}, "spec.schedule"),
}


@pytest.fixture(scope="module")
def loose(tmp_path_factory):
    """The CRD with its schema and rules taken out, as an older CRD
    might let anything in."""
    crd = yaml.safe_load(oh.CRD.read_text())
    for v in crd["spec"]["versions"]:
        v["schema"] = {"openAPIV3Schema": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    path = tmp_path_factory.mktemp("crd") / "loose.yaml"
    path.write_text(yaml.safe_dump(crd))
    cp = harness.ControlPlane()
    try:
        cp.start()
        kubeconfig = oh.install(cp, crd=path)
        op = oh.Operator(cp, kubeconfig, cp.create_namespace("op"),
                         args=["--leader-elect=false"])
        op.start()
        yield cp, op
    finally:
        if "op" in locals():
            op.stop()
        cp.stop()


def test_bad_specs_stall_with_a_clear_message(loose):
    cp, op = loose
    ns = cp.create_namespace("stall")
    oh.make_pods(cp, ns, 2, {"app": "web"})
    for name, (patch, field) in BAD.items():
        spec = oh.pod_delete_spec({"app": "web"})
        spec.update(patch)
        oh.apply(cp, ns, oh.experiment(name, spec))
    for name, (patch, field) in BAD.items():
        obj = oh.wait_phase(cp, ns, name, "Failed", 60, [op.proc])
        st = obj["status"]
        stalled = oh.condition(obj, "Stalled")
        assert stalled["status"] == "True", st
        assert stalled["reason"] == "InvalidSpec"
        assert field in stalled["message"], (name, stalled["message"])
        assert st["verdict"] == "Error"
        assert oh.condition(obj, "Complete")["status"] == "True"
        assert oh.condition(obj, "Ready")["status"] == "False"
        assert not st.get("targets")

    # Said once: a later reconcile (here, of an annotation change) does
    # not write status again.
    count = op.metric("faultline_reconcile_seconds_count")
    cp.kubectl("annotate", "chaosexperiment", "bad-duration", "-n", ns,
               "touch=1")
    touched = oh.get(cp, ns, "bad-duration")["metadata"]["resourceVersion"]
    harness.wait_until("the touched experiment to be reconciled", lambda:
                       op.metric("faultline_reconcile_seconds_count") >
                       count, 30, [op.proc])
    assert oh.get(cp, ns, "bad-duration")["metadata"]["resourceVersion"] \
        == touched
    assert op.proc.exit_status() is None
    assert op.get("/healthz")[0] == 200
    assert oh.evictions(cp, ns) == []

    # Fixed, the experiment runs.
    oh.apply(cp, ns, oh.experiment("bad-duration", oh.pod_delete_spec(
        {"app": "web"}, duration="1s")))
    obj = oh.wait_phase(cp, ns, "bad-duration", "Completed", 60, [op.proc])
    assert obj["status"]["verdict"] == "Passed"
    assert oh.condition(obj, "Stalled")["status"] == "False"


def test_hand_crafted_json_missing_everything(loose):
    cp, op = loose
    ns = cp.create_namespace("raw")
    for name, spec in (("no-spec", None), ("empty", {}),
                       ("wrong-shape", {"targets": "pods please"}),
                       ("huge-count", {"faults": [{"mode": {"count": 1e30}}]})):
        obj = {"apiVersion": "faultline.dev/v1alpha1",
               "kind": "ChaosExperiment", "metadata": {"name": name}}
        if spec is not None:
            obj["spec"] = spec
        cp.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(obj))
    for name in ("no-spec", "empty", "wrong-shape", "huge-count"):
        obj = oh.wait_phase(cp, ns, name, "Failed", 60, [op.proc])
        stalled = oh.condition(obj, "Stalled")
        assert stalled["status"] == "True" and "spec" in \
            stalled["message"], stalled
    assert op.proc.exit_status() is None


def test_stall_after_a_run_keeps_that_run_in_history(loose):
    cp, op = loose
    ns = cp.create_namespace("hist")
    oh.make_pods(cp, ns, 2, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("kept", oh.pod_delete_spec(
        {"app": "web"}, duration="1s")))
    done = oh.wait_phase(cp, ns, "kept", "Completed", 60, [op.proc])
    first = done["status"]["runId"]

    spec = oh.pod_delete_spec({"app": "web"}, duration="forever")
    oh.apply(cp, ns, oh.experiment("kept", spec))
    obj = harness.wait_until("the stall", lambda: (
        lambda o: o if o["status"].get("observedGeneration") == 2 and
        o["status"].get("phase") == "Failed" else None)(
            oh.get(cp, ns, "kept")), 60, [op.proc])
    st = obj["status"]
    assert oh.condition(obj, "Stalled")["status"] == "True", st
    hist = st["history"]
    assert [h["runId"] for h in hist][0] == first, hist
    assert hist[0]["verdict"] == "Passed", hist
    assert len(hist) == 2 and hist[1]["verdict"] == "Error", hist
    assert st["runId"] == hist[1]["runId"] != first, st
    assert not st.get("targets"), st
