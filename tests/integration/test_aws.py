"""The AWS client (lib/aws*.c) against moto with signature checks on,
through tests/drivers/aws_driver: every call the operator makes (EC2, ECS,
RDS, CloudWatch, STS), wrong and unknown keys, each credential source
(environment, profile, web identity at moto's STS, container endpoint,
IMDSv2), endpoint overrides, and retries under throttling.

Fixtures are made in moto with boto3, signed with the harness's admin key,
and what the driver reports is checked against what boto3 sees.  Every
driver run gets a clean environment: no HOME files, instance metadata off
unless a test serves it on loopback, so nothing leaves the machine.
"""

import datetime
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest

import awsproxy
import harness

ACCOUNT = "123456789012"


@pytest.fixture(scope="session")
def driver(build_dir):
    # FL_AWS_DRIVER runs the tests with another build of the driver (the
    # sanitizer build, build-san/tests/drivers/aws_driver).
    path = os.environ.get("FL_AWS_DRIVER") or \
        build_dir / "tests" / "drivers" / "aws_driver"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} missing: run make")
    return str(path)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout, self.stderr = proc.stdout, proc.stderr
        lines = [l for l in proc.stdout.splitlines() if l.strip()]
        self.outputs = [json.loads(l) for l in lines]
        self.out = self.outputs[-1] if self.outputs else None
        self.err = None
        if self.rc == 1 and proc.stderr.strip():
            self.err = json.loads(proc.stderr.strip().splitlines()[-1])

    def ok(self):
        assert self.rc == 0, f"driver failed: {self.stderr}"
        return self.out["result"]

    def failed(self, code, status=None):
        assert self.rc == 1, f"expected a failure, got {self.stdout}"
        assert self.err["code"] == code, self.err
        if status is not None:
            assert self.err["status"] == status, self.err
        return self.err


