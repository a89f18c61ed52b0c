"""Who may call the admin RPCs (``SetCircuitOverride``): a shared secret and/or an mTLS identity.

Without a check configured every client that reaches the port may force a
breaker open. With one, a caller is admitted when *any* configured check
passes: it sends ``authorization: Bearer <secret>`` matching the secret
(compared in constant time), or its verified client certificate names an
allowed identity (common name or subject alternative name; only meaningful
with mTLS, where grpc has verified the chain).
"""

from __future__ import annotations

import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from guardd.errors import GuarddError

log = logging.getLogger(__name__)

TOKEN_ENV = "GUARDD_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a secret
_BEARER = "bearer "
_IDENTITY_KEYS = ("x509_common_name", "x509_subject_alternative_name")


class Unauthenticated(GuarddError):
    """The caller presented no admin credential."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(GuarddError):
    """The caller presented an admin credential that is not allowed."""

    code = grpc.StatusCode.PERMISSION_DENIED


class _SecretFile:
    """A secret read from a file, re-read when the file changes (rotated Kubernetes Secrets)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._value = b""
        self.value()  # fail at start, not at the first admin call

    def value(self) -> bytes:
        st = self._path.stat()
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp != self._stamp:
            self._value = self._path.read_bytes().strip()
            self._stamp = stamp
        return self._value


@dataclass(frozen=True, slots=True)
class AdminAuth:
    """The admin check: configured secret source and allowed certificate identities."""

    secret_file: Path | None = None
    secret_env: bool = False
    identities: frozenset[str] = frozenset()

    def build(self) -> AdminCheck:
        """Read the secret now (a missing file or empty secret fails at start)."""
        static = (os.environ.get(TOKEN_ENV, "").encode(),) if self.secret_env else ()
        file = _SecretFile(self.secret_file) if self.secret_file is not None else None
        if any(not s for s in (*static, *([file.value()] if file is not None else []))):
            raise ValueError(f"the admin secret is empty (--admin-token-file or ${TOKEN_ENV})")
        return AdminCheck(static=static, file=file, identities=self.identities)


class AdminCheck:
    """Admits or refuses one admin call; raises ``Unauthenticated`` or ``PermissionDenied``."""

    def __init__(self, static: tuple[bytes, ...], file: _SecretFile | None, identities: frozenset[str]) -> None:
        self._static = static
        self._file = file
        self._identities = identities

    def _secrets(self) -> list[bytes]:
        secrets = list(self._static)
        if self._file is not None:
            secrets.append(self._file.value())
        return secrets

    def check(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        token = _bearer(context)
        identities = _peer_identities(context)
        # Compare with every secret (no early exit), so timing does not tell which one nearly matched.
        token_ok = token is not None and sum(hmac.compare_digest(token, s) for s in self._secrets()) > 0
        if token_ok or identities & self._identities:
            return
        log.warning("admin call refused", extra={"peer": context.peer(), "identities": sorted(identities)})
        if token is None and not identities:
            raise Unauthenticated(
                "this admin RPC needs credentials: send metadata 'authorization: Bearer <admin token>' "
                "or connect with an allowed client certificate"
            )
        raise PermissionDenied("the admin token or client certificate identity is not allowed to call this RPC")


def _bearer(context: grpc.aio.ServicerContext[Any, Any]) -> bytes | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str) and value.lower().startswith(_BEARER):
            return value[len(_BEARER) :].strip().encode()
    return None


def _peer_identities(context: grpc.aio.ServicerContext[Any, Any]) -> frozenset[str]:
    """Identities from a client certificate grpc verified (empty without mTLS)."""
    auth = context.auth_context()
    return frozenset(v.decode() for key in _IDENTITY_KEYS for v in auth.get(key, ()))
