"""The Dockerfile, checked without a Docker engine: hadolint, and what it copies exists and reaches the context.

No image is built here (no engine runs on these machines): that `pip install` resolves inside
python:3.11-slim and the image starts are not tested.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess

from helm_render import HELM_VENV, ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_hadolint_is_clean():
    done = subprocess.run(
        [str(HELM_VENV / "bin" / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_can_fail(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    done = subprocess.run([str(HELM_VENV / "bin" / "hadolint"), str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # latest tag


def test_multi_stage_and_non_root():
    instructions = _instructions()
    stages = [arg for op, arg in instructions if op == "FROM"]
    assert len(stages) == 2
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    (user,) = [arg for op, arg in final if op == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit()  # numeric, so runAsNonRoot can verify it
    assert int(uid) != 0
    values = (ROOT / "helm/guardd/values.yaml").read_text()
    assert f"runAsUser: {uid}" in values
    assert ("ENTRYPOINT", '["guardd"]') in final
    # The final stage installs nothing: no compilers, no pip.
    assert not [arg for op, arg in final if op == "RUN" and re.search(r"\b(pip|apt-get|gcc)\b", arg)]


def test_copied_paths_exist_and_are_not_docker_ignored():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for op, arg in _instructions():
        if op == "COPY" and "--from=" not in arg:
            sources += [s.rstrip("/") for s in arg.split()[:-1] if not s.startswith("--")]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source
    # models/ is copied through a bind mount when present; it must not be ignored either.
    assert not any(fnmatch.fnmatch("models", pattern) for pattern in ignored)
