"""The Kubernetes client (lib/kube.c) against a real kube-apiserver, through
tests/drivers/kube_driver: every verb, pagination, selectors, each patch
type, subresources, each class of error, exec-plugin and token-file
credentials, and TLS verification."""

import base64
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import harness


@pytest.fixture(scope="session")
def driver(build_dir):
    path = build_dir / "tests" / "drivers" / "kube_driver"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} missing: run make")
    return str(path)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        lines = [l for l in proc.stdout.splitlines() if l.strip()]
        self.outputs = [json.loads(l) for l in lines]
        self.out = self.outputs[-1] if self.outputs else None
        self.err = None
        if self.rc == 1 and proc.stderr.strip():
            self.err = json.loads(proc.stderr.strip().splitlines()[-1])

    def ok(self):
        assert self.rc == 0, f"driver failed: {self.stderr}"
        return self.out

    def failed(self, code, reason):
        assert self.rc == 1, f"expected a failure, got {self.stdout}"
        assert self.err["code"] == code, self.err
        assert self.err["reason"] == reason, self.err
        return self.err


def run(driver, kubeconfig, *args, body=None, env=None, timeout=120):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    proc = subprocess.run([driver, "--kubeconfig", kubeconfig, *args],
                          input=body, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return Result(proc)


@pytest.fixture
def kd(driver, control_plane):
    """Runs the driver as the admin of the session's control plane."""
    def call(*args, body=None, kubeconfig=None):
        return run(driver, kubeconfig or control_plane.kubeconfig, *args,
                   body=body)
    return call


@pytest.fixture
def ns(control_plane):
    return control_plane.create_namespace("kube-client")


def configmap(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}},
            "data": data or {"k": "v"}}


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]}}


CM = ("core", "v1", "configmaps")


# -- verbs ----------------------------------------------------------------


def test_create_get_update_delete(kd, ns):
    created = kd("create", *CM, ns, body=configmap("one")).ok()
    assert created["metadata"]["name"] == "one"
    got = kd("get", *CM, ns, "one").ok()
    assert got["data"] == {"k": "v"}

    got["data"] = {"k": "changed"}
    updated = kd("update", *CM, ns, "one", body=got).ok()
    assert updated["data"] == {"k": "changed"}
    assert (updated["metadata"]["resourceVersion"]
            != got["metadata"]["resourceVersion"])

    # The resourceVersion in the body is a precondition: the old one is
    # stale now.
    got["data"] = {"k": "stale"}
    err = kd("update", *CM, ns, "one", body=got).failed(409, "Conflict")
    assert "modified" in err["message"]

    # Creating it again is a conflict of another kind.
    kd("create", *CM, ns, body=configmap("one")).failed(409, "AlreadyExists")

    # Delete preconditions: a wrong uid is refused, the right one works.
    kd("delete", *CM, ns, "one", "--uid", "not-the-uid").failed(
        409, "Conflict")
    kd("delete", *CM, ns, "one", "--uid", updated["metadata"]["uid"],
       "--rv", updated["metadata"]["resourceVersion"],
       "--propagation", "Background", "--grace", "0").ok()
    err = kd("get", *CM, ns, "one").failed(404, "NotFound")
    assert '"one"' in err["message"]


def test_cluster_scoped_and_group_resources(kd, control_plane):
    name = control_plane.create_namespace("scoped")
    got = kd("get", "core", "v1", "namespaces", "-", name).ok()
    assert got["metadata"]["name"] == name
    role = {"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{name}:reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"],
                       "verbs": ["get"]}]}
    made = kd("create", "rbac.authorization.k8s.io", "v1", "clusterroles",
              "-", body=role).ok()
    # The ':' in the name travels in the path.
    assert made["metadata"]["name"] == f"{name}:reader"
    kd("get", "rbac.authorization.k8s.io", "v1", "clusterroles", "-",
       f"{name}:reader").ok()
    kd("delete", "rbac.authorization.k8s.io", "v1", "clusterroles", "-",
       f"{name}:reader").ok()


