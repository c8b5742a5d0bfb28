"""kubectl-faultline against a real kube-apiserver (with the CRD
installed): validate agrees with the API server, run applies and follows
a run to its verdict, get/describe/abort act on real objects, and the
reports are checked by real consumers (the JUnit XSD that pytest ships,
headless Chromium for the HTML page).

The operator is being written separately, so where a run needs someone to
drive it, the test plays the operator's part by writing status through the
status subresource, as the operator will.  Those tests check how the CLI
reads a run (which run is its own, the exit code of each verdict, the
progress it prints), not how the operator runs one.
"""

import copy
import json
import os
import pathlib
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import xmlschema
import yaml

from harness import HarnessError, tool, wait_until

REPO = pathlib.Path(__file__).resolve().parents[2]
CRD = REPO / "crds" / "chaosexperiments.faultline.dev.yaml"
DATA = REPO / "tests" / "data" / "cli"
EXAMPLES = sorted((REPO / "deploy" / "examples").glob("*.yaml"))
INVALID = sorted((REPO / "tests" / "data" / "invalid").glob("*.yaml"))
EXPERIMENT = DATA / "experiment.yaml"
NAME = "checkout-latency"
STATUS = json.loads((DATA / "status.json").read_text())


def by_name(paths):
    return pytest.mark.parametrize("path", paths, ids=[p.name for p in paths])


@pytest.fixture(scope="module")
def crd(control_plane):
    control_plane.kubectl("apply", "-f", str(CRD))
    control_plane.wait_crd_established("chaosexperiments.faultline.dev")
    return control_plane


@pytest.fixture(scope="module")
def cli_path(build_dir):
    """build/kubectl-faultline, or $FAULTLINE_CLI (say, the sanitizer
    build: build-san/kubectl-faultline)."""
    path = pathlib.Path(os.environ.get("FAULTLINE_CLI") or
                        build_dir / "kubectl-faultline")
    assert path.is_file(), f"{path} missing: run make"
    return str(path)


@pytest.fixture
def cli(crd, cli_path):
    """Runs the CLI with KUBECONFIG pointing at the test's API server."""
    def run(*args, env=None, timeout=60):
        full = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        full["KUBECONFIG"] = crd.kubeconfig
        full.update(env or {})
        return subprocess.run([cli_path, *args], capture_output=True,
                              text=True, timeout=timeout, env=full,
                              cwd=REPO)
    return run


def get_obj(cp, ns, name=NAME):
    return json.loads(cp.kubectl("get", "chaos", name, "-n", ns,
                                 "--show-managed-fields", "-o",
                                 "json").stdout)


def write_status(cp, ns, status, name=NAME):
    """What the operator does: a merge patch on the status subresource."""
    cp.kubectl("patch", "chaos", name, "-n", ns, "--type=merge",
               "--subresource=status", "-p", json.dumps({"status": status}))


def experiments_in(cp, ns):
    out = cp.kubectl("get", "chaosexperiments", "-n", ns, "-o", "name").stdout
    return set(out.split())


