//! The keywords the fingerprinter knows: which words print in upper case, and which ones
//! change how the next tokens read (a `-` after `WHERE` is a sign, after a column a minus).
//! Looked up in a hash table built at compile time: one probe for most identifiers.

// Inlined into the per-token loop on purpose (measured with callgrind).
#![allow(clippy::inline_always)]

use super::hash::{load_short, lower8};

/// What a keyword does to the tokens around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    /// A reserved word after which an operand starts (`SELECT`, `WHERE`, `AND`, `LIMIT`, …).
    Reserved,
    /// A reserved word written like a function: no space before its `(` (`ANY`, `CAST`, …).
    Call,
    /// `ARRAY`: like [`Kw::Call`], and its `[…]` of values collapses like an IN-list.
    Array,
    /// A word that ends an operand (`END`, `CURRENT_DATE`) or that no operand follows
    /// (`BEGIN`, `NOTHING`): printed in upper case, read like an identifier. Words that are
    /// often column names (`key`, `level`, `first`) are deliberately not keywords: a keyword
    /// prints in upper case, and `"level"` must print like `level`.
    Plain,
    In,
    Values,
    Is,
    Not,
    Null,
    /// `TRUE` or `FALSE`.
    Bool,
}

impl Kw {
    /// Whether an operand can end with this keyword (so a following `-` is a minus).
    pub(crate) fn ends_operand(self) -> bool {
        matches!(self, Kw::Plain | Kw::Null | Kw::Bool)
    }
}

const KEYWORDS: &[(&[u8], Kw)] = &[
    (b"in", Kw::In),
    (b"values", Kw::Values),
    (b"is", Kw::Is),
    (b"not", Kw::Not),
    (b"null", Kw::Null),
    (b"true", Kw::Bool),
    (b"false", Kw::Bool),
    (b"array", Kw::Array),
    (b"any", Kw::Call),
    (b"some", Kw::Call),
    (b"cast", Kw::Call),
    (b"row", Kw::Call),
    (b"coalesce", Kw::Call),
    (b"greatest", Kw::Call),
    (b"least", Kw::Call),
    (b"nullif", Kw::Call),
    (b"extract", Kw::Call),
    (b"if", Kw::Call),
    (b"all", Kw::Reserved),
    (b"and", Kw::Reserved),
    (b"as", Kw::Reserved),
    (b"asc", Kw::Reserved),
    (b"between", Kw::Reserved),
    (b"both", Kw::Reserved),
    (b"by", Kw::Reserved),
    (b"case", Kw::Reserved),
    (b"check", Kw::Reserved),
    (b"collate", Kw::Reserved),
    (b"constraint", Kw::Reserved),
    (b"create", Kw::Reserved),
    (b"cross", Kw::Reserved),
    (b"default", Kw::Reserved),
    (b"delete", Kw::Reserved),
    (b"desc", Kw::Reserved),
    (b"distinct", Kw::Reserved),
    (b"div", Kw::Reserved),
    (b"do", Kw::Reserved),
    (b"else", Kw::Reserved),
    (b"escape", Kw::Reserved),
    (b"except", Kw::Reserved),
    (b"exists", Kw::Reserved),
    (b"fetch", Kw::Reserved),
    (b"filter", Kw::Reserved),
    (b"for", Kw::Reserved),
    (b"foreign", Kw::Reserved),
    (b"from", Kw::Reserved),
    (b"full", Kw::Reserved),
    (b"group", Kw::Reserved),
    (b"having", Kw::Reserved),
    (b"ilike", Kw::Reserved),
    (b"inner", Kw::Reserved),
    (b"insert", Kw::Reserved),
    (b"intersect", Kw::Reserved),
    (b"interval", Kw::Reserved),
    (b"into", Kw::Reserved),
    (b"join", Kw::Reserved),
    (b"lateral", Kw::Reserved),
    (b"leading", Kw::Reserved),
    (b"left", Kw::Reserved),
    (b"like", Kw::Reserved),
    (b"limit", Kw::Reserved),
    (b"natural", Kw::Reserved),
    (b"offset", Kw::Reserved),
    (b"on", Kw::Reserved),
    (b"or", Kw::Reserved),
    (b"order", Kw::Reserved),
    (b"outer", Kw::Reserved),
    (b"over", Kw::Reserved),
    (b"partition", Kw::Reserved),
    (b"primary", Kw::Reserved),
    (b"references", Kw::Reserved),
    (b"regexp", Kw::Reserved),
    (b"returning", Kw::Reserved),
    (b"right", Kw::Reserved),
    (b"rlike", Kw::Reserved),
    (b"select", Kw::Reserved),
    (b"set", Kw::Reserved),
    (b"similar", Kw::Reserved),
    (b"straight_join", Kw::Reserved),
    (b"table", Kw::Reserved),
    (b"then", Kw::Reserved),
    (b"to", Kw::Reserved),
    (b"trailing", Kw::Reserved),
    (b"union", Kw::Reserved),
    (b"unique", Kw::Reserved),
    (b"update", Kw::Reserved),
    (b"using", Kw::Reserved),
    (b"when", Kw::Reserved),
    (b"where", Kw::Reserved),
    (b"window", Kw::Reserved),
    (b"with", Kw::Reserved),
    (b"xor", Kw::Reserved),
    (b"end", Kw::Plain),
    (b"current_date", Kw::Plain),
    (b"current_time", Kw::Plain),
    (b"current_timestamp", Kw::Plain),
    (b"current_user", Kw::Plain),
    (b"localtime", Kw::Plain),
    (b"localtimestamp", Kw::Plain),
    (b"session_user", Kw::Plain),
    (b"unknown", Kw::Plain),
    (b"begin", Kw::Plain),
    (b"commit", Kw::Plain),
    (b"rollback", Kw::Plain),
    (b"savepoint", Kw::Plain),
    (b"explain", Kw::Plain),
    (b"conflict", Kw::Plain),
    (b"nothing", Kw::Plain),
    (b"duplicate", Kw::Plain),
    (b"nulls", Kw::Plain),
    (b"recursive", Kw::Plain),
    (b"materialized", Kw::Plain),
    (b"nowait", Kw::Plain),
    (b"preceding", Kw::Plain),
    (b"following", Kw::Plain),
    (b"unbounded", Kw::Plain),
    (b"deallocate", Kw::Plain),
    (b"prepare", Kw::Plain),
    (b"execute", Kw::Plain),
    (b"vacuum", Kw::Plain),
    (b"concurrently", Kw::Plain),
    (b"cascade", Kw::Plain),
    (b"restrict", Kw::Plain),
    (b"grant", Kw::Plain),
    (b"revoke", Kw::Plain),
    (b"serializable", Kw::Plain),
];

