//! Saved target-database connections in the registry: a name, a URL without its password, and
//! a reference saying where the password comes from when the connection is used.

use std::fmt::{self, Write as _};

use serde::Serialize;

use super::{Backend, Registry, RegistryError, now};

/// Where a connection's password comes from at use. The password itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SecretRef {
    /// No password (trust auth, a local socket, SQLite).
    None,
    /// The environment variable of this name holds it.
    Env(String),
    /// `~/.pgpass` (or `$PGPASSFILE`) holds it (PostgreSQL reads it when no password is given).
    Pgpass,
    /// Ask the user every time the connection is used.
    Prompt,
}

impl SecretRef {
    /// The stored form: `none`, `env:VAR`, `pgpass`, `prompt`.
    pub fn encode(&self) -> String {
        match self {
            SecretRef::None => "none".to_owned(),
            SecretRef::Env(var) => format!("env:{var}"),
            SecretRef::Pgpass => "pgpass".to_owned(),
            SecretRef::Prompt => "prompt".to_owned(),
        }
    }

    /// Parse the stored form (anything unknown reads as `None`).
    pub fn decode(text: &str) -> SecretRef {
        match text {
            "pgpass" => SecretRef::Pgpass,
            "prompt" => SecretRef::Prompt,
            other => match other.strip_prefix("env:") {
                Some(var) if !var.is_empty() => SecretRef::Env(var.to_owned()),
                _ => SecretRef::None,
            },
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::None => f.write_str("no password"),
            SecretRef::Env(var) => write!(f, "password from ${var}"),
            SecretRef::Pgpass => f.write_str("password from ~/.pgpass"),
            SecretRef::Prompt => f.write_str("password asked at use"),
        }
    }
}

/// A connection as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedConnection {
    pub connection_id: String,
    pub name: String,
    /// The URL, never with a password.
    pub url: String,
    pub secret: SecretRef,
    pub created_at: String,
}

const INSERT: &str = "INSERT INTO connections (connection_id, name, url, secret, created_at) \
     VALUES ($1, $2, $3, $4, $5)";
const LIST: &str =
    "SELECT connection_id, name, url, secret, created_at FROM connections ORDER BY name";
const DELETE: &str = "DELETE FROM connections WHERE connection_id = $1 OR name = $1";
const NAME_TAKEN: &str = "SELECT connection_id FROM connections WHERE name = $1";

impl Registry {
    /// Save a connection. Refuses a URL that carries a password (store a [`SecretRef`]).
    pub async fn add_connection(
        &self,
        name: &str,
        url: &str,
        secret: SecretRef,
    ) -> Result<SavedConnection, RegistryError> {
        super::check_name(name)?;
        if password(url).is_some() {
            return Err(RegistryError::PasswordInUrl(crate::db::redact(url)));
        }
        let saved = SavedConnection {
            connection_id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            url: url.to_owned(),
            secret,
            created_at: now(),
        };
        let duplicate = |e: sqlx::Error| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                RegistryError::DuplicateConnection(name.to_owned())
            }
            _ => RegistryError::Sqlx(e),
        };
        on_backend!(self, pool => {
            let taken: Option<String> =
                sqlx::query_scalar(NAME_TAKEN).bind(name).fetch_optional(pool).await?;
            if taken.is_some() {
                return Err(RegistryError::DuplicateConnection(name.to_owned()));
            }
            sqlx::query(INSERT)
                .bind(&saved.connection_id)
                .bind(&saved.name)
                .bind(&saved.url)
                .bind(saved.secret.encode())
                .bind(&saved.created_at)
                .execute(pool)
                .await
                .map_err(duplicate)?;
        });
        Ok(saved)
    }

    /// Every saved connection, by name.
    pub async fn connections(&self) -> Result<Vec<SavedConnection>, RegistryError> {
        let rows: Vec<(String, String, String, String, String)> =
            on_backend!(self, pool => sqlx::query_as(LIST).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(connection_id, name, url, secret, created_at)| SavedConnection {
                    connection_id,
                    name,
                    url,
                    secret: SecretRef::decode(&secret),
                    created_at,
                },
            )
            .collect())
    }

    /// Delete the connection `name_or_id`.
    pub async fn delete_connection(&self, name_or_id: &str) -> Result<(), RegistryError> {
        let removed = on_backend!(self, pool => {
            sqlx::query(DELETE).bind(name_or_id).execute(pool).await?.rows_affected()
        });
        if removed == 0 {
            return Err(RegistryError::ConnectionNotFound(name_or_id.to_owned()));
        }
        Ok(())
    }
}

/// The password a URL carries, if any (`scheme://user:password@host/…`).
pub fn password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password)
}

/// The URL without its password (and the password, if there was one).
pub fn strip_password(url: &str) -> (String, Option<String>) {
    let Some(pw) = password(url) else {
        return (url.to_owned(), None);
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = rest
        .split_once('/')
        .map_or((rest, None), |(a, t)| (a, Some(t)));
    let (userinfo, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let tail = tail.map_or_else(String::new, |t| format!("/{t}"));
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(pw.to_owned()),
    )
}

/// The URL with `password` inserted after the user name (percent-encoded). A URL without a
/// user name gets none (the password is ignored).
pub fn with_password(url: &str, password: &str) -> String {
    let (url, _) = strip_password(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url;
    };
    let mut encoded = String::new();
    for byte in password.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    format!("{scheme}://{}:{encoded}{}", &rest[..at], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_stripped_and_inserted() {
        assert_eq!(password("postgres://u:pw@h/db"), Some("pw"));
        assert_eq!(password("postgres://u@h/db"), None);
        assert_eq!(password("sqlite://a:b.db"), None);
        assert_eq!(
            strip_password("postgres://u:pw@h:5432/db?x=1"),
            (
                "postgres://u@h:5432/db?x=1".to_owned(),
                Some("pw".to_owned())
            )
        );
        assert_eq!(
            with_password("mysql://root@127.0.0.1:3306/test", "p@ss word"),
            "mysql://root:p%40ss%20word@127.0.0.1:3306/test"
        );
        assert_eq!(with_password("postgres://h/db", "x"), "postgres://h/db");
    }

    #[test]
    fn secret_refs_round_trip() {
        for s in [
            SecretRef::None,
            SecretRef::Env("PGPASS_SHOP".into()),
            SecretRef::Pgpass,
            SecretRef::Prompt,
        ] {
            assert_eq!(SecretRef::decode(&s.encode()), s);
        }
    }

    #[tokio::test]
    async fn connections_are_saved_listed_and_deleted_without_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(Some(&dir.path().join("r.db").display().to_string()))
            .await
            .unwrap();
        let err = registry
            .add_connection("shop", "postgres://u:secret@h/db", SecretRef::None)
            .await
            .unwrap_err();
        assert!(matches!(err, RegistryError::PasswordInUrl(ref u) if !u.contains("secret")));
        registry
            .add_connection(
                "shop",
                "postgres://u@h/db",
                SecretRef::Env("SHOP_PW".into()),
            )
            .await
            .unwrap();
        let dup = registry
            .add_connection("shop", "sqlite://x.db", SecretRef::None)
            .await
            .unwrap_err();
        assert!(matches!(dup, RegistryError::DuplicateConnection(_)));
        let list = registry.connections().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].secret, SecretRef::Env("SHOP_PW".into()));
        registry.delete_connection("shop").await.unwrap();
        assert!(registry.connections().await.unwrap().is_empty());
        assert!(matches!(
            registry.delete_connection("shop").await.unwrap_err(),
            RegistryError::ConnectionNotFound(_)
        ));
    }
}
