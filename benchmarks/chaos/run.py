#!/usr/bin/env python
"""The chaos suite: every scenario against a real guardd and a simulated upstream LLM.

    nice -n 5 .venv/bin/python benchmarks/chaos/run.py              # all scenarios
    .venv/bin/python benchmarks/chaos/run.py --only redis-loss

Each scenario gets fresh guardd processes (and a private redis-server where it
needs one) and asserts guardd's expected reaction. Exit status: the number of
scenarios that failed. Results: stdout and benchmarks/out/chaos.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from env import Env
from scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]


def _run(name: str) -> dict[str, object]:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"chaos-{name}-") as tmp:
        env = Env(Path(tmp))
        try:
            detail, passed = SCENARIOS[name](env), True
        except Exception as exc:  # noqa: BLE001 - a failed scenario is reported, the suite goes on
            detail, passed = f"{type(exc).__name__}: {exc}", False
            traceback.print_exc()
        finally:
            env.close()
    return {"scenario": name, "passed": passed, "seconds": round(time.monotonic() - began, 1), "detail": detail}


def main() -> int:
    parser = argparse.ArgumentParser(description="guardd chaos suite")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run just these (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/out")
    args = parser.parse_args()
    results = []
    for name in args.only or SCENARIOS:
        result = _run(name)
        results.append(result)
        print(
            f"{'PASS' if result['passed'] else 'FAIL'} {name} ({result['seconds']} s): {result['detail']}", flush=True
        )
    passed = sum(bool(r["passed"]) for r in results)
    print(f"{passed}/{len(results)} scenarios passed")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chaos.json").write_text(json.dumps(results, indent=1))
    return len(results) - passed


if __name__ == "__main__":
    sys.exit(main())