def manifest(tmp_path, name="experiment.yaml", **spec):
    """The test experiment with spec fields replaced, as a new file."""
    doc = yaml.safe_load(EXPERIMENT.read_text())
    for key, value in spec.items():
        if key == "dryRun":
            doc["spec"].setdefault("safety", {})["dryRun"] = value
        else:
            doc["spec"][key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


# -- validate agrees with the API server -------------------------------------


@by_name(INVALID)
def test_invalid_file_rejected_by_both(crd, cli, path):
    ns = crd.create_namespace("cli-invalid")
    api = crd.kubectl("apply", "-n", ns, "-f", str(path), check=False)
    assert api.returncode != 0, f"API server accepted {path.name}"

    ours = cli("validate", "-f", str(path))
    assert ours.returncode == 1, ours.stderr
    assert str(path) in ours.stderr

    # run validates offline first: exit 3, the errors, and nothing created.
    run = cli("-n", ns, "run", "-f", str(path))
    assert run.returncode == 3, run.stdout + run.stderr
    assert str(path) in run.stderr
    assert experiments_in(crd, ns) == set()


@by_name(EXAMPLES)
def test_example_accepted_by_both(crd, cli, path):
    ns = crd.create_namespace("cli-example")
    crd.kubectl("apply", "--dry-run=server", "-n", ns, "-f", str(path))
    ours = cli("validate", "-f", str(path))
    assert ours.returncode == 0, ours.stderr


# -- run ----------------------------------------------------------------------


def test_run_applies_and_reapplies(crd, cli, tmp_path):
    ns = crd.create_namespace("cli-run")
    first = cli("-n", ns, "run", "-f", str(EXPERIMENT))
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    obj = get_obj(crd, ns)
    managers = {m["manager"] for m in obj["metadata"]["managedFields"]}
    assert "kubectl-faultline" in managers
    assert obj["metadata"]["generation"] == 1

    again = cli("-n", ns, "run", "-f", str(EXPERIMENT))
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout
    assert get_obj(crd, ns)["metadata"]["generation"] == 1

    changed = manifest(tmp_path, hypothesis="Checkout survives")
    third = cli("-n", ns, "run", "-f", str(changed))
    assert third.returncode == 0, third.stderr
    assert "configured" in third.stdout
    obj = get_obj(crd, ns)
    assert obj["metadata"]["generation"] == 2
    assert obj["spec"]["hypothesis"] == "Checkout survives"


def test_run_refuses_a_namespace_conflict(crd, cli, tmp_path):
    ns = crd.create_namespace("cli-conflict")
    doc = yaml.safe_load(EXPERIMENT.read_text())
    doc["metadata"]["namespace"] = "elsewhere"
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = cli("-n", ns, "run", "-f", str(path))
    assert result.returncode == 3
    assert "elsewhere" in result.stderr and ns in result.stderr
    assert experiments_in(crd, ns) == set()


class Waiter:
    """`run --wait` in the background, its stdout in a file we can poll."""

    def __init__(self, cli_path, kubeconfig, args, out_dir):
        self.out = out_dir / "run.out"
        self.err = out_dir / "run.err"
        env = dict(os.environ, KUBECONFIG=kubeconfig)
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen([cli_path, *args], stdout=o,
                                         stderr=e, stdin=subprocess.DEVNULL,
                                         env=env)

    def stdout(self):
        return self.out.read_text()

    def wait_for_line(self, pattern, timeout=30):
        def seen():
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"run exited {self.proc.returncode} before printing "
                    f"{pattern!r}:\n{self.stdout()}\n{self.err.read_text()}")
            return re.search(pattern, self.stdout(), re.M)
        wait_until(f"run to print {pattern!r}", seen, timeout)

    def result(self, timeout=60):
        code = self.proc.wait(timeout=timeout)
        return code, self.stdout(), self.err.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def waiter(crd, cli_path, tmp_path):
    started = []

    def start(*args):
        w = Waiter(cli_path, crd.kubeconfig, args, tmp_path)
        started.append(w)
        return w
    yield start
    for w in started:
        w.stop()


def wait_generation(cp, ns, generation):
    """Until the CLI's apply has landed (the object may not exist yet)."""
    def landed():
        r = cp.kubectl("get", "chaos", NAME, "-n", ns, "-o",
                       "jsonpath={.metadata.generation}", check=False)
        return r.returncode == 0 and r.stdout.strip() == str(generation)
    wait_until(f"generation {generation}", landed, 30)


def run_steps(run_id, generation, final_phase, verdict):
    """A run as the operator reports it, one status per phase."""
    t = "2026-12-01T09:00:%02dZ"
    base = {"runId": run_id, "observedGeneration": generation,
            "startTime": t % 0, "targetCount": 2,
            "phaseTimes": {"Preparing": t % 0}}
    targets = [{"target": "payments", "fault": "slow-payments",
                "kind": "Pod", "namespace": "shop", "name": f"payments-{i}",
                "state": "Injected", "injectedAt": t % 5} for i in (1, 2)]
    probes = [{"name": "checkout", "baseline": "Passed", "samples": 3,
               "passed": 2, "timeline": "++-"},
              {"name": "orders", "baseline": "Passed", "samples": 3,
               "passed": 3, "timeline": "+++"}]
    steps = []
    for phase, extra in (
            ("Preparing", {}),
            ("Injecting", {"targets": targets[:1]}),
            ("Observing", {"targets": targets, "probes": probes}),
            ("Recovering", {"targets": [dict(x, state="Reverted")
                                        for x in targets]})):
        base = copy.deepcopy(base)
        base.update(extra, phase=phase)
        base["phaseTimes"][phase] = t % (10 * len(steps))
        steps.append(base)
    final = copy.deepcopy(base)
    final.update(phase=final_phase, completionTime=t % 50)
    if verdict:
        final["verdict"] = verdict
    steps.append(final)
    return steps


