"""Real local parts for faultline's tests: a Kubernetes control plane
(etcd and kube-apiserver, started like controller-runtime's envtest) and
moto in server mode with AWS signature checking on.

Nothing here is a fake: the processes are the real binaries that
scripts/setup.sh builds or installs.  This module has no pytest
dependency, so scripts (a demo, a benchmark) can use it too:

    with ControlPlane() as cp, Moto() as aws:
        cp.kubectl("get", "namespaces")
        boto3.client("ec2", **aws.client_kwargs())

Every process runs in its own process group and only listens on
127.0.0.1.  stop() always ends them and removes their temporary
directory; an atexit hook does the same for anything left running.
"""

import atexit
import datetime
import ipaddress
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = "127.0.0.1"

# Objects whose processes are running; the atexit hook stops them when a
# caller (or an interrupted test session) did not.
_running = set()


@atexit.register
def _stop_leftovers():
    for part in list(_running):
        part.stop()


def stop_all_on_sigterm():
    """Make SIGTERM (a CI timeout, a plain `kill`) stop our processes
    before this one dies: they run in their own process groups, so they
    would not get the signal, and atexit does not run on it.  Leaves a
    handler that someone else installed alone."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum, frame):
        _stop_leftovers()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)


# -- finding the tools --------------------------------------------------------


def _cache_dir():
    if os.environ.get("FAULTLINE_CACHE"):
        return pathlib.Path(os.environ["FAULTLINE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return pathlib.Path(base) / "faultline"


def tool_env():
    """FAULTLINE_BIN and FAULTLINE_VENV: from the environment when set,
    else from the env file scripts/setup.sh writes.  The file holds plain
    KEY=VALUE lines, so a shell that sources it does not export them; the
    file is the fallback that always works."""
    found = {k: os.environ[k] for k in ("FAULTLINE_BIN", "FAULTLINE_VENV")
             if os.environ.get(k)}
    envfile = _cache_dir() / "env.sh"
    if len(found) < 2 and envfile.is_file():
        for line in envfile.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key in ("FAULTLINE_BIN", "FAULTLINE_VENV"):
                found.setdefault(key, value.strip().strip("'\""))
    missing = {"FAULTLINE_BIN", "FAULTLINE_VENV"} - found.keys()
    if missing:
        raise HarnessError(
            f"{', '.join(sorted(missing))} not set and not in {envfile}: "
            "run scripts/setup.sh")
    return found


def tool(name):
    """Path of one of our built binaries (never one from $PATH: the
    machine may have another kubectl)."""
    path = pathlib.Path(tool_env()["FAULTLINE_BIN"]) / name
    if not os.access(path, os.X_OK):
        raise HarnessError(f"{path} missing: run scripts/setup.sh")
    return str(path)


def venv_tool(name):
    path = pathlib.Path(tool_env()["FAULTLINE_VENV"]) / "bin" / name
    if not os.access(path, os.X_OK):
        raise HarnessError(f"{path} missing: run scripts/setup.sh")
    return str(path)


# -- small helpers ------------------------------------------------------------


class HarnessError(RuntimeError):
    pass


def free_port():
    """A TCP port free on 127.0.0.1 right now.  Another process could take
    it before ours binds; startup then fails with the log saying so."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout, procs=(), interval=0.2):
    """Poll check() until it returns a true value, which is returned.
    Fails early when one of procs has exited, and at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        for proc in procs:
            proc.raise_if_exited(f"while waiting for {what}")
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            tails = "".join(p.describe_tail() for p in procs)
            raise HarnessError(f"timed out after {timeout}s waiting for "
                               f"{what}{tails}")
        time.sleep(interval)


class Process:
    """One child process in its own process group, output to a log file."""

    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = pathlib.Path(log_path)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def tail(self, lines=40):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def describe_tail(self):
        return f"\n--- last lines of {self.log_path} ---\n{self.tail()}"

    def exit_status(self):
        """The exit status, or None while running.  The process is left
        unreaped (WNOWAIT): until stop() reaps it, its id stays reserved,
        so signals to its group cannot reach a process that reused it."""
        if self.popen.returncode is not None:
            return self.popen.returncode
        try:
            info = os.waitid(os.P_PID, self.popen.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.popen.wait()
        return None if info is None else info.si_status

    def raise_if_exited(self, context):
        code = self.exit_status()
        if code is not None:
            raise HarnessError(f"{self.name} exited with status {code} "
                               f"{context}{self.describe_tail()}")

    def stop(self, grace=15):
        """SIGTERM to the whole group, SIGKILL after grace seconds."""
        if self.popen.returncode is not None:
            return
        self._signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.exit_status() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # Also ends children left in the group when the leader has exited.
        self._signal(signal.SIGKILL)
        self.popen.wait()

    def _signal(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass


# -- certificates -------------------------------------------------------------

VALIDITY = datetime.timedelta(days=30)


def _write_pem(path, data, private=False):
    path = pathlib.Path(path)
    path.write_bytes(data)
    if private:
        path.chmod(0o600)
    return str(path)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class CertificateAuthority:
    """A CA that signs the API server's serving certificate and the client
    certificates that are the tests' identities."""

    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "faultline-test-ca")])
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        builder = (self._builder(name, name, self.key.public_key())
                   .add_extension(x509.BasicConstraints(ca=True,
                                                        path_length=None),
                                  critical=True)
                   .add_extension(_key_usage(cert_sign=True), critical=True)
                   .add_extension(ski, critical=False))
        self.cert = builder.sign(self.key, hashes.SHA256())
        pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_path = _write_pem(self.dir / "ca.crt", pem)

    @staticmethod
    def _builder(subject, issuer, public_key):
        now = datetime.datetime.now(datetime.timezone.utc)
        return (x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer)
                .public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + VALIDITY))

    def issue(self, stem, common_name, organisations=(), server_names=None):
        """Write <stem>.crt and <stem>.key; a server certificate when
        server_names is given (IP addresses and DNS names), else a client
        certificate whose CN and O are the Kubernetes user and groups."""
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)
                 for o in organisations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usage = (ExtendedKeyUsageOID.SERVER_AUTH if server_names is not None
                 else ExtendedKeyUsageOID.CLIENT_AUTH)
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(
            self.key.public_key())
        builder = (self._builder(x509.Name(attrs), self.cert.subject,
                                 key.public_key())
                   .add_extension(x509.BasicConstraints(ca=False,
                                                        path_length=None),
                                  critical=True)
                   .add_extension(_key_usage(), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]),
                                  critical=False)
                   .add_extension(aki, critical=False))
        if server_names is not None:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(server_names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        crt = _write_pem(self.dir / f"{stem}.crt",
                         cert.public_bytes(serialization.Encoding.PEM))
        keyfile = _write_pem(self.dir / f"{stem}.key", _key_pem(key),
                             private=True)
        return crt, keyfile


def _key_usage(cert_sign=False):
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False,
        decipher_only=False)