@pytest.fixture
def base_env(tmp_path):
    """An environment with no AWS settings at all: shared files that do
    not exist, instance metadata off."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture
def aws(driver, moto, base_env):
    """Runs the driver against moto with the admin key from the
    environment; env= adds or (with None values) removes variables."""
    def call(*args, env=None, timeout=120):
        e = dict(base_env, **moto.env())
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        proc = subprocess.run([driver, *args], capture_output=True,
                              text=True, env=e, timeout=timeout)
        assert proc.returncode in (0, 1), proc.stderr
        return Result(proc)
    return call


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def reset_auth(moto, count):
    """moto checks signatures from the request after `count` more
    unauthenticated ones (see harness.Moto._enable_auth)."""
    req = urllib.request.Request(f"{moto.endpoint}/moto-api/reset-auth",
                                 data=str(count).encode(), method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["status"] == "ok"


def admin_user(moto, name=None):
    """A new moto IAM user allowed everything: (key, secret, arn)."""
    name = name or unique("chaos")
    key, secret = moto.create_user(name, harness.ADMIN_POLICY)
    return key, secret, f"arn:aws:iam::{ACCOUNT}:user/{name}"


# -- STS and EC2 ---------------------------------------------------------


def test_caller_identity(aws, moto):
    out = aws("sts-whoami").ok()
    assert out["arn"] == f"arn:aws:iam::{ACCOUNT}:user/{moto.USER}"
    assert out["account"] == ACCOUNT
    assert out["userId"]


def run_instances(moto, n, tags):
    ec2 = moto.client("ec2")
    r = ec2.run_instances(
        ImageId="ami-12345678", MinCount=n, MaxCount=n,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": k, "Value": v} for k, v in tags.items()]}])
    return {i["InstanceId"]: i for i in r["Instances"]}


def ec2_state(moto, iid):
    r = moto.client("ec2").describe_instances(InstanceIds=[iid])
    return r["Reservations"][0]["Instances"][0]["State"]["Name"]


def test_ec2_describe_by_tags_and_ids(aws, moto):
    run = unique("run")
    mine = run_instances(moto, 2, {"run": run, "team": "payments"})
    run_instances(moto, 1, {"run": unique("other")})

    out = aws("ec2-describe", "--filter", f"tag:run={run}").ok()
    assert {i["instanceId"] for i in out} == set(mine)
    for inst in out:
        boto = mine[inst["instanceId"]]
        assert inst["state"] == "running"
        assert inst["privateIpAddress"] == boto["PrivateIpAddress"]
        assert inst["tags"] == {"run": run, "team": "payments"}

    first = sorted(mine)[0]
    out = aws("ec2-describe", "--id", first).ok()
    assert [i["instanceId"] for i in out] == [first]
    # Several values of one filter, and two filters together.
    out = aws("ec2-describe", "--filter", f"tag:run={run},nosuch",
              "--filter", "tag:team=payments").ok()
    assert {i["instanceId"] for i in out} == set(mine)
    out = aws("ec2-describe", "--filter", f"tag:run={run}",
              "--filter", "tag:team=search").ok()
    assert out == []


def test_ec2_stop_reboot_terminate(aws, moto):
    a, b, c = sorted(run_instances(moto, 3, {"run": unique("nodes")}))

    out = aws("ec2-stop", a).ok()
    assert out == [{"instanceId": a, "previousState": "running",
                    "currentState": "stopping"}]
    assert ec2_state(moto, a) in ("stopping", "stopped")
    out = aws("ec2-start", a).ok()
    assert [o["instanceId"] for o in out] == [a]
    assert out[0]["currentState"] in ("pending", "running")
    assert ec2_state(moto, a) in ("pending", "running")

    assert aws("ec2-reboot", b).ok() == []
    assert ec2_state(moto, b) == "running"

    out = aws("ec2-terminate", b, c).ok()
    assert {o["instanceId"] for o in out} == {b, c}
    assert all(o["previousState"] == "running" for o in out)
    for iid in (b, c):
        assert ec2_state(moto, iid) in ("shutting-down", "terminated")


def test_ec2_unknown_instance(aws):
    err = aws("ec2-terminate", "i-0123456789abcdef0").failed(
        "InvalidInstanceID.NotFound", 400)
    assert err["attempts"] == 1
    assert err["text"].startswith(
        "ec2 TerminateInstances: InvalidInstanceID.NotFound: ")


# -- ECS -----------------------------------------------------------------


@pytest.fixture
def ecs_tasks(moto):
    """A cluster with one container instance, a service "api" and two
    tasks of family "api" in its group, tagged."""
    ecs, ec2 = moto.client("ecs"), moto.client("ec2")
    cluster = unique("shop")
    ecs.create_cluster(clusterName=cluster)
    inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1,
                             MaxCount=1)["Instances"][0]
    doc = {"instanceId": inst["InstanceId"], "region": harness.REGION,
           "availabilityZone": "us-east-1a", "instanceType": "t3.micro",
           "privateIp": inst["PrivateIpAddress"], "imageId": "ami-12345678"}
    ecs.register_container_instance(cluster=cluster,
                                    instanceIdentityDocument=json.dumps(doc))
    ecs.register_task_definition(family="api", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128, "cpu": 64},
        {"name": "envoy", "image": "envoy", "memory": 64, "cpu": 32}])
    ecs.create_service(cluster=cluster, serviceName="api",
                       taskDefinition="api", desiredCount=2)
    tasks = ecs.run_task(cluster=cluster, taskDefinition="api", count=2,
                         group="service:api",
                         tags=[{"key": "team", "value": "payments"},
                               {"key": "tier", "value": "web"}])["tasks"]
    return cluster, sorted(t["taskArn"] for t in tasks)


LIFECYCLE = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING",
             "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED")


def test_ecs_list_and_describe_tasks(aws, moto, ecs_tasks):
    cluster, arns = ecs_tasks
    ecs = moto.client("ecs")

    assert sorted(aws("ecs-list-tasks", "--cluster", cluster, "--family",
                      "api").ok()) == arns
    by_service = ecs.list_tasks(cluster=cluster, serviceName="api")
    assert sorted(aws("ecs-list-tasks", "--cluster", cluster, "--service",
                      "api").ok()) == sorted(by_service["taskArns"])

    out = aws("ecs-describe-tasks", "--cluster", cluster, *arns,
              "arn:aws:ecs:us-east-1:123456789012:task/nosuch/x").ok()
    containers = {t["taskArn"]: sorted(c["name"] for c in t["containers"])
                  for t in ecs.describe_tasks(cluster=cluster,
                                              tasks=arns)["tasks"]}
    assert all(containers.values())
    assert sorted(t["taskArn"] for t in out["tasks"]) == arns
    for t in out["tasks"]:
        assert t["group"] == "service:api"
        # moto moves a task along its lifecycle on every read, so the
        # status is one of the lifecycle's, not the same as boto3's.
        assert t["lastStatus"] in LIFECYCLE
        assert t["desiredStatus"] == "RUNNING"
        assert t["tags"] == {"team": "payments", "tier": "web"}
        assert sorted(c["name"] for c in t["containers"]) == \
            containers[t["taskArn"]]
    # moto reports no failures for unknown tasks; AWS would say MISSING.
    assert isinstance(out["failures"], list)


def test_ecs_stop_task(aws, moto, ecs_tasks):
    cluster, arns = ecs_tasks
    reason = "faultline: experiment shop/api run 7"

    out = aws("ecs-stop-task", "--cluster", cluster, "--reason", reason,
              arns[0]).ok()
    assert out["taskArn"] == arns[0]
    assert out["desiredStatus"] == "STOPPED"
    assert out["stoppedReason"] == reason
    task = moto.client("ecs").describe_tasks(cluster=cluster,
                                             tasks=[arns[0]])["tasks"][0]
    assert task["stoppedReason"] == reason
    assert aws("ecs-list-tasks", "--cluster", cluster, "--family", "api",
               "--desired-status", "RUNNING").ok() == [arns[1]]


def test_ecs_describe_services(aws, moto, ecs_tasks):
    cluster, _ = ecs_tasks
    out = aws("ecs-describe-services", "--cluster", cluster, "api",
              "nosuch").ok()
    boto = moto.client("ecs").describe_services(
        cluster=cluster, services=["api"])["services"][0]
    [svc] = out["services"]
    assert svc["serviceName"] == "api"
    assert svc["desiredCount"] == 2
    assert svc["runningCount"] == boto["runningCount"]
    assert svc["status"] == "ACTIVE"
    assert out["failures"][0]["arn"].endswith("/nosuch")


def test_ecs_unknown_cluster(aws):
    err = aws("ecs-list-tasks", "--cluster", unique("nosuch")).failed(
        "ClusterNotFoundException", 400)
    assert err["text"].startswith("ecs ListTasks: ClusterNotFoundException")


# -- RDS -----------------------------------------------------------------


def test_rds_reboot_with_failover(aws, moto):
    db = unique("orders")
    moto.client("rds").create_db_instance(
        DBInstanceIdentifier=db, Engine="postgres", MultiAZ=True,
        DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="admin", MasterUserPassword="password123")

    with awsproxy.AwsProxy(moto.endpoint) as proxy:
        out = aws("rds-reboot", db, "--failover",
                  env={"AWS_ENDPOINT_URL_RDS": proxy.endpoint}).ok()
    assert out["dbInstanceIdentifier"] == db
    # moto ignores ForceFailover; the request carried it.
    assert b"ForceFailover=true" in proxy.bodies[0]
    assert b"Action=RebootDBInstance" in proxy.bodies[0]

    [inst] = aws("rds-describe-instances", db).ok()
    assert inst["dbInstanceIdentifier"] == db
    assert inst["multiAZ"] is True
    assert inst["engine"] == "postgres"
    assert inst["dbInstanceStatus"] == "available"
    every = aws("rds-describe-instances").ok()
    assert db in {i["dbInstanceIdentifier"] for i in every}


def test_rds_cluster_failover(aws, moto):
    rds = moto.client("rds")
    cl = unique("aurora")
    rds.create_db_cluster(DBClusterIdentifier=cl, Engine="aurora-postgresql",
                          MasterUsername="admin",
                          MasterUserPassword="password123")
    for n in (1, 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{cl}-{n}",
                               DBClusterIdentifier=cl,
                               Engine="aurora-postgresql",
                               DBInstanceClass="db.r5.large")

    def writer():
        [c] = aws("rds-describe-clusters", cl).ok()
        assert c["dbClusterIdentifier"] == cl
        assert c["engine"] == "aurora-postgresql"
        return [m["dbInstanceIdentifier"] for m in c["members"]
                if m["isClusterWriter"]]

    assert writer() == [f"{cl}-1"]
    out = aws("rds-failover-cluster", cl, "--target", f"{cl}-2").ok()
    assert out["dbClusterIdentifier"] == cl
    assert writer() == [f"{cl}-2"]
    err = aws("rds-failover-cluster", unique("nosuch")).failed(
        "DBClusterNotFoundFault", 404)
    assert err["text"].startswith("rds FailoverDBCluster: ")


# -- CloudWatch ----------------------------------------------------------


def test_cloudwatch_metric(aws, moto):
    ns = unique("Shop")
    now = int(time.time())
    import boto3
    from botocore.config import Config
    # boto3 gzips a large PutMetricData body, and moto then cannot check
    # its signature: send it plain.
    cw = boto3.session.Session().client(
        "cloudwatch", config=Config(disable_request_compression=True,
                                    retries={"total_max_attempts": 1}),
        **moto.client_kwargs())
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Value": float(v),
         "Dimensions": [{"Name": "Service", "Value": "checkout"}],
         "Timestamp": datetime.datetime.fromtimestamp(
             now - 30, datetime.timezone.utc)}
        for v in range(1, 101)])

    def stat(name):
        out = aws("cw-get-metric", "--namespace", ns, "--metric",
                  "Latency", "--dim", "Service=checkout", "--stat", name,
                  "--period", "60", "--start", str(now - 600), "--end",
                  str(now + 60)).ok()
        assert out["statusCode"] == "Complete"
        [p] = out["points"]
        assert now - 600 <= p["timestamp"] <= now
        return p["value"]

    assert stat("Average") == 50.5
    assert stat("Maximum") == 100.0
    assert stat("Sum") == 5050.0
    # Another dimension value has no data.
    out = aws("cw-get-metric", "--namespace", ns, "--metric", "Latency",
              "--dim", "Service=search", "--stat", "Sum", "--period", "60",
              "--start", str(now - 600), "--end", str(now + 60)).ok()
    assert out["points"] == []


def test_cloudwatch_percentile_request(aws, moto):
    """A percentile statistic and a dimension value that needs encoding,
    as they go on the wire (seen through the proxy).  moto cannot compute
    percentiles (its GetMetricData fails on a pNN statistic over data), so
    the metric asked for has no data, and the answer is an empty series."""
    now = int(time.time())
    with awsproxy.AwsProxy(moto.endpoint) as proxy:
        out = aws("cw-get-metric", "--namespace", unique("AWS/ELB"),
                  "--metric", "TargetResponseTime", "--dim",
                  "LoadBalancer=app/shop/1", "--stat", "p99.9", "--period",
                  "60", "--start", str(now - 300), "--end", str(now),
                  env={"AWS_ENDPOINT_URL": proxy.endpoint}).ok()
    body = proxy.bodies[0].decode()
    assert "MetricDataQueries.member.1.MetricStat.Stat=p99.9" in body
    assert ("MetricDataQueries.member.1.MetricStat.Metric.Dimensions."
            "member.1.Value=app%2Fshop%2F1") in body
    assert "MetricDataQueries.member.1.MetricStat.Period=60" in body
    assert out["points"] == []
    assert out["statusCode"] == "Complete"


def test_cloudwatch_alarms(aws, moto):
    cw = moto.client("cloudwatch")
    firing, quiet = unique("checkout-5xx"), unique("checkout-latency")
    for name in (firing, quiet):
        cw.put_metric_alarm(AlarmName=name, MetricName="5xx",
                            Namespace="Shop", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=firing, StateValue="ALARM",
                       StateReason="5xx above 1")
    cw.set_alarm_state(AlarmName=quiet, StateValue="OK", StateReason="fine")

    out = aws("cw-describe-alarms", firing, quiet, unique("nosuch")).ok()
    states = {a["alarmName"]: (a["stateValue"], a["stateReason"])
              for a in out}
    assert states == {firing: ("ALARM", "5xx above 1"),
                      quiet: ("OK", "fine")}


# -- authentication failures ---------------------------------------------

AUTH_CASES = [
    ("ec2-describe", "ec2 DescribeInstances", "AuthFailure", 401),
    ("sts-whoami", "sts GetCallerIdentity", "SignatureDoesNotMatch", 403),
    ("ecs-list-tasks", "ecs ListTasks", "SignatureDoesNotMatch", 403),
    ("rds-describe-instances", "rds DescribeDBInstances",
     "SignatureDoesNotMatch", 403),
    ("cw-describe-alarms", "cloudwatch DescribeAlarms",
     "SignatureDoesNotMatch", 403),
]


@pytest.mark.parametrize("cmd,call,code,status", AUTH_CASES)
def test_wrong_secret(aws, cmd, call, code, status):
    r = aws(cmd, env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    err = r.failed(code, status)
    assert err["attempts"] == 1, "an auth failure is not retried"
    assert err["text"].startswith(f"{call}: {code}: ")
    assert err["message"]
    assert err["requestId"]
    assert r.stdout == ""


@pytest.mark.parametrize("cmd,code", [("sts-whoami", "InvalidClientTokenId"),
                                      ("ec2-describe", "AuthFailure")])
def test_unknown_key(aws, cmd, code):
    aws(cmd, env={"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}).failed(
        code)


# -- credential sources --------------------------------------------------


def test_profile_credentials(aws, moto, tmp_path):
    key, secret, arn = admin_user(moto)
    creds, config = tmp_path / "credentials", tmp_path / "config"
    creds.write_text(f"[default]\naws_access_key_id = AKIANOTUSED\n"
                     f"aws_secret_access_key = nope\n\n[chaos]\n"
                     f"aws_access_key_id = {key}\n"
                     f"aws_secret_access_key = {secret}\n")
    config.write_text(f"[profile chaos]\nregion = {harness.REGION}\n")
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
           "AWS_REGION": None, "AWS_DEFAULT_REGION": None,
           "AWS_PROFILE": "chaos", "AWS_CONFIG_FILE": str(config),
           "AWS_SHARED_CREDENTIALS_FILE": str(creds)}
    assert aws("creds", env=env).ok()["source"] == "profile"
    assert aws("sts-whoami", env=env).ok()["arn"] == arn
    # The region came from the profile: without it there is none.
    config.write_text("[profile chaos]\n")
    aws("sts-whoami", env=env).failed("NoRegion")


@pytest.fixture
def web_identity_role(moto, tmp_path):
    """A role that trusts a web identity provider and may do anything,
    and a token file.  (moto does not verify the token's signature.)"""
    iam = moto.client("iam")
    name = unique("irsa")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/"
                                   "oidc.eks.us-east-1.amazonaws.com/id/X"}}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all",
                        PolicyDocument=json.dumps(harness.ADMIN_POLICY))
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFj"
                     "Y291bnQ6ZmF1bHRsaW5lOm9wZXJhdG9yIn0.c2lnbmF0dXJl\n")
    return name, arn, token


