//! HTTPS for the issuer, when asked for: a certificate authority and a server certificate made
//! at start ([`TlsIdentity::self_signed`]), or the caller's PEM files. Apps need it for
//! `Secure` and `__Host-` cookies, and some clients refuse `http` endpoints.
//!
//! Nothing here runs unless TLS is asked for: no key is generated and no file read at an
//! ordinary start. Generating is two P-256 keys, a millisecond or so.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot generate the TLS certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no PEM certificate (`-----BEGIN CERTIFICATE-----`) in it")]
    NoCertificate { path: String },
    #[error("{path}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {reason}")]
    NoKey { path: String, reason: String },
    #[error("{path}: not a PEM certificate chain: {reason}")]
    BadCertificate { path: String, reason: String },
    #[error("the certificate and key cannot serve TLS: {0}")]
    Config(#[from] tokio_rustls::rustls::Error),
}

/// A server certificate chain and its key, and, when generated here, the authority clients
/// must trust.
#[derive(Debug)]
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    authority_pem: Option<String>,
}

impl TlsIdentity {
    /// A fresh certificate authority, and a server certificate it signs for `hosts` (names
    /// or IP addresses) plus `localhost`, `127.0.0.1` and `::1`. The authority's PEM is
    /// [`authority_pem`](Self::authority_pem): what clients add to their roots.
    pub fn self_signed<I, S>(hosts: I) -> Result<Self, TlsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).into();
        for host in hosts {
            let host = host.into();
            if !names.contains(&host) {
                names.push(host);
            }
        }

        let authority_key = KeyPair::generate()?;
        let mut authority = CertificateParams::new(Vec::new())?;
        authority.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        authority
            .distinguished_name
            .push(DnType::CommonName, "oidc-forge local CA");
        authority.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let authority_cert = authority.self_signed(&authority_key)?;
        let issuer = Issuer::new(authority, authority_key);

        let server_key = KeyPair::generate()?;
        let mut server = CertificateParams::new(names)?;
        server
            .distinguished_name
            .push(DnType::CommonName, "oidc-forge issuer");
        server.use_authority_key_identifier_extension = true;
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &issuer)?;

        let key = PrivateKeyDer::try_from(server_key.serialize_der()).map_err(|reason| {
            TlsError::NoKey {
                path: "generated key".into(),
                reason: reason.into(),
            }
        })?;
        Ok(Self {
            chain: vec![server_cert.der().clone()],
            key,
            authority_pem: Some(authority_cert.pem()),
        })
    }

    /// A PEM certificate chain (server certificate first) and its PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let (cert_pem, key_pem) = (read(cert)?, read(key)?);
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::BadCertificate {
                path: cert.display().to_string(),
                reason: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                path: cert.display().to_string(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
            path: key.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            chain,
            key,
            authority_pem: None,
        })
    }

    /// The PEM of the authority that signed the certificate, when it was generated here: add
    /// it to a client's roots (`reqwest::Certificate::from_pem`, `SSL_CERT_FILE`,
    /// `NODE_EXTRA_CA_CERTS`, `REQUESTS_CA_BUNDLE`).
    pub fn authority_pem(&self) -> Option<&str> {
        self.authority_pem.as_deref()
    }

    /// The rustls configuration serving this identity over HTTP/1.1.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The names a generated certificate must carry for clients to reach `issuer_host` and the
/// bound address: both, unless the address is unspecified (`0.0.0.0`), which no client dials.
pub(crate) fn certificate_hosts(issuer_host: Option<String>, bound: IpAddr) -> Vec<String> {
    let mut hosts: Vec<String> = issuer_host.into_iter().collect();
    if !bound.is_unspecified() {
        hosts.push(bound.to_string());
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_identity_serves_and_names_its_hosts_once() {
        let identity = TlsIdentity::self_signed(["issuer.test", "localhost"]).unwrap();
        let pem = identity.authority_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert_eq!(identity.chain.len(), 1);
        identity.server_config().unwrap();
        assert_eq!(
            certificate_hosts(Some("issuer.test".into()), "0.0.0.0".parse().unwrap()),
            ["issuer.test"]
        );
        assert_eq!(
            certificate_hosts(None, "10.1.2.3".parse().unwrap()),
            ["10.1.2.3"]
        );
    }

    /// The server certificate verifies, under the generated authority, for every host asked
    /// for and the loopback names, and for nothing else.
    #[test]
    fn the_server_certificate_is_valid_for_exactly_its_hosts() {
        use tokio_rustls::rustls::client::WebPkiServerVerifier;
        use tokio_rustls::rustls::client::danger::ServerCertVerifier as _;
        use tokio_rustls::rustls::pki_types::{ServerName, UnixTime};
        use tokio_rustls::rustls::{RootCertStore, crypto};

        let identity = TlsIdentity::self_signed(["issuer.test", "10.1.2.3"]).unwrap();
        let authority = identity.authority_pem().unwrap();
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(authority.as_bytes()).unwrap())
            .unwrap();
        let provider = Arc::new(crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        let verifies = |host: &str| {
            let name = ServerName::try_from(host.to_owned()).unwrap();
            verifier
                .verify_server_cert(&identity.chain[0], &[], &name, &[], UnixTime::now())
                .is_ok()
        };
        for host in ["issuer.test", "10.1.2.3", "localhost", "127.0.0.1", "::1"] {
            assert!(verifies(host), "{host}");
        }
        assert!(!verifies("other.test"));
    }

    #[test]
    fn files_without_a_certificate_or_key_are_named_in_the_error() {
        let dir = std::env::temp_dir().join(format!("oidc-forge-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not pem").unwrap();
        let err = TlsIdentity::from_pem_files(&empty, &empty).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains("empty.pem"), "{err}");
        let missing = dir.join("missing.pem");
        let err = TlsIdentity::from_pem_files(&missing, &empty).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
