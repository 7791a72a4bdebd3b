//! Query fingerprinting: a token-level normalizer that maps every statement of one shape
//! (whatever its literals, parameters, IN-list lengths, whitespace, keyword case and comments)
//! to one fingerprint.
//!
//! [`normalize`] prints the shape as text; [`fingerprint`] hashes exactly the bytes
//! [`normalize`] would print, in the same single pass over the input, without allocating.
//! So two statements share a fingerprint exactly when their normalized texts are equal
//! (up to 64-bit collisions), and [`Fingerprint::of_normalized`] recovers a fingerprint from a
//! stored normalized text.
//!
//! # What normalizes away
//!
//! - **Literals and parameters** print as `?`: strings in every spelling (`'…'` with `''`,
//!   `E'…'`, `N'…'`, `X'…'`, `B'…'`, `U&'…'`, `_utf8mb4'…'`, `$$…$$`, `$tag$…$tag$`, adjacent
//!   strings that the server concatenates), numbers (integers, decimals, exponents, `0x…`),
//!   `$1`, `?`, `:name`, `%s`, `%(name)s`. A sign in front of a value belongs to it where an
//!   operand starts (`x = -5`, `(+3)`, `VALUES (-1)`), never after an operand (`x - 5`).
//! - **`NULL`, `TRUE` and `FALSE` are values** (`x = NULL`, `flag = true` print `= ?`), because
//!   `pg_stat_statements` replaces them with `$n` and a log keeps them, and both must meet. They
//!   stay keywords where they are syntax: `IS [NOT] NULL`, `IS [NOT] TRUE/FALSE`, `NOT NULL`.
//! - **Lists**: an IN-list of values of any length prints `IN (?)` (also `IN ($1, $2)` and a
//!   MySQL digest's `IN (...)`), one of row values `IN ((?, ...))`, and an `ARRAY[…]` of values
//!   `ARRAY[?]`. `= ANY($1)` stays `= ANY(?)`, apart from `IN (?)`: it is a different plan
//!   shape (one array parameter, whatever its length) that drivers choose on purpose, and
//!   PostgreSQL reports it under its own query id. Elsewhere a run of two or more
//!   comma-separated values prints `?, ...` (`LIMIT 10, 20`, `SELECT 1, 2`, `f(x, 1, 2)`),
//!   which is what MySQL digests print too.
//! - **VALUES rows** keep their arity (`(?, ?)` and `(?, ?, ?)` differ) but any number of rows
//!   of one shape print as one row: `VALUES (1, 'a'), (2, 'b')` is `VALUES (?, ?)`. A MySQL
//!   digest's `VALUES (...)` is read with the arity of the column list before it, so
//!   `INSERT INTO t (a, b) VALUES (...)` matches `INSERT INTO t (a, b) VALUES (1, 2)`.
//! - **Spelling**: whitespace, comments (`--`, nested `/* */`, MySQL `#`, optimizer hints), the
//!   case of keywords (printed in upper case) and of unquoted identifiers (printed in lower
//!   case), `!=` versus `<>`, and a trailing `;` all disappear.
//! - **Quoted identifiers** drop their quotes where that reads back the same: `"orders"` and
//!   `` `orders` `` print `orders`. Double quotes keep the case, so `"Orders"` prints
//!   `"Orders"` (PostgreSQL keeps it apart from `orders`); backticks fold it, because MySQL
//!   compares column names without case and its digests backtick every name as it was written
//!   (`` SELECT * FROM `Orders` `` is the digest of `SELECT * FROM Orders`). A quoted name
//!   that is a keyword prints like the keyword (digests backtick `` `desc` ``, `` `filter` ``).
//!   Normalizing a normalized text changes nothing.
//!
//! What stays: tables, columns, operators, functions, casts, `ORDER BY` direction, `LIMIT`
//! present or absent, the number of columns written.
//!
//! # Dialects
//!
//! [`Flavor::Generic`] (what [`fingerprint`] and [`normalize`] use) reads both dialects:
//! backslash escapes in `'…'` (MySQL), falling back to PostgreSQL's reading when that leaves a
//! string open at the end (`ESCAPE '\'`); `"…"` is an identifier; `#` starts a comment only at
//! the start of a line and not as `#>`/`#-`/`##` (elsewhere it is PostgreSQL's XOR and JSON
//! path operator); `/*! … */` is MySQL's executable comment, whose content counts. Sources that
//! know their dialect use [`fingerprint_as`]: [`Flavor::Postgres`] reads `'C:\'` as
//! PostgreSQL does (standard-conforming strings) and `#` always as an operator;
//! [`Flavor::Mysql`] reads `"…"` as a string and `#` always as a comment. All flavors print in
//! one namespace: a statement that lexes the same way gets the same fingerprint.
//!
//! Known limits: a MySQL digest of an `INSERT` without a column list (`VALUES (...)` hides
//! the arity), a digest's `(_charset) ?`, `@?` and `(unknown)` placeholders, and a digest
//! truncated at `max_digest_length` do not meet their literal statements.

