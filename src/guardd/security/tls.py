"""TLS and mTLS for the gRPC port, with certificates reloaded on change without a restart.

grpc core asks a *certificate-config fetcher* for new credentials before each
handshake (``grpc.dynamic_ssl_server_credentials``; it works with ``grpc.aio``).
The fetcher here compares a cheap stat fingerprint of the files and only reads
them when it changed, so rotating a Kubernetes Secret or a cert-manager
renewal takes effect on the next connection. A new pair that does not load
(half-written file, key that does not match the certificate) is refused and
the previous one stays in force: a bad rotation must not take the port down.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import grpc

log = logging.getLogger(__name__)

_Fingerprint = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Where the server's certificate, key and (for mTLS) client CA bundle live."""

    cert: Path
    key: Path
    client_ca: Path | None = None
    """With a client CA, every client must present a certificate it signed (mTLS)."""

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None

    def paths(self) -> tuple[Path, ...]:
        return (self.cert, self.key) if self.client_ca is None else (self.cert, self.key, self.client_ca)


def _fingerprint(paths: tuple[Path, ...]) -> _Fingerprint:
    """Changes whenever a file may have changed; stat follows symlinks (Secret ``..data`` swaps)."""
    stats = (path.stat() for path in paths)
    return tuple((st.st_ino, st.st_mtime_ns, st.st_size) for st in stats)


def checked_config(settings: TlsSettings) -> grpc.ServerCertificateConfiguration:
    """Read the files and prove they load together; raises ``OSError`` or ``ssl.SSLError`` otherwise."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    probe.load_cert_chain(settings.cert, settings.key)  # rejects a key that does not match the certificate
    if settings.client_ca is not None:
        probe.load_verify_locations(settings.client_ca)
    roots = settings.client_ca.read_bytes() if settings.client_ca is not None else None
    pair = (settings.key.read_bytes(), settings.cert.read_bytes())
    return grpc.ssl_server_certificate_configuration([pair], root_certificates=roots)


class CertificateReloader:
    """The fetcher grpc calls before handshakes: a new configuration when the files changed, else None."""

    def __init__(self, settings: TlsSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()  # grpc may call the fetcher from several core threads
        self._seen = _fingerprint(settings.paths())
        self.initial = checked_config(settings)
        self.reloads = 0

    def __call__(self) -> grpc.ServerCertificateConfiguration | None:
        # grpc logs and keeps the old config if this raises, but never let an OSError reach C code.
        try:
            return self._fetch()
        except Exception:
            log.exception("TLS certificate check failed; the previous certificate stays in force")
            return None

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        with self._lock:
            try:
                seen = _fingerprint(self._settings.paths())
            except OSError as exc:
                log.warning("TLS files unreadable; the previous certificate stays in force", extra={"error": str(exc)})
                return None
            if seen == self._seen:
                return None
            try:
                config = checked_config(self._settings)
            except (OSError, ssl.SSLError) as exc:
                # Not remembered as seen: the next handshake tries again (the rotation may be half-written).
                log.warning(
                    "new TLS files rejected; the previous certificate stays in force", extra={"error": str(exc)}
                )
                return None
            self._seen = seen
            self.reloads += 1
            log.info(
                "TLS certificate reloaded", extra={"cert": str(self._settings.cert), "mutual": self._settings.mutual}
            )
            return config


def server_credentials(settings: TlsSettings) -> grpc.ServerCredentials:
    """Credentials that serve ``settings`` and pick up changes to its files; raises if they do not load now."""
    try:
        reloader = CertificateReloader(settings)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load TLS files {', '.join(map(str, settings.paths()))}: {exc}") from exc
    # grpc-stubs types the fetcher as never returning None; grpc documents None as "no change".
    fetcher = cast("Callable[[], grpc.ServerCertificateConfiguration]", reloader)
    return grpc.dynamic_ssl_server_credentials(reloader.initial, fetcher, require_client_authentication=settings.mutual)