def irsa_run(aws, moto, env, *args):
    """AssumeRoleWithWebIdentity is unsigned, as AWS allows, but moto with
    signature checks on answers 500 to any unsigned request.  So moto is
    told to let exactly one request through unchecked (the exchange,
    which is the driver's first request), and checks every later one,
    which is signed with the temporary credentials and their session
    token.  Checking is turned fully on again whatever happens."""
    reset_auth(moto, 1)
    try:
        return aws(*args, env=env)
    finally:
        reset_auth(moto, 0)


@pytest.mark.parametrize("configured_in", ["environment", "profile"])
def test_web_identity(aws, moto, web_identity_role, tmp_path, configured_in):
    name, role_arn, token = web_identity_role
    run = unique("irsa-run")
    [iid] = run_instances(moto, 1, {"run": run})
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
    if configured_in == "environment":
        env.update({"AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
                    "AWS_ROLE_ARN": role_arn,
                    "AWS_ROLE_SESSION_NAME": "faultline-operator"})
    else:
        config = tmp_path / "config"
        config.write_text(f"[default]\nrole_arn = {role_arn}\n"
                          f"web_identity_token_file = {token}\n"
                          "role_session_name = faultline-operator\n")
        env["AWS_CONFIG_FILE"] = str(config)

    out = irsa_run(aws, moto, env, "sts-whoami").ok()
    assert out["arn"] == (f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/"
                          "faultline-operator")
    # A call that needs the role's policy, signed with the session.
    r = irsa_run(aws, moto, env, "ec2-describe", "--filter", f"tag:run={run}")
    assert [i["instanceId"] for i in r.ok()] == [iid]
    r = irsa_run(aws, moto, env, "creds")
    assert r.ok()["source"] == "web-identity"
    assert r.ok()["hasSessionToken"] is True
    assert r.ok()["accessKeyId"].startswith("ASIA")
    assert r.ok()["expiration"] > time.time()


