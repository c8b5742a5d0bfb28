"""The test environment is real and strict: a Kubernetes 1.34 API server
that enforces RBAC and audits requests, and an AWS emulator that checks
request signatures and IAM policies.  Later tests rely on each of these
properties, so each is proved here on its own."""

import json
import os
import re
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

import harness

RESTRICTED_USER = "test-restricted"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def get_json(cp, *args):
    return json.loads(cp.kubectl("get", "-o", "json", *args).stdout)


# -- Kubernetes ---------------------------------------------------------------


def test_server_and_kubectl_are_ours_at_1_34(control_plane):
    out = control_plane.kubectl("version", "-o", "json").stdout
    versions = json.loads(out)
    v1_34 = re.compile(r"v1\.34\.\d+")
    assert v1_34.fullmatch(versions["serverVersion"]["gitVersion"])
    # Not the machine's /usr/bin/kubectl, which is another version.
    assert v1_34.fullmatch(versions["clientVersion"]["gitVersion"])


def test_rbac_forbids_a_user_without_bindings(control_plane):
    cp = control_plane
    ns = cp.create_namespace("rbac")
    restricted = cp.kubeconfig_for(RESTRICTED_USER)

    denied = cp.kubectl("get", "pods", "-n", ns, kubeconfig=restricted,
                        check=False)
    assert denied.returncode != 0
    assert "Forbidden" in denied.stderr
    assert (f'User "{RESTRICTED_USER}" cannot list resource "pods"'
            in denied.stderr)

    # The admin (group system:masters) may.
    assert cp.kubectl("get", "pods", "-n", ns).returncode == 0


def test_rbac_binding_grants_only_where_bound(control_plane):
    """The 403 above is RBAC, not a broken credential: a RoleBinding lets
    the same certificate in, in that namespace only."""
    cp = control_plane
    bound, other = cp.create_namespace("bound"), cp.create_namespace("other")
    restricted = cp.kubeconfig_for(RESTRICTED_USER)
    # Our own Role: the built-in "view" ClusterRole is aggregated, and with
    # no controller-manager to aggregate it, it grants nothing here.
    cp.kubectl("create", "role", "pod-reader", "-n", bound,
               "--verb=get,list", "--resource=pods")
    cp.kubectl("create", "rolebinding", "pod-reader", "-n", bound,
               "--role=pod-reader", f"--user={RESTRICTED_USER}")

    def can_list(ns):
        return cp.kubectl("get", "pods", "-n", ns, kubeconfig=restricted,
                          check=False).returncode == 0

    # The authorizer learns of the binding through a watch: poll for it.
    harness.wait_until("the RoleBinding to take effect",
                       lambda: can_list(bound), timeout=30)
    assert not can_list(other)


