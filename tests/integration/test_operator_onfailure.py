"""spec.onFailure on the real control plane with the real operator: when
the hypothesis fails, Deployments go back to their previous revision and
a webhook on loopback is told, once; a run that passes does neither.

There is no kube-controller-manager here, so the test plays the
Deployment controller: it makes the Deployment, the ReplicaSets it owns
(each with its revision annotation and its pod-template-hash), and sets
the Deployment's revision annotation and template to the newest one.  A
run is made to fail by an http probe whose app the test turns to 503
while the run is Observing."""

import copy
import http.server
import json
import threading
import time

import pytest

import harness
import opharness as oh

TOKEN = "s3cret-token-never-logged"


class App:
    """/healthz on 127.0.0.1 answering 200, or 503 once told."""

    def __init__(self):
        self.healthy = True
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                code = 200 if app.healthy else 503
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/healthz"
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Hook:
    """A webhook receiver on 127.0.0.1: records every request (method,
    path, headers, body) and answers with self.code."""

    def __init__(self, code=200):
        self.code = code
        self.requests = []
        self.lock = threading.Lock()
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with hook.lock:
                    hook.requests.append({
                        "at": time.monotonic(),
                        "method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in
                                    self.headers.items()},
                        "body": body})
                self.send_response(hook.code)
                if 300 <= hook.code < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def received(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def kubeconfig(control_plane):
    return oh.install(control_plane)


@pytest.fixture
def env(control_plane, kubeconfig):
    """An operator for one test: every operator watches every namespace,
    so none may outlive its test (the restart tests run their own)."""
    op = oh.Operator(control_plane, kubeconfig,
                     control_plane.create_namespace("op"),
                     args=["--leader-elect=false"])
    op.start()
    yield control_plane, op
    op.stop()


@pytest.fixture
def app():
    a = App()
    yield a
    a.close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


# -- playing the Deployment controller ----------------------------------------


def template(app_label, image, pod_hash=None):
    labels = {"app": app_label}
    if pod_hash:
        labels["pod-template-hash"] = pod_hash
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": image}]}}


def kget(cp, ns, kind, name):
    return json.loads(cp.kubectl("get", kind, name, "-n", ns, "-o",
                                 "json").stdout)


def make_deployment(cp, ns, name, revisions):
    """A Deployment at revision len(revisions), and one ReplicaSet it owns
    per image in revisions (revision 1 first).  Returns the ReplicaSets
    as the API server keeps them, by revision."""
    label = f"{name}-app"
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"replicas": 1,
                    "selector": {"matchLabels": {"app": label}},
                    "template": template(label, revisions[-1])}}
    cp.kubectl("apply", "-f", "-", input=json.dumps(dep))
    uid = kget(cp, ns, "deployment", name)["metadata"]["uid"]
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
             "uid": uid, "controller": True, "blockOwnerDeletion": True}
    # A ReplicaSet that matches the selector, sorts first and carries
    # revision 1, but belongs to another owner: never the one to go back
    # to.
    make_rs(cp, ns, f"{name}-0decoy", label, "0decoy", "1",
            "registry.invalid/decoy:1",
            dict(owner, uid="00000000-0000-0000-0000-000000000000",
                 name="other"))
    out = {}
    for rev, image in enumerate(revisions, start=1):
        pod_hash = f"h{rev}x{len(revisions)}"
        out[rev] = make_rs(cp, ns, f"{name}-{pod_hash}", label, pod_hash,
                           str(rev), image, owner)
    cp.kubectl("annotate", "deployment", name, "-n", ns, "--overwrite",
               f"deployment.kubernetes.io/revision={len(revisions)}")
    return out


def make_rs(cp, ns, name, label, pod_hash, revision, image, owner):
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": name, "namespace": ns,
                       "labels": {"app": label,
                                  "pod-template-hash": pod_hash},
                       "annotations": {
                           "deployment.kubernetes.io/revision": revision},
                       "ownerReferences": [owner]},
          "spec": {"replicas": 0,
                   "selector": {"matchLabels": {
                       "app": label, "pod-template-hash": pod_hash}},
                   "template": template(label, image, pod_hash)}}
    cp.kubectl("apply", "-f", "-", input=json.dumps(rs))
    return kget(cp, ns, "replicaset", name)