def test_web_identity_errors(aws, moto, web_identity_role, tmp_path):
    _, role_arn, _ = web_identity_role
    missing = tmp_path / "missing-token"
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
           "AWS_WEB_IDENTITY_TOKEN_FILE": str(missing),
           "AWS_ROLE_ARN": role_arn}
    err = aws("ec2-describe", env=env).failed("CredentialsError")
    assert str(missing) in err["message"]
    assert err["text"].startswith("ec2 DescribeInstances: web identity: ")
    assert err["attempts"] == 0
    # With signature checks fully on, moto refuses the unsigned exchange
    # (see irsa_run): the failure is reported with STS's call named.
    (tmp_path / "t").write_text("token\n")
    env["AWS_WEB_IDENTITY_TOKEN_FILE"] = str(tmp_path / "t")
    err = aws("--attempts", "1", "sts-whoami", env=env).failed(
        "CredentialsError")
    assert "sts AssumeRoleWithWebIdentity" in err["message"]


def role_session(moto):
    """Temporary credentials of a moto role allowed everything, of the
    kind the container endpoint and IMDS hand out (moto checks their
    session token): (key, secret, token, the session's arn)."""
    iam = moto.client("iam")
    name = unique("node-role")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{moto.USER}"}}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all",
                        PolicyDocument=json.dumps(harness.ADMIN_POLICY))
    c = moto.client("sts").assume_role(RoleArn=arn,
                                       RoleSessionName="node")["Credentials"]
    return (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
            f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/node")


class CredServer:
    """A loopback HTTP server that stands in for the ECS/EKS container
    credential endpoint and for the EC2 instance metadata service (IMDSv2),
    neither of which moto has.  The credentials it hands out are those of
    a real moto role session, so the calls made with them are checked by
    moto as usual.  It records every request."""

    def __init__(self, session, expires_in=3600, auth_token=None):
        self.key, self.secret, self.token = session[:3]
        self.expires_in = expires_in
        self.auth_token = auth_token
        self.imds_token = uuid.uuid4().hex
        self.role = "faultline-node"
        self.requests = []
        self._lock = threading.Lock()

    def __enter__(self):
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                srv._handle(self)

            do_PUT = do_GET

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            (harness.LOOPBACK, 0), Handler)
        self.url = f"http://{harness.LOOPBACK}:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)

    def creds(self):
        exp = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=self.expires_in)
        return {"Code": "Success", "Type": "AWS-HMAC",
                "AccessKeyId": self.key, "SecretAccessKey": self.secret,
                "Token": self.token,
                "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def _handle(self, req):
        with self._lock:
            self.requests.append((req.command, req.path,
                                  dict(req.headers.items())))
        h = req.headers
        if req.path == "/latest/api/token":
            ok = req.command == "PUT" and \
                h.get("X-aws-ec2-metadata-token-ttl-seconds")
            return self._send(req, 200 if ok else 400, self.imds_token)
        if req.path.startswith("/latest/meta-data/"):
            if h.get("X-aws-ec2-metadata-token") != self.imds_token:
                return self._send(req, 401, "")
            base = "/latest/meta-data/iam/security-credentials/"
            if req.path == base:
                return self._send(req, 200, self.role + "\n")
            if req.path == base + self.role:
                return self._send(req, 200, json.dumps(self.creds()))
            return self._send(req, 404, "")
        if req.path.startswith("/v2/credentials/"):
            if self.auth_token and h.get("Authorization") != self.auth_token:
                return self._send(req, 401, "{}")
            return self._send(req, 200, json.dumps(self.creds()))
        return self._send(req, 404, "")

    @staticmethod
    def _send(req, status, body):
        data = body.encode()
        req.send_response(status)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)