VERDICTS = [
    # (verdict, final phase, dry run, exit code)
    ("Passed", "Completed", False, 0),
    ("Failed", "Completed", False, 1),
    ("Aborted", "Aborted", False, 2),
    ("Error", "Failed", False, 3),
    (None, "Completed", True, 0),
    (None, "Completed", False, 3),
]


@pytest.mark.parametrize("verdict,phase,dry,code", VERDICTS,
                         ids=[f"{v or 'none'}-{p}-{'dry' if d else 'live'}"
                              for v, p, d, _ in VERDICTS])
def test_run_wait_exit_code(crd, waiter, tmp_path, verdict, phase, dry,
                            code):
    """The test plays the operator (see the module docstring)."""
    ns = crd.create_namespace("cli-wait")
    path = manifest(tmp_path, dryRun=True) if dry else EXPERIMENT
    w = waiter("-n", ns, "run", "-f", str(path), "--wait",
               "--timeout", "120s")
    wait_generation(crd, ns, 1)
    w.wait_for_line(r"waiting for a new run of generation 1")

    for step in run_steps("run-a", 1, phase, verdict):
        write_status(crd, ns, step)
        if step["phase"] != phase:
            # One log line per change: each phase shows before the next.
            w.wait_for_line(rf"run run-a: {step['phase']}\b")

    result, out, err = w.result()
    assert result == code, out + err
    assert "targets 2/2 injected" in out
    assert re.search(r"probes checkout FAIL, orders pass", out)
    assert f"verdict {verdict or 'none'}" in out


def test_run_wait_ignores_the_previous_run(crd, cli, waiter, tmp_path):
    """The test plays the operator (see the module docstring).  A status
    from before the apply (same run id, or an older generation) must not
    end the wait, whatever verdict it carries."""
    ns = crd.create_namespace("cli-prev")
    assert cli("-n", ns, "run", "-f", str(EXPERIMENT)).returncode == 0
    write_status(crd, ns, run_steps("run-1", 1, "Completed", "Passed")[-1])

    changed = manifest(tmp_path, hypothesis="Checkout survives, again")
    w = waiter("-n", ns, "run", "-f", str(changed), "--wait",
               "--timeout", "120s")
    wait_generation(crd, ns, 2)

    # The operator saw generation 2 but has not started its run yet.
    stale = run_steps("run-1", 2, "Completed", "Failed")[-1]
    write_status(crd, ns, stale)
    w.wait_for_line(r"status: run run-1, phase Completed, observed "
                    r"generation 2")
    # A new run id, but for the old generation.
    write_status(crd, ns, run_steps("run-x", 1, "Failed", "Error")[-1])
    w.wait_for_line(r"status: run run-x, phase Failed, observed "
                    r"generation 1")
    # Ours.
    write_status(crd, ns, run_steps("run-2", 2, "Completed", "Passed")[-1])
    code, out, err = w.result()
    assert code == 0, out + err
    assert "run run-2 of chaosexperiment" in out


def test_run_wait_times_out(crd, cli):
    ns = crd.create_namespace("cli-timeout")
    result = cli("-n", ns, "run", "-f", str(EXPERIMENT), "--wait",
                 "--timeout", "2s")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "timed out" in result.stderr
    assert f"'{ns}/{NAME}'" in result.stderr


def test_run_wait_on_a_terminal_redraws_one_line(crd, cli_path, tmp_path):
    """Under a pseudo-terminal the progress is one line redrawn in place
    (carriage return, erase line) with a bar.  The test plays the
    operator (see the module docstring)."""
    import pty
    import select

    ns = crd.create_namespace("cli-tty")
    env = dict(os.environ, KUBECONFIG=crd.kubeconfig, COLUMNS="120")
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(cli_path, [cli_path, "-n", ns, "run", "-f",
                             str(EXPERIMENT), "--wait", "--timeout", "60s"],
                  env)
    seen = b""
    try:
        wait_generation(crd, ns, 1)
        steps = run_steps("run-t", 1, "Completed", "Passed")
        write_status(crd, ns, steps[2])

        def observing():
            nonlocal seen
            while select.select([fd], [], [], 0.1)[0]:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
            return b"Observing" in seen
        wait_until("the terminal view of Observing", observing, 30)
        write_status(crd, ns, steps[-1])
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    text = seen.decode(errors="replace")
    assert "\r\x1b[K" in text
    assert re.search(r"Observing \[[#.]{20}\]", text), text
    # Redrawn, not logged: from the first view to the summary there is
    # one line break, the one that ends the last view.
    seg = text[text.index("\r\x1b[K"):text.index("run run-t of chaos")]
    assert seg.count("\n") == 1, text


