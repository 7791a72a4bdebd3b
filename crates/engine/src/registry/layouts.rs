//! Canvas layouts kept with each persona: where its tables sit on the schema canvas and how the
//! canvas is zoomed. A layout travels with the persona (a shared PostgreSQL registry shows every
//! user the same arrangement) but is not part of its schema: saving one makes no new version,
//! and it goes when the persona is deleted. The engine stores the GUI's JSON as it is.

use serde::Serialize;

use super::{Backend, BeginWrite as _, FIND, Registry, RegistryError, now};

/// A persona's stored canvas layout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredLayout {
    pub persona_id: String,
    /// The layout as the GUI wrote it.
    pub layout: serde_json::Value,
    pub updated_at: String,
}

const GET: &str =
    "SELECT CAST(layout AS TEXT), updated_at FROM persona_layouts WHERE persona_id = $1";

const UPSERT_SQLITE: &str = "INSERT INTO persona_layouts (persona_id, layout, updated_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (persona_id) DO UPDATE SET layout = excluded.layout, updated_at = excluded.updated_at";

const UPSERT_POSTGRES: &str = "INSERT INTO persona_layouts (persona_id, layout, updated_at) \
     VALUES ($1, CAST($2 AS JSONB), $3) \
     ON CONFLICT (persona_id) DO UPDATE SET layout = excluded.layout, updated_at = excluded.updated_at";

const DELETE: &str = "DELETE FROM persona_layouts WHERE persona_id = $1";

impl Registry {
    /// The canvas layout of the persona `name_or_id`, or None when it has none yet.
    pub async fn layout(&self, name_or_id: &str) -> Result<Option<StoredLayout>, RegistryError> {
        on_backend!(self, pool => {
            let Some((id, name, _)) = find_persona!(pool, name_or_id) else {
                return Err(RegistryError::NotFound(name_or_id.to_owned()));
            };
            let row: Option<(String, String)> =
                sqlx::query_as(GET).bind(&id).fetch_optional(pool).await?;
            let Some((text, updated_at)) = row else {
                return Ok(None);
            };
            let layout = serde_json::from_str(&text)
                .map_err(|source| RegistryError::CorruptLayout { name, source })?;
            Ok(Some(StoredLayout { persona_id: id, layout, updated_at }))
        })
    }

