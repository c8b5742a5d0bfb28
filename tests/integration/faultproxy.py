"""A TLS proxy in front of kube-apiserver that misbehaves on request:
it cuts connections, delays what it forwards, and answers new
connections with 429 or 503 and a Retry-After instead of forwarding
them.  Clients reach it with a kubeconfig that names it as the server;
it terminates their TLS with its own certificate (signed by the test
CA) and talks to the API server over TLS as the admin.

It speaks HTTP/1.1 only (ALPN), so that a rejection is one plain HTTP
response; after the first request it forwards bytes as they come, so a
watch streams through it unchanged.

Runs its own asyncio loop in a thread and listens on 127.0.0.1 only:

    with FaultProxy(cp) as proxy:
        driver(kubeconfig=proxy.kubeconfig)
        proxy.drop_all()
        proxy.reject(2, status=429, retry_after=1)
"""

import asyncio
import ipaddress
import json
import os
import random
import ssl
import threading

from cryptography import x509

import harness

CHUNK = 65536


class FaultProxy:
    def __init__(self, control_plane):
        self.cp = control_plane
        self.port = None
        self.kubeconfig = None
        # Faults, read by the loop's thread; each is a plain value, so
        # setting one from the test's thread is safe.
        self.delay_s = 0.0          # before forwarding each chunk
        self.cut_after = None       # (lo, hi) seconds: cut each connection
        self._rejects = []          # (status, retry_after) per new conn
        self._hold = False          # accept, but forward nothing yet
        # What happened, for the test to check.
        self.connections = 0
        self.cuts = 0
        self.rejected = {}          # status -> count
        self._conns = set()
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None
        self._server = None

    # -- lifecycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self._server_ctx, self._client_ctx = self._tls_contexts()
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,),
                                        daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise harness.HarnessError("fault proxy did not start")
        self.kubeconfig = self._write_kubeconfig()
        return self

    def stop(self):
        if self._loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def _run(self, ready):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(
            self._serve, harness.LOOPBACK, 0, ssl=self._server_ctx))
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()

    async def _shutdown(self):
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.sleep(0)

    # -- faults, called from the test's thread

    def reject(self, n, status=503, retry_after=1):
        """Answer the next n new connections with status and
        Retry-After instead of forwarding them."""
        with self._lock:
            self._rejects.extend([(status, retry_after)] * n)

    def rejects_pending(self):
        with self._lock:
            return len(self._rejects)

    def hold(self, on=True):
        """While on, new connections are accepted but not forwarded: the
        client waits, as behind a stalled network."""
        self._hold = on

    def drop_all(self):
        """Cut every connection now."""
        def cut():
            for task in list(self._conns):
                task.cancel()
        self._loop.call_soon_threadsafe(cut)

    # -- the connection

    def _take_reject(self):
        with self._lock:
            return self._rejects.pop(0) if self._rejects else None

    async def _serve(self, reader, writer):
        task = asyncio.current_task()
        self._conns.add(task)
        self.connections += 1
        up_writer = None
        pipes = []
        try:
            while self._hold:
                await asyncio.sleep(0.05)
            reject = self._take_reject()
            if reject:
                await self._answer(reader, writer, *reject)
                return
            up_reader, up_writer = await asyncio.open_connection(
                harness.LOOPBACK, self.cp.port, ssl=self._client_ctx,
                server_hostname=harness.LOOPBACK)
            pipes = [asyncio.ensure_future(self._pipe(reader, up_writer)),
                     asyncio.ensure_future(self._pipe(up_reader, writer))]
            await self._until_cut(pipes)
        except (asyncio.CancelledError, OSError, ssl.SSLError):
            self.cuts += 1
        finally:
            self._conns.discard(task)
            for p in pipes:
                p.cancel()
            for w in (writer, up_writer):
                if w is not None:
                    w.transport.abort()

    async def _until_cut(self, pipes):
        """Returns when either side closes, or when the connection has
        lived its allotted time.  The allotment is drawn when cutting is
        switched on, so that a connection kept alive from before (a
        client reuses them) is cut too."""
        loop = asyncio.get_running_loop()
        limit = None
        while True:
            done, _ = await asyncio.wait(
                pipes, timeout=0.1, return_when=asyncio.FIRST_COMPLETED)
            if done:
                return
            if self.cut_after and limit is None:
                limit = loop.time() + random.uniform(*self.cut_after)
            if limit is not None and loop.time() >= limit:
                self.cuts += 1
                return

    async def _pipe(self, src, dst):
        while True:
            data = await src.read(CHUNK)
            if not data:
                return
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            dst.write(data)
            await dst.drain()

    async def _answer(self, reader, writer, status, retry_after):
        """Reads the request head and answers with a Status body, as the
        API server's own throttling does."""
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError):
            return
        reason = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(
            status, "InternalError")
        body = json.dumps({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": f"fault proxy says {status}", "reason": reason,
            "code": status}).encode()
        head = (f"HTTP/1.1 {status} {reason}\r\n"
                f"Content-Type: application/json\r\n"
                f"Retry-After: {retry_after}\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n").encode()
        writer.write(head + body)
        await writer.drain()
        with self._lock:
            self.rejected[status] = self.rejected.get(status, 0) + 1

    # -- TLS and the kubeconfig

    def _tls_contexts(self):
        cp = self.cp
        crt, key = cp.ca.issue(
            f"faultproxy-{os.getpid()}-{id(self)}", "faultline-fault-proxy",
            server_names=[x509.IPAddress(ipaddress.ip_address(
                harness.LOOPBACK))])
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(crt, key)
        server.set_alpn_protocols(["http/1.1"])

        admin = json.loads(open(cp.kubeconfig).read())["users"][0]["user"]
        client = ssl.create_default_context(cafile=cp.ca.cert_path)
        client.load_cert_chain(admin["client-certificate"],
                               admin["client-key"])
        client.set_alpn_protocols(["http/1.1"])
        return server, client

    def _write_kubeconfig(self):
        config = json.loads(open(self.cp.kubeconfig).read())
        config["clusters"][0]["cluster"]["server"] = (
            f"https://{harness.LOOPBACK}:{self.port}")
        path = self.cp.dir / f"kubeconfig-faultproxy-{self.port}"
        path.write_text(json.dumps(config, indent=2) + "\n")
        path.chmod(0o600)
        return str(path)
