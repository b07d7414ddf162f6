"""The images, checked without a Docker engine: every Dockerfile is multi-stage on
python:3.12-slim, installs from the lock file for its one package, copies only paths that
exist, runs as a numeric non-root user the module that exists; uv.lock keeps each service's
dependency set minimal; and the builder stage, replayed here with the same uv commands on
exactly the files it copies, yields a venv that imports the service and nothing it must not."""

import subprocess
from pathlib import Path

import pytest
import yaml
from chartkit import CHART
from dockerfiles import DOCKER, ROOT, SERVICES, dockerfile, lock_closure, workspace_members

# Each third-party SDK belongs to exactly one service image.
SDK_HOME = {"slack-sdk": "ingress", "pygithub": "tools", "openai": "router", "kopf": "operator",
            "boto3": "audit"}
DEV_ONLY = {"pytest", "kmock", "helm-sdkpy", "kubernetes-validate", "playwright", "mypy", "ruff"}
CHART_UID = yaml.safe_load((CHART / "values.yaml").read_text())["podSecurityContext"]["runAsUser"]


def test_one_dockerfile_per_service_and_no_strays() -> None:
    assert sorted(p.name for p in DOCKER.glob("*.Dockerfile")) == sorted(
        f"{s}.Dockerfile" for s in SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_shape(service: str) -> None:
    image = dockerfile(service)
    assert image.args["PYTHON_IMAGE"] == "python:3.12-slim"
    assert [s.base for s in image.stages] == ["python:3.12-slim", "python:3.12-slim"]
    assert image.builder.name == "builder"
    syncs = [r for r in image.builder.runs() if r.startswith("uv sync")]
    assert syncs and all(f"--frozen --no-dev --package triage-{service}" in r for r in syncs)
    assert "--no-editable" in syncs[-1]  # the venv must not point back into /src
    runtime = image.runtime
    (copy,) = runtime.copies()
    venv = image.builder.env()["UV_PROJECT_ENVIRONMENT"]
    assert copy == ([venv], venv, {"from": "builder"})
    assert runtime.args("ENTRYPOINT") == [f'["python", "-m", "triage_{service}"]']
    assert (ROOT / "services" / service / "src" / f"triage_{service}" / "__main__.py").is_file()
    assert runtime.env()["PATH"].startswith(f"{venv}/bin:")
    assert runtime.env()["PORT"] == "8080" and runtime.env()["HOST"] == "0.0.0.0"
    (user,) = runtime.args("USER")
    assert user == f"{CHART_UID}:{CHART_UID}"  # numeric: the kubelet can check runAsNonRoot
    assert not runtime.args("HEALTHCHECK")  # the chart's probes do that job


@pytest.mark.parametrize("service", SERVICES)
def test_copied_paths_exist_and_pass_the_dockerignore(service: str) -> None:
    image = dockerfile(service)
    ignore = (DOCKER / f"{service}.Dockerfile.dockerignore").read_text().splitlines()
    included = {line[1:] for line in ignore if line.startswith("!")}
    assert ignore[ignore.index("*") if "*" in ignore else 0] == "*"
    copied = [src for stage in image.stages for sources, _, flags in stage.copies()
              if "from" not in flags for src in sources]
    for src in copied:
        assert (ROOT / src).exists(), f"{service}: COPY {src} does not exist"
        assert src in included, f"{service}: COPY {src} is excluded by the .dockerignore"
    # uv loads the workspace from every member's pyproject.toml, so all must be copied.
    members = {f"{m}/pyproject.toml" for m in workspace_members()}
    assert members <= set(copied)
    assert f"services/{service}/src" in copied and "libs/contracts/src" in copied


@pytest.mark.parametrize("service", SERVICES)
def test_dependency_sets_stay_minimal(service: str) -> None:
    closure = lock_closure(f"triage-{service}")
    for sdk, home in SDK_HOME.items():
        assert (sdk in closure) == (service == home), f"{sdk} in triage-{service}: {sdk in closure}"
    assert not closure & DEV_ONLY
    others = {f"triage-{s}" for s in SERVICES if s != service} | {"triage-sandbox"}
    assert not closure & others, "services never depend on each other"
    assert "triage-contracts" in closure


@pytest.mark.parametrize("service", SERVICES)
def test_builder_stage_yields_a_venv_that_runs_the_service(service: str, image_venv,
                                                           tmp_path: Path) -> None:
    venv = image_venv(service)
    probe = (f"import importlib.util as u, triage_{service}.__main__ as m\n"
             "assert callable(m.main)\n"
             "print(' '.join(s for s in ('slack_sdk', 'github', 'openai', 'kopf', 'pytest')"
             " if u.find_spec(s)))\n"
             f"print(m.__file__)")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    sdks, module_file = proc.stdout.splitlines()
    expected = {"ingress": "slack_sdk", "tools": "github", "router": "openai", "operator": "kopf"}
    assert sdks == expected.get(service, "")
    # Installed into the venv, not linked back to the source tree.
    assert module_file.startswith(str(venv)), module_file
