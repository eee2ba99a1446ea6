"""Kafka security settings turned into kafka-python client arguments, in one place.

Every client Rapport creates (the services' consumers and producers, the admin client, the
changelog restore, the CLI tools) passes ``**client_security(settings)``, so a secured cluster
needs the settings once and no client can be forgotten.
"""

from __future__ import annotations

import socket
import ssl
import struct
from pathlib import Path
from typing import Any

import kafka.errors as kerr

from services.runtime.exceptions import ConfigurationError
from services.runtime.settings import KafkaSecurity, SecurityProtocol, Settings


def _secret(value: Any, file: Path | None) -> str | None:
    if file is not None:
        # One trailing newline is how editors and `kubectl create secret --from-file` leave it.
        return file.read_text().rstrip("\n")
    return None if value is None else str(value.get_secret_value())


def security_kwargs(security: KafkaSecurity) -> dict[str, Any]:
    """kafka-python's ``security_protocol``, ``sasl_*`` and ``ssl_*`` arguments."""
    kwargs: dict[str, Any] = {"security_protocol": security.protocol.value}
    if security.uses_sasl:
        kwargs["sasl_mechanism"] = security.sasl_mechanism.value
        kwargs["sasl_plain_username"] = security.sasl_username
        kwargs["sasl_plain_password"] = _secret(security.sasl_password, security.sasl_password_file)
    if security.uses_tls:
        # kafka-python verifies the broker's certificate against these (or the system's trust
        # store) and, unless switched off, its host name.
        kwargs["ssl_check_hostname"] = security.ssl_check_hostname
        kwargs["ssl_cafile"] = str(security.ssl_cafile) if security.ssl_cafile else None
        if security.ssl_certfile is not None:
            kwargs["ssl_certfile"] = str(security.ssl_certfile)
            kwargs["ssl_keyfile"] = str(security.ssl_keyfile) if security.ssl_keyfile else None
            kwargs["ssl_password"] = _secret(
                security.ssl_key_password, security.ssl_key_password_file
            )
    return kwargs


def client_security(settings: Settings) -> dict[str, Any]:
    """``security_kwargs`` of ``settings.kafka_security``: pass to every kafka-python client."""
    return security_kwargs(settings.kafka_security)


