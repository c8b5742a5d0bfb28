"""Traffic for the sidecar's network tests, run inside a network namespace
(`ip netns exec NS python3 netpeer.py MODE ...`).  Each client mode prints
one JSON object on stdout.

  serve PORT...                   UDP echo, TCP sink, and on PORT+1000 a
                                  TCP source that sends until closed
  rtt HOST PORT N                 UDP round trips: median and lost
  burst HOST PORT N PPS           N numbered datagrams at PPS; counts the
                                  echoes (unique and total)
  connect HOST PORT TIMEOUT       TCP connect: ok, refused or timeout
  udp HOST PORT TIMEOUT           one datagram: whether sendto() failed
                                  (errno) and whether an echo came
  bulk HOST PORT SECONDS DEV      TCP upload; DEV's tx bytes per second
                                  from second 1 to the end
  download HOST PORT SECONDS DEV  TCP download; DEV's tx bytes per second
                                  (DEV being the ifb that shapes it)
  blast HOST PORT SECONDS BPS DEV UDP at BPS bits per second; DEV's tx
                                  bytes per second from second 1
"""

import errno
import json
import socket
import statistics
import sys
import threading
import time


def serve(ports):
    def udp(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        while True:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)

    def sink(conn):
        with conn:
            while conn.recv(1 << 16):
                pass

    def source(conn):
        block = b"x" * (1 << 16)
        with conn:
            try:
                while True:
                    conn.sendall(block)
            except OSError:
                pass

    def tcp(port, handler):
        # One socket for both families: IPv4 arrives mapped.
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.listen(64)
        while True:
            conn, _ = s.accept()
            threading.Thread(target=handler, args=(conn,),
                             daemon=True).start()

    for p in ports:
        threading.Thread(target=udp, args=(p,), daemon=True).start()
        threading.Thread(target=tcp, args=(p, sink), daemon=True).start()
        threading.Thread(target=tcp, args=(p + 1000, source),
                         daemon=True).start()
    print(json.dumps({"ready": True}), flush=True)
    threading.Event().wait()


def rtt(host, port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    rtts, lost = [], 0
    for i in range(n):
        t0 = time.monotonic()
        s.sendto(b"%d" % i, (host, port))
        try:
            while int(s.recv(100)) != i:
                pass
            rtts.append((time.monotonic() - t0) * 1000)
        except socket.timeout:
            lost += 1
        time.sleep(0.01)
    return {"median_ms": statistics.median(rtts) if rtts else None,
            "lost": lost}


def burst(host, port, n, pps):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    seen, total = set(), 0
    start = time.monotonic()
    for i in range(n):
        s.sendto(b"%08d" % i + b"." * 100, (host, port))
        while True:
            try:
                data = s.recv(2048, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            seen.add(int(data[:8]))
            total += 1
        delay = start + (i + 1) / pps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    s.settimeout(1.0)
    try:
        while True:
            seen.add(int(s.recv(2048)[:8]))
            total += 1
    except socket.timeout:
        pass
    return {"sent": n, "unique": len(seen), "total": total}


def connect(host, port, timeout):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return {"result": "ok"}
    except socket.timeout:
        return {"result": "timeout"}
    except OSError as e:
        if e.errno == errno.ECONNREFUSED:
            return {"result": "refused"}
        return {"result": "error", "errno": e.errno}


def udp_once(host, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(b"ping", (host, port))
    except OSError as e:
        return {"errno": e.errno, "echo": False}
    try:
        s.recv(100)
        return {"errno": 0, "echo": True}
    except socket.timeout:
        return {"errno": 0, "echo": False}


def tx_bytes(dev):
    with open("/sys/class/net/%s/statistics/tx_bytes" % dev) as f:
        return int(f.read())


def measure(dev, seconds, work, streams=1):
    """Runs work() in threads; returns dev's tx bytes per second between
    second 1 and the end, so that slow start does not count.  Several TCP
    streams keep a shaper busy: one stream alone leaves it idle for short
    moments (TCP small queues), and the figure would be the sender's, not
    the shaper's."""
    stop = threading.Event()
    for _ in range(streams):
        threading.Thread(target=work, args=(stop,), daemon=True).start()
    time.sleep(1.0)
    b0, t0 = tx_bytes(dev), time.monotonic()
    time.sleep(seconds - 1.0)
    b1, t1 = tx_bytes(dev), time.monotonic()
    stop.set()
    return {"bytes_per_sec": (b1 - b0) / (t1 - t0)}


def bulk(host, port, seconds, dev):
    def work(stop):
        s = socket.create_connection((host, port), timeout=5)
        block = b"y" * (1 << 16)
        while not stop.is_set():
            s.sendall(block)
    return measure(dev, seconds, work, streams=4)


def download(host, port, seconds, dev):
    def work(stop):
        s = socket.create_connection((host, port), timeout=5)
        while not stop.is_set() and s.recv(1 << 16):
            pass
    return measure(dev, seconds, work, streams=4)


def blast(host, port, seconds, bps, dev):
    def work(stop):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        payload = b"z" * 1200
        gap = len(payload) * 8 / bps
        start, i = time.monotonic(), 0
        while not stop.is_set():
            try:
                s.sendto(payload, (host, port))
            except OSError:
                pass
            i += 1
            delay = start + i * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return measure(dev, seconds, work)


def main(argv):
    mode, args = argv[1], argv[2:]
    if mode == "serve":
        serve([int(p) for p in args])
        return
    host = args[0]
    num = [float(a) if "." in a else int(a) for a in args[1:]
           if a.replace(".", "").isdigit()]
    dev = args[-1]
    if mode == "rtt":
        out = rtt(host, num[0], num[1])
    elif mode == "burst":
        out = burst(host, num[0], num[1], num[2])
    elif mode == "connect":
        out = connect(host, num[0], float(num[1]))
    elif mode == "udp":
        out = udp_once(host, num[0], float(num[1]))
    elif mode == "bulk":
        out = bulk(host, num[0], num[1], dev)
    elif mode == "download":
        out = download(host, num[0], num[1], dev)
    elif mode == "blast":
        out = blast(host, num[0], num[1], num[2], dev)
    else:
        raise SystemExit("unknown mode %r" % mode)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv)