NO_KEYS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}


@pytest.mark.parametrize("token_in", ["file", "environment"])
def test_container_credentials(aws, moto, tmp_path, token_in):
    session = role_session(moto)
    arn = session[3]
    token = "pod-identity-" + uuid.uuid4().hex
    with CredServer(session, auth_token=token) as srv:
        env = dict(NO_KEYS, AWS_CONTAINER_CREDENTIALS_FULL_URI=(
            srv.url + "/v2/credentials/abc"))
        if token_in == "file":
            (tmp_path / "token").write_text(token + "\n")
            env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(
                tmp_path / "token")
        else:
            env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token
        assert aws("sts-whoami", env=env).ok()["arn"] == arn
        assert aws("creds", env=env).ok()["source"] == "container"
        [(method, path, headers)] = srv.requests[:1]
        assert (method, path) == ("GET", "/v2/credentials/abc")
        assert headers["Authorization"] == token

        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
        env.pop("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", None)
        err = aws("sts-whoami", env=env).failed("CredentialsError", 401)
        assert err["text"].startswith(
            "sts GetCallerIdentity: container credentials: ")


@pytest.mark.parametrize("expires_in,fetches", [(120, 2), (3600, 1)])
def test_temporary_credentials_refresh(aws, moto, expires_in, fetches):
    """Credentials that expire within five minutes are fetched again
    before the next call; others are reused."""
    session = role_session(moto)
    arn = session[3]
    with CredServer(session, expires_in=expires_in) as srv:
        env = dict(NO_KEYS, AWS_CONTAINER_CREDENTIALS_FULL_URI=(
            srv.url + "/v2/credentials/abc"))
        r = aws("--repeat", "2", "sts-whoami", env=env)
        r.ok()
        assert [o["result"]["arn"] for o in r.outputs] == [arn, arn]
        assert r.out["fetches"] == fetches
        assert len(srv.requests) == fetches


