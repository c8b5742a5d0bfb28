"""Steady-state probes (lib/probe*.c) against real parts, through
tests/drivers/probe_driver: a real Prometheus scraping a loopback target
whose error ratio the test raises, an http probe against a loopback app
the test switches between healthy, failing and slow, a kubernetes probe
against the real kube-apiserver, and probes that are wrong or point
nowhere."""

import http.server
import json
import os
import socket
import subprocess
import textwrap
import threading
import time

import pytest

import harness

LOOPBACK = harness.LOOPBACK


@pytest.fixture(scope="session")
def driver(build_dir):
    path = build_dir / "tests" / "drivers" / "probe_driver"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} missing: run make")
    return str(path)


class Run:
    """One run of the driver: its exit status and its JSON lines."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.lines = [json.loads(line) for line in proc.stdout.splitlines()
                      if line.strip()]
        self.last = self.lines[-1] if self.lines else None

    def __repr__(self):
        return f"rc={self.rc} lines={self.lines} stderr={self.stderr!r}"


def sample(driver, probe, *args, timeout=120, env=None):
    """Runs the driver on a probe (a dict: one item of spec.probes, or a
    path to an experiment file)."""
    if isinstance(probe, dict):
        what = ["--probe", json.dumps(probe)]
    else:
        what = ["--file", str(probe)]
    proc = subprocess.run([driver, *args, *what], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return Run(proc)


# -- a loopback app the test steers -------------------------------------------


class App:
    """An HTTP server on 127.0.0.1 with a health endpoint whose status,
    body and delay the test sets, and a /metrics endpoint with two
    counters: each scrape adds 100 requests, and errors in the ratio the
    test sets.  It records the last request it saw."""

    def __init__(self):
        self.status = 200
        self.body = b"status: ok\n"
        self.delay = 0.0
        self.error_ratio = 0.01
        self.requests_total = 0
        self.errors_total = 0
        self.last = None
        self.lock = threading.Lock()
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with app.lock:
                    app.last = {"method": self.command, "path": self.path,
                                "headers": dict(self.headers),
                                "body": body.decode(errors="replace")}
                if self.path == "/metrics":
                    code, payload = 200, app.scrape()
                else:
                    with app.lock:
                        code, payload, delay = app.status, app.body, \
                            app.delay
                    # The app is slow on purpose: this is what the
                    # probe measures, not a wait for anything.
                    if delay:
                        time.sleep(delay)
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the probe gave up (its timeout)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def scrape(self):
        with self.lock:
            self.requests_total += 100
            self.errors_total += round(100 * self.error_ratio)
            text = textwrap.dedent(f"""\
                # TYPE app_requests_total counter
                app_requests_total {self.requests_total}
                # TYPE app_errors_total counter
                app_errors_total {self.errors_total}
                """)
        return text.encode()

    def set(self, **kw):
        with self.lock:
            for key, value in kw.items():
                setattr(self, key, value)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app():
    a = App()
    try:
        yield a
    finally:
        a.stop()


def closed_port():
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# -- prometheus ---------------------------------------------------------------

ERROR_RATIO = ("sum(rate(app_errors_total[5s])) / "
               "sum(rate(app_requests_total[5s]))")


@pytest.fixture
def prometheus(app):
    prom = harness.Prometheus([f"{LOOPBACK}:{app.port}"])
    try:
        prom.start()
        yield prom
    finally:
        prom.stop()


def prom_probe(prom, query, expect, **extra):
    return {"name": "errors", "interval": "500ms", "timeout": "5s",
            "prometheus": {"url": prom.url, "query": query,
                           "expect": expect}, **extra}


def test_prometheus_probe_follows_the_error_ratio(driver, app, prometheus):
    probe = prom_probe(prometheus, ERROR_RATIO, "< 0.5",
                       failureThreshold=2)

    # Until Prometheus holds two scrapes the rate has no sample: the probe
    # fails with "no series", then passes once it has data.
    run = sample(driver, probe, "--until", "pass", "--deadline-ms", "60000")
    assert run.rc == 0, run
    assert run.last["passed"] is True, run
    assert run.last["value"] == pytest.approx(0.01, abs=0.005), run
    assert run.last["message"].startswith("prometheus: value 0.01"), run
    assert run.last["message"].endswith("< 0.5"), run
    for line in run.lines[:-1]:
        assert "no series" in line["message"], run

    # While the ratio stays low, every sample passes.
    run = sample(driver, probe, "--samples", "4", "--interval-ms", "300")
    assert run.rc == 0, run
    assert [line["passed"] for line in run.lines] == [True] * 4, run
    assert run.last["verdict"] == "Passed" and run.last["timeline"] == "++++"

    # Raise the error ratio: within the 5s window the rate follows, and
    # after two failed samples in a row the verdict is Failed.
    app.set(error_ratio=0.9)
    run = sample(driver, probe, "--until", "fails", "--deadline-ms", "60000")
    assert run.rc == 0, run
    assert run.last["verdict"] == "Failed", run
    assert run.last["timeline"].endswith("--"), run
    assert run.last["value"] > 0.5, run
    assert run.last["message"].startswith("prometheus: value 0."), run
    assert run.last["message"].endswith(" is not < 0.5"), run

    # And back.
    app.set(error_ratio=0.0)
    run = sample(driver, probe, "--until", "holds", "--deadline-ms", "60000")
    assert run.rc == 0, run
    assert run.last["value"] < 0.5, run


def test_prometheus_answers_that_are_not_one_number(driver, app, prometheus):
    # Wait (with Python's own client) until the target was scraped.
    harness.wait_until(
        "a scrape of the app",
        lambda: prometheus.query('up{job="target"} == 1')["result"],
        60, [prometheus.proc])

    run = sample(driver, prom_probe(prometheus, "1 + 1", "== 2"))
    assert run.last["passed"] is True, run
    assert run.last["value"] == 2
    assert run.last["message"] == "prometheus: value 2 == 2"

    run = sample(driver, prom_probe(prometheus, '{job="target"}', "< 1"))
    assert run.rc == 0 and run.last["passed"] is False, run
    assert "series, expected one (aggregate it" in run.last["message"], run
    assert "value" not in run.last

    run = sample(driver, prom_probe(prometheus, "app_nothing_total", "< 1"))
    assert run.last["passed"] is False, run
    assert run.last["message"] == ("prometheus: the query returned no "
                                   "series (an empty vector)")

    run = sample(driver, prom_probe(prometheus, "sum(", "< 1"))
    assert run.last["passed"] is False, run
    assert run.last["message"].startswith(
        "prometheus: query failed: bad_data: "), run

    run = sample(driver, prom_probe(prometheus, "app_requests_total[10s]",
                                    "< 1"))
    assert run.last["passed"] is False, run
    assert "returned a matrix, expected a vector" in run.last["message"]

    # 0/0 is NaN: no value to judge, so even != fails.
    run = sample(driver, prom_probe(prometheus,
                                    "sum(app_errors_total) * 0 / 0",
                                    "!= 1"))
    assert run.last["passed"] is False, run
    assert "NaN" in run.last["message"], run

    # A trailing slash on the URL is not doubled.
    probe = prom_probe(prometheus, "1", "== 1")
    probe["prometheus"]["url"] += "/"
    assert sample(driver, probe).last["passed"] is True


# -- http ---------------------------------------------------------------------


def http_probe(app, **fields):
    return {"name": "checkout", "interval": "200ms", "timeout": "2s",
            "http": {"url": f"{app.url}/healthz", **fields}}


def test_http_probe_status(driver, app):
    probe = http_probe(app, expectStatus=[200])
    run = sample(driver, probe)
    assert run.rc == 0 and run.last["passed"] is True, run
    assert run.last["value"] == 200
    assert run.last["message"].startswith(
        f"http GET {app.url}/healthz: status 200 in "), run

    app.set(status=503)
    run = sample(driver, probe)
    assert run.last["passed"] is False, run
    assert run.last["value"] == 503
    assert run.last["message"] == (f"http GET {app.url}/healthz: status "
                                   "503, expected 200")

    # Without expectStatus: 200-399 pass, as a Kubernetes probe judges.
    default = http_probe(app)
    assert sample(driver, default).last["message"].endswith(
        "status 503, expected 200-399")
    app.set(status=302)
    assert sample(driver, default).last["passed"] is True
    assert sample(driver, probe).last["passed"] is False
    app.set(status=204)
    listed = http_probe(app, expectStatus=[200, 204])
    assert sample(driver, listed).last["passed"] is True
    app.set(status=500)
    assert sample(driver, listed).last["message"].endswith(
        "status 500, expected 200, 204")


def test_http_probe_verdict_over_samples(driver, app):
    probe = http_probe(app, expectStatus=[200])
    probe["failureThreshold"] = 3
    app.set(status=503)
    run = sample(driver, probe, "--until", "fails", "--deadline-ms", "20000")
    assert run.rc == 0, run
    assert [line["verdict"] for line in run.lines] == [
        "Unknown", "Unknown", "Failed"], run
    assert run.last["timeline"] == "---"
    assert run.last["samples"] == 3 and run.last["passed_samples"] == 0


def test_http_probe_body_match(driver, app):
    probe = http_probe(app, bodyMatch="status: ok")
    assert sample(driver, probe).last["passed"] is True

    app.set(body=b"status: degraded\n")
    run = sample(driver, probe)
    assert run.last["passed"] is False, run
    assert run.last["message"] == (f"http GET {app.url}/healthz: body does "
                                   "not contain 'status: ok'")

    # Status and body both wrong: the message names both.
    app.set(status=503)
    run = sample(driver, probe)
    assert run.last["message"].endswith(
        "status 503, expected 200-399; body does not contain "
        "'status: ok'"), run

    # A body past the limit cannot be matched, and says so.
    app.set(status=200, body=b"x" * 8192 + b"status: ok")
    run = sample(driver, probe, "--max-body", "1024")
    assert run.last["passed"] is False, run
    assert "body is larger than 1024 bytes" in run.last["message"], run
    assert sample(driver, probe).last["passed"] is True


def test_http_probe_latency_and_timeout(driver, app):
    # Bounds far apart, so that a busy machine cannot change the outcome:
    # the app's delay is a floor on the latency, never a ceiling.
    probe = http_probe(app, maxLatency="1500ms")
    run = sample(driver, probe)
    assert run.last["passed"] is True, run

    app.set(delay=1.6)
    run = sample(driver, probe)
    assert run.last["passed"] is False, run
    assert run.last["latency_ms"] >= 1600, run
    assert run.last["value"] == 200, run
    assert run.last["message"] == (
        f"http GET {app.url}/healthz: latency "
        f"{run.last['latency_ms']} ms, over 1500ms")

    # The probe's timeout ends a request that takes longer.
    probe = http_probe(app)
    probe["timeout"] = "300ms"
    run = sample(driver, probe)
    assert run.last["passed"] is False, run
    assert run.last["message"] == (f"http GET {app.url}/healthz: timed out "
                                   "after 300 ms")
    assert 300 <= run.last["latency_ms"] < 1600, run
    assert "value" not in run.last


def test_http_probe_sends_method_headers_and_body(driver, app):
    probe = http_probe(app, method="POST", body='{"ping": 1}',
                       headers={"X-Probe": "faultline",
                                "Content-Type": "application/json"})
    assert sample(driver, probe).last["passed"] is True
    seen = app.last
    assert seen["method"] == "POST" and seen["path"] == "/healthz"
    assert seen["headers"]["X-Probe"] == "faultline"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["body"] == '{"ping": 1}'

    run = sample(driver, http_probe(app, method="HEAD"))
    assert run.last["passed"] is True, run
    assert app.last["method"] == "HEAD"


def test_http_probe_from_an_experiment_file(driver, app, tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(f"""\
        apiVersion: faultline.dev/v1alpha1
        kind: ChaosExperiment
        metadata: {{name: probes, namespace: shop}}
        spec:
          duration: 1m
          targets:
            - name: web
              pods: {{selector: {{matchLabels: {{app: web}}}}}}
          faults:
            - {{name: slow, target: web, networkLatency: {{delay: 100ms}}}}
          probes:
            - name: other
              http: {{url: "http://{LOOPBACK}:1/"}}
            - name: up
              interval: 100ms
              timeout: 2s
              successThreshold: 2
              http:
                url: "{app.url}/healthz"
                expectStatus: [200]
                bodyMatch: "status: ok"
        """))
    run = sample(driver, path, "--name", "up", "--until", "holds",
                 "--deadline-ms", "20000")
    assert run.rc == 0, run
    assert [line["verdict"] for line in run.lines] == ["Unknown", "Passed"]


# -- kubernetes ---------------------------------------------------------------

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {"replicas": 3,
             "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [
                              {"name": "web", "image": "web:1"}]}}},
}


def kube_probe(expect, **fields):
    return {"name": "replicas", "interval": "200ms", "timeout": "10s",
            "kubernetes": {"apiVersion": "apps/v1", "kind": "Deployment",
                           "name": "web", "expect": expect, **fields}}


def set_status(cp, ns, status):
    cp.kubectl("patch", "deployment", "web", "-n", ns,
               "--subresource=status", "--type=merge",
               "-p", json.dumps({"status": status}))


def test_kubernetes_probe_follows_the_status(driver, control_plane):
    cp = control_plane
    ns = cp.create_namespace("probe")
    cp.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(DEPLOYMENT))
    kc = ["--kubeconfig", cp.kubeconfig]
    probe = kube_probe(".status.availableReplicas >= 2", namespace=ns)

    # No controller runs here: the status is empty, the field absent.
    run = sample(driver, probe, *kc)
    assert run.rc == 0 and run.last["passed"] is False, run
    assert run.last["message"] == (
        f"kubernetes deployment '{ns}/web': .status.availableReplicas is "
        "absent (no field 'availableReplicas' in .status)"), run

    # The API server checks that available <= ready <= replicas.
    set_status(cp, ns, {"replicas": 3, "readyReplicas": 1,
                        "availableReplicas": 1})
    run = sample(driver, probe, *kc)
    assert run.last["passed"] is False, run
    assert run.last["value"] == 1
    assert run.last["message"] == (
        f"kubernetes deployment '{ns}/web': .status.availableReplicas is "
        "1, not >= 2")

    set_status(cp, ns, {"replicas": 3, "readyReplicas": 3,
                        "availableReplicas": 3})
    run = sample(driver, probe, *kc)
    assert run.last["passed"] is True, run
    assert run.last["value"] == 3
    assert run.last["message"].endswith("is 3, >= 2")

    # The namespace may come from the context instead of the probe, and
    # a sample after the first uses the kind it already resolved: one
    # discovery request, three GETs (the audit log is written before each
    # request completes).
    def requests():
        uris = [e.get("requestURI") for e in cp.audit_events()
                if e.get("userAgent") == "faultline"]
        return (uris.count("/apis/apps/v1"),
                uris.count(f"/apis/apps/v1/namespaces/{ns}/deployments/web"))
    before = requests()
    run = sample(driver, kube_probe(".status.availableReplicas >= 2"),
                 *kc, "--namespace", ns, "--samples", "3",
                 "--interval-ms", "50")
    assert [line["passed"] for line in run.lines] == [True] * 3, run
    after = requests()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 3)

    set_status(cp, ns, {"replicas": 3, "readyReplicas": 1,
                        "availableReplicas": 1,
                        "conditions": [{"type": "Available",
                                        "status": "False",
                                        "reason": "MinimumReplicasUnavailable"}]})
    run = sample(driver, probe, *kc)
    assert run.last["passed"] is False, run
    run = sample(driver, kube_probe(
        '.status.conditions[0].status == "True"', namespace=ns), *kc)
    assert run.last["message"].endswith(
        '.status.conditions[0].status is "False", not == "True"'), run
    run = sample(driver, kube_probe(".spec.replicas == 3", namespace=ns),
                 *kc)
    assert run.last["passed"] is True, run


def test_kubernetes_probe_keeps_its_timeout(driver, control_plane):
    """An API server slower than the probe's timeout fails the sample at
    the timeout, without retries, rather than after the client's own
    30 seconds."""
    from faultproxy import FaultProxy

    cp = control_plane
    ns = cp.create_namespace("probe-slow")
    cp.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(DEPLOYMENT))
    probe = dict(kube_probe(".spec.replicas == 3", namespace=ns),
                 timeout="500ms")
    with FaultProxy(cp) as proxy:
        kc = ["--kubeconfig", proxy.kubeconfig]
        run = sample(driver, probe, *kc)
        assert run.last["passed"] is True, run
        proxy.delay_s = 5.0
        run = sample(driver, probe, *kc)
    assert run.last["passed"] is False, run
    assert "timed out" in run.last["message"].lower() or \
        "timeout" in run.last["message"].lower(), run
    # Not the 5 seconds the proxy holds each answer, nor retried.
    assert run.last["latency_ms"] < 5000, run


def test_kubernetes_probe_kinds_and_errors(driver, control_plane):
    cp = control_plane
    ns = cp.create_namespace("probe-kinds")
    kc = ["--kubeconfig", cp.kubeconfig]

    # A cluster-scoped kind of the core group.
    run = sample(driver, {"name": "ns", "kubernetes": {
        "apiVersion": "v1", "kind": "Namespace", "name": ns,
        "expect": ".status.phase == Active"}}, *kc)
    assert run.last["passed"] is True, run
    assert run.last["message"] == (f"kubernetes namespace '{ns}': "
                                   '.status.phase is "Active", == "Active"')

    run = sample(driver, kube_probe(".status.replicas >= 1", namespace=ns,
                                    name="nothing"), *kc)
    assert run.rc == 0 and run.last["passed"] is False, run
    assert run.last["message"] == (f"kubernetes deployment '{ns}/nothing': "
                                   "not found")

    run = sample(driver, kube_probe(".status.replicas >= 1", namespace=ns,
                                    kind="Deploymnt"), *kc)
    assert run.last["message"] == ("kubernetes: apiVersion 'apps/v1' has no "
                                   "kind 'Deploymnt'"), run

    run = sample(driver, kube_probe(".status.replicas >= 1", namespace=ns,
                                    apiVersion="nope.example.com/v1"), *kc)
    assert run.last["message"] == ("kubernetes: apiVersion "
                                   "'nope.example.com/v1' is not served"), run
    assert run.last["passed"] is False and run.last["invalid"] is False


# -- bad probes ---------------------------------------------------------------


def test_unreachable_urls_fail_the_sample(driver):
    port = closed_port()
    run = sample(driver, {"name": "down", "timeout": "2s",
                          "http": {"url": f"http://{LOOPBACK}:{port}/x"}})
    assert run.rc == 0, run
    assert run.last["passed"] is False and run.last["invalid"] is False
    assert run.last["message"] == (f"http GET http://{LOOPBACK}:{port}/x: "
                                   "cannot connect")

    run = sample(driver, {"name": "down", "prometheus": {
        "url": f"http://u:secret@{LOOPBACK}:{port}", "query": "up",
        "expect": "< 1"}})
    assert run.rc == 0 and run.last["passed"] is False, run
    # The password never shows.
    assert run.last["message"] == (f"prometheus http://{LOOPBACK}:{port}: "
                                   "cannot connect")


@pytest.mark.parametrize("probe, says", [
    ({"name": "p", "prometheus": {"url": "http://127.0.0.1:9", "query": "up",
                                  "expect": "<< 0.5"}},
     "probe 'p': prometheus.expect: cannot parse '<< 0.5': expected a "
     "number after '<'"),
    ({"name": "p", "prometheus": {"url": "http://127.0.0.1:9", "query": "up",
                                  "expect": "about 3"}},
     "probe 'p': prometheus.expect: cannot parse 'about 3': expected an "
     "operator (<, <=, >, >=, ==, !=) first"),
    ({"name": "p", "kubernetes": {"apiVersion": "apps/v1", "kind": "D",
                                  "name": "x", "expect": ".a.b > high"}},
     "probe 'p': kubernetes.expect: cannot parse '.a.b > high': '>' needs "
     "a number; strings and booleans compare with == or !="),
    ({"name": "p", "http": {"url": "gopher://127.0.0.1:9/"}},
     "probe 'p': http.url: must be an http or https url"),
    ({"name": "p", "cloudwatch": {"namespace": "AWS/ELB", "metric": "m",
                                  "statistic": "p99", "expect": "< 1"}},
     "probe 'p': cloudwatch: no AWS client here"),
    ({"name": "p"},
     "probe 'p': set exactly one of http, prometheus, kubernetes, "
     "cloudwatch"),
    ({"name": "p", "http": {"url": "http://127.0.0.1:9/"},
      "prometheus": {"url": "http://127.0.0.1:9", "query": "up",
                     "expect": "< 1"}},
     "probe 'p': set exactly one of http, prometheus, kubernetes, "
     "cloudwatch"),
])
def test_invalid_probes_are_refused(driver, probe, says):
    run = sample(driver, probe)
    assert run.rc == 3, run
    assert run.last["invalid"] is True and run.last["passed"] is False
    assert run.last["message"] == says
    assert run.last["samples"] == 0


def test_invalid_expect_in_a_manifest_names_the_field(driver, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent("""\
        apiVersion: faultline.dev/v1alpha1
        kind: ChaosExperiment
        metadata: {name: bad}
        spec:
          duration: 1m
          targets:
            - name: web
              pods: {selector: {matchLabels: {app: web}}}
          faults:
            - {name: slow, target: web, networkLatency: {delay: 100ms}}
          probes:
            - name: errors
              prometheus: {url: "http://127.0.0.1:9", query: up,
                           expect: "<< 0.5"}
        """))
    run = sample(driver, path)
    assert run.rc == 2, run
    assert run.lines == []
    assert "spec.probes[0].prometheus.expect" in run.stderr, run


# -- cloudwatch ---------------------------------------------------------------


def test_cloudwatch_probe_against_moto(driver, moto):
    """GetMetricData through our AWS client, signed, against moto: the
    newest datapoint of the metric decides the sample."""
    import datetime
    cw = moto.client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)
    cw.put_metric_data(Namespace="Shop/Checkout", MetricData=[{
        "MetricName": "Latency", "Value": 0.2, "Timestamp": now,
        "Dimensions": [{"Name": "Service", "Value": "checkout"}]}])
    probe = {"name": "p99", "cloudwatch": {
        "namespace": "Shop/Checkout", "metric": "Latency",
        "dimensions": {"Service": "checkout"}, "statistic": "Average",
        "period": "1m", "expect": "< 0.5"}}
    run = sample(driver, probe, "--aws", env=moto.env())
    assert run.rc == 0, run
    assert run.last["passed"] is True, run
    assert run.last["value"] == pytest.approx(0.2), run
    assert run.last["message"] == ("cloudwatch Shop/Checkout/Latency "
                                   "Average: value 0.2 < 0.5"), run

    probe["cloudwatch"]["expect"] = "< 0.1"
    run = sample(driver, probe, "--aws", env=moto.env())
    assert run.last["passed"] is False, run
    assert "value 0.2 is not < 0.1" in run.last["message"], run

    # Another dimension has no data: a failed sample that says so.
    probe["cloudwatch"]["dimensions"] = {"Service": "cart"}
    run = sample(driver, probe, "--aws", env=moto.env())
    assert run.last["passed"] is False, run
    assert "no datapoints" in run.last["message"], run

    # A wrong secret: the sample fails with the service's own error.
    env = {**moto.env(), "AWS_SECRET_ACCESS_KEY": "wrong"}
    run = sample(driver, probe, "--aws", env=env)
    assert run.last["passed"] is False, run
    assert "SignatureDoesNotMatch" in run.last["message"], run
