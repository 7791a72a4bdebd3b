//! DDL generation and normalization for sqlite.

use crate::{DataType, Schema};

pub(super) fn create_schema(_schema: &Schema) -> Vec<String> {
    Vec::new()
}

pub(super) fn drop_schema(_schema: &Schema) -> Vec<String> {
    Vec::new()
}

pub(super) fn column_type(data_type: DataType) -> String {
    data_type.to_string()
}

pub(super) fn normalize(schema: Schema) -> Schema {
    schema
}
