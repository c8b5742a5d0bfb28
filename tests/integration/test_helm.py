"""The Helm chart, with the real helm: it lints, renders the very CRD in
crds/, installs it on a control plane that never had it, and leaves it in
place on uninstall (Helm never deletes a chart's CRDs, so uninstalling
faultline cannot delete the experiments that are running)."""

import subprocess

import pytest
import yaml

import harness

CHART_CRD = "chaosexperiments.faultline.dev"


@pytest.fixture
def helm(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HELM_CACHE_HOME": str(tmp_path / "cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "config"),
        "HELM_DATA_HOME": str(tmp_path / "data"),
    }

    def run(*args, check=True):
        result = subprocess.run([harness.tool("helm"), *args], env=env,
                                capture_output=True, text=True, timeout=180)
        if check:
            assert result.returncode == 0, result.stderr
        return result
    return run


@pytest.fixture
def fresh_control_plane(request):
    cp = harness.ControlPlane(audit=False)
    request.addfinalizer(cp.stop)
    cp.start()
    return cp


def test_chart_lints(helm, repo):
    helm("lint", "--strict", str(repo / "charts" / "faultline"))


def test_chart_renders_the_crd_of_the_repository(helm, repo):
    out = helm("template", "faultline", str(repo / "charts" / "faultline"),
               "--include-crds", "--kube-version", "1.34.0").stdout
    rendered = [d for d in yaml.safe_load_all(out)
                if d and d.get("kind") == "CustomResourceDefinition"]
    with open(repo / "crds" / f"{CHART_CRD}.yaml") as f:
        ours = yaml.safe_load(f)
    assert rendered == [ours]


def test_install_then_uninstall_keeps_the_crd(helm, repo,
                                               fresh_control_plane):
    cp = fresh_control_plane
    kube = ["--kubeconfig", cp.kubeconfig]
    assert cp.kubectl("get", "crd", CHART_CRD, check=False).returncode != 0

    helm("install", "faultline", str(repo / "charts" / "faultline"),
         "--namespace", "default", *kube)
    cp.wait_crd_established(CHART_CRD)
    ns = cp.create_namespace("helm")
    cp.kubectl("apply", "-n", ns, "-f",
               str(repo / "deploy" / "examples" / "quickstart.yaml"))

    helm("uninstall", "faultline", "--namespace", "default", *kube)
    assert cp.kubectl("get", "crd", CHART_CRD).returncode == 0
    assert cp.kubectl("get", "chaosexperiments", "-n", ns,
                      "-o", "name").stdout.split() == [
        "chaosexperiment.faultline.dev/quickstart"]


def render(helm, repo, *sets):
    out = helm("template", "faultline", str(repo / "charts" / "faultline"),
               "--namespace", "chaos", "--kube-version", "1.34.0",
               *[a for s in sets for a in ("--set", s)]).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_operator_is_off_by_default(helm, repo):
    assert render(helm, repo) == []


