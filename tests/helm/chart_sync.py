"""Keep the chart's generated files in step with guardd: ``make helm-sync`` writes them, tests check them.

- ``helm/guardd/values.yaml`` carries ``policies/default.yaml`` verbatim as its default ``policy.files``.
- ``helm/guardd/files/prometheus-rules.yaml`` is the output of the real ``guardd rules`` on exactly those
  files, headed by their digest (``policy-sha256``). The PrometheusRule template renders it only while the
  values' policy has that digest, so the chart never ships rules for a policy it is not running.

Run as ``python tests/helm/chart_sync.py --write`` (or ``--check``: exit 1 on drift).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "guardd"
VALUES = CHART / "values.yaml"
RULES = CHART / "files" / "prometheus-rules.yaml"
DEFAULT_POLICY = ROOT / "policies" / "default.yaml"
BEGIN = "    # BEGIN default policy"
END = "    # END default policy"
INDENT = " " * 6


def values_policy_files(values_text: str | None = None) -> dict[str, str]:
    """``policy.files`` of the chart's values.yaml."""
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8") if values_text is None else values_text)
    files: dict[str, str] = values["policy"]["files"]
    return files


def policy_digest(files: dict[str, str]) -> str:
    """The digest the chart's ``guardd.policyDigest`` template computes: sha256 of name, text, by name."""
    joined = "".join(f"{name}\n{files[name]}\n" for name in sorted(files))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def guardd_rules(files: dict[str, str], *extra: str) -> str:
    """The output of the real ``guardd rules`` CLI on ``files`` (written to a directory named ``policy``)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "policy"
        directory.mkdir()
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "guardd.cli", "rules", "--policy", "policy", *extra]
        done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"guardd rules failed: {done.stderr}")
    return done.stdout


def expected_rules(files: dict[str, str]) -> str:
    """What files/prometheus-rules.yaml must hold for ``files``."""
    header = f"# policy-sha256: {policy_digest(files)}\n# Regenerate with `make helm-sync`; do not edit.\n"
    return header + guardd_rules(files, "--format", "rules")


def expected_values(values_text: str, policy_text: str) -> str:
    """values.yaml with the block between the markers replaced by ``policy_text``."""
    lines = values_text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(BEGIN))
    end = next(i for i, line in enumerate(lines) if line.startswith(END))
    body = "".join(INDENT + line if line.strip() else "\n" for line in policy_text.splitlines(keepends=True))
    return "".join([*lines[: start + 1], "    default.yaml: |\n", body, *lines[end:]])


def drift() -> list[str]:
    """What is out of date, as instructions; empty when the chart is in sync."""
    problems = []
    values_text = VALUES.read_text(encoding="utf-8")
    if expected_values(values_text, DEFAULT_POLICY.read_text(encoding="utf-8")) != values_text:
        problems.append("helm/guardd/values.yaml policy.files differs from policies/default.yaml: run `make helm-sync`")
    if not RULES.exists() or RULES.read_text(encoding="utf-8") != expected_rules(values_policy_files()):
        problems.append(
            "helm/guardd/files/prometheus-rules.yaml is not `guardd rules` of the values' policy: run `make helm-sync`"
        )
    return problems


def write() -> None:
    """Bring values.yaml and the rules file up to date."""
    values_text = VALUES.read_text(encoding="utf-8")
    VALUES.write_text(expected_values(values_text, DEFAULT_POLICY.read_text(encoding="utf-8")), encoding="utf-8")
    RULES.write_text(expected_rules(values_policy_files()), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="rewrite the generated files (default: check)")
    args = parser.parse_args()
    if args.write:
        write()
        return 0
    problems = drift()
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