def test_imds_credentials(aws, moto):
    session = role_session(moto)
    arn = session[3]
    with CredServer(session) as srv:
        env = dict(NO_KEYS, AWS_EC2_METADATA_DISABLED=None,
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=srv.url)
        assert aws("sts-whoami", env=env).ok()["arn"] == arn
        role = "/latest/meta-data/iam/security-credentials/"
        assert [(m, p) for m, p, _ in srv.requests] == [
            ("PUT", "/latest/api/token"), ("GET", role),
            ("GET", role + srv.role)]
        put_headers = srv.requests[0][2]
        assert int(put_headers["X-aws-ec2-metadata-token-ttl-seconds"]) > 0
        assert all(h["X-aws-ec2-metadata-token"] == srv.imds_token
                   for _, _, h in srv.requests[1:])

        srv.requests.clear()
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        aws("sts-whoami", env=env).failed("NoCredentials")
        assert srv.requests == []


def test_chain_order_env_over_container(aws, moto):
    """Keys in the environment win over a container endpoint, which is
    then never asked."""
    with CredServer(role_session(moto)) as srv:
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.url + "/v2/c"}
        out = aws("sts-whoami", env=env).ok()
        assert out["arn"].endswith(f":user/{moto.USER}")
        assert srv.requests == []


def test_chain_order_profile_container_imds(aws, moto, tmp_path):
    """The profile comes before the container endpoint, which comes
    before IMDS; a later source is never asked."""
    with CredServer(role_session(moto)) as srv:
        env = dict(NO_KEYS, AWS_EC2_METADATA_DISABLED=None,
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=srv.url,
                   AWS_CONTAINER_CREDENTIALS_FULL_URI=(
                       srv.url + "/v2/credentials/x"))
        assert aws("creds", env=env).ok()["source"] == "container"
        assert [p for _, p, _ in srv.requests] == ["/v2/credentials/x"]

        srv.requests.clear()
        creds = tmp_path / "credentials"
        creds.write_text(f"[default]\naws_access_key_id = {moto.access_key}\n"
                         f"aws_secret_access_key = {moto.secret_key}\n")
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(creds)
        assert aws("creds", env=env).ok()["source"] == "profile"
        assert aws("sts-whoami", env=env).ok()["arn"].endswith(
            f":user/{moto.USER}")
        assert srv.requests == []


