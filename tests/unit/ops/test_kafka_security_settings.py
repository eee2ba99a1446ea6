"""Kafka security settings: validation and the kafka-python arguments they become."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.runtime.kafka_security import client_security, security_kwargs
from services.runtime.settings import KafkaSecurity, Settings


def test_plaintext_by_default_adds_nothing_but_the_protocol() -> None:
    assert client_security(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_from_the_environment_with_secrets_from_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "password").write_text("s3cret\n")
    (tmp_path / "ca.pem").write_text("-")
    for name, value in {
        "PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-256",
        "SASL_USERNAME": "svc",
        "SASL_PASSWORD_FILE": str(tmp_path / "password"),
        "SSL_CAFILE": str(tmp_path / "ca.pem"),
        "SSL_CHECK_HOSTNAME": "false",
    }.items():
        monkeypatch.setenv(f"RAPPORT_KAFKA_SECURITY__{name}", value)
    assert client_security(Settings()) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "svc",
        "sasl_plain_password": "s3cret",
        "ssl_check_hostname": False,
        "ssl_cafile": str(tmp_path / "ca.pem"),
    }


def test_mutual_tls_passes_the_client_certificate(tmp_path: Path) -> None:
    for name in ("cert.pem", "key.pem", "key-password"):
        (tmp_path / name).write_text("x")
    security = KafkaSecurity(
        protocol="SSL",
        ssl_certfile=tmp_path / "cert.pem",
        ssl_keyfile=tmp_path / "key.pem",
        ssl_key_password_file=tmp_path / "key-password",
    )
    kwargs = security_kwargs(security)
    assert kwargs["ssl_certfile"] == str(tmp_path / "cert.pem")
    assert kwargs["ssl_keyfile"] == str(tmp_path / "key.pem")
    assert kwargs["ssl_password"] == "x"
    assert kwargs["ssl_cafile"] is None  # the system trust store
    assert "sasl_mechanism" not in kwargs


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"protocol": "SASL_SSL"}, "needs sasl_username"),
        ({"protocol": "SASL_PLAINTEXT", "sasl_username": "u"}, "needs sasl_username"),
        ({"sasl_password": "a", "sasl_password_file": __file__}, "not both"),
        ({"ssl_keyfile": __file__}, "ssl_keyfile without ssl_certfile"),
        ({"ssl_cafile": "/does/not/exist.pem"}, "Path does not point to a file"),
        ({"protocol": "KERBEROS"}, "Input should be"),
    ],
)
def test_inconsistent_settings_are_refused_at_start(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaSecurity.model_validate(values)
