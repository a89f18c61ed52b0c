"""``guardd serve --audit-log`` flags and ``guardd audit verify FILE``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from guardd.audit.chain import verify
from guardd.audit.excerpt import MAX_EXCERPT_CHARS
from guardd.audit.writer import SALT_ENV, AuditSettings

EXIT_OK, EXIT_BROKEN = 0, 1


def add_audit_flags(serve: argparse.ArgumentParser) -> None:
    """Add the decision-log flags to ``serve``."""
    group = serve.add_argument_group("decision log")
    group.add_argument(
        "--audit-log", type=Path, help="append a hash-chained JSON Lines record per Validate ('-': stdout)"
    )
    group.add_argument(
        "--audit-queue", type=int, default=65536, help="records buffered before new ones are dropped (and counted)"
    )
    group.add_argument("--audit-salt-file", type=Path, help=f"key of the text HMAC (else ${SALT_ENV}, else random)")
    group.add_argument(
        "--audit-excerpt-chars",
        type=int,
        default=0,
        metavar="N",
        help="add 'excerpt' to each record: the first N code points of the text with PII replaced by presidio "
        "(<EMAIL_ADDRESS>, <PHONE_NUMBER>, ...; pattern recognizers only, so names are not found). Made in a "
        "worker process of its own, off the request path; a record whose excerpt could not be made carries "
        f"'excerpt_omitted' and the reason instead (0: off, the default; at most {MAX_EXCERPT_CHARS})",
    )


def audit_settings(args: argparse.Namespace) -> AuditSettings | None:
    """The decision-log settings, or None when it is off."""
    if args.audit_log is None:
        if args.audit_excerpt_chars:
            raise SystemExit("guardd: --audit-excerpt-chars needs --audit-log")
        return None
    if args.audit_queue < 1:
        raise SystemExit("guardd: --audit-queue must be at least 1")
    if not 0 <= args.audit_excerpt_chars <= MAX_EXCERPT_CHARS:
        raise SystemExit(f"guardd: --audit-excerpt-chars must be between 0 and {MAX_EXCERPT_CHARS}")
    return AuditSettings(args.audit_log, args.audit_queue, args.audit_salt_file, args.audit_excerpt_chars)


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``guardd audit verify FILE``."""
    audit = commands.add_parser("audit", help="work with decision logs")
    actions = audit.add_subparsers(required=True, metavar="ACTION")
    check = actions.add_parser("verify", help="check a decision log's hash chain; exits 1 at the first break")
    check.add_argument("file", type=Path)
    check.set_defaults(command=_verify)


def _verify(args: argparse.Namespace) -> int:
    try:
        result = verify(args.file)
    except OSError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)  # noqa: T201 - a CLI prints
        return EXIT_BROKEN
    if not result.ok:
        print(f"{args.file}: {result.problem} (after {result.records} good records)", file=sys.stderr)  # noqa: T201
        return EXIT_BROKEN
    print(f"ok: {result.records} records, head {result.head.hash}")  # noqa: T201
    return EXIT_OK
