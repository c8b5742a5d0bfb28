"""Fixtures for the integration tests: one real control plane and one moto
server per test session, stopped at the end of the session whether the
tests pass, fail or are interrupted."""

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
