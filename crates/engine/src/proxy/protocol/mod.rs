//! The PostgreSQL v3 wire protocol as far as the proxy needs it: framing with length checks,
//! startup packets, and decoders for the frontend and backend messages that capture reads, one
//! file per message family, each with byte-literal tests beside it. Decoders borrow from the
//! frame and never panic on arbitrary bytes (they are fuzzed); everything they cannot read is a
//! [`DecodeError`].
//!
//! Frontend and backend tags overlap (`C` is the frontend's Close and the backend's
//! CommandComplete; `E` is Execute and ErrorResponse), so each direction has its own tag enum.

pub mod completion;
pub mod error_response;
pub mod extended;
pub mod framing;
pub mod params;
pub mod query;
pub mod startup;

pub use framing::{Backend, FrameError, Frontend, HEADER_LEN, Header, parse_header};

/// Why a message body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the message ends before its {0} is complete")]
    Truncated(&'static str),
    #[error("a string in the message has no terminating NUL byte")]
    Unterminated,
    #[error("the message declares a negative {0}")]
    Negative(&'static str),
}

/// A forward-only cursor over a message body (big-endian integers, NUL-terminated strings).
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A NUL-terminated string, without its terminator.
    pub fn cstr(&mut self) -> Result<&'a [u8], DecodeError> {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::Unterminated)?;
        let s = &self.buf[..end];
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }

    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.bytes(1, what)?[0])
    }

    pub fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        let b = self.bytes(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        let b = self.bytes(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A non-negative 16-bit count.
    pub fn count(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let n = self.i16(what)?;
        usize::try_from(n).map_err(|_| DecodeError::Negative(what))
    }
}

/// `bytes` as text: lossy UTF-8, at most `max` bytes (cut on a character boundary), with `…`
/// appended when something was cut. Invalid bytes become U+FFFD, which is longer than the
/// byte it replaces, so the bound is applied to the text, not only to the input.
pub fn lossy_text(bytes: &[u8], max: usize) -> String {
    let mut cut = bytes.len() > max;
    let head = &bytes[..bytes.len().min(max)];
    let mut s = match std::str::from_utf8(head) {
        Ok(s) => s.to_owned(),
        // A character split by the cut is not an encoding error: drop its head.
        Err(e) if cut && e.error_len().is_none() => {
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(head).into_owned(),
    };
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        cut = true;
    }
    if cut {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reads_strings_and_integers() {
        let mut r = Reader::new(b"ab\0\x00\x01\xff\xff\xff\xfe\x80rest");
        assert_eq!(r.cstr().unwrap(), b"ab");
        assert_eq!(r.i16("x").unwrap(), 1);
        assert_eq!(r.i32("x").unwrap(), -2);
        assert_eq!(r.u8("x").unwrap(), 0x80);
        assert_eq!(r.rest(), b"rest");
        assert_eq!(r.cstr(), Err(DecodeError::Unterminated));
        assert_eq!(r.i32("y"), Ok(i32::from_be_bytes(*b"rest")));
        assert_eq!(r.i16("z"), Err(DecodeError::Truncated("z")));
        assert_eq!(
            Reader::new(b"\xff\xff").count("n"),
            Err(DecodeError::Negative("n"))
        );
    }

    #[test]
    fn lossy_text_cuts_on_character_boundaries() {
        assert_eq!(lossy_text(b"hello", 10), "hello");
        assert_eq!(lossy_text(b"hello", 3), "hel…");
        // "é" is two bytes; a cut in its middle drops it whole.
        assert_eq!(lossy_text("aé".as_bytes(), 2), "a…");
        assert_eq!(lossy_text(b"a\xffb", 10), "a\u{fffd}b");
        // Replacement characters count against the budget (found by the fuzz test).
        assert_eq!(lossy_text(b"\xff\xff\xff", 4), "\u{fffd}…");
    }
}

/// Builders of whole messages for tests (frontend and backend).
#[cfg(test)]
pub mod build {
    /// A typed message: tag, length, body.
    pub fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn cstr(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    pub fn query(sql: &str) -> Vec<u8> {
        let mut b = Vec::new();
        cstr(&mut b, sql);
        msg(b'Q', &b)
    }

    pub fn parse(name: &str, sql: &str, types: &[u32]) -> Vec<u8> {
        let mut b = Vec::new();
        cstr(&mut b, name);
        cstr(&mut b, sql);
        b.extend_from_slice(&(types.len() as i16).to_be_bytes());
        for t in types {
            b.extend_from_slice(&t.to_be_bytes());
        }
        msg(b'P', &b)
    }

    pub fn bind(
        portal: &str,
        statement: &str,
        formats: &[i16],
        values: &[Option<&[u8]>],
    ) -> Vec<u8> {
        let mut b = Vec::new();
        cstr(&mut b, portal);
        cstr(&mut b, statement);
        b.extend_from_slice(&(formats.len() as i16).to_be_bytes());
        for f in formats {
            b.extend_from_slice(&f.to_be_bytes());
        }
        b.extend_from_slice(&(values.len() as i16).to_be_bytes());
        for v in values {
            match v {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        b.extend_from_slice(&0i16.to_be_bytes());
        msg(b'B', &b)
    }

    pub fn execute(portal: &str, max_rows: i32) -> Vec<u8> {
        let mut b = Vec::new();
        cstr(&mut b, portal);
        b.extend_from_slice(&max_rows.to_be_bytes());
        msg(b'E', &b)
    }

    pub fn describe(kind: u8, name: &str) -> Vec<u8> {
        let mut b = vec![kind];
        cstr(&mut b, name);
        msg(b'D', &b)
    }

    pub fn close(kind: u8, name: &str) -> Vec<u8> {
        let mut b = vec![kind];
        cstr(&mut b, name);
        msg(b'C', &b)
    }

    pub fn sync() -> Vec<u8> {
        msg(b'S', &[])
    }

    pub fn command_complete(tag: &str) -> Vec<u8> {
        let mut b = Vec::new();
        cstr(&mut b, tag);
        msg(b'C', &b)
    }

    pub fn error(severity: &str, code: &str, message: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for (k, v) in [
            (b'S', severity),
            (b'V', severity),
            (b'C', code),
            (b'M', message),
        ] {
            b.push(k);
            cstr(&mut b, v);
        }
        b.push(0);
        msg(b'E', &b)
    }

    pub fn ready(status: u8) -> Vec<u8> {
        msg(b'Z', &[status])
    }

    pub fn data_row(values: &[&[u8]]) -> Vec<u8> {
        let mut b = (values.len() as i16).to_be_bytes().to_vec();
        for v in values {
            b.extend_from_slice(&(v.len() as i32).to_be_bytes());
            b.extend_from_slice(v);
        }
        msg(b'D', &b)
    }

    pub fn parameter_description(types: &[u32]) -> Vec<u8> {
        let mut b = (types.len() as i16).to_be_bytes().to_vec();
        for t in types {
            b.extend_from_slice(&t.to_be_bytes());
        }
        msg(b't', &b)
    }

    pub fn backend_key(pid: i32, key: i32) -> Vec<u8> {
        let mut b = pid.to_be_bytes().to_vec();
        b.extend_from_slice(&key.to_be_bytes());
        msg(b'K', &b)
    }

    /// A message with an empty body (ParseComplete `1`, BindComplete `2`, NoData `n`, …).
    pub fn empty(tag: u8) -> Vec<u8> {
        msg(tag, &[])
    }

    /// A RowDescription with one int4 column.
    pub fn row_description() -> Vec<u8> {
        let mut b = 1i16.to_be_bytes().to_vec();
        cstr(&mut b, "x");
        b.extend_from_slice(&[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
        ]);
        msg(b'T', &b)
    }
}