# -- get, describe, abort -----------------------------------------------------


@pytest.fixture
def finished(crd, cli):
    """An experiment with a finished, failed run in a fresh namespace."""
    ns = crd.create_namespace("cli-obj")
    assert cli("-n", ns, "run", "-f", str(EXPERIMENT)).returncode == 0
    write_status(crd, ns, STATUS)
    return ns


def test_get_table_json_yaml(crd, cli, finished):
    ns = finished
    out = cli("-n", ns, "get").stdout.splitlines()
    assert out[0].split() == ["NAME", "PHASE", "VERDICT", "TARGETS", "AGE"]
    assert out[1].split()[:4] == [NAME, "Completed", "Failed", "2"]

    one = cli("-n", ns, "get", NAME)
    assert one.returncode == 0 and one.stdout.splitlines()[1].startswith(NAME)

    as_json = json.loads(cli("-n", ns, "get", NAME, "-o", "json").stdout)
    assert as_json["status"]["runId"] == STATUS["runId"]
    assert "managedFields" not in as_json["metadata"]
    as_yaml = yaml.safe_load(cli("-n", ns, "get", NAME, "-o", "yaml").stdout)
    assert as_yaml == as_json

    listed = yaml.safe_load(cli("-n", ns, "get", "-o", "yaml").stdout)
    assert [i["metadata"]["name"] for i in listed["items"]] == [NAME]

    everywhere = cli("get", "-A").stdout.splitlines()
    assert everywhere[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [ns, NAME] for line in everywhere)


def test_get_missing_and_empty(crd, cli):
    ns = crd.create_namespace("cli-empty")
    empty = cli("-n", ns, "get")
    assert empty.returncode == 0 and f"in {ns} namespace" in empty.stderr
    missing = cli("-n", ns, "get", "nope")
    assert missing.returncode == 3
    assert f"chaosexperiment '{ns}/nope' not found" in missing.stderr


def test_describe_shows_the_run(crd, cli, finished):
    result = cli("-n", finished, "describe", NAME)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Checkout stays available when payments slow down" in out
    assert re.search(r"^Phase:\s+Completed$", out, re.M)
    assert re.search(r"^Verdict:\s+Failed$", out, re.M)
    for t in STATUS["targets"]:
        line = next(x for x in out.splitlines() if t["name"] in x)
        assert t["state"] in line
        if "reason" in t:
            assert t["reason"] in line
    # Which container to read the injector's log from, and how it ended.
    inj = out[out.index("Injectors (2):"):].splitlines()
    assert inj[1].split() == ["OBJECT", "CONTAINER", "STATE", "ACTIVE",
                              "EXIT"]
    assert inj[2].split() == ["shop/payments-7d9f-abcde",
                              "faultline-0a1b2c3d4e", "Reverted",
                              "2026-11-30T10:00:36Z", "<none>"]
    assert inj[3].split() == ["shop/payments-7d9f-fghij",
                              "faultline-5f6a7b8c9d", "Terminated",
                              "<none>", "6"]
    assert "timeline:   ++++-----+++" in out
    assert re.search(r"checkout: baseline Passed, during Failed, after "
                     r"Passed; 7 of 12 samples passed", out)
    assert re.search(r"^\s+Ready\s+False\s+Failed", out, re.M)
    assert re.search(r"^\s+run-51c2\s+1\s+Completed\s+Passed", out, re.M)
    # A control character from the status never reaches the terminal.
    assert "\x07" not in out and "?bell" in out


def test_abort_sets_the_annotation(crd, cli, finished):
    ns = finished
    before = get_obj(crd, ns)
    result = cli("-n", ns, "abort", NAME)
    assert result.returncode == 0, result.stderr
    assert "faultline.dev/abort" in result.stdout
    after = get_obj(crd, ns)
    value = after["metadata"]["annotations"]["faultline.dev/abort"]
    assert value and value in result.stdout
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