def test_list_pagination_and_selectors(kd, ns):
    for i in range(25):
        labels = {"app": "paged", "parity": "odd" if i % 2 else "even"}
        kd("create", *CM, ns, body=configmap(f"cm-{i:02d}", labels)).ok()

    everything = kd("list", *CM, ns, "--limit", "10").ok()
    names = [o["metadata"]["name"] for o in everything["items"]]
    # kube-root-ca.crt is not there: no controller-manager publishes it.
    assert sorted(names) == [f"cm-{i:02d}" for i in range(25)]
    assert everything["pages"] == 3

    whole = kd("list", *CM, ns).ok()
    assert whole["pages"] == 1 and len(whole["items"]) == 25

    odd = kd("list", *CM, ns, "--selector", "app=paged,parity=odd",
             "--limit", "5").ok()
    assert len(odd["items"]) == 12 and odd["pages"] == 3
    # Spaces, parentheses and commas must be encoded in the query.
    either = kd("list", *CM, ns, "--selector",
                "parity in (odd, even),app!=other").ok()
    assert len(either["items"]) == 25
    one = kd("list", *CM, ns, "--field-selector",
             "metadata.name=cm-07").ok()
    assert [o["metadata"]["name"] for o in one["items"]] == ["cm-07"]
    kd("list", *CM, ns, "--selector", "not a selector (").failed(
        400, "BadRequest")


def deployment(name):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": 1,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {
                         "metadata": {"labels": {"app": name}},
                         "spec": {"containers": [
                             {"name": "app", "image": "busybox:1"},
                             {"name": "side", "image": "busybox:1"}]}}}}


DEPLOY = ("apps", "v1", "deployments")


def test_patch_types(kd, ns):
    kd("create", *DEPLOY, ns, body=deployment("web")).ok()

    out = kd("patch", "merge", *DEPLOY, ns, "web",
             body={"metadata": {"labels": {"patched": "merge"}}}).ok()
    assert out["metadata"]["labels"] == {"patched": "merge"}

    out = kd("patch", "json", *DEPLOY, ns, "web", body=[
        {"op": "replace", "path": "/spec/replicas", "value": 2}]).ok()
    assert out["spec"]["replicas"] == 2
    kd("patch", "json", *DEPLOY, ns, "web", body=[
        {"op": "test", "path": "/spec/replicas", "value": 7}]).failed(
            422, "Invalid")

    # Strategic merge: containers merge by name, so the other container
    # and the image stay; a merge patch would have replaced the list.
    out = kd("patch", "strategic", *DEPLOY, ns, "web", body={
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "MODE", "value": "x"}]}]}}}}
    ).ok()
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app", "side"]
    assert containers[0]["image"] == "busybox:1"
    assert containers[0]["env"] == [{"name": "MODE", "value": "x"}]


def test_server_side_apply_conflicts(kd, ns):
    def apply(manager, replicas, *extra):
        body = deployment("ssa")
        body["spec"]["replicas"] = replicas
        return kd("patch", "apply", *DEPLOY, ns, "ssa",
                  "--field-manager", manager, *extra, body=body)

    out = apply("team-a", 3).ok()
    assert out["spec"]["replicas"] == 3
    err = apply("team-b", 5).failed(409, "Conflict")
    assert "team-a" in err["message"]
    assert kd("get", *DEPLOY, ns, "ssa").ok()["spec"]["replicas"] == 3

    out = apply("team-b", 5, "--force").ok()
    assert out["spec"]["replicas"] == 5
    managers = {m["manager"] for m in out["metadata"]["managedFields"]}
    assert "team-b" in managers

    # Apply without a field manager is refused by the server.
    kd("patch", "apply", *DEPLOY, ns, "ssa",
       body=deployment("ssa")).failed(422, "Invalid")


POD = ("core", "v1", "pods")


def test_status_subresource(kd, ns):
    kd("create", *POD, ns, body=pod("st")).ok()
    out = kd("patch", "merge", *POD, ns, "st", "--sub", "status", body={
        "status": {"phase": "Running", "message": "set by the client"}}).ok()
    assert out["status"]["message"] == "set by the client"
    # Through status, a spec change is ignored.
    out = kd("patch", "merge", *POD, ns, "st", "--sub", "status",
             body={"spec": {"activeDeadlineSeconds": 30}}).ok()
    assert "activeDeadlineSeconds" not in out["spec"]
    got = kd("get", *POD, ns, "st", "--sub", "status").ok()
    assert got["status"]["phase"] == "Running"


