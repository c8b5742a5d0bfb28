"""Fixtures for the integration tests: one real control plane and one moto
server per test session, stopped at the end of the session whether the
tests pass, fail or are interrupted."""

import os
import pathlib

import pytest

import harness


def pytest_configure(config):
    harness.stop_all_on_sigterm()


@pytest.fixture(scope="session")
def repo():
    """The checkout this test file belongs to."""
    return pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_dir(repo):
    return repo / "build"


@pytest.fixture(scope="session")
def sidecar(build_dir):
    """The injector under test.  FAULTLINE_SIDECAR runs the tests against
    another build, such as build/faultline-sidecar-static or
    build-san/faultline-sidecar."""
    path = pathlib.Path(os.environ.get("FAULTLINE_SIDECAR",
                                       build_dir / "faultline-sidecar"))
    # No skip: `make test` builds the sidecar before it runs the tests.
    assert path.exists(), f"{path} missing: run make (make test builds it)"
    return path


@pytest.fixture(scope="module")
def own_control_plane(request):
    """A control plane for one module alone.  The node simulator, like a
    kubelet and a scheduler, takes every pod that names no node: on the
    session's control plane it would also take the pods other modules
    left behind, and they would take its time."""
    cp = harness.ControlPlane()
    request.addfinalizer(cp.stop)
    cp.start()
    return cp


@pytest.fixture(scope="session")
def control_plane(request):
    cp = harness.ControlPlane()
    # Registered before start(), so a start that fails half way still
    # stops whatever it had started.
    request.addfinalizer(cp.stop)
    cp.start()
    yield cp


@pytest.fixture(scope="session")
def moto(request):
    server = harness.Moto()
    request.addfinalizer(server.stop)
    server.start()
    yield server
