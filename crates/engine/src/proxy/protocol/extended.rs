//! The extended-query frontend messages: Parse (`P`), Bind (`B`), Execute (`E`), Describe
//! (`D`) and Close (`C`). Sync and Flush have empty bodies and need no decoder.

use super::{DecodeError, Reader};

/// `P`: prepare `sql` as statement `name` (empty: the unnamed statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parse<'a> {
    pub name: &'a [u8],
    pub sql: &'a [u8],
    /// Parameter type OIDs as sent (0 = let the server infer), 4 bytes each.
    types: &'a [u8],
}

impl Parse<'_> {
    /// Parameter type OIDs the client specified (0 where it let the server infer).
    pub fn param_types(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.types
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

pub fn parse(body: &[u8]) -> Result<Parse<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let name = r.cstr()?;
    let sql = r.cstr()?;
    let n = r.count("parameter type count")?;
    let types = r.bytes(n * 4, "parameter types")?;
    Ok(Parse { name, sql, types })
}

/// Name and SQL from the first bytes of a Parse too large to inspect whole (the SQL is cut).
pub fn parse_prefix(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut r = Reader::new(body);
    let name = r.cstr().ok()?;
    let rest = r.rest();
    let sql = rest
        .iter()
        .position(|&b| b == 0)
        .map_or(rest, |end| &rest[..end]);
    Some((name, sql))
}

/// `B`: bind parameter values to statement `statement`, creating portal `portal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bind<'a> {
    pub portal: &'a [u8],
    pub statement: &'a [u8],
    formats: &'a [u8],
    param_count: usize,
    values: &'a [u8],
}

/// Parameter format codes.
pub const TEXT: i16 = 0;
pub const BINARY: i16 = 1;

pub fn bind(body: &[u8]) -> Result<Bind<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let portal = r.cstr()?;
    let statement = r.cstr()?;
    let nformats = r.count("parameter format count")?;
    let formats = r.bytes(nformats * 2, "parameter formats")?;
    let param_count = r.count("parameter count")?;
    if nformats > 1 && nformats != param_count {
        return Err(DecodeError::Truncated("parameter formats"));
    }
    Ok(Bind {
        portal,
        statement,
        formats,
        param_count,
        values: r.rest(),
    })
}

/// Portal and statement names from the first bytes of a Bind too large to inspect whole.
pub fn bind_names(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut r = Reader::new(body);
    Some((r.cstr().ok()?, r.cstr().ok()?))
}

impl<'a> Bind<'a> {
    pub fn param_count(&self) -> usize {
        self.param_count
    }

    /// The format code of parameter `i` (one code for all, one per parameter, or none: text).
    pub fn format(&self, i: usize) -> i16 {
        let at = match self.formats.len() / 2 {
            0 => return TEXT,
            1 => 0,
            _ => i * 2,
        };
        self.formats
            .get(at..at + 2)
            .map_or(TEXT, |b| i16::from_be_bytes([b[0], b[1]]))
    }

    /// Each parameter's format and value (`None` is NULL), in order; stops at the first
    /// malformed value with its error.
    pub fn params(&self) -> BindParams<'a> {
        BindParams {
            bind: *self,
            reader: Reader::new(self.values),
            index: 0,
        }
    }
}

/// Iterator over a Bind's parameter values.
#[derive(Debug, Clone)]
pub struct BindParams<'a> {
    bind: Bind<'a>,
    reader: Reader<'a>,
    index: usize,
}

impl<'a> Iterator for BindParams<'a> {
    type Item = Result<(i16, Option<&'a [u8]>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.index >= self.bind.param_count {
            return None;
        }
        let format = self.bind.format(self.index);
        self.index += 1;
        let value = match self.reader.i32("parameter length") {
            Err(e) => Err(e),
            Ok(-1) => Ok(None),
            Ok(n) => match usize::try_from(n) {
                Ok(n) => self.reader.bytes(n, "parameter value").map(Some),
                Err(_) => Err(DecodeError::Negative("parameter length")),
            },
        };
        if value.is_err() {
            self.index = self.bind.param_count;
        }
        Some(value.map(|v| (format, v)))
    }
}

/// `E`: run portal `portal`, returning at most `max_rows` rows (0: all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execute<'a> {
    pub portal: &'a [u8],
    pub max_rows: i32,
}

pub fn execute(body: &[u8]) -> Result<Execute<'_>, DecodeError> {
    let mut r = Reader::new(body);
    Ok(Execute {
        portal: r.cstr()?,
        max_rows: r.i32("row limit")?,
    })
}

