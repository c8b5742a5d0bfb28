"""faultline-operator carrying out the AWS fault kinds end to end: the real
API server for the experiment and the Nodes, moto (signature checks on)
for EC2, ECS, RDS, STS and CloudWatch.  The operator runs with moto's
environment only (endpoint override, keys, region; no shared files, no
instance metadata), so it cannot reach anything else.

Every test starts its own operator, watching only the test's namespace,
so that an operator with a wrong secret, a throttling proxy or IRSA
credentials acts on its own experiment alone.

There is no kubelet and no cloud controller: Nodes are created by the
test with providerIDs of moto's instances and marked Ready through the
status subresource; when a run waits for a terminated node to be
replaced, the test plays the Auto Scaling group and adds a Ready Node.
"""

import json
import os
import subprocess
import tempfile
import time
import urllib.request

import pytest

import awsproxy
import harness
import opharness as oh

ACCOUNT = "123456789012"
GONE = ("shutting-down", "terminated")


@pytest.fixture(scope="module")
def setup(control_plane):
    kubeconfig = oh.install(control_plane)
    self_ns = control_plane.create_namespace("faultline-aws")
    return control_plane, kubeconfig, self_ns


@pytest.fixture
def operator(setup, moto, tmp_path):
    """start(ns, env=...) runs an operator that watches ns only, with
    moto's environment updated by env (a None value removes a
    variable).  Stopped at the end of the test, pass or fail."""
    cp, kubeconfig, self_ns = setup
    started = []

    def start(ns, env=None, name="operator", failpoint=None):
        e = dict(moto.env())
        e.update({"AWS_EC2_METADATA_DISABLED": "true",
                  "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
                  "AWS_SHARED_CREDENTIALS_FILE":
                      str(tmp_path / "no-credentials")})
        removed = set()
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
                removed.add(k)
            else:
                e[k] = v
        op = oh.Operator(cp, kubeconfig, self_ns, name=name,
                         args=["--leader-elect=false", f"--namespaces={ns}"],
                         env=e)
        started.append(op)
        # Operator.start() starts from os.environ: a variable the test
        # wants gone must not come back from there.
        assert not removed & set(os_environ_aws()), \
            "the test environment sets AWS variables this test removes"
        op.start(extra_env={"FAULTLINE_FAILPOINTS": failpoint}
                 if failpoint else None)
        return op

    yield start
    for op in started:
        op.stop()


def os_environ_aws():
    return [k for k in os.environ if k.startswith("AWS_")]


@pytest.fixture
def nodes(setup):
    """make(n, labels, ...) creates Ready Nodes; all are deleted after
    the test."""
    cp = setup[0]
    made = []

    def make(name, labels, provider_id):
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": labels},
                "spec": {"providerID": provider_id}}
        cp.kubectl("apply", "-f", "-", input=json.dumps(node))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status = {"status": {"conditions": [{
            "type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": now, "lastTransitionTime": now}]}}
        cp.kubectl("patch", "node", name, "--subresource=status",
                   "--type=merge", "-p", json.dumps(status))
        made.append(name)
        return name

    yield make
    for name in made:
        cp.kubectl("delete", "node", name, "--wait=false", check=False)


def run_instances(moto, n, tags=None, zone="us-east-1a"):
    r = moto.client("ec2").run_instances(
        ImageId="ami-12345678", MinCount=n, MaxCount=n,
        InstanceType="t3.micro", Placement={"AvailabilityZone": zone},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": k, "Value": v} for k, v in (tags or {}).items()]}]
        if tags else [])
    return sorted(i["InstanceId"] for i in r["Instances"])


def ec2_states(moto, ids):
    r = moto.client("ec2").describe_instances(InstanceIds=list(ids))
    return {i["InstanceId"]: i["State"]["Name"]
            for res in r["Reservations"] for i in res["Instances"]}


def provider_id(iid, zone="us-east-1a"):
    return f"aws:///{zone}/{iid}"