mod hash;
mod keyword;
mod lexer;
mod shape;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Dialect;

/// Which lexical rules to read a statement with. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavor {
    /// PostgreSQL and MySQL spellings both, where they do not conflict.
    #[default]
    Generic,
    /// PostgreSQL (and SQLite): standard-conforming strings, `#` is an operator.
    Postgres,
    /// MySQL and MariaDB: backslash escapes, `"…"` strings, `#` comments.
    Mysql,
}

impl From<Dialect> for Flavor {
    fn from(dialect: Dialect) -> Self {
        match dialect {
            Dialect::Postgres | Dialect::Sqlite => Flavor::Postgres,
            Dialect::Mysql => Flavor::Mysql,
        }
    }
}

/// The 64-bit fingerprint of a statement's shape. Prints (and serializes) as 16 lowercase
/// hexadecimal digits; the value is stable across runs, processes and machines.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(u64);

impl Fingerprint {
    pub const fn from_u64(value: u64) -> Self {
        Fingerprint(value)
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The fingerprint of an already normalized text (as [`normalize`] returns it).
    pub fn of_normalized(normalized: &str) -> Self {
        let mut hasher = hash::Hasher::default();
        hasher.bytes(normalized.as_bytes());
        Fingerprint(hasher.finish())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A string that is not 16 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a fingerprint is 16 hexadecimal digits, got {0:?}")]
pub struct ParseFingerprintError(String);

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseFingerprintError(s.to_owned()));
        }
        u64::from_str_radix(s, 16)
            .map(Fingerprint)
            .map_err(|_| ParseFingerprintError(s.to_owned()))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Fingerprint;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("16 hexadecimal digits")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Fingerprint, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The fingerprint of `sql`, read with [`Flavor::Generic`]. Never panics, never allocates.
pub fn fingerprint(sql: &str) -> Fingerprint {
    fingerprint_as(sql, Flavor::Generic)
}

/// The fingerprint of `sql`, read with the rules of `flavor`.
pub fn fingerprint_as(sql: &str, flavor: Flavor) -> Fingerprint {
    Fingerprint(
        shape::Shaper::new(sql, flavor, hash::Hasher::default())
            .finish()
            .finish(),
    )
}

/// The normalized text of `sql` (read with [`Flavor::Generic`]): keywords in upper case,
/// every literal and parameter as `?`, lists collapsed. Never panics.
pub fn normalize(sql: &str) -> String {
    normalize_as(sql, Flavor::Generic)
}

/// The normalized text of `sql`, read with the rules of `flavor`.
pub fn normalize_as(sql: &str, flavor: Flavor) -> String {
    let mut out = Vec::with_capacity(sql.len());
    out = shape::Shaper::new(sql, flavor, out).finish();
    // Token bounds fall on ASCII bytes and only ASCII letters change case, so this is UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
