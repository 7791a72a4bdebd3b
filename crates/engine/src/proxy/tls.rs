//! TLS towards the database server: the sslmode settings ([`UpstreamTls`], from the upstream
//! URL or the command line), the rustls client configuration built once at start-up (trusted
//! roots from a PEM file or the system store), and opening a server connection — TCP, the
//! SSLRequest, the server's one-byte answer, the handshake — as a [`ServerStream`] that the
//! session relays over unchanged. Clients still talk to the proxy without TLS (see
//! [`session`](super::session)).
//!
//! The modes follow libpq's `sslmode`: `disable` (plain TCP, the default), `prefer` (TLS when
//! the server accepts it, plain when it declines), `require` (TLS, the certificate is not
//! checked), `verify-ca` (the chain must lead to a trusted root; the name is not checked) and
//! `verify-full` (chain and host name). `allow` in a URL is taken as `disable`: the proxy never
//! retries a refused session with TLS.

use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::protocol::startup::SSL_REQUEST_CODE;
use super::{ProxyError, Upstream};

/// How the proxy secures its connections to the server (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    #[default]
    Disable,
    /// TLS when the server accepts the SSLRequest, plain TCP when it declines; the certificate
    /// is not checked.
    Prefer,
    /// TLS or no session; the certificate is not checked.
    Require,
    /// TLS with a certificate chain leading to a trusted root; any host name.
    VerifyCa,
    /// TLS with a trusted chain and a certificate valid for the upstream host.
    VerifyFull,
}

impl TlsMode {
    /// The names `--upstream-tls` and `sslmode=` take.
    pub const NAMES: [&'static str; 5] =
        ["disable", "prefer", "require", "verify-ca", "verify-full"];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate is checked against trusted roots.
    pub fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyFull)
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TlsMode {
    type Err = ProxyError;

    /// The five mode names, plus libpq's `allow`, taken as `disable`.
    fn from_str(s: &str) -> Result<Self, ProxyError> {
        Ok(match s {
            "disable" | "allow" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => {
                return Err(ProxyError::TlsMode {
                    value: s.to_owned(),
                });
            }
        })
    }
}

/// TLS settings for the upstream connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamTls {
    pub mode: TlsMode,
    /// PEM file of the trusted roots for `verify-ca` / `verify-full`; `None`: the system store.
    pub root_cert: Option<PathBuf>,
}

impl UpstreamTls {
    /// The `sslmode` and `sslrootcert` parameters of a `postgres://` URL (other parameters are
    /// the clients' business). `sslrootcert=system` names the system store.
    pub fn from_url(url: &str) -> Result<UpstreamTls, ProxyError> {
        let bad = |reason| ProxyError::UpstreamUrl {
            url: url.to_owned(),
            reason,
        };
        let mut tls = UpstreamTls::default();
        let Some((_, query)) = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('?'))
        else {
            return Ok(tls);
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => tls.mode = percent_decode(value).map_err(bad)?.parse()?,
                "sslrootcert" => {
                    let path = percent_decode(value).map_err(bad)?;
                    tls.root_cert = match path.as_str() {
                        "" => return Err(bad("sslrootcert is empty")),
                        "system" => None,
                        _ => Some(PathBuf::from(path)),
                    };
                }
                _ => {}
            }
        }
        Ok(tls)
    }
}

/// Decode `%XX` escapes of a URL query value.
fn percent_decode(s: &str) -> Result<String, &'static str> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a '%' in a query value is not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a query value is not valid UTF-8 once decoded")
}