def node_spec(pool, mode=None, action="terminate", duration="2s",
              blast=100, recovery="60s", **params):
    fault = {"action": action}
    fault.update(params)
    return {
        "hypothesis": "the shop survives losing a node",
        "duration": duration,
        "targets": [{"name": "workers", "nodes": {
            "selector": {"matchLabels": {"faultline.test/pool": pool}}}}],
        "faults": [{"name": "lose-node", "target": "workers",
                    "mode": mode or {"count": 1},
                    "nodeTermination": fault}],
        "safety": {"maxBlastRadius": blast},
        "successCriteria": {"maxRecoveryTime": recovery},
    }


def pool_nodes(moto, nodes, pool, n, tags=None):
    """n instances in moto and their Ready Nodes labelled with pool:
    {node name: instance id}."""
    ids = run_instances(moto, n, tags)
    out = {}
    for i, iid in enumerate(ids):
        name = nodes(f"{pool}-{i}", {"faultline.test/pool": pool},
                     provider_id(iid))
        out[name] = iid
    return out


def wait_end(cp, ns, name, op, timeout=120):
    return oh.wait_phase(cp, ns, name, oh.TERMINAL, timeout, [op.proc])


def replace_when_recovering(cp, ns, name, op, nodes, pool, count):
    """Plays the Auto Scaling group: once the run waits in Recovering,
    adds count Ready Nodes to the pool.  Returns the status seen while
    it waited."""
    st = oh.wait_phase(cp, ns, name, "Recovering", 90, [op.proc])["status"]
    for i in range(count):
        nodes(f"{pool}-new-{i}", {"faultline.test/pool": pool},
              "aws:///us-east-1a/i-0fffffffffffffff" + str(i))
    return st


def entries(obj):
    return (obj or {}).get("status", {}).get("targets", [])


# -- nodeTermination ---------------------------------------------------------


def test_node_termination_terminates_exactly_the_chosen(setup, moto, operator,
                                                        nodes):
    cp = setup[0]
    ns = cp.create_namespace("nt")
    pool = oh.unique("pool")
    members = pool_nodes(moto, nodes, pool, 4, {"pool": pool})
    bystanders = run_instances(moto, 2, {"pool": pool})
    op = operator(ns)
    oh.apply(cp, ns, oh.experiment("lose-two", node_spec(
        pool, mode={"count": 2}, blast=50)))

    waiting = replace_when_recovering(cp, ns, "lose-two", op, nodes, pool, 2)
    # Two nodes are gone and none has come back yet: recovery waits.
    assert all("recoveredAt" not in e for e in entries({"status": waiting}))
    obj = wait_end(cp, ns, "lose-two", op)
    st = obj["status"]
    assert (st["phase"], st["verdict"]) == ("Completed", "Passed"), st
    chosen = {e["name"]: e for e in st["targets"]}
    assert len(chosen) == 2 and set(chosen) <= set(members)
    for name, e in chosen.items():
        assert e["state"] == "Reverted", e
        assert e["engine"] == "ec2" and e["action"] == "terminate"
        assert e["instanceId"] == members[name]
        assert e["population"] == 4
        assert e["injectedAt"] and e["revertedAt"] and e["recoveredAt"]
        assert "nothing to revert" in e["reason"]

    # In EC2: exactly the chosen instances were terminated.
    states = ec2_states(moto, list(members.values()) + bystanders)
    hit = {iid for iid, s in states.items() if s in GONE}
    assert hit == {members[n] for n in chosen}
    assert all(states[i] == "running" for i in bystanders)


