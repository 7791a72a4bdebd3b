//! Message framing after startup: a type byte, then a big-endian `i32` length that counts
//! itself but not the type byte. Headers are read in place from the relay buffer; a length
//! below 4 or above the configured limit is a [`FrameError`].

use std::fmt;

/// Type byte plus length field.
pub const HEADER_LEN: usize = 5;

/// PostgreSQL's own ceiling for one message (`MaxAllocSize - 1`): the default limit.
pub const DEFAULT_MAX_MESSAGE_LEN: u32 = 0x3fff_ffff;

/// The head of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub tag: u8,
    /// The length field: body plus the 4 bytes of the field itself.
    pub len: u32,
}

impl Header {
    /// Bytes of the whole message on the wire (type byte included).
    pub fn frame_len(self) -> usize {
        1 + self.len as usize
    }

    pub fn body_len(self) -> usize {
        self.len as usize - 4
    }
}

/// A message header the proxy refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message of type {} declares a length of {len}, below the minimum of 4", Tag(*.tag))]
    TooShort { tag: u8, len: i32 },
    #[error(
        "message of type {} declares a length of {len} bytes, above the limit of {max}",
        Tag(*.tag)
    )]
    TooLong { tag: u8, len: u32, max: u32 },
}

/// A type byte shown readably in messages: `'Q'`, or `0x00` when not printable.
#[derive(Debug, Clone, Copy)]
pub struct Tag(pub u8);

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

/// The header at the start of `bytes`: `Ok(None)` when fewer than [`HEADER_LEN`] bytes are
/// there yet.
pub fn parse_header(bytes: &[u8], max_len: u32) -> Result<Option<Header>, FrameError> {
    let Some(head) = bytes.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let tag = head[0];
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    if len < 4 {
        return Err(FrameError::TooShort { tag, len });
    }
    let len = len.cast_unsigned();
    if len > max_len {
        return Err(FrameError::TooLong {
            tag,
            len,
            max: max_len,
        });
    }
    Ok(Some(Header { tag, len }))
}

macro_rules! tags {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $byte:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The message type for a type byte; `None` for bytes this protocol version does
            /// not define (they are still relayed: the server decides).
            pub fn from_tag(tag: u8) -> Option<Self> {
                match tag {
                    $($byte => Some($name::$variant),)*
                    _ => None,
                }
            }

            pub fn tag(self) -> u8 {
                match self {
                    $($name::$variant => $byte,)*
                }
            }
        }
    };
}

tags! {
    /// Messages a client sends after startup.
    Frontend {
        Bind = b'B',
        Close = b'C',
        CopyData = b'd',
        CopyDone = b'c',
        CopyFail = b'f',
        Describe = b'D',
        Execute = b'E',
        Flush = b'H',
        FunctionCall = b'F',
        Parse = b'P',
        /// PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse.
        Password = b'p',
        Query = b'Q',
        Sync = b'S',
        Terminate = b'X',
    }
}

tags! {
    /// Messages a server sends.
    Backend {
        Authentication = b'R',
        BackendKeyData = b'K',
        BindComplete = b'2',
        CloseComplete = b'3',
        CommandComplete = b'C',
        CopyData = b'd',
        CopyDone = b'c',
        CopyInResponse = b'G',
        CopyOutResponse = b'H',
        CopyBothResponse = b'W',
        DataRow = b'D',
        EmptyQueryResponse = b'I',
        ErrorResponse = b'E',
        FunctionCallResponse = b'V',
        NegotiateProtocolVersion = b'v',
        NoData = b'n',
        NoticeResponse = b'N',
        NotificationResponse = b'A',
        ParameterDescription = b't',
        ParameterStatus = b'S',
        ParseComplete = b'1',
        PortalSuspended = b's',
        ReadyForQuery = b'Z',
        RowDescription = b'T',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_in_place() {
        assert_eq!(parse_header(b"Q\0\0\0", 100), Ok(None));
        assert_eq!(
            parse_header(b"Q\0\0\0\x0dSELECT 1;\0", 100),
            Ok(Some(Header { tag: b'Q', len: 13 }))
        );
        let h = parse_header(b"S\0\0\0\x04", 100).unwrap().unwrap();
        assert_eq!((h.frame_len(), h.body_len()), (5, 0));
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(
            parse_header(b"Q\0\0\0\x03", 100),
            Err(FrameError::TooShort { tag: b'Q', len: 3 })
        );
        assert_eq!(
            parse_header(b"Q\xff\xff\xff\xff", 100),
            Err(FrameError::TooShort { tag: b'Q', len: -1 })
        );
        assert_eq!(
            parse_header(b"d\0\0\x01\x00", 255),
            Err(FrameError::TooLong {
                tag: b'd',
                len: 256,
                max: 255
            })
        );
        assert_eq!(
            parse_header(b"d\0\0\x00\xff", 255).unwrap().unwrap().len,
            255
        );
        let e = parse_header(b"\x01\0\0\0\0", 10).unwrap_err().to_string();
        assert!(e.contains("0x01") && e.contains("below the minimum"), "{e}");
    }

    #[test]
    fn tags_round_trip_per_direction() {
        // The same byte means different things in each direction.
        assert_eq!(Frontend::from_tag(b'C'), Some(Frontend::Close));
        assert_eq!(Backend::from_tag(b'C'), Some(Backend::CommandComplete));
        assert_eq!(Frontend::from_tag(b'E'), Some(Frontend::Execute));
        assert_eq!(Backend::from_tag(b'E'), Some(Backend::ErrorResponse));
        assert_eq!(Frontend::from_tag(b'Z'), None);
        for b in 0..=255u8 {
            if let Some(t) = Frontend::from_tag(b) {
                assert_eq!(t.tag(), b);
            }
            if let Some(t) = Backend::from_tag(b) {
                assert_eq!(t.tag(), b);
            }
        }
    }
}
