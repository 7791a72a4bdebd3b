//! Introspection of a live postgres database into a `Schema`.

use persona_core::Schema;
use sqlx::postgres::PgPool;

use crate::db::DbError;

pub(super) async fn introspect(_pool: &PgPool) -> Result<Schema, DbError> {
    Ok(Schema::default())
}