def test_require_tag_guards_untagged_instances(setup, moto, operator, nodes):
    cp = setup[0]
    ns = cp.create_namespace("guard")
    pool = oh.unique("guard")
    [tagged] = run_instances(moto, 1, {"chaos": "allowed"})
    [wrong] = run_instances(moto, 1, {"chaos": "denied"})
    [bare] = run_instances(moto, 1)
    labels = {"faultline.test/pool": pool}
    nodes(f"{pool}-tagged", labels, provider_id(tagged))
    nodes(f"{pool}-wrong", labels, provider_id(wrong))
    nodes(f"{pool}-bare", labels, provider_id(bare))
    nodes(f"{pool}-kind", labels, "kind://docker/kind/kind-worker")
    op = operator(ns)
    oh.apply(cp, ns, oh.experiment("guarded", node_spec(
        pool, mode={"all": True}, recovery="3s",
        requireTag={"key": "chaos", "value": "allowed"})))

    st = wait_end(cp, ns, "guarded", op)["status"]
    by_node = {e["name"]: e for e in st["targets"]}
    assert len(by_node) == 4, st
    assert by_node[f"{pool}-tagged"]["instanceId"] == tagged
    assert by_node[f"{pool}-tagged"].get("injectedAt")
    for name, iid, has in ((f"{pool}-wrong", wrong, "it has 'denied'"),
                           (f"{pool}-bare", bare, "requireTag")):
        e = by_node[name]
        assert e["state"] == "Failed", e
        assert iid in e["reason"] and "chaos=allowed" in e["reason"], e
        assert has in e["reason"] and "not touched" in e["reason"], e
        assert "injectedAt" not in e
    kind = by_node[f"{pool}-kind"]
    assert kind["state"] == "Failed"
    assert "not an EC2 instance" in kind["reason"], kind
    assert "kind://docker/kind/kind-worker" in kind["reason"]
    assert st["verdict"] == "Failed"

    states = ec2_states(moto, [tagged, wrong, bare])
    assert states[tagged] in GONE
    assert states[wrong] == "running" and states[bare] == "running"


def test_notice_is_refused_and_nothing_is_touched(setup, moto, operator,
                                                  nodes):
    cp = setup[0]
    ns = cp.create_namespace("notice")
    pool = oh.unique("spot")
    members = pool_nodes(moto, nodes, pool, 1)
    op = operator(ns)
    oh.apply(cp, ns, oh.experiment("spot", node_spec(pool, notice="30s")))

    st = wait_end(cp, ns, "spot", op)["status"]
    [e] = st["targets"]
    assert e["state"] == "Failed"
    assert "notice is not supported yet" in e["reason"], e
    assert st["verdict"] == "Failed"
    assert ec2_states(moto, members.values()) == {
        iid: "running" for iid in members.values()}


def test_stop_is_reverted_by_starting_again_on_alarm_abort(setup, moto,
                                                           operator, nodes):
    """A long run with a CloudWatch alarm as its abort condition: the
    alarm fires mid-run, the run is aborted, and the stopped instance is
    started again (the revert of a stop)."""
    cp = setup[0]
    ns = cp.create_namespace("alarm")
    pool = oh.unique("alarm")
    members = pool_nodes(moto, nodes, pool, 2)
    cw = moto.client("cloudwatch")
    alarm = oh.unique("checkout-5xx")
    cw.put_metric_alarm(AlarmName=alarm, MetricName="5xx", Namespace="Shop",
                        Statistic="Sum", Period=60, EvaluationPeriods=1,
                        Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="fine")
    spec = node_spec(pool, action="stop", duration="10m")
    spec["safety"]["abortWhen"] = {"cloudwatchAlarms": [alarm],
                                   "region": harness.REGION}
    op = operator(ns)
    oh.apply(cp, ns, oh.experiment("guarded-by-alarm", spec))

    obj = oh.wait_phase(cp, ns, "guarded-by-alarm", "Observing", 60,
                        [op.proc])
    [e] = entries(obj)
    assert e["state"] == "Injected" and e["action"] == "stop"
    iid = e["instanceId"]
    assert ec2_states(moto, [iid])[iid] in ("stopping", "stopped")
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM",
                       StateReason="5xx above 1 for 1 datapoint")

    st = oh.wait_phase(cp, ns, "guarded-by-alarm", oh.TERMINAL, 60,
                       [op.proc])["status"]
    assert st["phase"] == "Aborted", st
    assert alarm in st["message"] and "ALARM" in st["message"], st
    assert "5xx above 1" in st["message"]
    [e] = st["targets"]
    assert e["state"] == "Reverted", e
    assert "started again" in e["reason"], e
    assert ec2_states(moto, [iid])[iid] in ("pending", "running")
    other = (set(members.values()) - {iid}).pop()
    assert ec2_states(moto, [other])[other] == "running"


