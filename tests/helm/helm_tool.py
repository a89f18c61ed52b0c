"""Runs inside .helm-venv (Python >= 3.12): real Helm lint, and Kubernetes schema validation.

``python helm_tool.py lint CHART`` prints Helm's lint result as JSON on stdout; Helm's own log (where lint
mode reports the ``fail`` calls templates make) goes to stderr. ``python helm_tool.py validate FILE`` prints
kubernetes-validate's verdict for every document in FILE as JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

SEVERITIES = {0: "unknown", 1: "info", 2: "warning", 3: "error"}


def lint(chart: str) -> int:
    import helm_sdkpy  # noqa: PLC0415 - only in .helm-venv

    result = asyncio.run(helm_sdkpy.Lint(helm_sdkpy.Configuration()).run(chart))
    messages = [
        {"severity": SEVERITIES.get(m["Severity"], str(m["Severity"])), "path": m["Path"]}
        for m in result.get("Messages") or []
    ]
    sys.stdout.write(json.dumps({"messages": messages, "errors": len(result.get("Errors") or [])}) + "\n")
    return 0


def validate(path: str) -> int:
    import kubernetes_validate  # noqa: PLC0415 - only in .helm-venv
    import yaml  # noqa: PLC0415

    with Path(path).open(encoding="utf-8") as handle:
        documents = [d for d in yaml.safe_load_all(handle) if d]
    for document in documents:
        name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
        try:
            version = kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
            sys.stdout.write(json.dumps({"resource": name, "ok": True, "version": version}) + "\n")
        except kubernetes_validate.SchemaNotFoundError as exc:
            sys.stdout.write(json.dumps({"resource": name, "ok": None, "error": str(exc)}) + "\n")
        except kubernetes_validate.ValidationError as exc:
            sys.stdout.write(json.dumps({"resource": name, "ok": False, "error": f"{exc.path}: {exc.message}"}) + "\n")
    return 0


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    sys.exit(lint(argument) if command == "lint" else validate(argument))