def without_hash(rs):
    t = copy.deepcopy(rs["spec"]["template"])
    del t["metadata"]["labels"]["pod-template-hash"]
    return t


def deployment_patches(cp, ns, name):
    return [w for w in oh.operator_writes(cp)
            if w[1] == "deployments" and w[3] == ns and w[4] == name and
            w[0] in ("patch", "update")]


# -- runs ----------------------------------------------------------------------


def spec(app, on_failure, duration="4s", **extra):
    s = oh.pod_delete_spec({"app": "web"}, duration=duration)
    s["probes"] = [{"name": "health", "interval": "300ms", "timeout": "1s",
                    "http": {"url": app.url, "expectStatus": [200]}}]
    # The app stays down: the hypothesis does not hold again within
    # maxRecoveryTime, and the verdict is Failed.
    s["successCriteria"] = {"maxRecoveryTime": "1s"}
    s["onFailure"] = on_failure
    s.update(extra)
    return s


def start_failing_run(cp, procs, ns, name, app, on_failure, **extra):
    """Starts a run and turns its app to 503 once it is Observing."""
    oh.make_pods(cp, ns, 3, {"app": "web"})
    oh.apply(cp, ns, oh.experiment(name, spec(app, on_failure, **extra)))
    oh.wait_phase(cp, ns, name, "Observing", 60, procs)
    app.healthy = False


def on_failure_spec(hook, deployments, ns=None):
    return {"rollback": [dict({"kind": "Deployment", "name": d},
                              **({"namespace": ns} if ns else {}))
                         for d in deployments],
            "notify": {"webhook": {"url": hook.url, "headers": {
                "Authorization": f"Bearer {TOKEN}",
                "X-Faultline-Test": "yes"}}}}


def logs_text(op):
    return "\n".join(json.dumps(line) for line in op.log_lines())


