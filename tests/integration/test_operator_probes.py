"""The hypothesis in a run: probes sampled before, during and after the
faults, by the operator, against a small HTTP app on loopback that the
test turns healthy or failing.  The fault itself is a podDelete on pods
the test made; what is checked here is what the probes make of the run:
the baseline gate, abortWhen, the recovery time and the verdict."""

import http.server
import json
import threading
import time

import pytest

import harness
import opharness as oh


class App:
    """An HTTP app on 127.0.0.1 whose /healthz answers 200 or 503 as the
    test says; it records when each answer changed."""

    def __init__(self):
        self.healthy = True
        self.changed_at = time.time()
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                code = 200 if app.healthy else 503
                body = b"ok\n" if app.healthy else b"down\n"
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/healthz"
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def set(self, healthy):
        self.healthy = healthy
        self.changed_at = time.time()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def env(control_plane):
    kubeconfig = oh.install(control_plane)
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


def spec_with_probe(app, duration, interval="500ms", **extra):
    spec = oh.pod_delete_spec({"app": "web"}, duration=duration)
    spec["probes"] = [{"name": "health", "interval": interval,
                       "timeout": "1s",
                       "http": {"url": app.url, "expectStatus": [200]}}]
    spec.update(extra)
    return spec


def ms(duration):
    """"1.5s" / "250ms" / "0s" as milliseconds."""
    if duration.endswith("ms"):
        return float(duration[:-2])
    total, num = 0.0, ""
    for ch in duration:
        if ch.isdigit() or ch == ".":
            num += ch
        else:
            total += float(num) * {"h": 3600e3, "m": 60e3, "s": 1e3}[ch]
            num = ""
    return total


def epoch(ts):
    import datetime
    return datetime.datetime.fromisoformat(
        ts.replace("Z", "+00:00")).timestamp()


def test_false_baseline_injects_nothing(env, app):
    cp, op = env
    ns = cp.create_namespace("base")
    names = oh.make_pods(cp, ns, 3, {"app": "web"})
    app.set(False)
    oh.apply(cp, ns, oh.experiment("gate", spec_with_probe(app, "5s")))
    st = oh.wait_phase(cp, ns, "gate", oh.TERMINAL, 60, [op.proc])["status"]
    assert st["phase"] == "Failed" and st["verdict"] == "Error", st
    assert "already false before injection" in st["message"], st
    assert "status 503" in st["message"]
    (probe,) = st["probes"]
    assert probe["baseline"] == "Failed" and "during" not in probe
    assert all(t["state"] == "Selected" for t in st["targets"])
    assert "Injecting" not in st["phaseTimes"]
    assert oh.evictions(cp, ns) == []
    assert oh.pods(cp, ns) == names


def test_outage_during_the_faults_recovery_time_and_verdict(env, app):
    cp, op = env
    ns = cp.create_namespace("rec")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    spec = spec_with_probe(app, "3s",
                           successCriteria={"maxRecoveryTime": "30s"})
    oh.apply(cp, ns, oh.experiment("outage", spec))
    oh.wait_phase(cp, ns, "outage", "Observing", 60, [op.proc])
    app.set(False)
    # Healthy again only some time after the revert, so that the recovery
    # time is not zero.
    obj = oh.wait_phase(cp, ns, "outage", "Recovering", 60, [op.proc])
    reverted = epoch(obj["status"]["phaseTimes"]["Recovering"])
    harness.wait_until("two failed samples after the revert", lambda: (
        oh.get(cp, ns, "outage")["status"]["probes"][0].get(
            "lastSampleTime", "") > obj["status"]["phaseTimes"]["Recovering"]
        and oh.get(cp, ns, "outage")["status"]["probes"][0][
            "timeline"].endswith("--")), 30, [op.proc])
    app.set(True)
    measured = app.changed_at - reverted
    st = oh.wait_phase(cp, ns, "outage", oh.TERMINAL, 60,
                       [op.proc])["status"]
    (probe,) = st["probes"]
    assert probe["baseline"] == "Passed"
    assert probe["during"] == "Failed"
    assert probe["after"] == "Passed"
    assert "-" in probe["timeline"] and probe["timeline"].startswith("+")
    assert probe["samples"] == len(probe["timeline"])
    # The recovery time is from the revert to the first passing sample:
    # it is late by at most one interval after the app came back.
    got = ms(st["recoveryTime"]) / 1000
    assert measured - 0.05 <= got <= measured + 0.5 + 0.25, (got, measured)
    # No minAvailability: the hypothesis had to hold throughout.
    assert st["verdict"] == "Failed", st
    assert "failed while the faults were active" in st["message"]
    assert 0 < st["availability"] < 100
    # Each target reverted once: the revert was written at once, not
    # done (and timed) again while the probes were waited for.
    reverts = [line for line in op.log_lines() if line.get("ns") == ns and
               "reverted on" in line.get("msg", "")]
    assert len(reverts) == len(st["targets"]), reverts


