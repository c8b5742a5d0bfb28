"""The watch, the reflector's store, leader election and the Event
recorder (lib/kube_watch.h, kube_lease.h, kube_event.h) against a real
kube-apiserver, through tests/drivers/kube_watch_driver.c.

The tests write ConfigMaps themselves and count what the driver
delivers against what they wrote: nothing lost, nothing twice.  Every
wait polls for a condition with a deadline; the only time asserted is
an upper bound (a Lease taken over within its duration plus margin)."""

import base64
import http.client
import json
import os
import queue
import signal
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest

import harness
from faultproxy import FaultProxy


# -- helpers -----------------------------------------------------------------


class Api:
    """Direct writes to the API server as the admin, faster than one
    kubectl process per object.  Returns the parsed response."""

    def __init__(self, cp):
        self.cp = cp
        user = json.loads(open(cp.kubeconfig).read())["users"][0]["user"]
        self.ctx = ssl.create_default_context(cafile=cp.ca.cert_path)
        self.ctx.load_cert_chain(user["client-certificate"],
                                 user["client-key"])
        self.conn = None

    def call(self, method, path, body=None,
             ctype="application/json", attempts=60):
        data = json.dumps(body).encode() if body is not None else None
        for _ in range(attempts):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(
                        harness.LOOPBACK, self.cp.port, context=self.ctx,
                        timeout=30)
                self.conn.request(method, path, body=data,
                                  headers={"Content-Type": ctype})
                resp = self.conn.getresponse()
                payload = json.loads(resp.read() or b"{}")
            except (OSError, http.client.HTTPException):
                # The API server may be restarting: a new connection.
                self.conn = None
                time.sleep(0.5)
                continue
            if resp.status in (429, 503):
                time.sleep(0.5)
                continue
            if resp.status >= 300:
                raise harness.HarnessError(
                    f"{method} {path}: {resp.status} {payload}")
            return payload
        raise harness.HarnessError(f"{method} {path}: no answer")

    def create_cm(self, ns, name, value="0"):
        obj = self.call("POST", f"/api/v1/namespaces/{ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name}, "data": {"v": value}})
        return obj["metadata"]["resourceVersion"]

    def update_cm(self, ns, name, value):
        obj = self.call("PATCH", f"/api/v1/namespaces/{ns}/configmaps/{name}",
                        {"data": {"v": value}},
                        ctype="application/merge-patch+json")
        return obj["metadata"]["resourceVersion"]

    def delete_cm(self, ns, name):
        self.call("DELETE", f"/api/v1/namespaces/{ns}/configmaps/{name}")

    def truth(self, ns):
        """{name: resourceVersion} of the ConfigMaps in ns, as the server
        has them now."""
        items = self.call("GET", f"/api/v1/namespaces/{ns}/configmaps")
        return {i["metadata"]["name"]: i["metadata"]["resourceVersion"]
                for i in items["items"]
                if i["metadata"]["name"] != "kube-root-ca.crt"}


class Driver:
    """kube_watch_driver in its own process group, its stdout read line
    by line (each a JSON object) on a thread."""

    def __init__(self, build_dir, *args, log=None):
        exe = build_dir / "tests" / "drivers" / "kube_watch_driver"
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} missing: run make")
        self.lines = []
        self._q = queue.Queue()
        self.log = open(log, "w") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [str(exe), *map(str, args)], stdout=subprocess.PIPE,
            stderr=self.log, text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self._q.put(json.loads(line))
            except ValueError:
                self._q.put({"unparsed": line})

    def _drain(self):
        while True:
            try:
                self.lines.append(self._q.get_nowait())
            except queue.Empty:
                return

    def seen(self):
        self._drain()
        return list(self.lines)

    def wait_for(self, what, pred, timeout=60):
        """Polls until pred(lines) is true; returns its value."""
        def check():
            value = pred(self.seen())
            if not value and self.proc.poll() is not None:
                raise harness.HarnessError(
                    f"driver exited {self.proc.returncode} while waiting "
                    f"for {what}; output: {self.seen()[-20:]}")
            return value
        return harness.wait_until(what, check, timeout, interval=0.05)

    def stop(self, timeout=60):
        """SIGTERM, then wait for the driver's final line."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        finally:
            self.kill()
        self._reader.join(10)
        return self.seen()

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()
            self.log = subprocess.DEVNULL


@pytest.fixture
def drivers(build_dir):
    """Starts drivers; whatever is still running at the end is killed."""
    started = []

    def start(*args, **kw):
        d = Driver(build_dir, *args, **kw)
        started.append(d)
        return d
    yield start
    for d in started:
        d.kill()


@pytest.fixture(scope="module")
def api(control_plane):
    return Api(control_plane)


def changes(lines):
    return [ln for ln in lines if "type" in ln]


def notes(lines, kind):
    return [ln for ln in lines if ln.get("note") == kind]


def start_watch(drivers, cp, ns, *extra, kubeconfig=None, timeout=10,
                seconds=300):
    d = drivers("watch", "--kubeconfig", kubeconfig or cp.kubeconfig,
                "--timeout", timeout, "--for", seconds, "--dump", *extra,
                "core", "v1", "configmaps", ns)
    # Writes start only once the first watch runs, so that each of them
    # arrives as an event and not folded into the initial list.
    d.wait_for("the first watch", lambda ls: notes(ls, "watch"))
    return d


def story(lines):
    """What the reflector did, for the log of a failed test."""
    print("\n".join(json.dumps(ln) for ln in lines if "note" in ln))


def final_view(lines):
    story(lines)
    final = notes(lines, "final")
    assert final, f"driver printed no final line: {lines[-10:]}"
    return {o["name"]: o["rv"] for o in final[-1]["objects"]}


def assert_no_duplicates(lines):
    """Each (type, name, rv) delivered at most once, and an object is
    never added twice without a delete between."""
    seen, present = set(), set()
    for ev in changes(lines):
        key = (ev["type"], ev["name"], ev["rv"])
        assert key not in seen, f"delivered twice: {key}"
        seen.add(key)
        if ev["type"] == "ADDED":
            assert ev["name"] not in present, f"added twice: {ev}"
            present.add(ev["name"])
        elif ev["type"] == "DELETED":
            assert ev["name"] in present, f"delete of unknown: {ev}"
            present.discard(ev["name"])
        else:
            assert ev["name"] in present, f"update of unknown: {ev}"


def assert_exact(lines, written):
    """The driver delivered exactly what the test wrote: each create as
    one ADDED at its resourceVersion, each update as one MODIFIED at
    its, each delete as one DELETED."""
    got = changes(lines)
    added = sorted((e["name"], e["rv"]) for e in got if e["type"] == "ADDED")
    modified = sorted((e["name"], e["rv"]) for e in got
                      if e["type"] == "MODIFIED")
    deleted = sorted(e["name"] for e in got if e["type"] == "DELETED")
    assert added == sorted(written["created"])
    assert modified == sorted(written["updated"])
    assert deleted == sorted(written["deleted"])


def write_some(api, ns, prefix, n, written, update_every=1, delete_every=3):
    """Creates n ConfigMaps, updates some, deletes some; records each
    write's resourceVersion in written."""
    names = [f"{prefix}-{i}" for i in range(n)]
    for name in names:
        written["created"].append((name, api.create_cm(ns, name)))
    for i, name in enumerate(names):
        if i % update_every == 0:
            written["updated"].append((name, api.update_cm(ns, name, "1")))
    for i, name in enumerate(names):
        if delete_every and i % delete_every == 0:
            api.delete_cm(ns, name)
            written["deleted"].append(name)
    return names