def test_failed_run_rolls_back_and_notifies(env, app, hook):
    cp, op = env
    ns = cp.create_namespace("undo")
    other = cp.create_namespace("undo-other")
    rs = make_deployment(cp, ns, "shop", ["registry.invalid/shop:1",
                                          "registry.invalid/shop:2"])
    rs_other = make_deployment(cp, other, "cart", [
        "registry.invalid/cart:1", "registry.invalid/cart:2",
        "registry.invalid/cart:3"])
    of = on_failure_spec(hook, ["shop"])
    of["rollback"].append({"kind": "Deployment", "name": "cart",
                           "namespace": other})
    start_failing_run(cp, [op.proc], ns, "fails", app, of)
    obj = oh.wait_phase(cp, ns, "fails", oh.TERMINAL, 60, [op.proc])
    st = obj["status"]
    assert st["phase"] == "Completed" and st["verdict"] == "Failed", st

    # The rollback restored the previous template on the API server.
    dep = kget(cp, ns, "deployment", "shop")
    assert dep["spec"]["template"] == without_hash(rs[1]), dep
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.invalid/shop:1"
    dep = kget(cp, other, "deployment", "cart")
    assert dep["spec"]["template"] == without_hash(rs_other[2]), dep
    assert len(deployment_patches(cp, ns, "shop")) == 1
    assert len(deployment_patches(cp, other, "cart")) == 1

    rec = st["onFailure"]
    assert rec["runId"] == st["runId"]
    shop, cart = rec["rollbacks"]
    assert (shop["name"], shop["namespace"], shop["state"],
            shop["fromRevision"], shop["toRevision"],
            shop["replicaSet"]) == ("shop", ns, "RolledBack", 2, 1,
                                    rs[1]["metadata"]["name"]), shop
    assert (cart["namespace"], cart["state"], cart["fromRevision"],
            cart["toRevision"]) == (other, "RolledBack", 3, 2), cart
    note = rec["notification"]
    assert (note["state"], note["code"], note["attempts"]) == \
        ("Sent", 200, 1), note

    # The webhook got one POST, as JSON, with the configured headers.
    (req,) = hook.received()
    assert req["method"] == "POST" and req["path"] == "/notify"
    assert req["headers"]["content-type"] == "application/json"
    assert req["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert req["headers"]["x-faultline-test"] == "yes"
    body = json.loads(req["body"])
    assert body["experiment"] == {"namespace": ns, "name": "fails",
                                  "uid": obj["metadata"]["uid"]}
    assert body["runId"] == st["runId"]
    assert body["verdict"] == "Failed"
    assert body["message"] == st["message"]
    assert body["phaseTimes"]["Injecting"] == st["phaseTimes"]["Injecting"]
    assert body["phaseTimes"]["Recovering"] == \
        st["phaseTimes"]["Recovering"]
    assert sorted((t["name"], t["state"]) for t in body["targets"]) == \
        sorted((t["name"], t["state"]) for t in st["targets"])
    (probe,) = body["probes"]
    assert (probe["name"], probe["baseline"], probe["during"]) == \
        ("health", "Passed", "Failed"), probe
    assert probe["passRate"] == st["probes"][0]["passRate"] < 100
    assert body["availability"] == st["availability"] < 100
    assert "recoveryTime" in body
    assert [(r["name"], r["state"], r["fromRevision"], r["toRevision"])
            for r in body["onFailure"]["rollbacks"]] == \
        [("shop", "RolledBack", 2, 1), ("cart", "RolledBack", 3, 2)]

    # Header values (tokens) never reach the log.
    assert TOKEN not in logs_text(op)


def test_passed_run_does_neither(env, app, hook):
    cp, op = env
    ns = cp.create_namespace("pass")
    make_deployment(cp, ns, "shop", ["registry.invalid/shop:1",
                                     "registry.invalid/shop:2"])
    before = kget(cp, ns, "deployment", "shop")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    oh.apply(cp, ns, oh.experiment("fine", spec(
        app, on_failure_spec(hook, ["shop"]), duration="2s")))
    st = oh.wait_phase(cp, ns, "fine", oh.TERMINAL, 60, [op.proc])["status"]
    assert st["verdict"] == "Passed", st
    assert "onFailure" not in st
    assert hook.received() == []
    assert deployment_patches(cp, ns, "shop") == []
    after = kget(cp, ns, "deployment", "shop")
    assert after["spec"]["template"] == before["spec"]["template"]
    assert after["metadata"]["resourceVersion"] == \
        before["metadata"]["resourceVersion"]


def test_no_previous_revision_and_failing_webhook(env, app):
    """Aborted by a probe: a Deployment with one revision cannot be rolled
    back, one that does not exist neither; a webhook that answers 500 is
    tried three times, then given up.  The run still ends."""
    cp, op = env
    ns = cp.create_namespace("norev")
    make_deployment(cp, ns, "lonely", ["registry.invalid/lonely:1"])
    before = kget(cp, ns, "deployment", "lonely")
    failing = Hook(code=500)
    try:
        of = on_failure_spec(failing, ["lonely", "missing"])
        of["rollback"].append({"kind": "Deployment", "name": "operator",
                               "namespace": op.self_ns})
        start_failing_run(cp, [op.proc], ns, "stop", app, of,
                          duration="10m",
                          safety={"maxBlastRadius": 100,
                                  "abortWhen": {"probeFailures": 2,
                                                "probes": ["health"]}})
        st = oh.wait_phase(cp, ns, "stop", oh.TERMINAL, 60,
                           [op.proc])["status"]
        received = failing.received()
    finally:
        failing.close()
    assert st["phase"] == "Aborted" and "ProbeFailed" in st["message"], st
    lonely, missing, protected = st["onFailure"]["rollbacks"]
    assert protected["state"] == "Failed", protected
    assert protected["reason"].startswith("refused to touch ") and \
        op.self_ns in protected["reason"], protected
    assert deployment_patches(cp, op.self_ns, "operator") == []
    assert lonely["state"] == "Failed", lonely
    assert "no revision before 1 to roll back to" in lonely["reason"]
    assert f"deployment '{ns}/lonely'" in lonely["reason"]
    assert missing["state"] == "Failed", missing
    assert f"deployment '{ns}/missing' not found" in missing["reason"]
    assert deployment_patches(cp, ns, "lonely") == []
    assert kget(cp, ns, "deployment", "lonely")["metadata"][
        "resourceVersion"] == before["metadata"]["resourceVersion"]

    note = st["onFailure"]["notification"]
    assert (note["state"], note["code"], note["attempts"]) == \
        ("Failed", 500, 3), note
    assert "answered 500" in note["reason"]
    assert len(received) == 3
    bodies = [json.loads(r["body"]) for r in received]
    assert {b["runId"] for b in bodies} == {st["runId"]}
    assert bodies[0]["verdict"] == "Aborted"
    assert [r["state"] for r in bodies[0]["onFailure"]["rollbacks"]] == \
        ["Failed", "Failed", "Failed"]
    # The attempts were spaced (1s, then 2s), not fired back to back.
    gaps = [b["at"] - a["at"] for a, b in zip(received, received[1:])]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps
    assert TOKEN not in logs_text(op)


def test_redirect_is_not_followed(env, app):
    cp, op = env
    ns = cp.create_namespace("redir")
    moved = Hook(code=302)
    try:
        of = on_failure_spec(moved, [])
        del of["rollback"]
        start_failing_run(cp, [op.proc], ns, "moved", app, of)
        st = oh.wait_phase(cp, ns, "moved", oh.TERMINAL, 60,
                           [op.proc])["status"]
        received = moved.received()
    finally:
        moved.close()
    note = st["onFailure"]["notification"]
    assert (note["state"], note["code"], note["attempts"]) == \
        ("Failed", 302, 1), note
    assert [r["path"] for r in received] == ["/notify"]
    assert "rollbacks" not in st["onFailure"]


@pytest.mark.parametrize("point", ["on-failure-recorded",
                                   "on-failure-patched",
                                   "on-failure-before-post"])
def test_sigkill_then_restart_acts_once(control_plane, kubeconfig, app,
                                        hook, point):
    cp = control_plane
    ns = cp.create_namespace("crash")
    rs = make_deployment(cp, ns, "shop", ["registry.invalid/shop:1",
                                          "registry.invalid/shop:2"])
    op = oh.Operator(cp, kubeconfig, cp.create_namespace("op"),
                     args=["--leader-elect=false"])
    try:
        op.start(extra_env={"FAULTLINE_FAILPOINTS": point})
        start_failing_run(cp, [op.proc], ns, "crash", app,
                          on_failure_spec(hook, ["shop"]))
        code = op.wait_exit(timeout=60)
        assert code in (9, -9), f"exit {code}{op.describe()}"
        assert any(f"failpoint {point}" in line.get("raw", "")
                   for line in op.log_lines()), op.describe()
        before = oh.get(cp, ns, "crash")["status"]
        posts_before = len(hook.received())
        template_before = kget(cp, ns, "deployment", "shop")["spec"][
            "template"]

        op.start()
        obj = oh.wait_phase(cp, ns, "crash", oh.TERMINAL, 60, [op.proc])
    finally:
        op.stop()
    st = obj["status"]
    assert st["verdict"] == "Failed" and st["runId"] == before["runId"], st

    # What was recorded before the kill.
    (shop,) = before["onFailure"]["rollbacks"]
    if point == "on-failure-before-post":
        assert shop["state"] == "RolledBack", shop
        assert before["onFailure"]["notification"]["state"] == "Sending"
        assert before["onFailure"]["notification"]["attempts"] == 1
        assert posts_before == 0
    else:
        assert (shop["state"], shop["toRevision"]) == ("RollingBack", 1)
        assert "notification" not in before["onFailure"]
        image = template_before["spec"]["containers"][0]["image"]
        assert image == ("registry.invalid/shop:2"
                         if point == "on-failure-recorded" else
                         "registry.invalid/shop:1"), image

    # Rolled back once, to revision 1, and notified once after.
    dep = kget(cp, ns, "deployment", "shop")
    assert dep["spec"]["template"] == without_hash(rs[1])
    patches = deployment_patches(cp, ns, "shop")
    assert [(w[0], w[5]) for w in patches] == [("patch", 200)], patches
    (shop,) = st["onFailure"]["rollbacks"]
    assert (shop["state"], shop["fromRevision"], shop["toRevision"]) == \
        ("RolledBack", 2, 1), shop
    (req,) = hook.received()
    assert json.loads(req["body"])["onFailure"]["rollbacks"][0][
        "state"] == "RolledBack"
    note = st["onFailure"]["notification"]
    assert note["state"] == "Sent"
    assert note["attempts"] == (2 if point == "on-failure-before-post"
                                else 1)
    assert [h["runId"] for h in st["history"]] == [st["runId"]]
    # This operator, restarted, is the one that finished the run.
    assert any("notified" in line.get("msg", "")
               for line in op.log_lines()), op.describe()


def test_new_rollout_after_the_choice_is_left_alone(control_plane,
                                                    kubeconfig, app, hook):
    """The operator dies once the rollback's target is recorded; before it
    is back, someone rolls out revision 3.  The restarted operator does
    not overwrite it: the rollback fails, saying why."""
    cp = control_plane
    ns = cp.create_namespace("moved")
    rs = make_deployment(cp, ns, "shop", ["registry.invalid/shop:1",
                                          "registry.invalid/shop:2"])
    op = oh.Operator(cp, kubeconfig, cp.create_namespace("op"),
                     args=["--leader-elect=false"])
    try:
        op.start(extra_env={"FAULTLINE_FAILPOINTS": "on-failure-recorded"})
        start_failing_run(cp, [op.proc], ns, "moved", app,
                          on_failure_spec(hook, ["shop"]))
        code = op.wait_exit(timeout=60)
        assert code in (9, -9), f"exit {code}{op.describe()}"
        owner = rs[2]["metadata"]["ownerReferences"][0]
        make_rs(cp, ns, "shop-h3", "shop-app", "h3", "3",
                "registry.invalid/shop:3", owner)
        cp.kubectl("patch", "deployment", "shop", "-n", ns, "--type=json",
                   "-p", json.dumps([
                       {"op": "replace", "path": "/spec/template",
                        "value": template("shop-app",
                                          "registry.invalid/shop:3")},
                       {"op": "replace", "path": "/metadata/annotations/"
                        "deployment.kubernetes.io~1revision",
                        "value": "3"}]))
        op.start()
        st = oh.wait_phase(cp, ns, "moved", oh.TERMINAL, 60,
                           [op.proc])["status"]
    finally:
        op.stop()
    (shop,) = st["onFailure"]["rollbacks"]
    assert shop["state"] == "Failed", shop
    assert "moved on to revision 3" in shop["reason"], shop
    assert deployment_patches(cp, ns, "shop") == []
    dep = kget(cp, ns, "deployment", "shop")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.invalid/shop:3"
    assert st["onFailure"]["notification"]["state"] == "Sent"
    (req,) = hook.received()
    assert json.loads(req["body"])["onFailure"]["rollbacks"][0][
        "state"] == "Failed"


def test_abort_stays_decided_while_onfailure_retries(env, app):
    """Aborted by a probe while the webhook keeps failing: the app turns
    healthy again between the attempts, and the run still ends Aborted,
    every fault reverted, instead of carrying on half reverted."""
    cp, op = env
    ns = cp.create_namespace("decided")
    failing = Hook(code=500)
    try:
        start_failing_run(cp, [op.proc], ns, "stop", app,
                          on_failure_spec(failing, []), duration="10m",
                          safety={"maxBlastRadius": 100,
                                  "abortWhen": {"probeFailures": 1}})
        harness.wait_until("the first notification attempt",
                           lambda: failing.received(), 60, [op.proc])
        mid = oh.get(cp, ns, "stop")["status"]
        app.healthy = True
        st = oh.wait_phase(cp, ns, "stop", oh.TERMINAL, 60,
                           [op.proc])["status"]
    finally:
        failing.close()
    assert mid.get("ending", {}).get("reason") == "ProbeFailed", mid
    assert st["phase"] == "Aborted" and "ProbeFailed" in st["message"], st
    assert "ending" not in st
    assert all(t["state"] == "Reverted" for t in st["targets"]), st
    assert st["onFailure"]["notification"]["attempts"] == 3