@pytest.mark.parametrize("point", ["after-marked-injecting", "after-inject"])
def test_restart_never_stops_twice(setup, moto, operator, nodes, point):
    """The operator dies (SIGKILL) right before or right after it asked
    EC2 to stop the instance; restarted, it checks EC2 instead of asking
    again, and the stop is reverted (started) exactly once."""
    cp = setup[0]
    ns = cp.create_namespace("nt-restart")
    pool = oh.unique("rst")
    [iid] = pool_nodes(moto, nodes, pool, 1).values()
    with awsproxy.AwsProxy(moto.endpoint) as proxy:
        op = operator(ns, env={"AWS_ENDPOINT_URL_EC2": proxy.endpoint},
                      failpoint=point)
        oh.apply(cp, ns, oh.experiment("crash", node_spec(
            pool, action="stop", duration="1s")))
        code = op.wait_exit(timeout=60)
        assert code in (9, -9), f"exit {code}{op.describe()}"
        op.start()
        st = wait_end(cp, ns, "crash", op)["status"]
    assert (st["verdict"], st["targets"][0]["state"]) == \
        ("Passed", "Reverted"), st
    calls = [a for a, o in proxy.actions if o == "forwarded"]
    assert calls.count("StopInstances") == 1, calls
    assert calls.count("StartInstances") == 1, calls
    assert ec2_states(moto, [iid])[iid] in ("pending", "running")


def test_missing_alarm_is_reported_and_the_run_goes_on(setup, moto,
                                                        operator, nodes):
    """An abort alarm that does not exist can never fire: the run is not
    aborted for it, but every reader is told (a Warning Event)."""
    cp = setup[0]
    ns = cp.create_namespace("noalarm")
    pool = oh.unique("noalarm")
    pool_nodes(moto, nodes, pool, 1)
    missing = oh.unique("no-such-alarm")
    spec = node_spec(pool, action="reboot", duration="3s")
    spec["safety"]["abortWhen"] = {"cloudwatchAlarms": [missing]}
    op = operator(ns)
    oh.apply(cp, ns, oh.experiment("unguarded", spec))

    st = wait_end(cp, ns, "unguarded", op)["status"]
    assert (st["phase"], st["verdict"]) == ("Completed", "Passed"), st
    events = json.loads(cp.kubectl("get", "events.events.k8s.io", "-n", ns,
                                   "-o", "json").stdout)["items"]
    notes = [e.get("note", "") for e in events
             if e["reason"] == "AlarmsUnreadable"]
    assert notes, [e["reason"] for e in events]
    assert f"cloudwatch alarm '{missing}' does not exist" in notes[0]


# -- errors ------------------------------------------------------------------