def test_ephemeral_containers(kd, ns):
    kd("create", *POD, ns, body=pod("eph")).ok()
    patch = {"spec": {"ephemeralContainers": [{
        "name": "injector", "image": "faultline-sidecar:dev",
        "targetContainerName": "app",
        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}}
    out = kd("patch", "strategic", *POD, ns, "eph", "--sub",
             "ephemeralcontainers", body=patch).ok()
    names = [c["name"] for c in out["spec"]["ephemeralContainers"]]
    assert names == ["injector"]
    # Not allowed on an ephemeral container: ports.
    bad = {"spec": {"ephemeralContainers": [{
        "name": "second", "image": "x", "ports": [{"containerPort": 80}]}]}}
    kd("patch", "strategic", *POD, ns, "eph", "--sub",
       "ephemeralcontainers", body=bad).failed(422, "Invalid")


def test_eviction(kd, ns, control_plane):
    kd("create", *POD, ns, body=pod("victim")).ok()
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": "victim", "namespace": ns}}
    kd("create", *POD, ns, "victim", "--sub", "eviction",
       body=eviction).ok()

    def gone():
        r = kd("get", *POD, ns, "victim")
        return r.rc == 1 and r.err["code"] == 404
    harness.wait_until("evicted pod to disappear", gone, 30,
                       procs=(control_plane.apiserver,))
    kd("create", *POD, ns, "victim", "--sub", "eviction",
       body=eviction).failed(404, "NotFound")


def test_eviction_refused_by_budget_is_not_retried(kd, ns, control_plane):
    """A PodDisruptionBudget refuses an eviction with 429 (here with
    Retry-After, as no controller ever computes the budget): a policy
    answer, returned at once and sent only once."""
    kd("create", *POD, ns, body=pod("guarded")).ok()
    # A Pending pod may be evicted whatever the budget says.
    kd("patch", "merge", *POD, ns, "guarded", "--sub", "status",
       body={"status": {"phase": "Running"}}).ok()
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "guard"},
           "spec": {"minAvailable": 1,
                    "selector": {"matchLabels": {"app": "guarded"}}}}
    kd("create", "policy", "v1", "poddisruptionbudgets", ns, body=pdb).ok()
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": "guarded", "namespace": ns}}
    err = kd("create", *POD, ns, "guarded", "--sub", "eviction",
             body=eviction).failed(429, "TooManyRequests")
    assert "disruption budget" in err["message"]
    sent = [e for e in control_plane.audit_events()
            if e.get("objectRef", {}).get("subresource") == "eviction"
            and e["objectRef"].get("namespace") == ns]
    assert len(sent) == 1
    kd("get", *POD, ns, "guarded").ok()


def test_invalid_and_forbidden(kd, ns, control_plane):
    err = kd("create", *CM, ns, body=configmap("Bad_Name")).failed(
        422, "Invalid")
    assert "Bad_Name" in err["message"]
    restricted = control_plane.kubeconfig_for("restricted-user")
    err = kd("get", *CM, ns, "x", kubeconfig=restricted).failed(
        403, "Forbidden")
    assert "restricted-user" in err["message"]
    # A path that cannot be built is refused before anything is sent.
    kd("get", *CM, ns, "..").failed(0, "BadRequest")


def test_response_size_limit(kd, ns):
    kd("create", *CM, ns, body=configmap("big", data={"k": "x" * 4000})).ok()
    err = kd("get", *CM, ns, "big", "--max-body", "2000").failed(
        0, "ResponseTooLarge")
    assert "2000" in err["message"]
    kd("get", *CM, ns, "big", "--max-body", "100000").ok()


