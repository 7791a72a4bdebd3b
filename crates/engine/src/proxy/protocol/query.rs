//! The simple-query message (`Q`): one string that may hold several statements.

/// The SQL text of a Query body: the bytes before its terminating NUL. A body with no NUL (a
/// message cut short because it exceeded the inspection limit, or a malformed one the server
/// will reject) yields all its bytes.
pub fn sql(body: &[u8]) -> &[u8] {
    body.iter()
        .position(|&b| b == 0)
        .map_or(body, |end| &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_text() {
        assert_eq!(sql(b"SELECT 1; SELECT 2\0"), b"SELECT 1; SELECT 2");
        assert_eq!(sql(b"\0"), b"");
        assert_eq!(sql(b"SELECT 'cut"), b"SELECT 'cut");
        assert_eq!(sql(b""), b"");
    }
}