def test_wrong_secret_is_reported_not_retried(setup, moto, operator, nodes):
    cp = setup[0]
    ns = cp.create_namespace("authfail")
    pool = oh.unique("auth")
    members = pool_nodes(moto, nodes, pool, 1)
    op = operator(ns, env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    oh.apply(cp, ns, oh.experiment("denied", node_spec(pool)))
    ecs_spec = {
        "hypothesis": "api survives losing a task", "duration": "2s",
        "targets": [{"name": "api", "ecsTasks": {"cluster": "default",
                                                 "service": "api"}}],
        "faults": [{"name": "stop", "target": "api", "ecsTaskStop": {}}]}
    oh.apply(cp, ns, oh.experiment("denied-ecs", ecs_spec))

    st = wait_end(cp, ns, "denied", op)["status"]
    [e] = st["targets"]
    assert e["state"] == "Failed", e
    assert "ec2 DescribeInstances: AuthFailure: " in e["reason"], e
    assert "attempts" not in e, "an auth failure is not retried"
    assert st["phase"] == "Completed" and st["verdict"] == "Failed"
    assert "AuthFailure" in st["message"]
    assert list(ec2_states(moto, members.values()).values()) == ["running"]
    # ECS: the population cannot be read, so nothing is chosen.
    st = wait_end(cp, ns, "denied-ecs", op)["status"]
    assert (st["phase"], st["verdict"]) == ("Failed", "Error"), st
    assert "ecs ListTasks: " in st["message"], st
    assert "SignatureDoesNotMatch" in st["message"] or \
        "UnrecognizedClient" in st["message"], st
    assert op.proc.exit_status() is None, "the operator crashed"


def test_throttling_is_retried_then_succeeds(setup, moto, operator, nodes):
    cp = setup[0]
    ns = cp.create_namespace("throttle")
    pool = oh.unique("thr")
    members = pool_nodes(moto, nodes, pool, 1)
    [iid] = members.values()
    with awsproxy.AwsProxy(moto.endpoint) as proxy:
        # More than one call's own retries (5 attempts): the first inject
        # attempt fails, the operator tries again and succeeds.
        proxy.throttle(7)
        op = operator(ns, env={"AWS_ENDPOINT_URL_EC2": proxy.endpoint})
        oh.apply(cp, ns, oh.experiment("throttled", node_spec(
            pool, action="reboot")))
        st = wait_end(cp, ns, "throttled", op)["status"]
    [e] = st["targets"]
    assert (st["verdict"], e["state"]) == ("Passed", "Reverted"), st
    assert e["attempts"] == 1, e
    assert proxy.throttled == 7
    assert ("RebootInstances", "forwarded") in proxy.actions
    assert [a for a, _ in proxy.actions].count("RebootInstances") == 1
    assert ec2_states(moto, [iid])[iid] == "running"


def test_throttling_without_end_is_reported(setup, moto, operator, nodes):
    cp = setup[0]
    ns = cp.create_namespace("throttle-all")
    pool = oh.unique("thrall")
    members = pool_nodes(moto, nodes, pool, 1)
    [iid] = members.values()
    with awsproxy.AwsProxy(moto.endpoint) as proxy, \
            Watch(cp, ns) as seen:
        proxy.throttle(100000)
        oh.apply(cp, ns, oh.experiment("throttled", node_spec(pool)))
        # The operator starts once the watch has the object: it sees
        # every status write from the first.
        harness.wait_until("the watch to see the experiment",
                           seen.versions, 30)
        op = operator(ns, env={"AWS_ENDPOINT_URL_EC2": proxy.endpoint})
        st = wait_end(cp, ns, "throttled", op)["status"]
    # While it retried, status said why, in every write until it gave up.
    retrying = [e["reason"] for obj in seen.versions()
                for e in entries(obj) if "retrying" in e.get("reason", "")]
    assert retrying, "no status write showed the retries"
    assert "(attempt 1 of 4; retrying)" in retrying[0], retrying
    assert "(attempt 3 of 4; retrying)" in retrying[-1], retrying
    assert all("ec2 DescribeInstances: RequestLimitExceeded" in r
               for r in retrying)
    [e] = st["targets"]
    assert e["state"] == "Failed", e
    assert e["reason"].startswith("gave up after 4 attempts: "), e
    assert "ec2 DescribeInstances: RequestLimitExceeded" in e["reason"]
    assert st["verdict"] == "Failed"
    assert proxy.forwarded == 0
    assert ec2_states(moto, [iid])[iid] == "running"


class Watch:
    """`kubectl get --watch -o json` of the experiments in ns: every
    version the API server wrote while it ran."""

    def __init__(self, cp, ns):
        self.out = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [cp._kubectl, f"--kubeconfig={cp.kubeconfig}",
             f"--cache-dir={cp.dir / 'kubectl-cache'}", "get",
             "chaosexperiments", "-n", ns, "--watch", "-o", "json"],
            stdout=self.out, stderr=subprocess.DEVNULL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)

    def versions(self):
        self.out.seek(0)
        text, dec, at, out = self.out.read().decode(), \
            json.JSONDecoder(), 0, []
        while True:
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                return out
            try:
                obj, at = dec.raw_decode(text, at)
            except ValueError:  # the last object is still being written
                return out
            out.append(obj)


