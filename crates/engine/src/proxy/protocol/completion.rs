//! Backend messages that end or describe a request: CommandComplete (`C`, rows from its tag),
//! ReadyForQuery (`Z`, transaction status), ParameterDescription (`t`) and BackendKeyData
//! (`K`). EmptyQueryResponse, PortalSuspended, ParseComplete, BindComplete and CloseComplete
//! carry no body worth decoding.

use super::{DecodeError, Reader};

/// Rows returned or affected, from a CommandComplete tag: `SELECT n`, `INSERT oid n`,
/// `UPDATE n`, `DELETE n`, `MERGE n`, `FETCH n`, `MOVE n`, `COPY n`. `None` for tags without a
/// count (`CREATE TABLE`, `BEGIN`, …) and for anything unreadable.
pub fn command_rows(body: &[u8]) -> Option<u64> {
    let tag = body
        .iter()
        .position(|&b| b == 0)
        .map_or(body, |end| &body[..end]);
    let space = tag.iter().position(|&b| b == b' ')?;
    let (command, rest) = (&tag[..space], &tag[space + 1..]);
    let count = match command {
        b"INSERT" => {
            let second = rest.iter().position(|&b| b == b' ')?;
            &rest[second + 1..]
        }
        b"SELECT" | b"UPDATE" | b"DELETE" | b"MERGE" | b"FETCH" | b"MOVE" | b"COPY" => rest,
        _ => return None,
    };
    if count.is_empty() || !count.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(count).ok()?.parse().ok()
}

/// Transaction status reported by ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    Idle,
    InTransaction,
    Failed,
}

pub fn ready_status(body: &[u8]) -> Option<TransactionStatus> {
    match body {
        [b'I'] => Some(TransactionStatus::Idle),
        [b'T'] => Some(TransactionStatus::InTransaction),
        [b'E'] => Some(TransactionStatus::Failed),
        _ => None,
    }
}

/// The parameter type OIDs of a ParameterDescription.
pub fn parameter_types(body: &[u8]) -> Result<Vec<u32>, DecodeError> {
    let mut r = Reader::new(body);
    let n = r.count("parameter count")?;
    let raw = r.bytes(n * 4, "parameter types")?;
    Ok(raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// The server process id and cancel key of a BackendKeyData.
pub fn backend_key(body: &[u8]) -> Result<(i32, &[u8]), DecodeError> {
    let mut r = Reader::new(body);
    let pid = r.i32("process id")?;
    Ok((pid, r.rest()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_command_tags() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"SELECT 3\0", Some(3)),
            (b"INSERT 0 5\0", Some(5)),
            (b"UPDATE 0\0", Some(0)),
            (b"DELETE 12\0", Some(12)),
            (b"MERGE 2\0", Some(2)),
            (b"FETCH 100\0", Some(100)),
            (b"MOVE 7\0", Some(7)),
            (b"COPY 200000\0", Some(200_000)),
            (b"SELECT 18446744073709551615\0", Some(u64::MAX)),
            (b"SELECT 18446744073709551616\0", None),
            (b"CREATE TABLE\0", None),
            (b"BEGIN\0", None),
            (b"COPY\0", None),
            (b"INSERT 0\0", None),
            (b"SELECT -1\0", None),
            (b"SELECT \0", None),
            (b"SELECT 4", Some(4)),
            (b"", None),
        ];
        for (tag, rows) in cases {
            assert_eq!(command_rows(tag), *rows, "{}", String::from_utf8_lossy(tag));
        }
    }

    #[test]
    fn ready_for_query_and_descriptions() {
        assert_eq!(ready_status(b"I"), Some(TransactionStatus::Idle));
        assert_eq!(ready_status(b"T"), Some(TransactionStatus::InTransaction));
        assert_eq!(ready_status(b"E"), Some(TransactionStatus::Failed));
        assert_eq!(ready_status(b""), None);
        assert_eq!(
            parameter_types(b"\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19"),
            Ok(vec![23, 25])
        );
        assert!(parameter_types(b"\x00\x02\x00\x00\x00\x17").is_err());
        assert_eq!(
            backend_key(b"\x00\x00\x30\x39abcd"),
            Ok((12345, &b"abcd"[..]))
        );
        assert!(backend_key(b"\x00\x00").is_err());
    }
}
