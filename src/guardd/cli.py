"""``guardd``: serve, check a policy, or try one on a text."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from guardd.api.server import ServerSettings
from guardd.app import App, Settings, load_snapshot
from guardd.audit.cli import add_audit_flags, add_audit_parser, audit_settings
from guardd.clock import SystemClock
from guardd.errors import GuarddError, PolicyError
from guardd.evaluation.cli import add_eval_parser
from guardd.guardrails.base import CheckContext
from guardd.inference.export_cli import add_models_parser
from guardd.pipeline.runner import Pipeline
from guardd.policy.holder import plan_for
from guardd.policy.loader import describe, load_policy
from guardd.security.flags import add_security_flags, admin_auth, tls_settings
from guardd.slo.rules_cli import add_rules_parser
from guardd.telemetry import logs
from guardd.telemetry.metrics import Metrics

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``guardd`` console script."""
    args = _parser().parse_args(argv)
    return int(args.command(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guardd", description="Guardrail and SLO sidecar for LLM traffic.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gRPC sidecar")
    serve.add_argument("--policy", type=Path, required=True, help="policy YAML file or directory")
    serve.add_argument("--host", default="127.0.0.1", help="address for the gRPC port (default 127.0.0.1)")
    serve.add_argument("--grpc-port", type=int, default=50051)
    serve.add_argument("--metrics-host", default=None, help="address for the metrics port (default: --host)")
    serve.add_argument("--metrics-port", type=int, default=9464, help="Prometheus metrics port (0: any free port)")
    serve.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")
    serve.add_argument("--grace", type=float, default=10.0, help="seconds to drain in-flight RPCs on SIGTERM")
    serve.add_argument("--max-message-bytes", type=int, default=8 * 1024 * 1024)
    serve.add_argument(
        "--max-concurrent-rpcs",
        type=int,
        default=None,
        help="beyond this, new RPCs get RESOURCE_EXHAUSTED instead of queueing",
    )
    serve.add_argument("--reload-interval", type=float, default=1.0, help="seconds between policy file checks")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    add_security_flags(serve)
    add_audit_flags(serve)
    serve.set_defaults(command=_serve)

    check = commands.add_parser("check", help="lint a policy; prints file:line:col: message per error")
    check.add_argument("policy", type=Path, help="policy YAML file or directory")
    check.set_defaults(command=_check)

    validate = commands.add_parser("validate", help="run a policy stage on TEXT in-process and print JSON")
    validate.add_argument("text", help="the prompt or completion; '-' reads standard input")
    validate.add_argument("--policy", type=Path, required=True)
    validate.add_argument("--name", default="", help="policy name in the file (default: default)")
    validate.add_argument("--stage", choices=["input", "output"], required=True)
    validate.add_argument("--prompt", default="", help="the prompt, for the output stage")
    validate.add_argument("--context", type=Path, action="append", default=[], help="a grounding passage file")
    validate.set_defaults(command=_validate)

    add_eval_parser(commands)
    add_rules_parser(commands)
    add_audit_parser(commands)
    add_models_parser(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvloop  # noqa: PLC0415 - only the server needs it

    logs.configure(args.log_level)
    settings = Settings(
        policy=args.policy,
        server=ServerSettings(
            args.host,
            args.grpc_port,
            args.max_message_bytes,
            args.max_concurrent_rpcs,
            max_concurrent_streams=args.max_concurrent_streams,
            tls=tls_settings(args),
            health_port=args.health_port,
            health_host=args.health_host,
        ),
        metrics_host=args.metrics_host or args.host,
        metrics_port=None if args.no_metrics else args.metrics_port,
        grace_s=args.grace,
        reload_interval_s=args.reload_interval,
        admin=admin_auth(args),
        audit=audit_settings(args),
    )

    async def serve() -> None:
        await App(settings).run()

    try:
        uvloop.run(serve())
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERRORS
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    try:
        policies = load_policy(args.policy)
        load_snapshot(args.policy)
    except PolicyError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic)
        print(f"{len(exc.diagnostics)} error(s)", file=sys.stderr)
        return EXIT_ERRORS
    print(f"ok: version {policies.version}, {len(policies.files)} file(s)")
    for name, stages in describe(policies).items():
        print(f"  {name}: input {stages['input']} output {stages['output']}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry  # noqa: PLC0415 - metrics are thrown away here

    text = sys.stdin.read() if args.text == "-" else args.text
    try:
        snapshot = load_snapshot(args.policy)
        plan = plan_for(snapshot, args.name)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERRORS
    except GuarddError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    ctx = CheckContext(
        stage=args.stage, prompt=args.prompt, context=tuple(p.read_text(encoding="utf-8") for p in args.context)
    )
    pipeline = Pipeline(Metrics(CollectorRegistry()), SystemClock())
    decision = asyncio.run(pipeline.run(plan, args.stage, text, ctx, deadline=None))
    print(json.dumps({"policy_version": snapshot.version, **asdict(decision)}, indent=2, ensure_ascii=False))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
