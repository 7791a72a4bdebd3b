//! ErrorResponse (`E`) and NoticeResponse (`N`): decoding the fields capture needs (SQLSTATE,
//! severity), and encoding the proxy's own errors (connection failures, protocol violations,
//! limits) so clients report them like any server error.

use super::Reader;

/// SQLSTATE codes the proxy reports itself.
pub mod sqlstate {
    /// The server connection broke during the session.
    pub const CONNECTION_FAILURE: &str = "08006";
    /// The server could not be reached or refused the connection.
    pub const UNABLE_TO_CONNECT: &str = "08001";
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
}

/// The fields of an ErrorResponse or NoticeResponse that capture reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    /// Non-localized severity (`V`) when sent, else the localized one (`S`).
    pub severity: Option<&'a [u8]>,
    pub code: Option<&'a [u8]>,
    pub message: Option<&'a [u8]>,
}

impl Fields<'_> {
    /// FATAL or PANIC: the server closes the connection after this message.
    pub fn is_fatal(&self) -> bool {
        matches!(self.severity, Some(b"FATAL" | b"PANIC"))
    }

    /// The SQLSTATE as text, when present and printable.
    pub fn code_str(&self) -> Option<&str> {
        std::str::from_utf8(self.code?)
            .ok()
            .filter(|c| !c.is_empty())
    }
}

/// The fields of an ErrorResponse/NoticeResponse body. Reading stops at the terminator or at
/// the first malformed field (whatever was read before it is kept).
pub fn fields(body: &[u8]) -> Fields<'_> {
    let mut out = Fields::default();
    let mut r = Reader::new(body);
    let mut localized = None;
    while let Ok(kind) = r.u8("field type") {
        if kind == 0 {
            break;
        }
        let Ok(value) = r.cstr() else { break };
        match kind {
            b'V' => out.severity = Some(value),
            b'S' => localized = Some(value),
            b'C' => out.code = Some(value),
            b'M' => out.message = Some(value),
            _ => {}
        }
    }
    if out.severity.is_none() {
        out.severity = localized;
    }
    out
}

/// Severity of an error the proxy sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The statement failed; the session goes on.
    Error,
    /// The proxy closes the connection after sending it.
    Fatal,
}

/// Append a complete ErrorResponse to `out`. NUL bytes in `message` (which would end the
/// field early) become spaces.
pub fn encode(out: &mut Vec<u8>, severity: Severity, code: &str, message: &str) {
    let severity = match severity {
        Severity::Error => "ERROR",
        Severity::Fatal => "FATAL",
    };
    let start = out.len();
    out.push(b'E');
    out.extend_from_slice(&[0; 4]);
    for (kind, value) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ] {
        out.push(kind);
        out.extend(value.bytes().map(|b| if b == 0 { b' ' } else { b }));
        out.push(0);
    }
    out.push(0);
    let len = u32::try_from(out.len() - start - 1).unwrap_or(u32::MAX);
    out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_a_server_error() {
        let body = b"SERROR\0VERROR\0C42P01\0Mrelation \"nope\" does not exist\0P15\0\0";
        let f = fields(body);
        assert_eq!(f.severity, Some(&b"ERROR"[..]));
        assert_eq!(f.code_str(), Some("42P01"));
        assert_eq!(f.message, Some(&b"relation \"nope\" does not exist"[..]));
        assert!(!f.is_fatal());
    }

    #[test]
    fn localized_severity_is_the_fallback() {
        let f = fields(b"SFATAL\0C57P01\0Mterminating connection\0\0");
        assert!(f.is_fatal());
        let f = fields(b"SFATAL\0VFEHLER\0\0");
        assert_eq!(f.severity, Some(&b"FEHLER"[..]));
    }

    #[test]
    fn malformed_fields_keep_what_was_read() {
        let f = fields(b"C22012\0Mdivision by zer");
        assert_eq!(f.code_str(), Some("22012"));
        assert_eq!(f.message, None);
        assert_eq!(fields(b""), Fields::default());
    }

    #[test]
    fn encoded_errors_decode_back() {
        let mut out = b"prefix".to_vec();
        encode(
            &mut out,
            Severity::Fatal,
            sqlstate::CONNECTION_FAILURE,
            "server gone\0away",
        );
        let frame = &out[6..];
        assert_eq!(frame[0], b'E');
        let len = u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize;
        assert_eq!(len + 1, frame.len());
        assert_eq!(
            frame,
            &b"E\x00\x00\x00\x2cSFATAL\0VFATAL\0C08006\0Mserver gone away\0\0"[..]
        );
        let f = fields(&frame[5..]);
        assert!(f.is_fatal());
        assert_eq!(f.code_str(), Some("08006"));
    }
}