def new_written():
    return {"created": [], "updated": [], "deleted": []}


def wait_delivered(d, api, ns, timeout=90):
    """Until the driver has delivered a change for everything the server
    holds now and for each object deleted: its store equals the truth."""
    truth = api.truth(ns)

    def caught_up(lines):
        latest = {}
        for e in changes(lines):
            latest[e["name"]] = None if e["type"] == "DELETED" else e["rv"]
        view = {k: v for k, v in latest.items() if v is not None}
        return view == truth
    d.wait_for(f"the store to match the server in {ns}", caught_up, timeout)
    return truth


# -- the watch ---------------------------------------------------------------


def test_watch_delivers_each_write_exactly_once(control_plane, api,
                                                drivers):
    cp = control_plane
    ns = cp.create_namespace("watch")
    d = start_watch(drivers, cp, ns)
    written = new_written()
    write_some(api, ns, "cm", 30, written)
    truth = wait_delivered(d, api, ns)

    lines = d.stop()
    assert_exact(lines, written)
    assert_no_duplicates(lines)
    assert final_view(lines) == truth
    assert len(truth) == 20


def test_bookmarks_move_the_resume_point(control_plane, api, drivers):
    """A short timeoutSeconds makes the server end each watch; the API
    server sends a bookmark shortly before, and the next watch resumes
    from the bookmark's resourceVersion, which is past our namespace's
    last event because another namespace kept writing."""
    cp = control_plane
    ns, other = cp.create_namespace("bm"), cp.create_namespace("bm-other")
    d = start_watch(drivers, cp, ns, timeout=4)
    written = new_written()
    write_some(api, ns, "cm", 3, written, delete_every=0)

    stop = threading.Event()

    def noise():
        i = 0
        while not stop.is_set():
            api2.create_cm(other, f"noise-{i}")
            i += 1
            stop.wait(0.2)
    api2 = Api(cp)
    t = threading.Thread(target=noise, daemon=True)
    t.start()
    try:
        def resumed_from_bookmark(lines):
            last_bm = None
            for ln in lines:
                if ln.get("note") == "bookmark":
                    last_bm = ln["rv"]
                elif ln.get("note") == "watch" and ln.get("resume"):
                    if last_bm is not None and ln["rv"] == last_bm:
                        return ln["rv"]
            return None
        rv = d.wait_for("a resume from a bookmark", resumed_from_bookmark,
                        timeout=60)
    finally:
        stop.set()
        t.join(10)

    lines = d.stop()
    last_event_rv = max(int(e["rv"]) for e in changes(lines))
    assert int(rv) > last_event_rv
    # Bookmarks reach the reflector, never the consumer.
    assert all(e["type"] != "BOOKMARK" for e in changes(lines))
    assert_exact(lines, written)


