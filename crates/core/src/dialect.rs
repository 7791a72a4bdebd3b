//! SQL dialects Persona Studio targets, and how each quotes identifiers and literals.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A target database dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL (first class).
    Postgres,
    /// MySQL and MariaDB.
    #[serde(alias = "mariadb")]
    Mysql,
    /// SQLite (the embedded default).
    Sqlite,
}

impl Dialect {
    /// Every dialect, in a stable order.
    pub const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite];

    /// The dialect a database URL speaks, from its scheme.
    pub fn from_url(url: &str) -> Option<Dialect> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            "sqlite" => Some(Dialect::Sqlite),
            _ => None,
        }
    }

    /// Stable lowercase name, as used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Quote an identifier so that the database sees exactly `name`, whatever it contains.
    pub fn quote_ident(self, name: &str) -> String {
        let q = match self {
            Dialect::Postgres | Dialect::Sqlite => '"',
            Dialect::Mysql => '`',
        };
        let mut out = String::with_capacity(name.len() + 2);
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// Quote a string literal for this dialect.
    pub fn quote_literal(self, value: &str) -> String {
        let mut out = String::with_capacity(value.len() + 2);
        out.push('\'');
        for c in value.chars() {
            match c {
                '\'' => out.push_str("''"),
                // MySQL treats backslash as an escape character in literals by default.
                '\\' if self == Dialect::Mysql => out.push_str("\\\\"),
                _ => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    /// The longest identifier the dialect accepts, in bytes (PostgreSQL) or characters (MySQL).
    pub fn max_identifier_len(self) -> Option<usize> {
        match self {
            Dialect::Postgres => Some(63),
            Dialect::Mysql => Some(64),
            Dialect::Sqlite => None,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown dialect name.
#[derive(Debug, thiserror::Error)]
#[error("unknown dialect `{0}` (expected postgres, mysql or sqlite)")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            "sqlite" | "sqlite3" => Ok(Dialect::Sqlite),
            _ => Err(UnknownDialect(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        let cases = [
            (Dialect::Postgres, r#"a"b"#, r#""a""b""#),
            (Dialect::Sqlite, "plain", r#""plain""#),
            (Dialect::Mysql, "a`b", "`a``b`"),
            (Dialect::Mysql, r#"a"b"#, r#"`a"b`"#),
        ];
        for (dialect, name, want) in cases {
            assert_eq!(dialect.quote_ident(name), want, "{dialect} {name}");
        }
    }

    #[test]
    fn literals_escape_quotes_and_mysql_backslashes() {
        assert_eq!(Dialect::Postgres.quote_literal(r"it's \n"), r"'it''s \n'");
        assert_eq!(Dialect::Mysql.quote_literal(r"it's \n"), r"'it''s \\n'");
    }

    #[test]
    fn dialect_from_url_scheme() {
        assert_eq!(Dialect::from_url("postgres://x"), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_url("postgresql://x"), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_url("mysql://x"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_url("mariadb://x"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_url("sqlite://x.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("http://x"), None);
        assert_eq!(Dialect::from_url("nothing"), None);
    }
}
