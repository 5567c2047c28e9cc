"""A private CA and a certificate for 127.0.0.1 made for one test, as PEM files."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsCertificates:
    ca: Path
    certificate: Path
    key: Path

    def balancer_flags(self) -> tuple[str, ...]:
        return ("--tls-cert", str(self.certificate), "--tls-key", str(self.key))

    def trusting_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only."""
        return ssl.create_default_context(cafile=str(self.ca))


def make_tls_certificates(folder: Path) -> TlsCertificates:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    certificates = TlsCertificates(folder / "ca.pem", folder / "balancer.pem", folder / "balancer-key.pem")
    authority.cert_pem.write_to_path(str(certificates.ca))
    issued.private_key_pem.write_to_path(str(certificates.key))
    with certificates.certificate.open("wb") as chain:
        for blob in issued.cert_chain_pems:
            chain.write(blob.bytes())
    return certificates
