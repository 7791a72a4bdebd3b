//! Effects of Persona Studio: database connections, provisioning, introspection and the
//! persona registry. Everything that touches the outside world lives here; the pure logic it
//! drives lives in `persona-core`.

pub mod capture;
pub mod control_plane;
pub mod db;
pub mod introspect;
pub mod provision;
pub mod proxy;
pub mod registry;
pub mod testing;

pub use db::{Database, DbError};