def test_reverts_are_written_before_recovery_is_waited_for(env, app):
    cp, op = env
    ns = cp.create_namespace("once")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    # A 2s interval against a 3s run: when Recovering starts, the probe
    # is failing and not due again yet, so the step that reverts has
    # nothing else to write.
    spec = spec_with_probe(app, "3s", interval="2s",
                           successCriteria={"maxRecoveryTime": "3s"})
    oh.apply(cp, ns, oh.experiment("once", spec))
    oh.wait_phase(cp, ns, "once", "Observing", 60, [op.proc])
    app.set(False)
    st = oh.wait_phase(cp, ns, "once", oh.TERMINAL, 60,
                       [op.proc])["status"]
    assert st.get("recoveryExceeded") is True, st
    (target,) = st["targets"]
    assert target["state"] == "Reverted", target
    reverted = epoch(target["revertedAt"])
    assert reverted - epoch(st["phaseTimes"]["Recovering"]) < 0.5, st
    reverts = [line for line in op.log_lines() if line.get("ns") == ns and
               "reverted on" in line.get("msg", "")]
    assert len(reverts) == 1, reverts


def test_next_run_starts_without_the_last_runs_recovery(env, app):
    cp, op = env
    ns = cp.create_namespace("clean")
    oh.make_pods(cp, ns, 4, {"app": "web"})
    spec = spec_with_probe(app, "1s",
                           successCriteria={"maxRecoveryTime": "1s"})
    oh.apply(cp, ns, oh.experiment("twice", spec))
    oh.wait_phase(cp, ns, "twice", "Observing", 60, [op.proc])
    app.set(False)
    st = oh.wait_phase(cp, ns, "twice", oh.TERMINAL, 60,
                       [op.proc])["status"]
    assert st.get("recoveryExceeded") is True, st

    # Healthy throughout the next run: its verdict is its own, not the
    # last run's recoveryExceeded.
    app.set(True)
    cp.kubectl("annotate", "chaosexperiment", "twice", "-n", ns,
               "faultline.dev/rerun=again")
    obj = harness.wait_until("the second run to end", lambda: (
        lambda o: o if o["status"].get("runId") != st["runId"] and
        o["status"].get("phase") in oh.TERMINAL else None)(
            oh.get(cp, ns, "twice")), 60, [op.proc])
    again = obj["status"]
    assert again["verdict"] == "Passed", again
    assert "recoveryExceeded" not in again, again


def test_probe_failures_abort_and_revert_at_once(env, app):
    cp, op = env
    ns = cp.create_namespace("abort")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    spec = spec_with_probe(app, "10m", interval="500ms")
    spec["safety"]["abortWhen"] = {"probeFailures": 2,
                                   "probes": ["health"]}
    oh.apply(cp, ns, oh.experiment("stop", spec))
    oh.wait_phase(cp, ns, "stop", "Observing", 60, [op.proc])
    app.set(False)
    obj = oh.wait_phase(cp, ns, "stop", oh.TERMINAL, 60, [op.proc])
    st = obj["status"]
    assert st["phase"] == "Aborted" and st["verdict"] == "Aborted", st
    assert "ProbeFailed" in st["message"] and "health" in st["message"]
    (probe,) = st["probes"]
    assert probe["timeline"].endswith("--")
    # The revert happened in the step that took the second failure.
    last = epoch(probe["lastSampleTime"])
    for t in st["targets"]:
        assert t["state"] == "Reverted"
        assert epoch(t["revertedAt"]) - last < 1.0 + 0.5, (t, last)


def test_hypothesis_holds_passes(env, app):
    cp, op = env
    ns = cp.create_namespace("ok")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    spec = spec_with_probe(app, "2s",
                           successCriteria={"minAvailability": 99})
    oh.apply(cp, ns, oh.experiment("fine", spec))
    st = oh.wait_phase(cp, ns, "fine", oh.TERMINAL, 60, [op.proc])["status"]
    assert st["verdict"] == "Passed", st
    assert st["availability"] == 100
    assert st["recoveryTime"] == "0s"
    (probe,) = st["probes"]
    assert probe["timeline"] == "+" * probe["samples"]
    assert probe["samples"] >= 4
    assert "the hypothesis held" in st["message"]
    assert json.dumps(st)