def test_abort_missing(crd, cli):
    ns = crd.create_namespace("cli-abort")
    result = cli("-n", ns, "abort", "ghost")
    assert result.returncode == 3
    assert f"chaosexperiment '{ns}/ghost' not found" in result.stderr
    assert experiments_in(crd, ns) == set()


# -- global flags ---------------------------------------------------------------


def test_kubeconfig_context_and_namespace(crd, cli, finished, tmp_path):
    ns = finished
    config = json.loads(pathlib.Path(crd.kubeconfig).read_text())
    good = config["contexts"][0]
    config["contexts"] = [
        {"name": "with-ns", "context": dict(good["context"], namespace=ns)},
        {"name": "broken", "context": {"cluster": "nowhere",
                                       "user": good["context"]["user"]}},
    ]
    config["clusters"].append({"name": "nowhere", "cluster": {
        "server": "https://127.0.0.1:1"}})
    config["current-context"] = "broken"
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))

    # --kubeconfig wins over $KUBECONFIG; --context over current-context;
    # the context's namespace is the default one.
    env = {"KUBECONFIG": "/nonexistent/kubeconfig"}
    ok = cli("--kubeconfig", str(path), "--context", "with-ns", "get", NAME,
             env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[1].startswith(NAME)
    # $KUBECONFIG is read when there is no flag.
    via_env = cli("get", NAME, "--context=with-ns",
                  env={"KUBECONFIG": str(path)})
    assert via_env.returncode == 0, via_env.stderr
    broken = cli("--kubeconfig", str(path), "get", NAME, env=env)
    assert broken.returncode == 3
    # Without a namespace anywhere: "default".
    plain = cli("get", NAME)
    assert plain.returncode == 3 and "'default/" in plain.stderr


def test_works_as_a_kubectl_plugin(crd, cli_path, finished):
    """The real kubectl finds kubectl-faultline on PATH and hands it the
    arguments after the plugin's name."""
    kubectl = tool("kubectl")
    env = dict(os.environ, KUBECONFIG=crd.kubeconfig,
               PATH=f"{pathlib.Path(cli_path).parent}:{os.environ['PATH']}")
    result = subprocess.run([kubectl, "faultline", "-n", finished, "get"],
                            capture_output=True, text=True, timeout=60,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:3] == [NAME, "Completed",
                                                         "Failed"]


# -- reports ------------------------------------------------------------------


def test_report_junit_validates(crd, cli, finished, tmp_path):
    out = tmp_path / "report.xml"
    result = cli("-n", finished, "report", NAME, "--format", "junit",
                 "-o", str(out))
    assert result.returncode == 0, result.stderr
    schema = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))
    schema.validate(str(out))

    root = ET.parse(out).getroot()
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    props = {p.get("name"): p.get("value")
             for p in suite.find("properties")}
    assert props["runId"] == STATUS["runId"]
    assert props["verdict"] == "Failed"
    assert float(props["availability"]) == pytest.approx(83.33)
    assert props["recoveryTime"] == "35s"
    # The message survives escaping, with the bell replaced.
    assert props["message"] == STATUS["message"].replace("\x07", "\ufffd")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [p["name"]
                                              for p in STATUS["probes"]]
    # The verdict failed, so every probe's case fails; the probe that
    # failed during the faults says so.
    assert all(c.find("failure") is not None for c in cases)
    assert cases[0].find("failure").get("type") == "ProbeFailed"
    assert cases[1].find("failure").get("type") == "Failed"
    assert suite.get("failures") == "2" and suite.get("tests") == "2"
    assert suite.get("time") == "240.000"


def test_report_json_is_stable(crd, cli, finished):
    full = json.loads(cli("-n", finished, "report", NAME, "--format",
                          "json").stdout)
    assert full["run"]["verdict"] == "Failed"
    assert full["experiment"]["name"] == NAME
    assert full["probes"][0]["timeline"] == "++++-----+++"

    # A fresh object without any status has the same keys, all null.
    ns = crd.create_namespace("cli-json")
    assert cli("-n", ns, "run", "-f", str(EXPERIMENT)).returncode == 0
    empty = json.loads(cli("-n", ns, "report", NAME, "--format",
                           "json").stdout)
    assert list(empty) == list(full)
    assert list(empty["run"]) == list(full["run"])
    assert set(empty["run"].values()) == {None}
    assert empty["probes"] == [] and empty["targets"] == []