/// What a Describe or Close names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Statement(&'a [u8]),
    Portal(&'a [u8]),
}

/// `D` (Describe) and `C` (Close) share one body: `S` or `P`, then a name.
pub fn target(body: &[u8]) -> Result<Target<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let kind = r.u8("target kind")?;
    let name = r.cstr()?;
    match kind {
        b'S' => Ok(Target::Statement(name)),
        b'P' => Ok(Target::Portal(name)),
        _ => Err(DecodeError::Truncated("target kind")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_with_and_without_types() {
        let p = parse(b"s1\0SELECT $1, $2\0\x00\x02\x00\x00\x00\x17\x00\x00\x00\x00").unwrap();
        assert_eq!((p.name, p.sql), (&b"s1"[..], &b"SELECT $1, $2"[..]));
        assert_eq!(p.param_types().collect::<Vec<_>>(), [23, 0]);
        let p = parse(b"\0SELECT 1\0\x00\x00").unwrap();
        assert_eq!((p.name, p.param_types().len()), (&b""[..], 0));
        assert_eq!(
            parse(b"\0SELECT 1\0\x00\x01\x00"),
            Err(DecodeError::Truncated("parameter types"))
        );
        assert_eq!(
            parse(b"\0SELECT 1\0\xff\xff"),
            Err(DecodeError::Negative("parameter type count"))
        );
        assert_eq!(
            parse_prefix(b"s\0SELECT lo"),
            Some((&b"s"[..], &b"SELECT lo"[..]))
        );
        assert_eq!(parse_prefix(b"no name end"), None);
    }

    #[test]
    fn bind_with_text_binary_and_null_values() {
        // Portal "", statement "s1", formats [text, binary], 3 params: "42", NULL, int4 7.
        let body = b"\0s1\0\x00\x03\x00\x00\x00\x01\x00\x00\x00\x03\
                     \x00\x00\x00\x0242\xff\xff\xff\xff\x00\x00\x00\x04\x00\x00\x00\x07\
                     \x00\x00";
        let b = bind(body).unwrap();
        assert_eq!(
            (b.portal, b.statement, b.param_count()),
            (&b""[..], &b"s1"[..], 3)
        );
        let params: Vec<_> = b.params().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            params,
            [
                (TEXT, Some(&b"42"[..])),
                (BINARY, None),
                (TEXT, Some(&b"\0\0\0\x07"[..]))
            ]
        );
        // One format code applies to every parameter.
        let b = bind(b"p\0\0\x00\x01\x00\x01\x00\x02\x00\x00\x00\x01x\x00\x00\x00\x00\x00\x00")
            .unwrap();
        let formats: Vec<_> = b.params().map(|p| p.unwrap().0).collect();
        assert_eq!(formats, [BINARY, BINARY]);
        // No format codes: all text.
        let b = bind(b"\0\0\x00\x00\x00\x01\x00\x00\x00\x01x\x00\x00").unwrap();
        assert_eq!(b.params().next(), Some(Ok((TEXT, Some(&b"x"[..])))));
    }

    #[test]
    fn malformed_binds_are_errors() {
        // Two format codes for three parameters.
        assert!(bind(b"\0\0\x00\x02\x00\x00\x00\x00\x00\x03").is_err());
        // A value longer than the message.
        let b = bind(b"\0\0\x00\x00\x00\x02\x00\x00\x00\x09abc").unwrap();
        let got: Vec<_> = b.params().collect();
        assert_eq!(got, [Err(DecodeError::Truncated("parameter value"))]);
        let b = bind(b"\0\0\x00\x00\x00\x01\xff\xff\xff\xfe").unwrap();
        assert_eq!(
            b.params().next(),
            Some(Err(DecodeError::Negative("parameter length")))
        );
        assert_eq!(
            bind_names(b"portal\0stmt\0\x00"),
            Some((&b"portal"[..], &b"stmt"[..]))
        );
    }

    #[test]
    fn execute_describe_close() {
        assert_eq!(
            execute(b"p1\0\x00\x00\x00\x0a"),
            Ok(Execute {
                portal: b"p1",
                max_rows: 10
            })
        );
        assert!(execute(b"p1\0\x00").is_err());
        assert_eq!(target(b"Ss1\0"), Ok(Target::Statement(b"s1")));
        assert_eq!(target(b"P\0"), Ok(Target::Portal(b"")));
        assert!(target(b"Xs\0").is_err());
        assert!(target(b"").is_err());
    }
}