def test_stream_watch(kd, ns, control_plane):
    rv = kd("create", *CM, ns, body=configmap("w0")).ok()
    rv = rv["metadata"]["resourceVersion"]
    for i in (1, 2):
        kd("create", *CM, ns, body=configmap(f"w{i}")).ok()
    r = kd("stream", *CM, ns, "--query",
           f"watch=1&resourceVersion={rv}&timeoutSeconds=60",
           "--max-lines", "2")
    r.ok()
    events = r.outputs
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] \
        == [("ADDED", "w1"), ("ADDED", "w2")]

    # The server ends a watch at timeoutSeconds: a normal end.
    r = kd("stream", *CM, ns, "--query",
           f"watch=1&resourceVersion={rv}&timeoutSeconds=1")
    r.ok()
    assert len(r.outputs) == 2

    # A line longer than max-line fails the stream.
    kd("create", *CM, ns, body=configmap("wbig", data={"k": "y" * 3000}))
    r = kd("stream", *CM, ns, "--query",
           f"watch=1&resourceVersion={rv}&timeoutSeconds=30",
           "--max-line", "1024")
    err = r.failed(0, "ResponseTooLarge")
    assert "1024" in err["message"]
    # The two small events came through before the big one.
    assert [e["object"]["metadata"]["name"] for e in r.outputs] == \
        ["w1", "w2"]

    # An error answer to a stream is a Status like any other.
    restricted = control_plane.kubeconfig_for("restricted-user")
    err = kd("stream", *CM, ns, "--query", "watch=1",
             kubeconfig=restricted).failed(403, "Forbidden")
    assert "restricted-user" in err["message"]


def test_unreachable_api_server_is_retried(kd, driver, control_plane, ns):
    """A GET sent while the API server is down is sent again, with
    backoff, until it answers."""
    kd("create", *CM, ns, body=configmap("survivor")).ok()
    control_plane.apiserver.stop()
    proc = subprocess.Popen(
        [driver, "--kubeconfig", control_plane.kubeconfig, "--retries",
         "40", "get", *CM, ns, "survivor"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The harness has no public "start again" apart from
        # restart_apiserver(), which needs a running server to stop.
        control_plane._start_apiserver()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert json.loads(out)["metadata"]["name"] == "survivor"


# -- configuration and credentials -----------------------------------------


def kubeconfig(path, server, user, cluster_extra=None):
    cluster = {"server": server}
    cluster.update(cluster_extra or {})
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "c", "cluster": cluster}],
           "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "ctx", "context": {"cluster": "c",
                                                    "user": "u"}}],
           "current-context": "ctx"}
    pathlib.Path(path).write_text(json.dumps(doc))
    return str(path)


def admin_files(control_plane):
    cfg = json.loads(pathlib.Path(control_plane.kubeconfig).read_text())
    user = cfg["users"][0]["user"]
    return (cfg["clusters"][0]["cluster"]["certificate-authority"],
            user["client-certificate"], user["client-key"])


def b64(path):
    return base64.b64encode(pathlib.Path(path).read_bytes()).decode()


def test_inline_data_and_tls_verification(driver, control_plane, tmp_path):
    ca, crt, key = admin_files(control_plane)
    inline = kubeconfig(tmp_path / "inline", control_plane.server,
                        {"client-certificate-data": b64(crt),
                         "client-key-data": b64(key)},
                        {"certificate-authority-data": b64(ca)})
    run(driver, inline, "get", "core", "v1", "namespaces", "-",
        "default").ok()

    other = harness.CertificateAuthority(tmp_path)
    user = {"client-certificate": crt, "client-key": key}
    wrong = kubeconfig(tmp_path / "wrong-ca", control_plane.server, user,
                       {"certificate-authority": other.cert_path,
                        "insecure-skip-tls-verify": False})
    err = run(driver, wrong, "get", "core", "v1", "namespaces", "-",
              "default").failed(0, "TLSVerificationFailed")
    assert control_plane.server in err["message"]
    assert "certificate" in err["message"]

    skip = kubeconfig(tmp_path / "skip", control_plane.server, user,
                      {"insecure-skip-tls-verify": True})
    run(driver, skip, "get", "core", "v1", "namespaces", "-",
        "default").ok()


def test_unreachable_server(driver, tmp_path):
    port = harness.free_port()
    cfg = kubeconfig(tmp_path / "kc", f"https://127.0.0.1:{port}",
                     {"token": "x"}, {"insecure-skip-tls-verify": True})
    err = run(driver, cfg, "--retries", "1", "get", "core", "v1",
              "namespaces", "-", "default").failed(0, "Unreachable")
    assert str(port) in err["message"]