def test_operator_renders_with_the_one_clusterrole(helm, repo):
    docs = render(helm, repo, "operator.enabled=true",
                  "operator.image.repository=registry.example/faultline",
                  "operator.namespaces={shop,cart}",
                  "operator.namespaceOptIn=true")
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Deployment",
                     "Service", "ServiceAccount"]
    (role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    with open(repo / "deploy" / "rbac" / "operator.yaml") as f:
        assert role == yaml.safe_load(f)
    (binding,) = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount",
                                    "name": "faultline-operator",
                                    "namespace": "chaos"}]
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "registry.example/faultline:0.1.0"
    assert "--leader-elect=true" in c["args"]
    assert "--namespaces=shop,cart" in c["args"]
    assert "--namespace-opt-in" in c["args"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {e["name"] for e in c["env"]} == {"POD_NAME", "POD_NAMESPACE",
                                             "NODE_NAME"}
    assert dep["spec"]["selector"]["matchLabels"].items() <= \
        dep["spec"]["template"]["metadata"]["labels"].items()


def test_operator_without_an_image_is_refused(helm, repo):
    r = helm("template", "faultline", str(repo / "charts" / "faultline"),
             "--kube-version", "1.34.0", "--set", "operator.enabled=true",
             check=False)
    assert r.returncode != 0
    assert "operator.image.repository is required" in r.stderr


def test_install_with_the_operator(helm, repo, fresh_control_plane):
    cp = fresh_control_plane
    ns = cp.create_namespace("chaos")
    helm("install", "faultline", str(repo / "charts" / "faultline"),
         "--namespace", ns, "--kubeconfig", cp.kubeconfig,
         "--set", "operator.enabled=true",
         "--set", "operator.image.repository=registry.example/faultline")
    dep = yaml.safe_load(cp.kubectl("get", "deployment", "faultline-operator",
                                    "-n", ns, "-o", "yaml").stdout)
    assert dep["spec"]["replicas"] == 2
    # The ServiceAccount may do what the operator needs.
    sa = f"system:serviceaccount:{ns}:faultline-operator"
    for verb, res, sub in (("create", "pods", "eviction"),
                           ("update", "chaosexperiments.faultline.dev",
                            "status"),
                           ("watch", "chaosexperiments.faultline.dev", ""),
                           ("create", "leases.coordination.k8s.io", "")):
        r = cp.kubectl("auth", "can-i", verb, res, f"--subresource={sub}",
                       "--as", sa, "-n", ns, check=False)
        assert r.stdout.strip() == "yes", (verb, res, r.stdout, r.stderr)
    r = cp.kubectl("auth", "can-i", "delete", "deployments", "--as", sa,
                   "-n", ns, check=False)
    assert r.stdout.strip() == "no"


AGENT = ("operator.enabled=true",
         "operator.image.repository=registry.example/faultline",
         "operator.injector.image.repository=registry.example/sidecar",
         "operator.agent.clusterIP=10.0.0.77")


def test_injector_renders_the_agent_channel(helm, repo):
    import base64
    from cryptography import x509
    import ipaddress

    docs = render(helm, repo, *AGENT)
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    secret = by[("Secret", "faultline-operator-agent")]
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    assert set(data) == {"ca.crt", "tls.crt", "tls.key", "master.key"}
    assert len(data["master.key"]) >= 32
    cert = x509.load_pem_x509_certificate(data["tls.crt"])
    ca = x509.load_pem_x509_certificate(data["ca.crt"])
    assert cert.issuer == ca.subject
    sans = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("10.0.0.77") in \
        sans.get_values_for_type(x509.IPAddress)
    svc = by[("Service", "faultline-operator-agent")]
    assert svc["spec"]["clusterIP"] == "10.0.0.77"
    assert svc["spec"]["selector"]["faultline.dev/leader"] == "true"
    role = by[("Role", "faultline-operator-leader-label")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"],
                              "verbs": ["patch"]}]
    pod = by[("Deployment", "faultline-operator")]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    args = c["args"]
    for want in ("--injector-image=registry.example/sidecar:0.1.0",
                 "--agent-url=wss://10.0.0.77:8443", "--agent-leader-label",
                 "--agent-master-key-file=/etc/faultline/agent/master.key"):
        assert want in args, args
    assert {"name": "agent", "containerPort": 8443} in c["ports"]
    assert pod["volumes"][0]["secret"]["secretName"] == \
        "faultline-operator-agent"
    assert pod["securityContext"]["fsGroup"] == 65532


def test_injector_without_a_cluster_ip_is_refused(helm, repo):
    r = helm("template", "faultline", str(repo / "charts" / "faultline"),
             "--kube-version", "1.34.0",
             *[a for kv in AGENT[:3] for a in ("--set", kv)], check=False)
    assert r.returncode != 0
    assert "operator.agent.clusterIP is required" in r.stderr


def test_agent_secret_survives_an_upgrade(helm, repo, fresh_control_plane):
    cp = fresh_control_plane
    ns = cp.create_namespace("chaos")
    sets = [a for kv in AGENT for a in ("--set", kv)]
    chart = str(repo / "charts" / "faultline")

    def secret():
        return yaml.safe_load(cp.kubectl(
            "get", "secret", "faultline-operator-agent", "-n", ns, "-o",
            "yaml").stdout)["data"]
    helm("install", "faultline", chart, "--namespace", ns,
         "--kubeconfig", cp.kubeconfig, *sets)
    first = secret()
    helm("upgrade", "faultline", chart, "--namespace", ns,
         "--kubeconfig", cp.kubeconfig, *sets,
         "--set", "operator.agent.grace=45s")
    # A new key or CA would make every running injector revert.
    assert secret() == first
    svc = yaml.safe_load(cp.kubectl("get", "service",
                                    "faultline-operator-agent", "-n", ns,
                                    "-o", "yaml").stdout)
    assert svc["spec"]["clusterIP"] == "10.0.0.77"
    sa = f"system:serviceaccount:{ns}:faultline-operator"
    for verb, res, sub, where in (
            ("patch", "pods", "ephemeralcontainers", "shop"),
            ("patch", "pods", "", ns)):
        r = cp.kubectl("auth", "can-i", verb, res, f"--subresource={sub}",
                       "--as", sa, "-n", where, check=False)
        assert r.stdout.strip() == "yes", (verb, res, sub, r.stderr)
    # Labelling pods is for its own namespace only.
    r = cp.kubectl("auth", "can-i", "patch", "pods", "--as", sa, "-n",
                   "shop", check=False)
    assert r.stdout.strip() == "no"