def test_resume_after_apiserver_restart(control_plane, api, drivers):
    cp = control_plane
    ns = cp.create_namespace("restart")
    d = start_watch(drivers, cp, ns, "--backoff-max-ms", 2000)
    before = write_some(api, ns, "before", 10, new_written(),
                        delete_every=0)
    wait_delivered(d, api, ns)
    watches = len(notes(d.seen(), "watch"))

    cp.restart_apiserver()
    # Right after the restart the watcher is still reconnecting: these
    # writes land in the gap.
    for name in before[:4]:
        api.delete_cm(ns, name)
    for name in before[4:7]:
        api.update_cm(ns, name, "gap")
    for i in range(5):
        api.create_cm(ns, f"gap-{i}")
    d.wait_for("a new watch after the restart",
               lambda ls: len(notes(ls, "watch")) > watches, timeout=90)
    for i in range(5):
        api.create_cm(ns, f"after-{i}")
    api.update_cm(ns, "gap-0", "after")
    truth = wait_delivered(d, api, ns)

    lines = d.stop()
    assert_no_duplicates(lines)
    assert final_view(lines) == truth
    deleted = {e["name"] for e in changes(lines) if e["type"] == "DELETED"}
    assert deleted == set(before[:4])
    failed = notes(lines, "failed")
    assert failed, "the restart should have broken the watch"