TOKEN_USER = "exec-user"
GOOD_TOKEN = "good-token-0123456789"
OTHER_USER = "other-user"
OTHER_TOKEN = "othr-token-0123456789"


@pytest.fixture
def token_plane(request):
    """A control plane of its own that also accepts bearer tokens, with
    TOKEN_USER allowed to read ConfigMaps in one namespace."""
    cp = harness.ControlPlane(audit=False, tokens={
        GOOD_TOKEN: (TOKEN_USER, []), OTHER_TOKEN: (OTHER_USER, [])})
    request.addfinalizer(cp.stop)
    cp.start()
    ns = cp.create_namespace("tokens")
    cp.kubectl("create", "role", "cm-reader", "-n", ns, "--verb=get,list",
               "--resource=configmaps")
    cp.kubectl("create", "rolebinding", "cm-reader", "-n", ns,
               "--role=cm-reader", f"--user={TOKEN_USER}")
    cp.kubectl("create", "configmap", "visible", "-n", ns,
               "--from-literal=k=v")
    cp.token_ns = ns
    return cp


PLUGIN = textwrap.dedent("""\
    #!{python}
    # A test exec credential plugin: counts its runs, records what it was
    # given, and prints an ExecCredential.
    import json, os, sys
    state = sys.argv[1]
    runs = int(open(state + "/runs").read()) if os.path.exists(
        state + "/runs") else 0
    runs += 1
    open(state + "/runs", "w").write(str(runs))
    open(state + "/info-%d" % runs, "w").write(json.dumps({{
        "exec_info": os.environ.get("KUBERNETES_EXEC_INFO"),
        "from_config": os.environ.get("FROM_CONFIG"),
        "args": sys.argv[1:]}}))
    tokens = open(state + "/tokens").read().split()
    expiry = open(state + "/expiry").read().strip()
    if os.path.exists(state + "/cert"):
        status = {{"clientCertificateData": open(state + "/cert").read(),
                  "clientKeyData": open(state + "/key").read()}}
    else:
        status = {{"token": tokens[min(runs, len(tokens)) - 1]}}
    if expiry:
        status["expirationTimestamp"] = expiry
    print(json.dumps({{"apiVersion": sys.argv[2],
                      "kind": "ExecCredential", "status": status}}))
    """)


def exec_setup(tmp_path, cp, tokens, expiry,
               api="client.authentication.k8s.io/v1"):
    state = tmp_path / "state"
    state.mkdir()
    (state / "tokens").write_text(" ".join(tokens))
    (state / "expiry").write_text(expiry)
    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN.format(python=sys.executable))
    plugin.chmod(0o755)
    ca = cp.ca.cert_path
    user = {"exec": {"apiVersion": api,
                     # Relative to the kubeconfig's folder.
                     "command": "./plugin.py",
                     "args": [str(state), api],
                     "env": [{"name": "FROM_CONFIG", "value": "yes"}],
                     "interactiveMode": "Never"}}
    path = kubeconfig(tmp_path / "kc", cp.server, user,
                      {"certificate-authority": ca})
    return path, state


def runs(state):
    return int((state / "runs").read_text())


def test_exec_plugin_token_cached_until_expiry(driver, token_plane,
                                               tmp_path):
    cfg, state = exec_setup(tmp_path, token_plane, [GOOD_TOKEN],
                            "2999-01-01T00:00:00Z")
    r = run(driver, cfg, "--repeat", "3", "get", *CM, token_plane.token_ns,
            "visible")
    assert [o["metadata"]["name"] for o in r.outputs] == ["visible"] * 3
    assert runs(state) == 1
    info = json.loads((state / "info-1").read_text())
    assert info["from_config"] == "yes"
    assert json.loads(info["exec_info"])["apiVersion"] == \
        "client.authentication.k8s.io/v1"
    assert json.loads(info["exec_info"])["kind"] == "ExecCredential"


def test_exec_plugin_rerun_after_expiry(driver, token_plane, tmp_path):
    cfg, state = exec_setup(tmp_path, token_plane, [GOOD_TOKEN],
                            "2001-01-01T00:00:00+02:00",
                            api="client.authentication.k8s.io/v1beta1")
    r = run(driver, cfg, "--repeat", "3", "get", *CM, token_plane.token_ns,
            "visible")
    assert len(r.outputs) == 3, r.stderr
    assert runs(state) == 3