# -- IRSA ----------------------------------------------------------------------


def reset_auth(moto, count):
    """Checks signatures from the request after `count` more unchecked
    ones (see harness.Moto._enable_auth)."""
    req = urllib.request.Request(f"{moto.endpoint}/moto-api/reset-auth",
                                 data=str(count).encode(), method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["status"] == "ok"


def test_irsa_credentials_through_the_operator(setup, moto, operator, nodes,
                                               tmp_path):
    cp = setup[0]
    ns = cp.create_namespace("irsa")
    pool = oh.unique("irsa")
    members = pool_nodes(moto, nodes, pool, 2)
    iam = moto.client("iam")
    role = oh.unique("faultline-operator")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/"
                                   "oidc.eks.us-east-1.amazonaws.com/id/X"}}]}
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(
        trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="all",
                        PolicyDocument=json.dumps(harness.ADMIN_POLICY))
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFj"
                     "Y291bnQ6ZmF1bHRsaW5lOm9wZXJhdG9yIn0.c2lnbmF0dXJl\n")
    op = operator(ns, env={"AWS_ACCESS_KEY_ID": None,
                           "AWS_SECRET_ACCESS_KEY": None,
                           "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
                           "AWS_ROLE_ARN": arn,
                           "AWS_ROLE_SESSION_NAME": "faultline-operator"})
    # AssumeRoleWithWebIdentity is unsigned; moto with signature checks
    # on lets exactly the next request through unchecked, and the
    # operator's first AWS request is that exchange (nothing else talks
    # to moto until the run has used the role's session).
    reset_auth(moto, 1)
    try:
        oh.apply(cp, ns, oh.experiment("irsa", node_spec(pool)))
        replace_when_recovering(cp, ns, "irsa", op, nodes, pool, 1)
    finally:
        reset_auth(moto, 0)
    st = wait_end(cp, ns, "irsa", op)["status"]
    [e] = st["targets"]
    assert (st["verdict"], e["state"]) == ("Passed", "Reverted"), st
    states = ec2_states(moto, members.values())
    assert states[e["instanceId"]] in GONE
    assert sorted(states.values()).count("running") == 1


# -- ecsTaskStop ---------------------------------------------------------------


@pytest.fixture
def ecs_service(moto):
    """A cluster with a container instance, a service "api" (desired 3),
    four of its tasks tagged team=payments, two tagged team=search, and
    one task of another family."""
    ecs, ec2 = moto.client("ecs"), moto.client("ec2")
    cluster = oh.unique("shop")
    ecs.create_cluster(clusterName=cluster)
    inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1,
                             MaxCount=1)["Instances"][0]
    doc = {"instanceId": inst["InstanceId"], "region": harness.REGION,
           "availabilityZone": "us-east-1a", "instanceType": "m5.4xlarge",
           "privateIp": inst["PrivateIpAddress"], "imageId": "ami-12345678"}
    ecs.register_container_instance(cluster=cluster,
                                    instanceIdentityDocument=json.dumps(doc))
    for fam in ("api", "batch"):
        ecs.register_task_definition(family=fam, containerDefinitions=[
            {"name": "app", "image": "nginx", "memory": 16, "cpu": 8}])
    ecs.create_service(cluster=cluster, serviceName="api",
                       taskDefinition="api", desiredCount=3)

    def run(n, team, family="api"):
        return [t["taskArn"] for t in ecs.run_task(
            cluster=cluster, taskDefinition=family, count=n,
            group=f"service:{family}",
            tags=[{"key": "team", "value": team}])["tasks"]]
    return cluster, run(4, "payments"), run(2, "search"), run(1, "payments",
                                                              "batch")


def task_states(moto, cluster, arns):
    r = moto.client("ecs").describe_tasks(cluster=cluster, tasks=arns)
    return {t["taskArn"]: (t["desiredStatus"], t.get("stoppedReason"))
            for t in r["tasks"]}