def test_pods_stay_pending_without_scheduler_or_kubelet(control_plane):
    cp = control_plane
    ns = cp.create_namespace("pending")
    # No controller-manager: the namespace gets no default service account,
    # and pods are accepted anyway because that admission plugin is off.
    missing = cp.kubectl("get", "serviceaccount", "default", "-n", ns,
                         check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr

    cp.kubectl("run", "idle", "-n", ns, "--image=registry.invalid/idle:1",
               "--restart=Never")
    pod = get_json(cp, "pod", "idle", "-n", ns)
    assert pod["status"]["phase"] == "Pending"
    assert "nodeName" not in pod["spec"]
    assert not any(c["type"] == "PodScheduled" and c["status"] == "True"
                   for c in pod["status"].get("conditions", []))


def test_pod_status_is_writable_through_the_subresource(control_plane):
    """What a kubelet would do, and what the node simulator relies on."""
    cp = control_plane
    ns = cp.create_namespace("status")
    cp.kubectl("run", "app", "-n", ns, "--image=registry.invalid/app:1",
               "--restart=Never")
    cp.kubectl("patch", "pod", "app", "-n", ns, "--subresource=status",
               "--type=merge", "-p", '{"status": {"phase": "Running"}}')
    assert get_json(cp, "pod", "app", "-n", ns)["status"]["phase"] == "Running"


def test_audit_log_records_each_create_once(control_plane):
    cp = control_plane
    ns = cp.create_namespace("audit")
    name = unique("cm")
    cp.kubectl("create", "configmap", name, "-n", ns, "--from-literal=k=v")

    def creates():
        return [e for e in cp.audit_events()
                if e.get("verb") == "create"
                and e.get("objectRef", {}).get("resource") == "configmaps"
                and e.get("objectRef", {}).get("name") == name]

    # Blocking mode writes the event while the request is served, but the
    # client may see the response first: poll for it.
    events = harness.wait_until("the audit event", creates, timeout=30)
    assert len(events) == 1
    event = events[0]
    assert event["objectRef"]["namespace"] == ns
    assert event["user"]["username"] == harness.ADMIN_USER
    assert event["responseStatus"]["code"] == 201
    assert event["stage"] == "ResponseComplete"


def test_restart_apiserver_keeps_the_data(control_plane):
    cp = control_plane
    ns = cp.create_namespace("restart")
    cp.kubectl("create", "configmap", "kept", "-n", ns, "--from-literal=k=v")
    before = cp.apiserver.popen.pid

    cp.restart_apiserver()

    assert cp.apiserver.popen.pid != before
    cm = get_json(cp, "configmap", "kept", "-n", ns)
    assert cm["data"] == {"k": "v"}


# -- AWS (moto) ---------------------------------------------------------------

# One cheap read call per service faultline uses.
CALLS = {
    "ec2": "describe_instances",
    "ecs": "list_clusters",
    "rds": "describe_db_instances",
    "sts": "get_caller_identity",
    "cloudwatch": "list_metrics",
}


def aws_error(call):
    """(HTTP status, error code) of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    code = response["Error"]["Code"]
    if code.isdigit():
        # moto answers auth failures in the XML query format even for JSON
        # and CBOR protocol services (ECS, CloudWatch), which botocore
        # cannot parse: it reports the HTTP status as the code and the raw
        # body as the message.
        found = re.search(r"<Code>(\w+)</Code>", response["Error"]["Message"])
        assert found, response
        code = found.group(1)
    return response["ResponseMetadata"]["HTTPStatusCode"], code


def test_moto_accepts_the_users_signature(moto):
    identity = moto.client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::123456789012:user/{moto.USER}"
    # Other tests share this moto: what it holds is theirs; the call
    # being accepted is what counts.
    resp = moto.client("ec2").describe_instances()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert isinstance(resp["Reservations"], list)


@pytest.mark.parametrize("service", sorted(CALLS))
def test_moto_rejects_a_wrong_secret(moto, service):
    client = moto.client(service, (moto.access_key, "not-the-secret"))
    status, code = aws_error(getattr(client, CALLS[service]))
    if service == "ec2":
        assert (status, code) == (401, "AuthFailure")
    else:
        assert (status, code) == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("service", sorted(CALLS))
def test_moto_rejects_an_unknown_key(moto, service):
    client = moto.client(service, ("AKIAIOSFODNN7EXAMPLE", "whatever"))
    status, code = aws_error(getattr(client, CALLS[service]))
    if service == "ec2":
        assert (status, code) == (401, "AuthFailure")
    else:
        assert (status, code) == (403, "InvalidClientTokenId")


def test_moto_enforces_iam_policies(moto):
    user = unique("no-policy")
    creds = moto.create_user(user)
    status, code = aws_error(moto.client("ec2", creds).describe_instances)
    assert (status, code) == (403, "AccessDenied")
    # The signature was good: GetCallerIdentity, which needs no permission
    # (as in AWS), answers for that user.
    arn = moto.client("sts", creds).get_caller_identity()["Arn"]
    assert arn.endswith(f":user/{user}")


def test_moto_env_reaches_it_through_the_standard_variables(moto, tmp_path):
    """A separate process given only moto.env() (no endpoint argument)
    talks to moto: the same variables faultline's own clients read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(moto.env())
    # Keep the user's own AWS files out of it.
    env["AWS_CONFIG_FILE"] = str(tmp_path / "config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "credentials")
    code = ("import boto3; "
            "print(boto3.client('sts').get_caller_identity()['Arn'])")
    out = subprocess.run([harness.venv_tool("python"), "-c", code], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(f":user/{moto.USER}")
