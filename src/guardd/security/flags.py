"""``guardd serve`` flags for TLS and the admin check, and the settings they make."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from guardd.security.admin import TOKEN_ENV, AdminAuth
from guardd.security.tls import TlsSettings, checked_config


def add_security_flags(serve: argparse.ArgumentParser) -> None:
    """Add the TLS, mTLS, health port, admin and HTTP/2 limit flags to ``serve``."""
    group = serve.add_argument_group("security")
    group.add_argument("--tls-cert", type=Path, help="server certificate (PEM); enables TLS, reloaded on change")
    group.add_argument("--tls-key", type=Path, help="server private key (PEM), with --tls-cert")
    group.add_argument(
        "--tls-client-ca", type=Path, help="CA bundle (PEM) that client certificates must chain to: mTLS"
    )
    group.add_argument(
        "--health-port",
        type=int,
        help="also serve grpc.health.v1, and nothing else, in plaintext on this port: for probes that cannot "
        "speak TLS, such as the kubelet's gRPC probes (0: any free port)",
    )
    group.add_argument("--health-host", help="address for the health port (default: --host)")
    group.add_argument(
        "--admin-token-file", type=Path, help="file holding the secret SetCircuitOverride callers must send"
    )
    group.add_argument(
        "--admin-token-env", action="store_true", help=f"take the admin secret from ${TOKEN_ENV} as well"
    )
    group.add_argument(
        "--admin-identity",
        action="append",
        default=[],
        help="client certificate CN or SAN allowed to call SetCircuitOverride (mTLS; repeatable)",
    )
    group.add_argument(
        "--max-concurrent-streams", type=int, default=None, help="HTTP/2 streams one connection may open at once"
    )


def tls_settings(args: argparse.Namespace) -> TlsSettings | None:
    """The TLS settings, checked now so a bad path fails at start with a message; None for plaintext."""
    if args.tls_cert is None and args.tls_key is None:
        if args.tls_client_ca is not None:
            raise SystemExit("guardd: --tls-client-ca needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise SystemExit("guardd: --tls-cert and --tls-key go together")
    settings = TlsSettings(args.tls_cert, args.tls_key, args.tls_client_ca)
    try:
        checked_config(settings)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"guardd: cannot load the TLS files: {exc}") from exc
    return settings


def admin_auth(args: argparse.Namespace) -> AdminAuth | None:
    """The admin check configured by the flags, or None (every caller may override breakers)."""
    if args.admin_token_file is None and not args.admin_token_env and not args.admin_identity:
        return None
    if args.admin_identity and args.tls_client_ca is None:
        raise SystemExit("guardd: --admin-identity needs mTLS (--tls-client-ca) to verify client certificates")
    auth = AdminAuth(args.admin_token_file, args.admin_token_env, frozenset(args.admin_identity))
    try:
        auth.build()
    except (OSError, ValueError) as exc:
        raise SystemExit(f"guardd: cannot read the admin secret: {exc}") from exc
    return auth