def test_ecs_task_stop_stops_exactly_the_chosen(setup, moto, operator,
                                                ecs_service):
    cp = setup[0]
    cluster, payments, search, batch = ecs_service
    ns = cp.create_namespace("ecs")
    op = operator(ns)
    spec = {
        "hypothesis": "the api survives losing two tasks", "duration": "2s",
        "targets": [{"name": "api", "ecsTasks": {
            "cluster": cluster, "service": "api",
            "tags": {"team": "payments"}, "region": harness.REGION}}],
        "faults": [{"name": "stop-two", "target": "api",
                    "mode": {"count": 2},
                    "ecsTaskStop": {"reason": "game day"}}],
        "safety": {"maxBlastRadius": 50},
        "successCriteria": {"maxRecoveryTime": "90s"}}
    oh.apply(cp, ns, oh.experiment("stop-two", spec))

    # moto's service reports 0 running tasks until its desired count is
    # set again: recovery waits for it, then the run passes.
    obj = oh.wait_phase(cp, ns, "stop-two", "Recovering", 60, [op.proc])
    assert all("recoveredAt" not in e for e in entries(obj))
    moto.client("ecs").update_service(cluster=cluster, service="api",
                                      desiredCount=3)
    st = wait_end(cp, ns, "stop-two", op)["status"]
    assert (st["phase"], st["verdict"]) == ("Completed", "Passed"), st
    chosen = {e["uid"] for e in st["targets"]}
    assert len(chosen) == 2 and chosen <= set(payments)
    for e in st["targets"]:
        assert e["engine"] == "ecs" and e["state"] == "Reverted"
        assert e["name"] == e["uid"].rsplit("/", 1)[1]
        assert e["recoveredAt"]

    states = task_states(moto, cluster, payments + search + batch)
    want = f"faultline: experiment {ns}/stop-two run {st['runId']}: game day"
    for arn, (desired, reason) in states.items():
        if arn in chosen:
            assert (desired, reason) == ("STOPPED", want), arn
        else:
            assert desired == "RUNNING", arn


def test_ecs_population_throttled_is_retried(setup, moto, operator,
                                             ecs_service):
    """ListTasks throttled past the client's own retries in Preparing:
    the run waits and tries again (saying so in the log) instead of
    failing or choosing from nothing."""
    cp = setup[0]
    cluster, payments, search, [batch] = ecs_service
    ns = cp.create_namespace("ecs-thr")
    spec = {
        "hypothesis": "batch survives losing its task", "duration": "1s",
        "targets": [{"name": "batch", "ecsTasks": {
            "cluster": cluster, "family": "batch"}}],
        "faults": [{"name": "stop", "target": "batch", "ecsTaskStop": {}}],
        "safety": {"maxBlastRadius": 100}}
    with awsproxy.AwsProxy(moto.endpoint) as proxy:
        proxy.throttle(6)
        op = operator(ns, env={"AWS_ENDPOINT_URL_ECS": proxy.endpoint})
        oh.apply(cp, ns, oh.experiment("batch", spec))
        st = wait_end(cp, ns, "batch", op)["status"]
    assert (st["phase"], st["verdict"]) == ("Completed", "Passed"), st
    assert [e["uid"] for e in st["targets"]] == [batch]
    assert proxy.throttled == 6
    listed = [o for a, o in proxy.actions
              if a == "AmazonEC2ContainerServiceV20141113.ListTasks"]
    assert listed[:6] == ["throttled"] * 6 and listed[6] == "forwarded"
    assert any("ThrottlingException" in line.get("msg", "") and
               "retrying" in line.get("msg", "") for line in op.log_lines())
    states = task_states(moto, cluster, [batch] + payments)
    assert states[batch][0] == "STOPPED"
    assert all(states[a][0] == "RUNNING" for a in payments)


# -- rdsFailover ---------------------------------------------------------------


