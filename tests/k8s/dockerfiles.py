"""A small Dockerfile reader for the image tests (no Docker engine here): instructions with
line continuations joined, grouped by build stage, plus uv.lock's dependency graph."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
SERVICES = ["ingress", "orchestrator", "tools", "router", "audit", "approval", "operator"]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for rest in self.args("ENV"):
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                result[key] = value
        return result

    def copies(self) -> list[tuple[list[str], str, dict[str, str]]]:
        """(sources, destination, flags) of every COPY."""
        found = []
        for rest in self.args("COPY"):
            words = shlex.split(rest)
            flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--"))
            paths = [w for w in words if not w.startswith("--")]
            found.append((paths[:-1], paths[-1], flags))
        return found

    def runs(self) -> list[str]:
        """RUN commands without BuildKit's --mount flags."""
        return [re.sub(r"--mount=\S+\s*", "", rest).strip() for rest in self.args("RUN")]


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    @property
    def builder(self) -> Stage:
        return self.stages[0]

    @property
    def runtime(self) -> Stage:
        return self.stages[-1]


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def parse(path: Path) -> Dockerfile:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in instructions(path.read_text()):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            stages.append(Stage(base, words[2] if len(words) > 2 else None))
        else:
            stages[-1].instructions.append((keyword, rest))
    return Dockerfile(args, stages)


def dockerfile(service: str) -> Dockerfile:
    return parse(DOCKER / f"{service}.Dockerfile")


def workspace_members() -> list[str]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(root["tool"]["uv"]["workspace"]["members"])


def lock_closure(package: str) -> set[str]:
    """Every package `uv sync --no-dev --package <package>` installs, from uv.lock (extras
    followed, dev groups not)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    by_name = {p["name"]: p for p in lock["package"]}
    visited: set[tuple[str, tuple[str, ...]]] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(package, ())]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        entry = by_name[name]
        deps = list(entry.get("dependencies", []))
        for extra in extras:
            deps += entry.get("optional-dependencies", {}).get(extra, [])
        todo += [(dep["name"], tuple(sorted(dep.get("extra", [])))) for dep in deps]
    return {name for name, _ in visited}


def replay_builder(service: str, workdir: Path) -> Path:
    """Run the builder stage's COPY and uv commands on a scratch folder (offline, from uv's
    cache) and return the venv it produced."""
    image = dockerfile(service)
    src = workdir / "src"
    for sources, dest, flags in image.builder.copies():
        if "from" in flags:
            continue
        for source in sources:
            # COPY a b/ puts a inside b/ (./ is the WORKDIR); COPY a b renames a to b.
            target = src / dest / Path(source).name if dest.endswith("/") else src / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            copy = shutil.copytree if (ROOT / source).is_dir() else shutil.copy2
            copy(ROOT / source, target)
    venv = workdir / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    # The image's /usr/local/bin/python3.12 is this interpreter's base installation here.
    python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    env |= image.builder.env() | {
        "UV_PROJECT_ENVIRONMENT": str(venv), "UV_OFFLINE": "1", "UV_COMPILE_BYTECODE": "0",
        "UV_PYTHON": str(python), "UV_LINK_MODE": "copy"}
    for command in image.builder.runs():
        proc = subprocess.run(shlex.split(command), cwd=src, env=env, capture_output=True,
                              text=True, timeout=150)
        assert proc.returncode == 0, f"{command}\n{proc.stderr}"
    return venv
