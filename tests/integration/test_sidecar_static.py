"""The static injector, build/faultline-sidecar-static (make sidecar-static,
for an image FROM scratch): that it really is static, what it weighs
stripped, and that it injects a real fault end to end.

Its libmnl is our own sidecar/mnl_static.c (Debian ships no libmnl.a), so
the end-to-end run is what proves that stand-in: a latency fault goes
through netlink (rtnetlink, nftables batches) and NFQUEUE, is measured,
and is taken back.  `make test` builds the binary before these tests run.
"""

import json
import os
import shutil
import subprocess

import pytest

from test_sidecar_network import PORT, Net, within

NEEDS_NETNS = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft")
    or not shutil.which("tc"),
    reason="needs root, ip, tc and nft")


@pytest.fixture(scope="module")
def static_sidecar(build_dir):
    path = build_dir / "faultline-sidecar-static"
    # No skip: `make test` builds it (make sidecar-static).
    assert path.exists(), f"{path} missing: run make sidecar-static"
    return path


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True,
                          capture_output=True, text=True).stdout


def test_is_static(static_sidecar):
    headers = readelf("-l", str(static_sidecar))
    assert "INTERP" not in headers, headers
    assert "(NEEDED)" not in readelf("-d", str(static_sidecar))
    # libmnl came from our stand-in, not from a shared library.
    syms = readelf("-s", str(static_sidecar))
    assert " mnl_cb_run2" in syms


def test_stripped_size(static_sidecar, tmp_path):
    out = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(out), str(static_sidecar)],
                   check=True)
    size = out.stat().st_size
    print("%s: %d bytes stripped" % (static_sidecar.name, size))
    assert 0 < size < 64 << 20


def test_check_spec(static_sidecar):
    spec = {"tag": "tstatic", "duration": "5s",
            "faults": [{"kind": "networkLatency",
                        "params": {"delay": "50ms"}}]}
    r = subprocess.run([str(static_sidecar), "check", "--spec",
                        json.dumps(spec)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["state"] == "valid"

    spec["faults"][0]["params"]["delay"] = "soon"
    r = subprocess.run([str(static_sidecar), "check", "--spec",
                        json.dumps(spec)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert "params.delay" in r.stderr


@pytest.fixture
def net(static_sidecar):
    n = Net(static_sidecar)
    try:
        n.up()
        yield n
    finally:
        n.down()


@NEEDS_NETNS
def test_latency_end_to_end(net):
    base = net.rtt(PORT)["median_ms"]
    run = net.run([{"kind": "networkLatency",
                    "params": {"delay": "100ms"}}], duration="30s")
    st = run.wait_applied()[0]
    got = net.rtt(PORT)["median_ms"] - base
    run.stop()
    print("static sidecar, %s engine: asked 100 ms, measured %.2f ms"
          % (st["engine"], got))
    assert within(got, 100, 5.0)
    assert net.rtt(PORT)["median_ms"] < base + 1
    net.assert_clean()