def test_imds_without_role(aws, moto):
    with CredServer(role_session(moto)) as srv:
        srv.role = ""  # the role list is empty: 200 with no name
        env = dict(NO_KEYS, AWS_EC2_METADATA_DISABLED=None,
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=srv.url)
        err = aws("sts-whoami", env=env).failed("CredentialsError")
        assert "without a role name" in err["message"]


# -- bad input and limits ------------------------------------------------


def test_bad_metric_query_sends_nothing(aws, moto):
    with awsproxy.AwsProxy(moto.endpoint) as proxy:
        err = aws("cw-get-metric", "--namespace", "Shop", "--metric", "m",
                  "--stat", "Average", "--period", "60", "--start", "200",
                  "--end", "100", env={"AWS_ENDPOINT_URL": proxy.endpoint}
                  ).failed("InvalidParameter", 0)
    assert err["text"] == ("cloudwatch GetMetricData: the end is not after "
                           "the start")
    assert proxy.actions == []


def test_response_body_is_bounded(aws, moto):
    run_instances(moto, 2, {"run": unique("big")})
    err = aws("--max-body", "512", "ec2-describe").failed(
        "ResponseTooLarge", 0)
    assert "exceeds 512 bytes" in err["message"]
    assert err["attempts"] == 0, "a body too large is not sent again"
    assert err["text"].startswith("ec2 DescribeInstances: ")