const SLOTS: usize = 512;

/// The slot a word starts probing at, from its length and its first and last letters (with
/// the 0x20 bit set, so case does not matter).
const fn slot(len: usize, first: u8, last: u8) -> usize {
    (len.wrapping_mul(0x9e)
        ^ ((first | 0x20) as usize).wrapping_mul(37)
        ^ (((last | 0x20) as usize) << 3))
        % SLOTS
}

/// Open addressing with linear probing; an entry is an index into `KEYWORDS` plus one.
static TABLE: [u8; SLOTS] = {
    let mut table = [0u8; SLOTS];
    let mut i = 0;
    while i < KEYWORDS.len() {
        let word = KEYWORDS[i].0;
        let mut at = slot(word.len(), word[0], word[word.len() - 1]);
        while table[at] != 0 {
            at = (at + 1) % SLOTS;
        }
        table[at] = (i + 1) as u8;
        i += 1;
    }
    table
};

/// Every keyword's spelling as little-endian words of eight bytes (zero-padded).
static FOLDED: [[u64; 3]; KEYWORDS.len()] = {
    let mut folded = [[0u64; 3]; KEYWORDS.len()];
    let mut i = 0;
    while i < KEYWORDS.len() {
        let spelling = KEYWORDS[i].0;
        let mut j = 0;
        while j < spelling.len() {
            folded[i][j / 8] |= (spelling[j] as u64) << ((j % 8) * 8);
            j += 1;
        }
        i += 1;
    }
    folded
};

/// The longest keyword, in bytes.
const LONGEST: usize = 17;

/// The keyword `word` spells, case-insensitively.
#[inline(always)]
pub(crate) fn keyword(word: &[u8]) -> Option<Kw> {
    let n = word.len();
    if !(2..=LONGEST).contains(&n) {
        return None;
    }
    let mut at = slot(n, word[0], word[n - 1]);
    loop {
        let entry = usize::from(TABLE[at]);
        if entry == 0 {
            return None;
        }
        let (spelling, kw) = KEYWORDS[entry - 1];
        if spelling.len() == n && equal_folded(&FOLDED[entry - 1], word) {
            return Some(kw);
        }
        at = (at + 1) % SLOTS;
    }
}

/// Whether `word` (of the keyword's length) spells `folded` in any case.
#[inline]
fn equal_folded(folded: &[u64; 3], word: &[u8]) -> bool {
    let (chunks, rest) = word.as_chunks::<8>();
    for (i, chunk) in chunks.iter().enumerate() {
        if lower8(u64::from_le_bytes(*chunk)) != folded[i % 3] {
            return false;
        }
    }
    rest.is_empty() || lower8(load_short(rest)) == folded[chunks.len() % 3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_found_in_any_case() {
        for (spelling, kw) in KEYWORDS {
            assert_eq!(keyword(spelling), Some(*kw));
            assert_eq!(keyword(&spelling.to_ascii_uppercase()), Some(*kw));
        }
        assert!(KEYWORDS.len() < 255 && KEYWORDS.len() < SLOTS / 2);
    }

    #[test]
    fn other_words_are_not() {
        for word in [
            "orders",
            "a",
            "",
            "sélect",
            "selects",
            "selec",
            "_select",
            "in_",
            "customer_id",
        ] {
            assert_eq!(keyword(word.as_bytes()), None, "{word}");
        }
        assert_eq!(keyword(&[b'x'; 40]), None);
    }
}