def test_report_markdown(crd, cli, finished):
    md = cli("-n", finished, "report", NAME, "--format", "markdown").stdout
    assert f"# Chaos experiment {finished}/{NAME}" in md
    assert "| Verdict | Failed |" in md
    # A '|' inside a field does not break the table: every row of the
    # summary table still has exactly three unescaped bars.
    rows = [r for r in md.splitlines() if r.startswith("| Message")]
    assert len(re.findall(r"(?<!\\)\|", rows[0])) == 3
    assert "&lt;b&gt;" in md and "<b>" not in md


def test_report_unknown_format_and_missing(crd, cli, finished):
    bad = cli("-n", finished, "report", NAME, "--format", "pdf")
    assert bad.returncode == 3 and "pdf" in bad.stderr
    gone = cli("-n", finished, "report", "ghost", "--format", "json")
    assert gone.returncode == 3 and "'" + finished + "/ghost'" in gone.stderr


# The script the test adds to a copy of the report: it measures the
# timeline's marks and the fault band as drawn, and writes the boxes into
# the page, which --dump-dom then prints.
MEASURE = """
<script>
const box = (e) => { const r = e.getBoundingClientRect();
  return {cls: e.getAttribute('class'), x: r.x, y: r.y, w: r.width,
          h: r.height}; };
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify({
  marks: [...document.querySelectorAll('#timeline rect.mark')].map(box),
  window: [...document.querySelectorAll('#timeline rect.window')].map(box),
  scripts: document.scripts.length});
document.body.appendChild(out);
</script>
"""


def chromium(*args, cwd):
    """Headless Chromium in a network namespace of its own: it can reach
    nothing, so the page must be self-contained (and Chromium's own
    background traffic goes nowhere)."""
    browser = shutil.which("chromium")
    assert browser, "chromium missing: scripts/setup.sh installs it"
    argv = ["unshare", "--net", browser, "--headless", "--no-sandbox",
            "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={cwd / 'chromium-profile'}",
            *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_report_html_draws_the_timeline(crd, cli, finished, tmp_path):
    page = tmp_path / "report.html"
    result = cli("-n", finished, "report", NAME, "--format", "html",
                 "-o", str(page))
    assert result.returncode == 0, result.stderr
    html = page.read_text()

    # Self-contained, and nothing from the object became markup.
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", html)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html

    shot = tmp_path / "report.png"
    r = chromium("--window-size=1000,900", f"--screenshot={shot}",
                 page.as_uri(), cwd=tmp_path)
    assert shot.is_file() and shot.stat().st_size > 0, r.stderr
    print(f"\nscreenshot of the HTML report: {shot}")

    # The measuring copy: without the page's CSP (which forbids every
    # script, ours too) and with the script above.
    probe = tmp_path / "measure.html"
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"'
                            r'[^>]*>', "", html)
                     .replace("</body>", MEASURE + "</body>"))
    r = chromium("--dump-dom", probe.as_uri(), cwd=tmp_path)
    m = re.search(r'<pre id="measured">(.*?)</pre>', r.stdout, re.S)
    assert m, r.stdout[-2000:] + r.stderr[-2000:]
    drawn = json.loads(m.group(1).replace("&quot;", '"')
                       .replace("&amp;", "&"))

    timelines = [p["timeline"] for p in STATUS["probes"]]
    assert len(drawn["marks"]) == sum(len(t) for t in timelines)
    assert all(b["w"] > 0 and b["h"] > 0 for b in drawn["marks"])
    fails = [b for b in drawn["marks"] if "fail" in b["cls"]]
    assert len(fails) == sum(t.count("-") for t in timelines)
    # One row per probe: the marks sit on as many distinct lines.
    assert len({round(b["y"]) for b in drawn["marks"]}) == len(timelines)
    # The fault window is drawn, inside the run, with a real width.
    (band,) = drawn["window"]
    xs = [b["x"] for b in drawn["marks"]]
    assert band["w"] > 0 and band["h"] > 0
    assert min(xs) <= band["x"] and band["x"] + band["w"] <= max(xs) + 20