def test_rds_failover_of_an_instance_and_a_cluster(setup, moto, operator):
    cp = setup[0]
    ns = cp.create_namespace("rds")
    rds = moto.client("rds")
    db, cl = oh.unique("orders"), oh.unique("aurora")
    rds.create_db_instance(
        DBInstanceIdentifier=db, Engine="postgres", MultiAZ=True,
        DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="admin", MasterUserPassword="password123")
    rds.create_db_cluster(DBClusterIdentifier=cl, Engine="aurora-postgresql",
                          MasterUsername="admin",
                          MasterUserPassword="password123")
    for n in (1, 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{cl}-{n}",
                               DBClusterIdentifier=cl,
                               Engine="aurora-postgresql",
                               DBInstanceClass="db.r5.large")

    def writer():
        c = rds.describe_db_clusters(DBClusterIdentifier=cl)["DBClusters"][0]
        return [m["DBInstanceIdentifier"] for m in c["DBClusterMembers"]
                if m["IsClusterWriter"]]
    assert writer() == [f"{cl}-1"]

    spec = {
        "hypothesis": "orders survive a database failover", "duration": "2s",
        "targets": [{"name": "dbs", "rdsInstances": {
            "identifiers": [db], "clusters": [cl]}}],
        "faults": [{"name": "failover", "target": "dbs",
                    "mode": {"all": True}, "rdsFailover": {}}],
        "safety": {"maxBlastRadius": 100}}
    with awsproxy.AwsProxy(moto.endpoint) as proxy:
        op = operator(ns, env={"AWS_ENDPOINT_URL_RDS": proxy.endpoint})
        oh.apply(cp, ns, oh.experiment("failover", spec))
        st = wait_end(cp, ns, "failover", op)["status"]
    assert (st["phase"], st["verdict"]) == ("Completed", "Passed"), st
    by_uid = {e["uid"]: e for e in st["targets"]}
    assert set(by_uid) == {f"rds:db:{db}", f"rds:cluster:{cl}"}
    assert all(e["engine"] == "rds" and e["recoveredAt"]
               for e in by_uid.values())
    # The cluster's writer moved; the instance was rebooted with a
    # forced failover (moto ignores the flag, so the request shows it).
    assert writer() == [f"{cl}-2"]
    reboots = [b for b in proxy.bodies if b"Action=RebootDBInstance" in b]
    assert len(reboots) == 1
    assert f"DBInstanceIdentifier={db}".encode() in reboots[0]
    assert b"ForceFailover=true" in reboots[0]
    assert sum(b"Action=FailoverDBCluster" in b for b in proxy.bodies) == 1


def test_rds_unknown_identifier_fails_before_anything(setup, moto, operator):
    cp = setup[0]
    ns = cp.create_namespace("rds-typo")
    op = operator(ns)
    missing = oh.unique("nosuch")
    spec = {
        "hypothesis": "x", "duration": "2s",
        "targets": [{"name": "dbs", "rdsInstances": {
            "identifiers": [missing]}}],
        "faults": [{"name": "failover", "target": "dbs",
                    "rdsFailover": {}}]}
    oh.apply(cp, ns, oh.experiment("typo", spec))
    st = wait_end(cp, ns, "typo", op)["status"]
    assert (st["phase"], st["verdict"]) == ("Failed", "Error"), st
    assert "rds DescribeDBInstances: DBInstanceNotFound" in st["message"], st
    assert missing in st["message"]
    assert not st.get("targets")


def test_ecs_task_definition_example_registers(moto, repo):
    """The example task definition with the sidecar is one ECS accepts:
    botocore checks every key against the API's shapes, moto registers
    it."""
    doc = json.loads((repo / "deploy" / "examples" /
                      "ecs-task-definition.json").read_text())
    doc["family"] = oh.unique("api")
    out = moto.client("ecs").register_task_definition(**doc)[
        "taskDefinition"]
    side = {c["name"]: c for c in out["containerDefinitions"]}["faultline"]
    assert out["pidMode"] == "task"
    assert side["linuxParameters"]["capabilities"]["add"] == ["NET_ADMIN"]
    assert side["essential"] is False
