"""The CRD table: every example is accepted and every invalid file is
rejected, by the real API server (the CRD's schema and CEL rules) and by
our own parser (`kubectl faultline validate`), each for the reason written
in the file's header:

    # expect-field: spec.faults[0].networkLatency.delay
    # expect-api: should match
    # expect-parser: is not a duration
    # refuse-api: evaluating rule

The expect lines are required; a refuse-api line, when present, names text
the API server must not print (a second, misleading error)."""

import pathlib
import re
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
CRD = REPO / "crds" / "chaosexperiments.faultline.dev.yaml"
EXAMPLES = sorted((REPO / "deploy" / "examples").glob("*.yaml"))
INVALID = sorted((REPO / "tests" / "data" / "invalid").glob("*.yaml"))
MIN_INVALID = 25


def by_name(paths):
    return pytest.mark.parametrize("path", paths, ids=[p.name for p in paths])


def expectations(path):
    """The `# expect-KEY: text` lines of the file's leading comment."""
    found = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        m = re.match(r"#\s*((?:expect|refuse)-[a-z]+):\s*(.*?)\s*$", line)
        if m:
            found[m.group(1).removeprefix("expect-")] = m.group(2)
    for key in ("field", "api", "parser"):
        assert found.get(key), f"{path.name}: header lacks '# expect-{key}:'"
    return found


def relative(path):
    return str(path.relative_to(REPO))


@pytest.fixture(scope="module")
def crd(control_plane):
    control_plane.kubectl("apply", "-f", str(CRD))
    control_plane.wait_crd_established("chaosexperiments.faultline.dev")
    return control_plane


def experiments_in(cp, ns):
    out = cp.kubectl("get", "chaosexperiments", "-n", ns, "-o", "name").stdout
    return set(out.split())


def test_the_table_is_big_enough():
    assert EXAMPLES, "no deploy/examples/*.yaml"
    assert len(INVALID) >= MIN_INVALID, (
        f"{len(INVALID)} files in tests/data/invalid, want at least "
        f"{MIN_INVALID}")


# -- the API server -----------------------------------------------------------


@by_name(EXAMPLES)
def test_api_accepts_example(crd, path):
    ns = crd.create_namespace("example")
    crd.kubectl("apply", "-n", ns, "-f", str(path))

    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    names = {f"chaosexperiment.faultline.dev/{d['metadata']['name']}"
             for d in docs if d.get("kind") == "ChaosExperiment"}
    assert names, f"{path.name} holds no ChaosExperiment"
    assert experiments_in(crd, ns) == names


@by_name(INVALID)
def test_api_rejects_invalid(crd, path):
    expect = expectations(path)
    ns = crd.create_namespace("invalid")
    result = crd.kubectl("apply", "-n", ns, "-f", str(path), check=False)

    assert result.returncode != 0, f"accepted:\n{result.stdout}"
    assert expect["field"] in result.stderr
    assert expect["api"] in result.stderr
    if "refuse-api" in expect:
        assert expect["refuse-api"] not in result.stderr
    assert experiments_in(crd, ns) == set()


# -- our parser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def validate(build_dir):
    cli = build_dir / "kubectl-faultline"
    # No skip: `make test` builds the CLI before it runs these tests.
    assert cli.is_file(), f"{cli} missing: run make (make test builds it)"

    def run(path):
        return subprocess.run([str(cli), "validate", relative(path)],
                              cwd=REPO, capture_output=True, text=True,
                              timeout=60)
    return run


@by_name(EXAMPLES)
def test_parser_accepts_example(validate, path):
    result = validate(path)
    assert result.returncode == 0, result.stderr


@by_name(INVALID)
def test_parser_rejects_invalid(validate, path):
    expect = expectations(path)
    result = validate(path)
    assert result.returncode == 1, result.stderr

    # One diagnostic names the file, a line in it, the field and the reason.
    lines = len(path.read_text().splitlines())
    prefix = re.compile(re.escape(relative(path)) + r":(\d+): ")
    wanted = [expect["field"], expect["parser"]]
    matches = [line for line in result.stderr.splitlines()
               if (m := prefix.match(line)) and 1 <= int(m.group(1)) <= lines
               and all(w in line for w in wanted)]
    assert matches, (f"no line 'FILE:LINE: ...' with {wanted} in:\n"
                     f"{result.stderr}")


# -- what kubectl shows -------------------------------------------------------


def test_short_names_category_and_columns(crd):
    ns = crd.create_namespace("columns")
    crd.kubectl("apply", "-n", ns, "-f",
                str(REPO / "deploy" / "examples" / "quickstart.yaml"))

    for resource in ("chaos", "cex", "faultline"):
        out = crd.kubectl("get", resource, "-n", ns).stdout.splitlines()
        assert out[0].split() == ["NAME", "PHASE", "VERDICT", "TARGETS",
                                  "AGE"], resource
        assert out[1].split()[0] == "quickstart"

    # The status subresource: a status write through the main resource is
    # ignored, through /status it lands (this is what the operator uses).
    patch = '{"status": {"phase": "Observing", "targetCount": 3}}'
    crd.kubectl("patch", "chaos", "quickstart", "-n", ns, "--type=merge",
                "-p", patch)
    assert "Observing" not in crd.kubectl("get", "chaos", "-n", ns).stdout
    crd.kubectl("patch", "chaos", "quickstart", "-n", ns, "--type=merge",
                "--subresource=status", "-p", patch)
    cols = "custom-columns=PHASE:.status.phase,TARGETS:.status.targetCount"
    row = crd.kubectl("get", "chaos", "quickstart", "-n", ns,
                      "-o", cols).stdout.splitlines()[1]
    assert row.split() == ["Observing", "3"]
    # Verdict is still empty, so the default view shows phase then count.
    row = crd.kubectl("get", "chaos", "-n", ns).stdout.splitlines()[1]
    assert row.split()[:3] == ["quickstart", "Observing", "3"]