# -- endpoints and retries -----------------------------------------------


def test_endpoint_per_service(aws, moto):
    closed = f"http://{harness.LOOPBACK}:{harness.free_port()}"
    env = {"AWS_ENDPOINT_URL": closed, "AWS_ENDPOINT_URL_STS": moto.endpoint}
    assert aws("sts-whoami", env=env).ok()["account"] == ACCOUNT
    err = aws("--attempts", "3", "--backoff-ms", "10", "ec2-describe",
              env=env).failed("Transport", 0)
    assert err["attempts"] == 3
    assert err["text"].startswith(f"ec2 DescribeInstances: cannot reach "
                                  f"{closed}")


THROTTLE_CASES = [
    ("ec2-describe", "RequestLimitExceeded", 503),
    ("ecs-list-tasks", "ThrottlingException", 400),
    ("rds-describe-instances", "Throttling", 400),
    ("cw-describe-alarms", "Throttling", 400),
    ("sts-whoami", "Throttling", 400),
]


@pytest.fixture
def proxy(moto):
    # ListTasks without a cluster asks about "default".
    moto.client("ecs").create_cluster(clusterName="default")
    with awsproxy.AwsProxy(moto.endpoint) as p:
        yield p


@pytest.mark.parametrize("cmd,code,status", THROTTLE_CASES)
def test_throttled_then_succeeds(aws, proxy, cmd, code, status):
    proxy.throttle(2)
    r = aws("--attempts", "4", "--backoff-ms", "20", cmd,
            env={"AWS_ENDPOINT_URL": proxy.endpoint})
    r.ok()
    assert r.out["attempts"] == 3
    assert (proxy.throttled, proxy.forwarded) == (2, 1)
    assert [o for _, o in proxy.actions] == ["throttled", "throttled",
                                             "forwarded"]


@pytest.mark.parametrize("cmd,code,status", THROTTLE_CASES)
def test_throttled_past_attempts(aws, proxy, cmd, code, status):
    proxy.throttle(10)
    r = aws("--attempts", "3", "--backoff-ms", "20", cmd,
            env={"AWS_ENDPOINT_URL": proxy.endpoint})
    err = r.failed(code, status)
    assert err["attempts"] == 3
    assert (proxy.throttled, proxy.forwarded) == (3, 0)
    assert f": {code}: " in err["text"]
    assert r.stdout == ""


def test_server_error_retried(aws, proxy):
    proxy.server_error(1)
    r = aws("--attempts", "3", "--backoff-ms", "20", "rds-describe-clusters",
            env={"AWS_ENDPOINT_URL": proxy.endpoint})
    r.ok()
    assert r.out["attempts"] == 2
    assert (proxy.failed, proxy.forwarded) == (1, 1)


def test_expired_token_fetches_credentials_again(aws, moto, proxy):
    with CredServer(role_session(moto)) as srv:
        env = dict(NO_KEYS, AWS_ENDPOINT_URL=proxy.endpoint,
                   AWS_CONTAINER_CREDENTIALS_FULL_URI=(
                       srv.url + "/v2/credentials/c"))
        proxy.expire(1)
        r = aws("--attempts", "1", "sts-whoami", env=env)
        assert r.ok()["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:")
        assert r.out["fetches"] == 2
        assert len(srv.requests) == 2
        assert [o for _, o in proxy.actions] == ["expired", "forwarded"]
        # Only once per call: a second expiry is reported.
        proxy.expire(2)
        aws("sts-whoami", env=env).failed("ExpiredToken", 400)


def test_auth_failure_not_retried_behind_proxy(aws, proxy):
    r = aws("--attempts", "5", "ecs-list-tasks",
            env={"AWS_ENDPOINT_URL": proxy.endpoint,
                 "AWS_SECRET_ACCESS_KEY": "wrong"})
    r.failed("SignatureDoesNotMatch", 403)
    assert proxy.forwarded == 1