    /// Store `layout` as the canvas layout of the persona `name_or_id`, replacing the one it
    /// had. The persona's versions are untouched.
    pub async fn save_layout(
        &self,
        name_or_id: &str,
        layout: &serde_json::Value,
    ) -> Result<StoredLayout, RegistryError> {
        let text = layout.to_string();
        let updated_at = now();
        let upsert = match self.backend {
            Backend::Sqlite(_) => UPSERT_SQLITE,
            Backend::Postgres(_) => UPSERT_POSTGRES,
        };
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some((id, _, _)) = find_persona!(&mut *tx, name_or_id) else {
                return Err(RegistryError::NotFound(name_or_id.to_owned()));
            };
            sqlx::query(upsert)
                .bind(&id)
                .bind(&text)
                .bind(&updated_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(StoredLayout { persona_id: id, layout: layout.clone(), updated_at })
        })
    }

    /// Forget the canvas layout of the persona `name_or_id` (the canvas lays it out afresh).
    /// Returns whether there was one.
    pub async fn delete_layout(&self, name_or_id: &str) -> Result<bool, RegistryError> {
        on_backend!(self, pool => {
            let Some((id, _, _)) = find_persona!(pool, name_or_id) else {
                return Err(RegistryError::NotFound(name_or_id.to_owned()));
            };
            let gone = sqlx::query(DELETE).bind(&id).execute(pool).await?.rows_affected();
            Ok(gone > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use persona_core::Dialect;
    use serde_json::json;

    use super::*;
    use crate::testing::TestDb;

    fn persona(name: &str) -> persona_core::PersonaDefinition {
        let mut p = persona_core::template::load_builtin("audit_log").expect("template");
        name.clone_into(&mut p.name);
        p
    }

    fn layout(x: f32) -> serde_json::Value {
        json!({
            "positions": { "events": [x, 40.0], "actors": [0.0, 0.0] },
            "zoom": 0.75,
            "pan": [12.5, -3.0],
            "snap": true
        })
    }

    /// A layout is stored, replaced, kept across versions and renames, never versioned, and
    /// deleted with its persona.
    async fn layouts_follow_their_persona(reg: &Registry) {
        let shop = reg.create(&persona("shop"), "test").await.unwrap();
        let other = reg.create(&persona("other"), "test").await.unwrap();
        assert_eq!(reg.layout("shop").await.unwrap(), None);

        let saved = reg.save_layout("shop", &layout(120.0)).await.unwrap();
        assert_eq!(saved.persona_id, shop.persona_id);
        let got = reg.layout(&shop.persona_id).await.unwrap().unwrap();
        assert_eq!(got.layout, layout(120.0));
        assert_eq!(got.persona_id, shop.persona_id);
        // Replaced, not added; other personas are untouched; no persona version is made.
        reg.save_layout(&shop.persona_id, &layout(300.0))
            .await
            .unwrap();
        assert_eq!(
            reg.layout("shop").await.unwrap().unwrap().layout,
            layout(300.0)
        );
        assert_eq!(reg.layout("other").await.unwrap(), None);
        assert_eq!(reg.history("shop").await.unwrap().len(), 1);

        // A new version and a rename keep the layout (it belongs to the persona, by id).
        let mut next = reg.get("shop", None).await.unwrap();
        "store".clone_into(&mut next.name);
        reg.update("shop", &next, "renamed").await.unwrap();
        assert_eq!(
            reg.layout("store").await.unwrap().unwrap().layout,
            layout(300.0)
        );

        // Unknown personas are named in the error.
        for result in [
            reg.layout("nobody").await.map(|_| ()),
            reg.save_layout("nobody", &layout(1.0)).await.map(|_| ()),
            reg.delete_layout("nobody").await.map(|_| ()),
        ] {
            assert!(
                matches!(&result, Err(RegistryError::NotFound(n)) if n == "nobody"),
                "{result:?}"
            );
        }

        // Deleting the persona deletes its layout; the other persona's stays.
        reg.save_layout("other", &layout(5.0)).await.unwrap();
        reg.delete("store").await.unwrap();
        let left: Vec<String> = on_backend!(reg, pool => {
            sqlx::query_scalar("SELECT persona_id FROM persona_layouts")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(left, std::slice::from_ref(&other.persona_id));

        assert!(reg.delete_layout("other").await.unwrap());
        assert!(!reg.delete_layout("other").await.unwrap());
        assert_eq!(reg.layout("other").await.unwrap(), None);
    }

    #[tokio::test]
    async fn sqlite_layouts_follow_their_persona() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("registry.db").display());
        let reg = Registry::open(Some(&url)).await.unwrap();
        layouts_follow_their_persona(&reg).await;

        // Text that is not JSON (written by hand) is reported, not a panic.
        let p = reg.create(&persona("hand"), "test").await.unwrap();
        let Backend::Sqlite(pool) = &reg.backend else {
            panic!("expected SQLite")
        };
        sqlx::query("INSERT INTO persona_layouts VALUES ($1, '{not json', 'now')")
            .bind(&p.persona_id)
            .execute(pool)
            .await
            .unwrap();
        let err = reg.layout("hand").await.unwrap_err();
        assert!(
            matches!(&err, RegistryError::CorruptLayout { name, .. } if name == "hand"),
            "{err}"
        );
        reg.close().await;
    }

    #[tokio::test]
    async fn a_version_3_registry_gains_the_layouts_table_and_keeps_its_personas() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("registry.db").display());
        let reg = Registry::open(Some(&url)).await.unwrap();
        let created = reg.create(&persona("shop"), "test").await.unwrap();
        // Turn it back into a registry from before layouts.
        let Backend::Sqlite(pool) = &reg.backend else {
            panic!("expected SQLite")
        };
        sqlx::raw_sql(
            "DROP TABLE persona_layouts; DELETE FROM registry_migrations WHERE version = 4",
        )
        .execute(pool)
        .await
        .unwrap();
        reg.close().await;

        let reg = Registry::open(Some(&url)).await.unwrap();
        let Backend::Sqlite(pool) = &reg.backend else {
            panic!("expected SQLite")
        };
        let name: String =
            sqlx::query_scalar("SELECT name FROM registry_migrations WHERE version = 4")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(name, "layouts");
        assert_eq!(reg.get("shop", None).await.unwrap(), created);
        reg.save_layout("shop", &layout(1.0)).await.unwrap();
        assert_eq!(
            reg.layout("shop").await.unwrap().unwrap().layout,
            layout(1.0)
        );
        reg.close().await;
    }

    #[tokio::test]
    async fn postgres_layouts_follow_their_persona() {
        let Some(test) = TestDb::new(Dialect::Postgres).await else {
            return;
        };
        let reg = Registry::open(Some(&test.url)).await.unwrap();
        layouts_follow_their_persona(&reg).await;
        let Backend::Postgres(pool) = &reg.backend else {
            panic!("expected PostgreSQL")
        };
        let kind: String = sqlx::query_scalar(
            "SELECT data_type FROM information_schema.columns \
             WHERE table_name = 'persona_layouts' AND column_name = 'layout'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(kind, "jsonb");
        reg.close().await;
        test.cleanup().await;
    }
}