def explain_connection_failure(security: KafkaSecurity, exc: BaseException) -> str | None:
    """One line an operator can act on, when ``exc`` (or its cause) is a security failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kerr.SaslAuthenticationFailedError):
            return (
                f"Kafka rejected the credentials of user {security.sasl_username!r} "
                f"({security.protocol.value}, {security.sasl_mechanism.value}): check "
                "RAPPORT_KAFKA_SECURITY__SASL_USERNAME and the password"
            )
        if isinstance(seen, ssl.SSLCertVerificationError):
            where = "" if security.ssl_cafile is None else f" ({security.ssl_cafile})"
            return (
                f"the Kafka broker's TLS certificate is not trusted ({seen.verify_message}): "
                f"check RAPPORT_KAFKA_SECURITY__SSL_CAFILE{where}"
            )
        if isinstance(seen, ssl.SSLError) and "ALERT" in str(seen.reason):
            # The broker sent an alert: it refused our side of the handshake.
            return (
                f"the Kafka broker refused the TLS connection ({seen.reason}): does it require "
                "a client certificate (RAPPORT_KAFKA_SECURITY__SSL_CERTFILE) signed by a CA "
                "it trusts?"
            )
        if isinstance(seen, ssl.SSLError):
            return f"TLS handshake with the Kafka broker failed ({seen.reason}): is it a TLS port?"
        seen = seen.__cause__ or seen.__context__
    return None


def verify_access(
    bootstrap_servers: str, security: KafkaSecurity, timeout_seconds: float = 10.0
) -> None:
    """Fail fast, in one line, when the credentials or the certificates are wrong.

    kafka-python retries an authentication or certificate failure until its bootstrap timeout
    and then reports only "Unable to bootstrap" (and it can miss the broker's SASL error when
    the broker closes the connection right behind it). So this check does the TLS handshake and
    the SASL exchange itself, on a plain socket, against the first bootstrap server that
    answers. A no-op for PLAINTEXT; an unreachable broker is left to the caller's waiting.
    """
    if security.protocol is SecurityProtocol.PLAINTEXT:
        return
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        host = host.strip("[]")
        try:
            sock = socket.create_connection((host, int(port)), timeout_seconds)
        except (OSError, ValueError):
            continue
        try:
            _check(sock, host, security)
        except ssl.SSLError as exc:
            # After the handshake (TLS 1.3): the broker refused us, e.g. for want of a client
            # certificate.
            reason = explain_connection_failure(security, exc)
            raise ConfigurationError(reason or f"TLS with the Kafka broker failed: {exc}") from exc
        except (OSError, EOFError, struct.error):
            continue  # the broker went away mid-check: not a security failure
        finally:
            sock.close()
        return


def _check(sock: socket.socket, host: str, security: KafkaSecurity) -> None:
    kwargs = security_kwargs(security)
    if security.uses_tls:
        context = ssl.create_default_context(cafile=kwargs["ssl_cafile"])
        context.check_hostname = security.ssl_check_hostname
        if security.ssl_certfile is not None:
            context.load_cert_chain(
                kwargs["ssl_certfile"], kwargs["ssl_keyfile"], kwargs["ssl_password"]
            )
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except ssl.SSLError as exc:
            reason = explain_connection_failure(security, exc)
            raise ConfigurationError(reason or f"TLS with the Kafka broker failed: {exc}") from exc
    if security.uses_sasl:
        _authenticate(sock, security, kwargs)
    else:
        # One request: a broker that rejects our certificate says so only once we read.
        _request(sock, _API_VERSIONS, 0, b"")


_SASL_HANDSHAKE, _SASL_AUTHENTICATE, _API_VERSIONS = 17, 36, 18


def _authenticate(sock: socket.socket, security: KafkaSecurity, kwargs: dict[str, Any]) -> None:
    from kafka.net.sasl import get_sasl_mechanism

    name = security.sasl_mechanism.value
    response = _request(sock, _SASL_HANDSHAKE, 1, _string(name))
    if _int16(response, 0) != 0:
        count = struct.unpack_from(">i", response, 2)[0]
        offered, offset = [], 6
        for _ in range(count):
            length = _int16(response, offset)
            offered.append(response[offset + 2 : offset + 2 + length].decode())
            offset += 2 + length
        raise ConfigurationError(
            f"the Kafka broker does not accept SASL {name} (it offers {', '.join(offered)}): "
            "check RAPPORT_KAFKA_SECURITY__SASL_MECHANISM"
        )
    mechanism = get_sasl_mechanism(name)(**kwargs)
    while not mechanism.is_done():
        token = mechanism.auth_bytes()
        response = _request(sock, _SASL_AUTHENTICATE, 1, struct.pack(">i", len(token)) + token)
        error_code, length = _int16(response, 0), _int16(response, 2)
        if error_code != 0:
            message = response[4 : 4 + length].decode() if length > 0 else ""
            raise ConfigurationError(
                explain_connection_failure(security, kerr.SaslAuthenticationFailedError(message))
                or message
            )
        offset = 4 + max(length, 0)
        size = struct.unpack_from(">i", response, offset)[0]
        mechanism.receive(response[offset + 4 : offset + 4 + max(size, 0)])
    if not mechanism.is_authenticated():
        raise ConfigurationError(
            explain_connection_failure(security, kerr.SaslAuthenticationFailedError(name)) or name
        )


def _string(value: str) -> bytes:
    encoded = value.encode()
    return struct.pack(">h", len(encoded)) + encoded


def _int16(data: bytes, offset: int) -> int:
    value: int = struct.unpack_from(">h", data, offset)[0]
    return value


def _request(sock: socket.socket, api_key: int, version: int, body: bytes) -> bytes:
    """One request with a v1 header (no tagged fields), its response body back."""
    header = struct.pack(">hhi", api_key, version, 1) + _string("rapport-security-check")
    message = header + body
    sock.sendall(struct.pack(">i", len(message)) + message)
    size = struct.unpack(">i", _receive(sock, 4))[0]
    return _receive(sock, size)[4:]  # past the correlation id


def _receive(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise EOFError("the broker closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


__all__ = [
    "SecurityProtocol",
    "client_security",
    "explain_connection_failure",
    "security_kwargs",
    "verify_access",
]