def test_exec_plugin_rerun_after_401(driver, token_plane, tmp_path):
    # The first token is unknown to the server; the plugin is run again
    # and its second token works.
    cfg, state = exec_setup(tmp_path, token_plane,
                            ["unknown-token", GOOD_TOKEN], "")
    r = run(driver, cfg, "get", *CM, token_plane.token_ns, "visible")
    assert r.ok()["metadata"]["name"] == "visible"
    assert runs(state) == 2


def test_exec_plugin_client_certificate(driver, token_plane, tmp_path):
    cfg, state = exec_setup(tmp_path, token_plane, [], "")
    crt, key = token_plane.ca.issue("exec-cert", TOKEN_USER)
    (state / "cert").write_text(pathlib.Path(crt).read_text())
    (state / "key").write_text(pathlib.Path(key).read_text())
    r = run(driver, cfg, "get", *CM, token_plane.token_ns, "visible")
    assert r.ok()["metadata"]["name"] == "visible"
    assert runs(state) == 1


def test_exec_plugin_failures(driver, token_plane, tmp_path):
    cfg, state = exec_setup(tmp_path, token_plane, [GOOD_TOKEN], "")
    (state / "tokens").write_text("")
    err = run(driver, cfg, "get", *CM, token_plane.token_ns,
              "visible").failed(0, "Unauthorized")
    assert "plugin.py" in err["message"] and "exit status 1" in \
        err["message"]
    (state / "tokens").write_text(GOOD_TOKEN)
    (state / "expiry").write_text("next tuesday")
    err = run(driver, cfg, "get", *CM, token_plane.token_ns,
              "visible").failed(0, "Unauthorized")
    assert "expirationTimestamp" in err["message"]


def test_token_and_token_file(driver, token_plane, tmp_path):
    ns = token_plane.token_ns
    ca = token_plane.ca.cert_path
    cfg = kubeconfig(tmp_path / "tok", token_plane.server,
                     {"token": GOOD_TOKEN}, {"certificate-authority": ca})
    run(driver, cfg, "get", *CM, ns, "visible").ok()
    bad = kubeconfig(tmp_path / "bad", token_plane.server,
                     {"token": "nobody-knows-this"},
                     {"certificate-authority": ca})
    run(driver, bad, "get", *CM, ns, "visible").failed(401, "Unauthorized")

    # tokenFile, relative to the kubeconfig; rewritten between two
    # requests of one client, the new token is used.
    (tmp_path / "token").write_text(GOOD_TOKEN + "\n")
    cfg = kubeconfig(tmp_path / "tokfile", token_plane.server,
                     {"tokenFile": "token"}, {"certificate-authority": ca})
    go = tmp_path / "go"
    proc = subprocess.Popen(
        [driver, "--kubeconfig", cfg, "--repeat", "2", "--wait-file",
         str(go), "get", *CM, ns, "visible"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["metadata"]["name"] == "visible"
        (tmp_path / "token").write_text(OTHER_TOKEN + "\n")
        go.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert OTHER_USER in json.loads(err.strip())["message"]


def test_in_cluster(driver, token_plane, tmp_path):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(GOOD_TOKEN)
    (sa / "ca.crt").write_bytes(pathlib.Path(
        token_plane.ca.cert_path).read_bytes())
    (sa / "namespace").write_text(token_plane.token_ns + "\n")
    env = dict(os.environ, FL_KUBE_SA_DIR=str(sa),
               KUBERNETES_SERVICE_HOST="127.0.0.1",
               KUBERNETES_SERVICE_PORT=str(token_plane.port))
    proc = subprocess.run([driver, "--in-cluster", "get", *CM,
                           token_plane.token_ns, "visible"],
                          capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    del env["KUBERNETES_SERVICE_HOST"]
    proc = subprocess.run([driver, "--in-cluster", "get", *CM,
                           token_plane.token_ns, "visible"],
                          capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 1
    assert "KUBERNETES_SERVICE_HOST" in proc.stderr
