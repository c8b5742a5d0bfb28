"""A plain HTTP proxy in front of moto that throttles on request.

moto never throttles by itself.  This proxy answers the next N requests
with the error a real service sends when it throttles, and forwards every
other request to moto unchanged (the Host header included, so that the
client's SigV4 signature still matches on moto's side):

  - EC2 (query protocol, Version=2016-11-15): 503 with
    <Response><Errors><Error><Code>RequestLimitExceeded</Code>...
  - JSON protocol services (X-Amz-Target, e.g. ECS): 400 with
    {"__type": "ThrottlingException", "message": "Rate exceeded"}
  - other query services (STS, RDS, CloudWatch): 400 with
    <ErrorResponse><Error><Code>Throttling</Code>...

It can also answer with a 500 InternalError, to test retries on server
faults, and with ExpiredToken, to test that credentials are fetched
again.  Listens on 127.0.0.1 only; runs in a thread:

    with AwsProxy(moto.endpoint) as proxy:
        proxy.throttle(2)
        driver(env={"AWS_ENDPOINT_URL": proxy.endpoint})
        assert proxy.throttled == 2 and proxy.forwarded == 1
"""

import http.client
import http.server
import threading
import urllib.parse
import uuid

import harness

EC2_VERSION = "Version=2016-11-15"

# Hop-by-hop headers are the proxy's own business, not forwarded.
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
       "te", "trailer", "upgrade"}


class AwsProxy:
    def __init__(self, upstream):
        u = urllib.parse.urlsplit(upstream)
        self.upstream = (u.hostname, u.port)
        self.endpoint = None
        self.forwarded = 0
        self.throttled = 0
        self.failed = 0
        self.actions = []          # (action or target, "throttled"|...)
        self.bodies = []           # each request's body, in order
        self._faults = []          # "throttle" or "error", one per request
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                proxy._handle(self)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(
            (harness.LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://{harness.LOOPBACK}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None

    def throttle(self, n):
        """Answer the next n requests with a throttling error."""
        with self._lock:
            self._faults.extend(["throttle"] * n)

    def server_error(self, n):
        """Answer the next n requests with 500 InternalError."""
        with self._lock:
            self._faults.extend(["error"] * n)

    def expire(self, n):
        """Answer the next n requests with ExpiredToken, as STS-issued
        credentials that ran out are answered."""
        with self._lock:
            self._faults.extend(["expired"] * n)

    def _take(self):
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _handle(self, req):
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        target = req.headers.get("X-Amz-Target")
        fault = self._take()
        # Counted before answering: the client may have its answer, and
        # the test may look, before this thread runs on.
        with self._lock:
            outcome = {None: "forwarded", "error": "error",
                       "expired": "expired"}.get(fault, "throttled")
            self.actions.append((target or _action(body), outcome))
            self.bodies.append(body)
            if fault is None:
                self.forwarded += 1
            elif fault in ("error", "expired"):
                self.failed += 1
            else:
                self.throttled += 1
        if fault is None:
            self._forward(req, body)
        elif fault == "error":
            _answer(req, 500, "text/xml", _query_error(
                "InternalError", "We encountered an internal error."))
        elif fault == "expired":
            _answer(req, 400, "text/xml", _query_error(
                "ExpiredToken", "The security token included in the "
                "request is expired"))
        elif target:
            _answer(req, 400, "application/x-amz-json-1.1",
                    b'{"__type":"ThrottlingException",'
                    b'"message":"Rate exceeded"}')
        elif EC2_VERSION.encode() in body:
            _answer(req, 503, "text/xml;charset=UTF-8", _ec2_error(
                "RequestLimitExceeded", "Request limit exceeded."))
        else:
            _answer(req, 400, "text/xml", _query_error(
                "Throttling", "Rate exceeded"))

    def _forward(self, req, body):
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            conn.putrequest(req.command, req.path, skip_host=True,
                            skip_accept_encoding=True)
            for name, value in req.headers.items():
                if name.lower() not in HOP:
                    conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            req.send_response(resp.status)
            for name, value in resp.getheaders():
                if name.lower() not in HOP and \
                        name.lower() != "content-length":
                    req.send_header(name, value)
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        finally:
            conn.close()


def _action(body):
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return (form.get("Action") or ["?"])[0]


def _answer(req, status, ctype, data):
    req.send_response(status)
    req.send_header("Content-Type", ctype)
    req.send_header("Content-Length", str(len(data)))
    req.send_header("x-amzn-RequestId", str(uuid.uuid4()))
    req.end_headers()
    req.wfile.write(data)


def _ec2_error(code, message):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors>'
            f'<Error><Code>{code}</Code><Message>{message}</Message>'
            f'</Error></Errors><RequestID>{uuid.uuid4()}</RequestID>'
            f'</Response>').encode()


def _query_error(code, message):
    return (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/'
            f'2011-06-15/"><Error><Type>Sender</Type><Code>{code}</Code>'
            f'<Message>{message}</Message></Error>'
            f'<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>'
            ).encode()
