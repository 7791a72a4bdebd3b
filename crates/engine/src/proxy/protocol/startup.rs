//! Startup packets: the untyped messages a client opens a connection with (`i32` length, then
//! an `i32` code): StartupMessage (protocol 3.x and its parameters), SSLRequest and
//! GSSENCRequest (the proxy declines both so it can read the statements), and CancelRequest
//! (forwarded to the server on a fresh connection).

use super::{DecodeError, Reader};

/// PostgreSQL's limit on a startup packet (`MAX_STARTUP_PACKET_LENGTH`).
pub const MAX_STARTUP_LEN: usize = 10_000;
/// Length plus code.
pub const MIN_STARTUP_LEN: usize = 8;

pub const SSL_REQUEST_CODE: i32 = 80_877_103;
pub const GSSENC_REQUEST_CODE: i32 = 80_877_104;
pub const CANCEL_REQUEST_CODE: i32 = 80_877_102;

/// The reply that declines SSL or GSS encryption.
pub const DECLINE: u8 = b'N';

/// A startup packet the proxy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    #[error("invalid length of startup packet: {0}")]
    BadLength(i64),
    #[error("unsupported frontend protocol {major}.{minor}: the proxy speaks protocol 3")]
    UnsupportedProtocol { major: u16, minor: u16 },
    #[error("malformed startup packet: {0}")]
    Malformed(#[from] DecodeError),
}

/// One decoded startup packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPacket<'a> {
    SslRequest,
    GssEncRequest,
    /// `key` is 4 bytes in protocol 3.0 and longer in 3.2.
    Cancel {
        pid: i32,
        key: &'a [u8],
    },
    Startup {
        major: u16,
        minor: u16,
        params: StartupParams,
    },
}

/// The parameters of a StartupMessage the proxy logs and labels sessions with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartupParams {
    pub user: Option<String>,
    pub database: Option<String>,
    pub application_name: Option<String>,
}

/// The length of the packet at the start of `bytes` (`None` until its 4 length bytes are
/// there), checked against PostgreSQL's bounds.
pub fn packet_len(bytes: &[u8]) -> Result<Option<usize>, StartupError> {
    let Some(head) = bytes.get(..4) else {
        return Ok(None);
    };
    let len = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    match usize::try_from(len) {
        Ok(n) if (MIN_STARTUP_LEN..=MAX_STARTUP_LEN).contains(&n) => Ok(Some(n)),
        _ => Err(StartupError::BadLength(i64::from(len))),
    }
}

/// Decode one whole packet (length field included).
pub fn decode(packet: &[u8]) -> Result<StartupPacket<'_>, StartupError> {
    let mut r = Reader::new(packet);
    let len = r.i32("length")?;
    if usize::try_from(len).ok() != Some(packet.len()) {
        return Err(StartupError::BadLength(i64::from(len)));
    }
    let code = r.i32("code")?;
    match code {
        SSL_REQUEST_CODE if r.is_empty() => Ok(StartupPacket::SslRequest),
        GSSENC_REQUEST_CODE if r.is_empty() => Ok(StartupPacket::GssEncRequest),
        SSL_REQUEST_CODE | GSSENC_REQUEST_CODE => Err(StartupError::BadLength(i64::from(len))),
        CANCEL_REQUEST_CODE => {
            let pid = r.i32("process id")?;
            let key = r.rest();
            if key.len() < 4 {
                return Err(DecodeError::Truncated("secret key").into());
            }
            Ok(StartupPacket::Cancel { pid, key })
        }
        _ => {
            let major = (code.cast_unsigned() >> 16) as u16;
            let minor = (code.cast_unsigned() & 0xffff) as u16;
            if major != 3 {
                return Err(StartupError::UnsupportedProtocol { major, minor });
            }
            let mut params = StartupParams::default();
            loop {
                let name = r.cstr()?;
                if name.is_empty() {
                    break;
                }
                let value = String::from_utf8_lossy(r.cstr()?).into_owned();
                match name {
                    b"user" => params.user = Some(value),
                    b"database" => params.database = Some(value),
                    b"application_name" => params.application_name = Some(value),
                    _ => {}
                }
            }
            Ok(StartupPacket::Startup {
                major,
                minor,
                params,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_and_gss_requests() {
        let ssl = b"\x00\x00\x00\x08\x04\xd2\x16\x2f";
        assert_eq!(packet_len(ssl), Ok(Some(8)));
        assert_eq!(decode(ssl), Ok(StartupPacket::SslRequest));
        assert_eq!(
            decode(b"\x00\x00\x00\x08\x04\xd2\x16\x30"),
            Ok(StartupPacket::GssEncRequest)
        );
        assert_eq!(
            decode(b"\x00\x00\x00\x0c\x04\xd2\x16\x2f\0\0\0\0"),
            Err(StartupError::BadLength(12))
        );
    }

    #[test]
    fn cancel_request() {
        let packet = b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x30\x39\xde\xad\xbe\xef";
        assert_eq!(
            decode(packet),
            Ok(StartupPacket::Cancel {
                pid: 12345,
                key: b"\xde\xad\xbe\xef"
            })
        );
        assert!(decode(b"\x00\x00\x00\x0c\x04\xd2\x16\x2e\x00\x00\x30\x39").is_err());
    }

    #[test]
    fn startup_message_with_parameters() {
        let mut p = Vec::new();
        p.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 0]);
        p.extend_from_slice(b"user\0alice\0database\0shop\0client_encoding\0UTF8\0\0");
        let len = (p.len() as i32).to_be_bytes();
        p[..4].copy_from_slice(&len);
        let StartupPacket::Startup {
            major,
            minor,
            params,
        } = decode(&p).unwrap()
        else {
            panic!("not a startup message")
        };
        assert_eq!((major, minor), (3, 0));
        assert_eq!(params.user.as_deref(), Some("alice"));
        assert_eq!(params.database.as_deref(), Some("shop"));
        assert_eq!(params.application_name, None);
        // Without the final NUL the parameter list is unterminated.
        let mut short = p[..p.len() - 1].to_vec();
        let short_len = (short.len() as i32).to_be_bytes();
        short[..4].copy_from_slice(&short_len);
        assert_eq!(
            decode(&short),
            Err(StartupError::Malformed(DecodeError::Unterminated))
        );
    }

    #[test]
    fn lengths_and_versions_are_checked() {
        assert_eq!(packet_len(b"\x00\x00"), Ok(None));
        assert_eq!(
            packet_len(b"\x00\x00\x00\x07"),
            Err(StartupError::BadLength(7))
        );
        assert_eq!(
            packet_len(b"\x00\x00\x27\x11"),
            Err(StartupError::BadLength(10_001))
        );
        assert_eq!(
            packet_len(b"\xff\xff\xff\xff"),
            Err(StartupError::BadLength(-1))
        );
        // A TLS ClientHello sent directly (no SSLRequest) is not a startup packet.
        assert!(packet_len(b"\x16\x03\x01\x02").is_err());
        assert_eq!(
            decode(b"\x00\x00\x00\x09\x00\x02\x00\x00\0"),
            Err(StartupError::UnsupportedProtocol { major: 2, minor: 0 })
        );
        // The length field must match the packet.
        assert_eq!(
            decode(b"\x00\x00\x00\x09\x04\xd2\x16\x2f"),
            Err(StartupError::BadLength(9))
        );
    }
}