def etcd_compact(cp):
    """Compacts etcd at its current revision through its HTTP/JSON
    gateway, so that every older resourceVersion is gone."""
    def post(path, body):
        req = urllib.request.Request(
            f"{cp.etcd_url}{path}", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)
    key = base64.b64encode(b"/").decode()
    rev = int(post("/v3/kv/range", {"key": key})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": str(rev), "physical": True})
    return rev


def test_relist_after_410_delivers_deletes_from_the_gap(control_plane, api,
                                                        drivers):
    """The watcher is frozen (SIGSTOP) while objects are deleted, changed
    and created, etcd is compacted past its resourceVersion and the API
    server restarts with a fresh watch cache; when it thaws, its resume
    gets 410 Gone, it relists, and the diff tells exactly the changes of
    the gap."""
    cp = control_plane
    ns = cp.create_namespace("gone")
    d = start_watch(drivers, cp, ns, "--backoff-max-ms", 2000)
    names = write_some(api, ns, "cm", 12, new_written(), delete_every=0)
    wait_delivered(d, api, ns)
    before = len(changes(d.seen()))

    os.killpg(d.proc.pid, signal.SIGSTOP)
    try:
        for name in names[:5]:
            api.delete_cm(ns, name)
        for name in names[5:8]:
            api.update_cm(ns, name, "gap")
        for i in range(3):
            api.create_cm(ns, f"new-{i}")
        etcd_compact(cp)
        cp.restart_apiserver()
    finally:
        os.killpg(d.proc.pid, signal.SIGCONT)

    d.wait_for("a relist after 410", lambda ls: notes(ls, "expired")
               and len(notes(ls, "listed")) >= 2, timeout=90)
    truth = wait_delivered(d, api, ns)
    lines = d.stop()

    gap = changes(lines)[before:]
    assert sorted(e["name"] for e in gap if e["type"] == "DELETED") == \
        sorted(names[:5])
    assert sorted(e["name"] for e in gap if e["type"] == "MODIFIED") == \
        sorted(names[5:8])
    assert sorted(e["name"] for e in gap if e["type"] == "ADDED") == \
        [f"new-{i}" for i in range(3)]
    assert_no_duplicates(lines)
    assert final_view(lines) == truth
    kubectl_names = set(cp.kubectl(
        "get", "configmaps", "-n", ns, "-o",
        "jsonpath={.items[*].metadata.name}").stdout.split())
    kubectl_names.discard("kube-root-ca.crt")
    assert set(final_view(lines)) == kubectl_names


def test_watch_converges_through_a_faulty_proxy(control_plane, api, drivers):
    """Connections cut every one to three seconds, every chunk delayed,
    and bursts of 429 and 503 with Retry-After: the watcher still
    delivers every write exactly once."""
    cp = control_plane
    ns = cp.create_namespace("proxy")
    with FaultProxy(cp) as proxy:
        proxy.delay_s = 0.02
        d = start_watch(drivers, cp, ns, "--backoff-max-ms", 3000,
                        "--retries", 2, kubeconfig=proxy.kubeconfig,
                        timeout=20)
        proxy.cut_after = (1.0, 3.0)
        written = new_written()
        # Each round of writes is followed by at least one more cut, so
        # that writes and broken watches interleave however fast the
        # machine is.
        for rnd in range(4):
            cuts = proxy.cuts
            write_some(api, ns, f"r{rnd}", 10, written)
            harness.wait_until("the proxy to cut a watch",
                               lambda: proxy.cuts > cuts, 60)
        proxy.reject(3, status=429, retry_after=1)
        proxy.reject(3, status=503, retry_after=1)
        proxy.drop_all()
        write_some(api, ns, "during", 10, written)
        harness.wait_until("the rejections to be served",
                           lambda: proxy.rejects_pending() == 0, 60)
        write_some(api, ns, "after", 10, written)
        truth = wait_delivered(d, api, ns, timeout=120)
        lines = d.stop()

    assert proxy.cuts >= 4
    assert proxy.rejected.get(429) and proxy.rejected.get(503)
    assert len(notes(lines, "watch")) > 2
    assert_no_duplicates(lines)
    assert final_view(lines) == truth
    if not notes(lines, "expired"):
        # Every break was resumed from its resourceVersion, so every
        # write arrived as itself.
        assert_exact(lines, written)


# -- leader election ---------------------------------------------------------

LEASE_S, RENEW_MS, RETRY_MS = 6, 4000, 1000


def lease_states(d):
    return [ln for ln in d.seen() if ln.get("lease") in ("leading",
                                                          "stopped")]


def test_one_leader_and_takeover_after_sigkill(control_plane, drivers):
    cp = control_plane
    ns = cp.create_namespace("lease")
    name = f"lock-{uuid.uuid4().hex[:6]}"
    ds = {}
    for cid in ("a", "b"):
        ds[cid] = drivers("lease", "--kubeconfig", cp.kubeconfig,
                          "--namespace", ns, "--name", name, "--id", cid,
                          "--duration", LEASE_S, "--renew-deadline-ms",
                          RENEW_MS, "--retry-ms", RETRY_MS, "--retries", 1,
                          "--timeout-ms", 3000, "--for", 120)

    def leaders():
        return [cid for cid, d in ds.items()
                if any(ln["lease"] == "leading" for ln in lease_states(d))]
    first = harness.wait_until("a leader", leaders, 30)
    assert len(first) == 1
    leader = first[0]
    other = "b" if leader == "a" else "a"

    def holder():
        r = cp.kubectl("get", "lease", name, "-n", ns, "-o",
                       "jsonpath={.spec.holderIdentity}", check=False)
        return r.stdout.strip() if r.returncode == 0 else None
    # Several retry periods pass with both candidates polling: still one.
    renewed = cp.kubectl("get", "lease", name, "-n", ns, "-o",
                         "jsonpath={.spec.renewTime}").stdout
    harness.wait_until(
        "the leader to renew", lambda: cp.kubectl(
            "get", "lease", name, "-n", ns, "-o",
            "jsonpath={.spec.renewTime}").stdout != renewed, 30)
    assert holder() == leader
    assert leaders() == [leader]

    killed_at = time.time()
    os.killpg(ds[leader].proc.pid, signal.SIGKILL)
    ds[leader].proc.wait()

    def took_over():
        for ln in lease_states(ds[other]):
            if ln["lease"] == "leading":
                return ln["time"]
        return None
    took_at = harness.wait_until("the other to take over", took_over,
                                 LEASE_S + 60)
    # Until the kill, the other never led.
    assert all(ln["time"] > killed_at for ln in lease_states(ds[other])
               if ln["lease"] == "leading")
    bound = LEASE_S + RETRY_MS / 1000 + 5
    assert took_at - killed_at <= bound, (
        f"took {took_at - killed_at:.1f}s, more than {bound}s")
    assert holder() == other
    lease = json.loads(cp.kubectl("get", "lease", name, "-n", ns, "-o",
                                  "json").stdout)
    assert lease["spec"]["leaseTransitions"] >= 1

    # A clean stop gives the Lease up.
    ds[other].stop()
    harness.wait_until("the Lease to be released",
                       lambda: holder() == "", 30)


def test_leader_that_cannot_renew_steps_down_first(control_plane, drivers):
    """The leader reaches the API server through the fault proxy, which
    then stalls: the leader must give up leading (renew deadline) before
    the other candidate can take the Lease (lease duration), so that
    there are never two leaders."""
    cp = control_plane
    ns = cp.create_namespace("lease-cut")
    name = f"lock-{uuid.uuid4().hex[:6]}"
    duration, renew_ms, retry_ms, timeout_ms = 8, 3000, 1000, 1000
    common = ["--namespace", ns, "--name", name, "--duration", duration,
              "--renew-deadline-ms", renew_ms, "--retry-ms", retry_ms,
              "--retries", -1, "--timeout-ms", timeout_ms, "--for", 120]

    def first(d, what):
        for ln in lease_states(d):
            if ln["lease"] == what:
                return ln["time"]
        return None

    with FaultProxy(cp) as proxy:
        a = drivers("lease", "--kubeconfig", proxy.kubeconfig, "--id", "a",
                    *common)
        harness.wait_until("a to lead", lambda: first(a, "leading"), 30)
        b = drivers("lease", "--kubeconfig", cp.kubeconfig, "--id", "b",
                    *common)
        harness.wait_until("b to start", lambda: b.seen(), 30)

        cut_at = time.time()
        proxy.hold()
        proxy.drop_all()
        stopped = harness.wait_until("a to step down",
                                     lambda: first(a, "stopped"), 60)
        took = harness.wait_until("b to take over",
                                  lambda: first(b, "leading"), 60)

    assert stopped < took, "two leaders at once"
    margin = 5
    assert stopped - cut_at <= (renew_ms + timeout_ms + retry_ms) / 1000 \
        + margin
    assert took - cut_at <= duration + 2 * retry_ms / 1000 + margin


# -- events ------------------------------------------------------------------


def test_repeated_event_becomes_one_series(control_plane, drivers):
    cp = control_plane
    ns = cp.create_namespace("events")
    cm = "target"
    cp.kubectl("create", "configmap", cm, "-n", ns)
    d = drivers("event", "--kubeconfig", cp.kubeconfig, "--namespace", ns,
                "--kind", "ConfigMap", "--api-version", "v1", "--name", cm,
                "--type", "Warning", "--reason", "ProbeFailed",
                "--action", "Probe", "--note", "checkout answered 503",
                "--times", 5, "--for", 60)
    assert d.proc.wait(60) == 0
    counts = [ln.get("count") for ln in d.stop()]
    assert counts == [1, 2, 3, 4, 5]

    # A different note is a different event.
    d2 = drivers("event", "--kubeconfig", cp.kubeconfig, "--namespace", ns,
                 "--kind", "ConfigMap", "--api-version", "v1", "--name", cm,
                 "--type", "Normal", "--reason", "ProbePassed",
                 "--action", "Probe", "--note", "all good", "--for", 60)
    assert d2.proc.wait(60) == 0

    events = json.loads(cp.kubectl("get", "events.events.k8s.io", "-n", ns,
                                   "-o", "json").stdout)["items"]
    failed = [e for e in events if e.get("reason") == "ProbeFailed"]
    assert len(failed) == 1
    ev = failed[0]
    assert ev["series"]["count"] == 5
    assert ev["series"]["lastObservedTime"]
    assert ev["regarding"]["name"] == cm
    assert ev["type"] == "Warning"
    assert ev["reportingController"] == "faultline.dev/test-driver"
    passed = [e for e in events if e.get("reason") == "ProbePassed"]
    assert len(passed) == 1 and "series" not in passed[0]
