"""A local jar broker with a SASL_SSL listener, and the certificates it needs, for the security
tests. Certificates come from ``openssl`` in a temporary directory; nothing is cached.

The broker also has a PLAINTEXT listener for its own inter-broker traffic and for readiness
polling; the clients under test use only the SASL_SSL one.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from services.localkafka.broker import (
    DEPLOY_DIR,
    fetch_jars,
    free_port,
    random_cluster_id,
    server_properties,
    terminate,
    wait_until_ready,
)

KEYSTORE_PASSWORD = "keystore-secret"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> Path:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem"


def issue_cert(directory: Path, ca: str, name: str, sans: str) -> tuple[Path, Path]:
    """A certificate for ``name`` signed by ``ca``; returns (certificate, key), both PEM."""
    (directory / f"{name}.ext").write_text(f"subjectAltName={sans}\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
        "-out", f"{name}.csr", "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem", directory / f"{name}.key"


@dataclass
class SecureBroker:
    """SASL_SSL on ``bootstrap_servers``; users and passwords in ``users``."""

    bootstrap_servers: str
    internal_servers: str
    ca_file: Path
    other_ca_file: Path
    users: dict[str, str]
    state_dir: Path
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process.pid, 20.0, wait=self.process.wait)
            self.process = None
        shutil.rmtree(self.state_dir, ignore_errors=True)


AUTHORIZER = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    # The broker's own listeners (inter-broker, controller) are plaintext: ANONYMOUS.
    "super.users": "User:ANONYMOUS;User:admin",
    "allow.everyone.if.no.acl.found": "false",
}
"""ACLs enforced (KRaft's authorizer): only ``admin`` and the broker itself may do anything
without an ACL (``start_secure_broker(…, authorizer=True)``)."""


def start_secure_broker(
    users: dict[str, str],
    timeout: float = 90.0,
    require_client_certificate: bool = False,
    *,
    authorizer: bool = False,
) -> SecureBroker:
    state = Path(tempfile.mkdtemp(prefix="rapport-secure-kafka-"))
    certs = state / "certs"
    certs.mkdir()
    ca_file = make_ca(certs, "rapport-test-ca")
    other_ca = make_ca(certs, "someone-elses-ca")
    cert, key = issue_cert(certs, "rapport-test-ca", "broker", "DNS:localhost,IP:127.0.0.1")
    keystore = certs / "broker.p12"
    _openssl(
        "pkcs12", "-export", "-in", str(cert), "-inkey", str(key), "-name", "broker",
        "-out", str(keystore), "-passout", f"pass:{KEYSTORE_PASSWORD}",
        cwd=certs,
    )  # fmt: skip

    port, internal, controller = free_port(), free_port(), free_port()
    base = dict(
        line.split("=", 1)
        for line in server_properties(state / "data", internal, controller).splitlines()
    )
    plain_users = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    base.update(
        {
            "listeners": (
                f"SASL_SSL://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal},"
                f"CONTROLLER://127.0.0.1:{controller}"
            ),
            "advertised.listeners": (
                f"SASL_SSL://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal}"
            ),
            "listener.security.protocol.map": (
                "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,SASL_SSL:SASL_SSL"
            ),
            "inter.broker.listener.name": "INTERNAL",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.sasl_ssl.plain.sasl.jaas.config": (
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};"
            ),
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(keystore),
            "ssl.keystore.password": KEYSTORE_PASSWORD,
            "ssl.key.password": KEYSTORE_PASSWORD,
            # On a SASL_SSL listener only the listener-prefixed setting counts.
            "listener.name.sasl_ssl.ssl.client.auth": (
                "required" if require_client_certificate else "none"
            ),
            # Client certificates must be signed by the test CA.
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(ca_file),
        }
    )
    if authorizer:
        base.update(AUTHORIZER)
    properties = state / "server.properties"
    properties.write_text("".join(f"{k}={v}\n" for k, v in base.items()))

    lib = fetch_jars()
    java = shutil.which("java") or "java"
    log4j = f"-Dlog4j2.configurationFile={DEPLOY_DIR / 'log4j2.yaml'}"
    scram = [
        arg
        for name, password in users.items()
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
        for arg in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
    ]
    subprocess.run(
        [
            java, "-XX:TieredStopAtLevel=1", "-cp", f"{lib}/*", log4j,
            "kafka.tools.StorageTool", "format", "-t", random_cluster_id(),
            "-c", str(properties), "--standalone", *scram,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    log_file = (state / "broker.log").open("wb")
    process = subprocess.Popen(
        [
            java, "-Xms384m", "-Xmx384m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            log4j, "-cp", f"{lib}/*", "kafka.Kafka", str(properties),
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    broker = SecureBroker(
        bootstrap_servers=f"127.0.0.1:{port}",
        internal_servers=f"127.0.0.1:{internal}",
        ca_file=ca_file,
        other_ca_file=other_ca,
        users=users,
        state_dir=state,
        process=process,
    )
    try:
        wait_until_ready(broker.internal_servers, timeout, lambda: process.poll() is None)
    except Exception:
        tail = (state / "broker.log").read_text(errors="replace")[-3000:]
        broker.stop()
        raise RuntimeError(f"secure broker did not start:\n{tail}") from None
    return broker
