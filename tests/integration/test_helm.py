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