@pytest.mark.parametrize("outcome,code", [("passed", 0), ("failed", 1),
                                          ("aborted", 2), ("error", 3)])
def test_cli_run_wait_exit_code_follows_the_real_verdict(env, app, tmp_path,
                                                         outcome, code):
    """kubectl faultline run --wait against the real operator: the exit
    code a pipeline gates on is the verdict the run reached."""
    cp, op = env
    ns = cp.create_namespace(f"cli-{outcome}")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    spec = spec_with_probe(app, "4s" if outcome != "aborted" else "10m")
    if outcome == "aborted":
        spec["safety"]["abortWhen"] = {"probeFailures": 1}
    if outcome == "error":
        app.set(False)  # false at baseline: the run cannot be carried out
    path = tmp_path / "exp.yaml"
    path.write_text(json.dumps(oh.experiment("gate", spec)))
    cli = oh.REPO / "build" / "kubectl-faultline"
    proc = __import__("subprocess").Popen(
        [str(cli), "--kubeconfig", cp.kubeconfig, "-n", ns, "run", "-f",
         str(path), "--wait", "--timeout", "2m"],
        stdout=__import__("subprocess").PIPE,
        stderr=__import__("subprocess").STDOUT, text=True)
    try:
        if outcome in ("failed", "aborted"):
            oh.wait_phase(cp, ns, "gate", "Observing", 60, [op.proc])
            app.set(False)
        if outcome == "failed":
            oh.wait_phase(cp, ns, "gate", "Recovering", 60, [op.proc])
            app.set(True)
        out, _ = proc.communicate(timeout=150)
    finally:
        proc.kill()
    st = oh.get(cp, ns, "gate")["status"]
    assert proc.returncode == code, (out, st.get("verdict"), st["message"])
    assert st["verdict"] == {"passed": "Passed", "failed": "Failed",
                             "aborted": "Aborted", "error": "Error"}[outcome]


@pytest.fixture
def metrics_app():
    from test_probes import App as MetricsApp
    a = MetricsApp()
    yield a
    a.stop()


@pytest.fixture
def prometheus(metrics_app):
    prom = harness.Prometheus([f"127.0.0.1:{metrics_app.port}"])
    try:
        prom.start()
        yield prom
    finally:
        prom.stop()


def prometheus_value(prom, query):
    """The query's single value now, or None while Prometheus has none."""
    import urllib.parse
    import urllib.request
    url = f"{prom.url}/api/v1/query?query={urllib.parse.quote(query)}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        result = json.load(resp)["data"]["result"]
    return float(result[0]["value"][1]) if len(result) == 1 else None


@pytest.mark.parametrize("raise_errors,verdict", [(False, "Passed"),
                                                  (True, "Failed")])
def test_prometheus_probe_decides_the_verdict(env, metrics_app, prometheus,
                                              raise_errors, verdict):
    """A real Prometheus scrapes an app whose error ratio the test sets;
    the operator's prometheus probe sees it and the verdict follows."""
    from test_probes import ERROR_RATIO
    cp, op = env
    ns = cp.create_namespace("prom")
    oh.make_pods(cp, ns, 3, {"app": "web"})
    harness.wait_until("Prometheus to have the error ratio", lambda:
                       prometheus_value(prometheus, ERROR_RATIO) is not None,
                       60)
    spec = oh.pod_delete_spec({"app": "web"}, duration="6s")
    spec["probes"] = [{"name": "errors", "interval": "500ms",
                       "timeout": "5s", "failureThreshold": 2,
                       "prometheus": {"url": prometheus.url,
                                      "query": ERROR_RATIO,
                                      "expect": "< 0.5"}}]
    spec["successCriteria"] = {"minAvailability": 90,
                               "maxRecoveryTime": "1m"}
    oh.apply(cp, ns, oh.experiment("errors", spec))
    oh.wait_phase(cp, ns, "errors", "Observing", 60, [op.proc])
    if raise_errors:
        metrics_app.set(error_ratio=0.9)
        oh.wait_phase(cp, ns, "errors", "Recovering", 60, [op.proc])
        metrics_app.set(error_ratio=0.0)
    st = oh.wait_phase(cp, ns, "errors", oh.TERMINAL, 90,
                       [op.proc])["status"]
    assert st["verdict"] == verdict, st
    (probe,) = st["probes"]
    assert probe["baseline"] == "Passed"
    if raise_errors:
        assert probe["during"] == "Failed"
        assert "is not < 0.5" in probe["lastError"]
        assert st["availability"] < 90
        assert "below minAvailability" in st["message"]
    else:
        assert probe["timeline"] == "+" * probe["samples"]
        assert st["availability"] == 100
