"""The GitOps health checks of deploy/gitops, evaluated by real
interpreters (Lua 5.1, the dialect of Argo CD's gopher-lua, with cjson;
and cel-python for Flux's CEL expressions) against experiments the real
operator ran to each end on the real API server."""

import json
import os
import subprocess

import celpy
import pytest
import yaml

import opharness as oh

GITOPS = oh.REPO / "deploy" / "gitops"

LUA_RUNNER = """
local cjson = require("cjson")
obj = cjson.decode(io.read("*a"))
local hs = dofile(os.getenv("HEALTH_SCRIPT"))
io.write(hs.status, "\\n", hs.message or "", "\\n")
"""


def argocd(obj):
    r = subprocess.run(["lua5.1", "-e", LUA_RUNNER],
                       input=json.dumps(obj), capture_output=True, text=True,
                       timeout=30, env={**os.environ, "HEALTH_SCRIPT":
                                        str(GITOPS / "argocd-health.lua")})
    assert r.returncode == 0, r.stderr
    status, message = r.stdout.split("\n", 1)
    return status, message.strip()


def flux(obj):
    """Flux's order: inProgress, failed, current; else unknown."""
    with open(GITOPS / "flux-health.yaml") as f:
        (check,) = yaml.safe_load(f)["spec"]["healthCheckExprs"]
    env = celpy.Environment()
    activation = {k: celpy.json_to_cel(v) for k, v in obj.items()}
    for key in ("inProgress", "failed", "current"):
        prog = env.program(env.compile(check[key]))
        if prog.evaluate(activation):
            return key
    return "unknown"


@pytest.fixture(scope="module")
def runs(control_plane):
    """One experiment per end: in progress, passed, failed, aborted."""
    cp = control_plane
    kubeconfig = oh.install(cp)
    op = oh.Operator(cp, kubeconfig, cp.create_namespace("op"),
                     args=["--leader-elect=false"])
    op.start()
    try:
        ns = cp.create_namespace("gitops")
        oh.make_pods(cp, ns, 4, {"app": "web"})
        oh.make_pods(cp, ns, 2, {"app": "db"}, prefix="db")
        oh.apply(cp, ns, {"apiVersion": "policy/v1",
                          "kind": "PodDisruptionBudget",
                          "metadata": {"name": "db"},
                          "spec": {"minAvailable": 2, "selector": {
                              "matchLabels": {"app": "db"}}}})
        oh.apply(cp, ns, oh.experiment("passes", oh.pod_delete_spec(
            {"app": "web"}, duration="1s")))
        oh.apply(cp, ns, oh.experiment("fails", oh.pod_delete_spec(
            {"app": "db"}, duration="1s")))
        oh.apply(cp, ns, oh.experiment("running", oh.pod_delete_spec(
            {"app": "web"}, duration="10m")))
        out = {
            "passed": oh.wait_phase(cp, ns, "passes", "Completed", 60,
                                    [op.proc]),
            "failed": oh.wait_phase(cp, ns, "fails", "Completed", 60,
                                    [op.proc]),
            "running": oh.wait_phase(cp, ns, "running", "Observing", 60,
                                     [op.proc]),
        }
        cp.kubectl("annotate", "chaosexperiment", "running", "-n", ns,
                   "faultline.dev/abort=1")
        out["aborted"] = oh.wait_phase(cp, ns, "running", "Aborted", 60,
                                       [op.proc])
        yield out
    finally:
        op.stop()


@pytest.mark.parametrize("end,argo,fl", [
    ("running", "Progressing", "inProgress"),
    ("passed", "Healthy", "current"),
    ("failed", "Degraded", "failed"),
    ("aborted", "Degraded", "failed"),
])
def test_health_of_each_end(runs, end, argo, fl):
    obj = runs[end]
    status, message = argocd(obj)
    assert status == argo, (status, message, obj["status"])
    assert flux(obj) == fl
    if argo == "Degraded":
        assert obj["status"]["verdict"] in message


def test_a_new_generation_not_yet_seen_is_in_progress(runs):
    obj = json.loads(json.dumps(runs["passed"]))
    obj["metadata"]["generation"] += 1
    assert argocd(obj)[0] == "Progressing"
    assert flux(obj) == "inProgress"


def test_stalled_is_degraded(runs):
    # As the operator writes it for a spec it cannot run (see
    # test_operator_stall.py): the conditions of a finished run, with
    # Stalled set.
    obj = json.loads(json.dumps(runs["failed"]))
    for c in obj["status"]["conditions"]:
        if c["type"] == "Stalled":
            c.update(status="True", reason="InvalidSpec",
                     message="invalid spec: spec.duration: bad")
    assert argocd(obj) == ("Degraded", "invalid spec: spec.duration: bad")
    assert flux(obj) == "failed"
