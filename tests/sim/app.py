"""The small program the node simulator runs as every app container, and
a client to measure it.  Standard library only: the simulator starts it
with the system's python3 inside a pod's namespaces.

  app.py serve PORT NAME     HTTP on 0.0.0.0:PORT (and [::]:PORT):
                             GET /healthz -> 200 "ok"
                             GET /echo    -> 200, answered at once
                             GET /        -> 200, the pod's HOSTNAME
                             NAME becomes the process's comm, so a
                             processKill fault can name the container.
  app.py measure URL N       N GETs of URL over one kept-alive connection
                             (a new one after an error); prints JSON:
                             {"median_ms", "min_ms", "errors", "n"}
  app.py spread URL N        N GETs, each on a new connection; prints
                             JSON {"bodies": {body: count}, "errors"}
"""

import ctypes
import http.client
import http.server
import json
import os
import signal
import socket
import statistics
import sys
import time
import urllib.parse

PR_SET_NAME = 15


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One segment per answer, sent at once: without these, Nagle and the
    # peer's delayed ACK add 40 ms to a kept-alive connection, and a
    # latency fault counts twice (headers, then body).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def do_GET(self):
        if self.path == "/healthz":
            body = b"ok"
        elif self.path.startswith("/echo"):
            body = b"echo"
        elif self.path == "/":
            body = os.environ.get("HOSTNAME", "").encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        # One socket for both families: IPv4 arrives mapped.
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def serve(port, name):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    server = Server(("::", port), Handler)
    print(json.dumps({"listening": port}), flush=True)
    server.serve_forever()


def _connection(url):
    u = urllib.parse.urlsplit(url)
    return (http.client.HTTPConnection(u.hostname, u.port or 80, timeout=5),
            u.path or "/")


def measure(url, n):
    conn, path = _connection(url)
    times, errors = [], 0
    for _ in range(n):
        t0 = time.monotonic()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise OSError(f"status {resp.status}")
            times.append((time.monotonic() - t0) * 1000)
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn, path = _connection(url)
    return {"median_ms": statistics.median(times) if times else None,
            "min_ms": min(times) if times else None,
            "errors": errors, "n": n}


def spread(url, n):
    bodies, errors = {}, 0
    for _ in range(n):
        conn, path = _connection(url)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            body = conn.getresponse().read().decode()
            bodies[body] = bodies.get(body, 0) + 1
        except (OSError, http.client.HTTPException):
            errors += 1
        finally:
            conn.close()
    return {"bodies": bodies, "errors": errors}


def main(argv):
    if len(argv) == 3 and argv[0] == "serve":
        serve(int(argv[1]), argv[2])
    elif len(argv) == 3 and argv[0] in ("measure", "spread"):
        fn = measure if argv[0] == "measure" else spread
        print(json.dumps(fn(argv[1], int(argv[2]))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