/// A connection to the server, plain or TLS.
#[derive(Debug)]
pub enum ServerStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl ServerStream {
    pub fn is_tls(&self) -> bool {
        matches!(self, ServerStream::Tls(_))
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Why a server connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Connect(#[source] io::Error),
    #[error("timed out")]
    TimedOut,
    #[error(
        "the server does not accept TLS connections (it declined the SSL request), and \
         sslmode={0} requires TLS"
    )]
    Declined(TlsMode),
    #[error("the SSL request failed (sslmode={0}): {1}")]
    Negotiation(TlsMode, #[source] io::Error),
    #[error("the server answered the SSL request with an error (sslmode={0})")]
    ErrorReply(TlsMode),
    #[error("the server answered the SSL request with the unexpected byte 0x{1:02x} (sslmode={0})")]
    BadReply(TlsMode, u8),
    #[error("the TLS handshake failed (sslmode={0}): {1}")]
    Handshake(TlsMode, #[source] io::Error),
}

/// Opens server connections the way the settings say; built once, shared by every session.
#[derive(Clone)]
pub struct Connector {
    mode: TlsMode,
    /// `None` for `disable`.
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// The SSLRequest packet: length 8, then the request code.
fn ssl_request() -> [u8; 8] {
    let mut packet = [0u8; 8];
    packet[..4].copy_from_slice(&8i32.to_be_bytes());
    packet[4..].copy_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
    packet
}

impl Connector {
    /// Check the settings and build the TLS configuration: a root file that cannot be read or
    /// holds no usable certificate, or an empty system store under `verify-*`, is an error.
    pub fn new(upstream: &Upstream, settings: &UpstreamTls) -> Result<Connector, ProxyError> {
        let mode = settings.mode;
        if mode == TlsMode::Disable {
            if let Some(path) = &settings.root_cert {
                tracing::warn!(
                    file = %path.display(),
                    "the upstream's trusted certificates are not used: TLS towards the server is off"
                );
            }
            return Ok(Connector { mode, tls: None });
        }
        let server_name = match ServerName::try_from(upstream.host.clone()) {
            Ok(name) => name,
            Err(_) if mode != TlsMode::VerifyFull => {
                // The name is only sent as SNI here; an address sends none.
                ServerName::IpAddress(Ipv4Addr::UNSPECIFIED.into())
            }
            Err(_) => {
                return Err(ProxyError::TlsServerName {
                    host: upstream.host.clone(),
                });
            }
        };
        let roots = match (&settings.root_cert, mode.verifies()) {
            (Some(path), verifies) => {
                let roots = roots_from_file(path)?;
                if !verifies {
                    tracing::warn!(
                        file = %path.display(),
                        %mode,
                        "the upstream's certificate is not checked in this mode (use verify-ca or verify-full)"
                    );
                }
                Some(roots)
            }
            (None, true) => Some(system_roots(mode)?),
            (None, false) => None,
        };
        let config = client_config(mode, roots)?;
        Ok(Connector {
            mode,
            tls: Some((TlsConnector::from(Arc::new(config)), server_name)),
        })
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// Connect to the server and negotiate TLS as the mode says, all within `limit`.
    pub async fn connect(
        &self,
        upstream: &Upstream,
        limit: Duration,
    ) -> Result<ServerStream, ConnectError> {
        timeout(limit, self.open(upstream))
            .await
            .map_err(|_| ConnectError::TimedOut)?
    }

    async fn open(&self, upstream: &Upstream) -> Result<ServerStream, ConnectError> {
        let mut tcp = TcpStream::connect((upstream.host.as_str(), upstream.port))
            .await
            .map_err(ConnectError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let Some((connector, name)) = &self.tls else {
            return Ok(ServerStream::Plain(tcp));
        };
        let mode = self.mode;
        let negotiation = |e| ConnectError::Negotiation(mode, e);
        tcp.write_all(&ssl_request()).await.map_err(negotiation)?;
        // Exactly one byte: anything the server sent after it belongs to the handshake.
        let mut reply = [0u8; 1];
        tcp.read_exact(&mut reply).await.map_err(negotiation)?;
        match reply[0] {
            b'S' => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| ConnectError::Handshake(mode, e))?;
                Ok(ServerStream::Tls(Box::new(stream)))
            }
            b'N' if mode == TlsMode::Prefer => Ok(ServerStream::Plain(tcp)),
            b'N' => Err(ConnectError::Declined(mode)),
            // Not read on: nothing the server says before it is authenticated is trusted.
            b'E' => Err(ConnectError::ErrorReply(mode)),
            other => Err(ConnectError::BadReply(mode, other)),
        }
    }
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, ProxyError> {
    let bad = |reason: String| ProxyError::UpstreamCa {
        path: path.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
    for (i, cert) in certs.enumerate() {
        let cert = cert.map_err(|e| bad(format!("not valid PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("certificate {} is not usable: {e}", i + 1)))?;
    }
    if roots.is_empty() {
        return Err(bad("it holds no PEM certificate".to_owned()));
    }
    Ok(roots)
}

fn system_roots(mode: TlsMode) -> Result<RootCertStore, ProxyError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let reason = if found.errors.is_empty() {
            "it holds no certificates".to_owned()
        } else {
            found
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Err(ProxyError::SystemRoots { mode, reason });
    }
    Ok(roots)
}

fn client_config(mode: TlsMode, roots: Option<RootCertStore>) -> Result<ClientConfig, ProxyError> {
    let setup = |e: rustls::Error| ProxyError::TlsSetup {
        reason: e.to_string(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(setup)?;
    let roots = Arc::new(roots.unwrap_or_else(RootCertStore::empty));
    let mut config = match mode {
        TlsMode::VerifyFull => builder.with_root_certificates(roots).with_no_client_auth(),
        TlsMode::VerifyCa => {
            let chain = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| ProxyError::TlsSetup {
                    reason: e.to_string(),
                })?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(chain)))
                .with_no_client_auth()
        }
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

/// `verify-ca`: the chain must lead to a trusted root; a name mismatch is accepted (the chain
/// is checked before the name, so a name error means the chain was good).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` / `require`: any certificate (the connection is encrypted, the server not
/// authenticated); the handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(host: &str) -> Upstream {
        Upstream {
            host: host.to_owned(),
            port: 5432,
        }
    }

    #[test]
    fn url_settings() {
        let tls = |s: &str| UpstreamTls::from_url(s);
        assert_eq!(tls("postgres://h/db").unwrap(), UpstreamTls::default());
        assert_eq!(tls("h:5432").unwrap(), UpstreamTls::default());
        let t = tls("postgres://h/db?application_name=x&sslmode=verify-full&sslrootcert=/etc/ca%20certs/root.pem")
            .unwrap();
        assert_eq!(t.mode, TlsMode::VerifyFull);
        assert_eq!(t.root_cert, Some(PathBuf::from("/etc/ca certs/root.pem")));
        let t = tls("postgresql://h?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!((t.mode, t.root_cert), (TlsMode::Require, None));
        assert_eq!(
            tls("postgres://h?sslmode=allow").unwrap().mode,
            TlsMode::Disable
        );
        assert_eq!(
            tls("postgres://h?sslmode=prefer").unwrap().mode,
            TlsMode::Prefer
        );
        assert_eq!(
            tls("postgres://h?sslmode=verify-ca").unwrap().mode,
            TlsMode::VerifyCa
        );
        let e = tls("postgres://h?sslmode=verify").unwrap_err();
        assert!(
            matches!(e, ProxyError::TlsMode { ref value } if value == "verify"),
            "{e}"
        );
        assert!(e.to_string().contains("verify-full"), "{e}");
        assert!(matches!(
            tls("postgres://h?sslrootcert=%zz"),
            Err(ProxyError::UpstreamUrl { .. })
        ));
        assert!(matches!(
            tls("postgres://h?sslrootcert="),
            Err(ProxyError::UpstreamUrl { .. })
        ));
    }

    #[test]
    fn mode_names_round_trip() {
        for name in TlsMode::NAMES {
            assert_eq!(name.parse::<TlsMode>().unwrap().as_str(), name);
        }
        assert!("VERIFY-FULL".parse::<TlsMode>().is_err());
    }

    #[test]
    fn the_ssl_request_packet() {
        assert_eq!(ssl_request(), [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    }

    #[test]
    fn bad_root_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for (path, expect) in [
            (&missing, "No such file"),
            (&empty, "no PEM certificate"),
            (&broken, "not valid PEM"),
            (&garbage, "certificate 1 is not usable"),
        ] {
            let settings = UpstreamTls {
                mode: TlsMode::VerifyCa,
                root_cert: Some(path.clone()),
            };
            let e = Connector::new(&upstream("db"), &settings).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, ProxyError::UpstreamCa { .. }), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(expect), "{text}");
        }
    }

    #[test]
    fn connectors_per_mode() {
        let c = Connector::new(&upstream("db"), &UpstreamTls::default()).unwrap();
        assert!(c.tls.is_none());
        for mode in [TlsMode::Prefer, TlsMode::Require] {
            let settings = UpstreamTls {
                mode,
                root_cert: None,
            };
            let c = Connector::new(&upstream("not a host name"), &settings).unwrap();
            assert_eq!(c.mode(), mode);
            assert!(c.tls.is_some());
        }
        // verify-full checks the certificate against the host, which must be a valid name.
        let settings = UpstreamTls {
            mode: TlsMode::VerifyFull,
            root_cert: None,
        };
        assert!(matches!(
            Connector::new(&upstream("not a host name"), &settings),
            Err(ProxyError::TlsServerName { .. })
        ));
        let settings = UpstreamTls {
            mode: TlsMode::VerifyFull,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        assert!(matches!(
            Connector::new(&upstream("db"), &settings),
            Err(ProxyError::UpstreamCa { .. })
        ));
    }
}