def _service_account_keys(directory):
    """The key pair the API server signs service-account tokens with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return (_write_pem(directory / "sa.key", _key_pem(key), private=True),
            _write_pem(directory / "sa.pub", public))


# -- the Kubernetes control plane ---------------------------------------------

# Metadata level: who did what to which object, without bodies.  The
# RequestReceived stage is left out so each request is one event.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
"""

ADMIN_USER = "faultline-test-admin"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class ControlPlane:
    """etcd and kube-apiserver on loopback, with RBAC on, like envtest.

    There is no controller-manager, scheduler or kubelet: pods stay
    Pending, namespaces never finish deleting (so use create_namespace for
    fresh ones) and no default service accounts appear (hence the
    ServiceAccount admission plugin is off, as in envtest).
    """

    def __init__(self, audit=True, ready_timeout=90, tokens=None):
        """tokens: optional {token: (user, [groups])}; when given, the API
        server also accepts these bearer tokens (--token-auth-file)."""
        self.audit = audit
        self.tokens = dict(tokens or {})
        self.ready_timeout = ready_timeout
        self.dir = None
        self.port = None
        self.etcd = None
        self.apiserver = None
        self._kubectl = None
        self._admin_kubeconfig = None

    # context manager, so scripts cannot forget stop()
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def server(self):
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def kubeconfig(self):
        return self._admin_kubeconfig

    @property
    def audit_log(self):
        """Path of the JSON-lines audit log (None when audit is off)."""
        return str(self.dir / "audit.log") if self.audit else None

    def start(self):
        _running.add(self)
        try:
            self._kubectl = tool("kubectl")
            self.dir = pathlib.Path(tempfile.mkdtemp(prefix="faultline-cp-"))
            self._write_credentials()
            self._start_etcd()
            self.port = free_port()
            self._start_apiserver()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """End both processes and remove the temporary directory.  Safe to
        call more than once and after a failed start."""
        for proc in (self.apiserver, self.etcd):
            if proc is not None:
                proc.stop()
        self.apiserver = self.etcd = None
        self._admin_kubeconfig = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        _running.discard(self)

    def restart_apiserver(self):
        """Stop kube-apiserver and start it again on the same port with the
        same data, as a client sees when the API server is upgraded."""
        self.apiserver.stop()
        self.apiserver = None
        self._start_apiserver()

    # -- setup steps

    def _write_credentials(self):
        pki = self.dir / "pki"
        pki.mkdir()
        self.ca = CertificateAuthority(pki)
        self.serving = self.ca.issue(
            "serving", "kube-apiserver",
            server_names=[x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                          x509.DNSName("localhost")])
        self.sa_key, self.sa_pub = _service_account_keys(pki)

    def _start_etcd(self):
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://{LOOPBACK}:{client}"
        peer_url = f"http://{LOOPBACK}:{peer}"
        argv = [tool("etcd"),
                "--name=default",
                f"--data-dir={self.dir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync=true"]
        self.etcd = Process("etcd", argv, self.dir / "etcd.log")
        wait_until("etcd health", self._etcd_healthy, 30, [self.etcd])

    def _etcd_healthy(self):
        try:
            with urllib.request.urlopen(f"{self.etcd_url}/health",
                                        timeout=2) as resp:
                return json.load(resp).get("health") == "true"
        except (OSError, ValueError):
            return False

    def apiserver_argv(self):
        crt, key = self.serving
        argv = [tool("kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                f"--bind-address={LOOPBACK}",
                # Without it the API server advertises the first non-loopback
                # address, which the tests' clients never use.
                f"--advertise-address={LOOPBACK}",
                f"--secure-port={self.port}",
                f"--cert-dir={self.dir / 'apiserver-certs'}",
                f"--tls-cert-file={crt}",
                f"--tls-private-key-file={key}",
                f"--client-ca-file={self.ca.cert_path}",
                "--authorization-mode=RBAC",
                # No controller-manager creates default service accounts;
                # with this plugin every pod would need one.
                "--disable-admission-plugins=ServiceAccount",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={self.sa_pub}",
                f"--service-account-signing-key-file={self.sa_key}"]
        if self.tokens:
            argv.append(f"--token-auth-file={self._write_token_file()}")
        if self.audit:
            policy = self.dir / "audit-policy.yaml"
            policy.write_text(AUDIT_POLICY)
            argv += [f"--audit-policy-file={policy}",
                     f"--audit-log-path={self.audit_log}",
                     # blocking (the default, said here on purpose): each
                     # event is written before the request completes
                     "--audit-log-mode=blocking"]
        return argv

    def _write_token_file(self):
        """The static token file: token,user,uid,"group1,group2" lines."""
        path = self.dir / "tokens.csv"
        lines = []
        for token, (user, groups) in self.tokens.items():
            if any(c in token + user + "".join(groups) for c in ',"\n'):
                raise HarnessError(f"token entry for {user!r} holds a "
                                   "comma, quote or newline")
            lines.append(f'{token},{user},{user},"{",".join(groups)}"')
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return str(path)

    def _start_apiserver(self):
        self.apiserver = Process("kube-apiserver", self.apiserver_argv(),
                                 self.dir / "kube-apiserver.log")
        if self._admin_kubeconfig is None:
            self._admin_kubeconfig = self.kubeconfig_for(
                ADMIN_USER, ["system:masters"])
        wait_until("kube-apiserver /readyz", self._ready,
                   self.ready_timeout, [self.apiserver, self.etcd])

    def _ready(self):
        crt, key = self._client_cert(ADMIN_USER)
        ctx = ssl.create_default_context(cafile=self.ca.cert_path)
        ctx.load_cert_chain(crt, key)
        try:
            with urllib.request.urlopen(f"{self.server}/readyz", context=ctx,
                                        timeout=5) as resp:
                return resp.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    # -- identities

    def _client_cert(self, user):
        stem = "user-" + re.sub(r"[^A-Za-z0-9.-]", "_", user)
        pki = self.dir / "pki"
        return str(pki / f"{stem}.crt"), str(pki / f"{stem}.key")

    def kubeconfig_for(self, user, groups=()):
        """A kubeconfig for a client certificate with CN=user and O=groups.
        Without an RBAC binding such a user may do next to nothing."""
        crt, key = self._client_cert(user)
        if not os.path.exists(crt):
            stem = pathlib.Path(crt).stem
            self.ca.issue(stem, user, organisations=groups)
        path = self.dir / f"kubeconfig-{pathlib.Path(crt).stem}"
        # JSON is YAML, and kubectl reads either.
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "faultline-test", "cluster": {
                "server": self.server,
                "certificate-authority": self.ca.cert_path}}],
            "users": [{"name": user, "user": {
                "client-certificate": crt, "client-key": key}}],
            "contexts": [{"name": "faultline-test", "context": {
                "cluster": "faultline-test", "user": user}}],
            "current-context": "faultline-test",
        }
        path.write_text(json.dumps(config, indent=2) + "\n")
        path.chmod(0o600)
        return str(path)

    # -- using it

    def kubectl(self, *args, input=None, check=True, kubeconfig=None,
                timeout=120):
        """Run our kubectl against this API server; returns the
        CompletedProcess (text).  check=True raises on a non-zero exit with
        kubectl's stderr in the message."""
        argv = [self._kubectl, f"--kubeconfig={kubeconfig or self.kubeconfig}",
                # kubectl caches discovery under ~/.kube by default
                f"--cache-dir={self.dir / 'kubectl-cache'}", *args]
        result = subprocess.run(argv, input=input, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise HarnessError(f"kubectl {' '.join(args)} exited "
                               f"{result.returncode}:\n{result.stderr}")
        return result

    def wait_crd_established(self, name, timeout=60):
        """Poll until the CRD is Established.  `kubectl wait` is not used:
        it fails at once, instead of waiting, while the CRD has no
        conditions at all yet."""
        path = '{.status.conditions[?(@.type=="Established")].status}'

        def established():
            r = self.kubectl("get", "crd", name, "-o", f"jsonpath={path}",
                             check=False)
            return r.returncode == 0 and r.stdout.strip() == "True"
        wait_until(f"crd {name} to be established", established, timeout,
                   procs=(self.apiserver,))

    def create_namespace(self, prefix="test"):
        """A new namespace with a unique name (deleted namespaces never go
        away here, so every test takes a fresh one)."""
        base = re.sub(r"[^a-z0-9-]", "-", prefix.lower()).strip("-")[:50]
        name = f"{base or 'test'}-{uuid.uuid4().hex[:8]}"
        self.kubectl("create", "namespace", name)
        return name

    def audit_events(self):
        """Every audit event logged so far, oldest first."""
        if not self.audit:
            raise HarnessError("this ControlPlane was started with audit off")
        try:
            lines = pathlib.Path(self.audit_log).read_text().splitlines()
        except FileNotFoundError:
            return []
        # The last line may be half written while we read.
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        return events


# -- AWS: moto in server mode -------------------------------------------------

REGION = "us-east-1"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class Moto:
    """moto_server on loopback with an IAM user allowed everything, and
    signature checking on: requests must be SigV4-signed with that user's
    key (or another IAM user's), as with AWS."""

    USER = "faultline-test"

    def __init__(self, ready_timeout=60):
        self.ready_timeout = ready_timeout
        self.dir = None
        self.proc = None
        self.port = self.endpoint = None
        self.access_key = self.secret_key = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        _running.add(self)
        try:
            self.dir = pathlib.Path(tempfile.mkdtemp(prefix="faultline-moto-"))
            self.port = free_port()
            self.endpoint = f"http://{LOOPBACK}:{self.port}"
            argv = [venv_tool("moto_server"), "-H", LOOPBACK,
                    "-p", str(self.port)]
            self.proc = Process("moto_server", argv, self.dir / "moto.log")
            wait_until("moto_server", self._answers, self.ready_timeout,
                       [self.proc])
            # Signature checking is still off: any key will do for this.
            self.access_key, self.secret_key = self.create_user(
                self.USER, ADMIN_POLICY, credentials=("setup", "setup"))
            self._enable_auth()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.stop(grace=10)
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        _running.discard(self)

    def _answers(self):
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json",
                                        timeout=2) as resp:
                return resp.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def _enable_auth(self):
        """moto counts requests and checks signatures once the count reaches
        INITIAL_NO_AUTH_ACTION_COUNT (infinite by default).  reset-auth sets
        that limit to the number in the body and zeroes the count, so "0"
        turns checking on from the next request.  The body must not be
        sent as a form (urllib's default content type): Flask then parses it
        as form fields, moto reads an empty body and answers 500."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth",
                                     data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.load(resp)
        if body.get("status") != "ok":
            raise HarnessError(f"moto reset-auth answered {body}")

    def client_kwargs(self, credentials=None):
        """Keyword arguments for boto3.client(service, ...) that reach this
        server with the admin key, or with credentials=(key, secret)."""
        key, secret = credentials or (self.access_key, self.secret_key)
        return {"endpoint_url": self.endpoint, "region_name": REGION,
                "aws_access_key_id": key, "aws_secret_access_key": secret}

    def client(self, service, credentials=None):
        import boto3
        from botocore.config import Config
        # One attempt: the tests want to see each error, not retries of it.
        return boto3.session.Session().client(
            service, config=Config(retries={"total_max_attempts": 1}),
            **self.client_kwargs(credentials))

    def create_user(self, name, policy=None, credentials=None):
        """An IAM user with an access key and, when given, an inline policy.
        Returns (access key id, secret)."""
        iam = self.client("iam", credentials)
        iam.create_user(UserName=name)
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy",
                                PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def env(self):
        """Environment for a process (ours, the AWS CLI, an SDK) that should
        use this server: the standard endpoint override and credentials."""
        return {"AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION}


# -- Prometheus ---------------------------------------------------------------


def prometheus_binary():
    """The Prometheus server that scripts/build-prometheus.sh built: from
    FAULTLINE_PROMETHEUS, else from the env file scripts/setup.sh
    writes."""
    path = os.environ.get("FAULTLINE_PROMETHEUS")
    envfile = _cache_dir() / "env.sh"
    if not path and envfile.is_file():
        for line in envfile.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key.split()[-1] == "FAULTLINE_PROMETHEUS":
                path = value.strip().strip("'\"")
    if not path:
        raise HarnessError(f"FAULTLINE_PROMETHEUS not set and not in "
                           f"{envfile}: run scripts/setup.sh")
    if not os.access(path, os.X_OK):
        raise HarnessError(f"{path} missing: run scripts/setup.sh")
    return path


class Prometheus:
    """The real Prometheus server on loopback, scraping the given targets
    ("127.0.0.1:PORT") every scrape_interval, with its storage in a
    temporary directory that stop() removes."""

    def __init__(self, targets, scrape_interval="1s", ready_timeout=60):
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self.ready_timeout = ready_timeout
        self.dir = None
        self.proc = None
        self.port = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://{LOOPBACK}:{self.port}"

    def start(self):
        _running.add(self)
        try:
            binary = prometheus_binary()
            self.dir = pathlib.Path(tempfile.mkdtemp(prefix="faultline-prom-"))
            config = self.dir / "prometheus.yml"
            # JSON is YAML: no YAML library needed to write the config.
            config.write_text(json.dumps({
                "global": {"scrape_interval": self.scrape_interval,
                           "scrape_timeout": self.scrape_interval,
                           "evaluation_interval": self.scrape_interval},
                "scrape_configs": [{
                    "job_name": "target",
                    "static_configs": [{"targets": self.targets}]}]}))
            self.port = free_port()
            argv = [binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.dir / 'data'}",
                    f"--web.listen-address={LOOPBACK}:{self.port}"]
            self.proc = Process("prometheus", argv, self.dir / "prom.log")
            wait_until("prometheus ready", self._ready, self.ready_timeout,
                       [self.proc])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.stop(grace=10)
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        _running.discard(self)

    def _ready(self):
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready",
                                        timeout=2) as resp:
                return resp.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def query(self, promql):
        """The data of an instant query ({"resultType", "result"}), read
        with Python's own client, so that tests can wait for a scrape
        without the code under test."""
        url = (f"{self.url}/api/v1/query?"
               + urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        if body.get("status") != "success":
            raise HarnessError(f"prometheus query {promql!r}: {body}")
        return body["data"]
