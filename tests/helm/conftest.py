"""The Helm toolchain for these tests: a Python >= 3.12 venv (.helm-venv) with helm-sdkpy and friends.

The session fixture makes it on a fresh machine from tests/helm/requirements.txt (pyenv's 3.12 here) and
remakes it when the requirements change. Without a Python >= 3.12 the tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helm_render import HELM_VENV

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
STAMP = HELM_VENV / ".requirements.sha256"


def _python312() -> list[str] | None:
    """A command that runs Python >= 3.12: a plain one on PATH, else pyenv's shim told which version."""
    for name in ("python3.13", "python3.12"):
        for env in ({}, {"PYENV_VERSION": "3.13.0"}, {"PYENV_VERSION": "3.12.1"}):
            if shutil.which(name) is None:
                continue
            probe = subprocess.run(
                [name, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                capture_output=True,
                text=True,
                env={**os.environ, **env},
                check=False,
            )
            if probe.stdout.strip() == "True":
                return ["env", *(f"{k}={v}" for k, v in env.items()), name]
    return None


def _ensure_venv() -> None:
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and (HELM_VENV / "bin" / "python").exists():
        return
    python = _python312()
    if python is None:
        message = "NO PYTHON >= 3.12 FOUND: helm-sdkpy (real Helm) needs one; the Helm chart tests cannot run"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    shutil.rmtree(HELM_VENV, ignore_errors=True)
    subprocess.run([*python, "-m", "venv", str(HELM_VENV)], check=True)
    pip = [str(HELM_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    STAMP.write_text(wanted)


@pytest.fixture(scope="session", autouse=True)
def helm_toolchain() -> None:
    """Make .helm-venv once per session (instant when it is already there)."""
    _ensure_venv()
