//! Table-driven tests of validation: a clean base persona, and one mutation per problem kind.

use super::*;
use crate::template::{Format, parse_persona};
use crate::{
    AccessPattern, Check, Column, DataType, DefaultValue, ForeignKey, ForeignKeyAction, Index,
    IndexColumn, IndexMethod, PatternKind, SortOrder,
};

const BASE: &str = r#"
name = "Base"

[performance_profile]
read_ratio = 0.8
reads_per_sec = 80.0
writes_per_sec = 20.0

[[access_patterns]]
name = "customer_orders"
kind = "range_scan"
sql = "SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = $1 AND o.placed_at >= $2"

[[access_patterns]]
name = "place_order"
kind = "insert"
sql = "INSERT INTO orders (customer_id, total) VALUES ($1, $2)"

[[initial_schema.tables]]
name = "customers"
primary_key = ["id"]

[[initial_schema.tables.columns]]
name = "id"
type = "bigint"
nullable = false
identity = true

[[initial_schema.tables.columns]]
name = "email"
type = "varchar(255)"
nullable = false

[[initial_schema.tables.columns]]
name = "notes"
type = "text"

[[initial_schema.tables.indexes]]
columns = ["email"]
unique = true

[[initial_schema.tables]]
name = "orders"
primary_key = ["id"]

[[initial_schema.tables.columns]]
name = "id"
type = "bigint"
nullable = false
identity = true

[[initial_schema.tables.columns]]
name = "customer_id"
type = "bigint"
nullable = false

[[initial_schema.tables.columns]]
name = "total"
type = "decimal(12,2)"
nullable = false

[[initial_schema.tables.columns]]
name = "status"
type = "varchar(16)"
nullable = false
default = "'pending'"

[[initial_schema.tables.columns]]
name = "placed_at"
type = "timestamptz"
nullable = false
default = "CURRENT_TIMESTAMP"

[[initial_schema.tables.indexes]]
name = "orders_customer_idx"
columns = ["customer_id", { column = "placed_at", order = "desc" }]

[[initial_schema.tables.foreign_keys]]
columns = ["customer_id"]
ref_table = "customers"
ref_columns = ["id"]
on_delete = "cascade"

[[initial_schema.tables.checks]]
name = "orders_total_check"
expression = "total >= 0 AND status IN ('pending', 'paid')"

[data_hints.orders]
rows = 100

[data_hints.orders.columns]
customer_id = "fk"
total = "range(1, 500)"
status = "choice(pending, paid)"
"#;

fn base() -> PersonaDefinition {
    parse_persona(BASE, "base.toml", Format::Toml).unwrap()
}

fn table<'a>(p: &'a mut PersonaDefinition, name: &str) -> &'a mut Table {
    p.initial_schema.table_mut(name).unwrap()
}

fn col<'a>(p: &'a mut PersonaDefinition, t: &str, c: &str) -> &'a mut Column {
    table(p, t)
        .columns
        .iter_mut()
        .find(|x| x.name == c)
        .unwrap()
}

#[test]
fn the_base_persona_is_clean_everywhere() {
    let problems = validate(&base(), &Dialect::ALL);
    assert!(problems.is_empty(), "{problems:#?}");
}

type Mutation = fn(&mut PersonaDefinition);

/// (what, mutation, dialects, expected severity, expected path, expected message substring)
type Case = (
    &'static str,
    Mutation,
    &'static [Dialect],
    Severity,
    &'static str,
    &'static str,
);

const CASES: &[Case] = &[
    (
        "empty persona name",
        |p| p.name = " ".into(),
        &[],
        Severity::Error,
        "name",
        "no name",
    ),
    (
        "duplicate table",
        |p| {
            let t = p.initial_schema.tables[0].clone();
            p.initial_schema.tables.push(t);
        },
        &[],
        Severity::Error,
        "initial_schema.tables[customers]",
        "duplicate table name `customers`",
    ),
    (
        "duplicate column",
        |p| {
            table(p, "orders")
                .columns
                .push(Column::new("total", DataType::Integer));
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[total]",
        "duplicate column name `total`",
    ),
    (
        "empty column name",
        |p| col(p, "customers", "notes").name = String::new(),
        &[],
        Severity::Error,
        "initial_schema.tables[customers].columns[2]",
        "empty name",
    ),
    (
        "NUL in a name",
        |p| col(p, "customers", "notes").name = "no\0tes".into(),
        &[],
        Severity::Error,
        "initial_schema.tables[customers].columns[no\0tes]",
        "NUL character",
    ),
    (
        "unknown primary key column",
        |p| {
            table(p, "orders").primary_key = vec!["oid".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].primary_key[0]",
        "unknown column `oid` in the primary key",
    ),
    (
        "nullable primary key column",
        |p| col(p, "orders", "id").nullable = true,
        &[],
        Severity::Error,
        "initial_schema.tables[orders].primary_key[0]",
        "is nullable",
    ),
    (
        "identity on text",
        |p| col(p, "orders", "id").data_type = DataType::Varchar(20),
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[id].identity",
        "integer type",
    ),
    (
        "identity outside a single-column primary key",
        |p| {
            table(p, "orders").primary_key = vec!["id".into(), "customer_id".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[id].identity",
        "only primary-key column",
    ),
    (
        "unknown index column",
        |p| {
            table(p, "orders").indexes[0].columns[1] = IndexColumn::column("placed");
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].indexes[orders_customer_idx].columns[1]",
        "unknown column `placed`",
    ),
    (
        "unknown include column",
        |p| {
            table(p, "orders").indexes[0].include = vec!["amount".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].indexes[orders_customer_idx].include[0]",
        "unknown column `amount`",
    ),
    (
        "index expression naming an unknown column",
        |p| {
            table(p, "customers").indexes.push(Index {
                name: "customers_lower_email".into(),
                columns: vec![IndexColumn::expression("lower(mail)")],
                unique: false,
                predicate: None,
                include: vec![],
                method: IndexMethod::Btree,
            });
        },
        &[],
        Severity::Error,
        "initial_schema.tables[customers].indexes[customers_lower_email].columns[0]",
        "unknown column `mail`",
    ),
    (
        "predicate that does not parse",
        |p| {
            table(p, "orders").indexes[0].predicate = Some("status = = 'x'".into());
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].indexes[orders_customer_idx].predicate",
        "does not parse",
    ),
    (
        "check naming an unknown column",
        |p| {
            table(p, "orders").checks[0].expression = "amount > 0".into();
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].checks[orders_total_check].expression",
        "unknown column `amount`",
    ),
    (
        "fk to a missing table",
        |p| {
            table(p, "orders").foreign_keys[0].ref_table = "clients".into();
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].ref_table",
        "unknown table `clients`",
    ),
    (
        "fk to a missing column",
        |p| {
            table(p, "orders").foreign_keys[0].ref_columns = vec!["uid".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].ref_columns[0]",
        "has no column `uid`",
    ),
    (
        "fk from a missing column",
        |p| {
            table(p, "orders").foreign_keys[0].columns = vec!["client_id".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].columns[0]",
        "unknown column `client_id`",
    ),
    (
        "fk column count mismatch",
        |p| {
            table(p, "orders").foreign_keys[0].ref_columns = vec!["id".into(), "email".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey]",
        "1 column cannot reference 2 columns",
    ),
    (
        "fk type mismatch",
        |p| {
            table(p, "orders").foreign_keys[0].ref_columns = vec!["email".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].columns[0]",
        "not type-compatible",
    ),
    (
        "fk to a non-unique column",
        |p| {
            table(p, "customers").indexes.clear();
            col(p, "orders", "customer_id").data_type = DataType::Varchar(255);
            table(p, "orders").foreign_keys[0].ref_columns = vec!["email".into()];
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].ref_columns",
        "neither its primary key nor a unique index",
    ),
    (
        "set null on a not-null column",
        |p| {
            table(p, "orders").foreign_keys[0].on_delete = ForeignKeyAction::SetNull;
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].on_delete",
        "SET NULL on a NOT NULL column",
    ),
    (
        "unindexed foreign key",
        |p| {
            table(p, "orders").indexes.clear();
        },
        &[],
        Severity::Warning,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey]",
        "no index starts with the foreign-key column",
    ),
    (
        "redundant index",
        |p| {
            table(p, "orders").indexes.push(Index {
                name: "orders_customer_only".into(),
                columns: vec![IndexColumn::column("customer_id")],
                unique: false,
                predicate: None,
                include: vec![],
                method: IndexMethod::Btree,
            });
        },
        &[],
        Severity::Warning,
        "initial_schema.tables[orders].indexes[orders_customer_only]",
        "`orders_customer_idx` starts with the same columns",
    ),
    (
        "duplicate constraint name in a table",
        |p| {
            table(p, "orders").checks.push(Check {
                name: "orders_customer_idx".into(),
                expression: "total < 100000".into(),
            });
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].checks[orders_customer_idx]",
        "already has a index called that",
    ),
    (
        "index name shared across tables (postgres, sqlite)",
        |p| {
            table(p, "customers").indexes[0].name = "orders_customer_idx".into();
        },
        &[Dialect::Postgres, Dialect::Sqlite],
        Severity::Error,
        "initial_schema.tables[orders].indexes[orders_customer_idx]",
        "already used by an index of table `customers` (on postgres, sqlite)",
    ),
    (
        "index named like a table",
        |p| {
            table(p, "orders").indexes[0].name = "customers".into();
        },
        &[Dialect::Postgres],
        Severity::Error,
        "initial_schema.tables[orders].indexes[customers]",
        "already the name of a table (on postgres)",
    ),
    (
        "identifier too long for postgres",
        |p| col(p, "customers", "notes").name = "n".repeat(64),
        &[Dialect::Postgres],
        Severity::Error,
        "initial_schema.tables[customers].columns[nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]",
        "64 bytes long; PostgreSQL truncates names to 63 bytes",
    ),
    (
        "identifier too long for mysql",
        |p| col(p, "customers", "notes").name = "é".repeat(65),
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[customers].columns[ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé]",
        "65 characters long; the limit is 64",
    ),
    (
        "columns differing only in case on sqlite",
        |p| {
            table(p, "orders")
                .columns
                .push(Column::new("Total", DataType::Integer));
        },
        &[Dialect::Sqlite, Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[orders].columns[Total]",
        "differ only in case (on mysql, sqlite)",
    ),
    (
        "mysql decimal precision",
        |p| {
            col(p, "orders", "total").data_type = DataType::Decimal {
                precision: 70,
                scale: 2,
            }
        },
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[orders].columns[total].type",
        "precision 70 exceeds the maximum of 65 (on mysql)",
    ),
    (
        "mysql varchar too long",
        |p| col(p, "customers", "notes").data_type = DataType::Varchar(70_000),
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[customers].columns[notes].type",
        "exceeds the utf8mb4 maximum",
    ),
    (
        "mysql text in an index",
        |p| {
            table(p, "customers").indexes[0].columns = vec![IndexColumn::column("notes")];
        },
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[customers].indexes[customers_email_key]",
        "text column `notes` cannot be part of a key",
    ),
    (
        "mysql default on text",
        |p| col(p, "customers", "notes").default = Some(DefaultValue::Text("none".into())),
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[customers].columns[notes].default",
        "a text column cannot have a default",
    ),
    (
        "mysql key too long",
        |p| {
            col(p, "customers", "email").data_type = DataType::Varchar(1000);
        },
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[customers].indexes[customers_email_key]",
        "InnoDB allows 3072",
    ),
    (
        "mysql fk integer size mismatch",
        |p| col(p, "orders", "customer_id").data_type = DataType::Integer,
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].columns[0]",
        "MySQL requires the same type",
    ),
    (
        "mysql set default",
        |p| {
            col(p, "orders", "customer_id").default = Some(DefaultValue::Number("0".into()));
            table(p, "orders").foreign_keys[0].on_delete = ForeignKeyAction::SetDefault;
        },
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].on_delete",
        "InnoDB does not support SET DEFAULT",
    ),
    (
        "postgres gin on a varchar column",
        |p| {
            table(p, "customers").indexes.push(Index {
                name: "customers_email_gin".into(),
                columns: vec![IndexColumn::column("email")],
                unique: false,
                predicate: None,
                include: vec![],
                method: IndexMethod::Gin,
            });
        },
        &[Dialect::Postgres],
        Severity::Error,
        "initial_schema.tables[customers].indexes[customers_email_gin].columns[0]",
        "gin has no default operator class",
    ),
    (
        "postgres unique hash index",
        |p| {
            let ix = &mut table(p, "customers").indexes[0];
            ix.method = IndexMethod::Hash;
        },
        &[Dialect::Postgres],
        Severity::Error,
        "initial_schema.tables[customers].indexes[customers_email_key]",
        "only B-tree indexes can be unique",
    ),
    (
        "pattern sql syntax",
        |p| p.access_patterns[0].sql = "SELEC id FROM orders".into(),
        &[],
        Severity::Error,
        "access_patterns[customer_orders].sql",
        "SQL does not parse",
    ),
    (
        "pattern unknown table",
        |p| p.access_patterns[0].sql = "SELECT id FROM order_lines WHERE order_id = $1".into(),
        &[],
        Severity::Error,
        "access_patterns[customer_orders].sql",
        "unknown table `order_lines`",
    ),
    (
        "pattern unknown qualified column",
        |p| p.access_patterns[0].sql = "SELECT o.amount FROM orders o".into(),
        &[],
        Severity::Error,
        "access_patterns[customer_orders].sql",
        "unknown column `o.amount`: table `orders` has no column `amount`",
    ),
    (
        "pattern unknown unqualified column",
        |p| p.access_patterns[0].sql = "SELECT id FROM orders WHERE amount > $1".into(),
        &[],
        Severity::Error,
        "access_patterns[customer_orders].sql",
        "unknown column `amount` (not in `orders`)",
    ),
    (
        "pattern that is not DML",
        |p| p.access_patterns[0].sql = "DROP TABLE orders".into(),
        &[],
        Severity::Error,
        "access_patterns[customer_orders].sql",
        "must be a SELECT, INSERT, UPDATE or DELETE",
    ),
    (
        "pattern kind mismatch",
        |p| p.access_patterns[1].kind = PatternKind::TopN,
        &[],
        Severity::Warning,
        "access_patterns[place_order].sql",
        "kind is `top_n` but the statement is an INSERT",
    ),
    (
        "duplicate pattern name",
        |p| {
            let mut a: AccessPattern = p.access_patterns[0].clone();
            a.sql = "SELECT 1".into();
            p.access_patterns.push(a);
        },
        &[],
        Severity::Error,
        "access_patterns[customer_orders].name",
        "duplicate access pattern name",
    ),
    (
        "negative rate",
        |p| p.access_patterns[0].expected_rate_per_sec = -1.0,
        &[],
        Severity::Error,
        "access_patterns[customer_orders].expected_rate_per_sec",
        "non-negative",
    ),
    (
        "read ratio out of range",
        |p| p.performance_profile.read_ratio = 1.5,
        &[],
        Severity::Error,
        "performance_profile.read_ratio",
        "between 0 and 1",
    ),
    (
        "negative writes",
        |p| p.performance_profile.writes_per_sec = -5.0,
        &[],
        Severity::Error,
        "performance_profile.writes_per_sec",
        "non-negative",
    ),
    (
        "growth for an unknown table",
        |p| {
            p.performance_profile
                .growth_rows_per_day
                .insert("shipments".into(), 10);
        },
        &[],
        Severity::Error,
        "performance_profile.growth_rows_per_day.shipments",
        "unknown table `shipments`",
    ),
    (
        "hints for an unknown table",
        |p| {
            p.data_hints
                .insert("shipments".into(), crate::model::TableHints::default());
        },
        &[],
        Severity::Error,
        "data_hints.shipments",
        "unknown table `shipments`",
    ),
    (
        "hint for an unknown column",
        |p| {
            let h = p.data_hints.get_mut("orders").unwrap();
            h.columns.insert("amount".into(), "range(1, 2)".into());
        },
        &[],
        Severity::Error,
        "data_hints.orders.columns.amount",
        "has no column `amount`",
    ),
    (
        "hint that does not parse",
        |p| {
            let h = p.data_hints.get_mut("orders").unwrap();
            h.columns.insert("total".into(), "rnage(1, 2)".into());
        },
        &[],
        Severity::Error,
        "data_hints.orders.columns.total",
        "unknown generator `rnage`",
    ),
    (
        "hint of the wrong type",
        |p| {
            let h = p.data_hints.get_mut("orders").unwrap();
            h.columns.insert("total".into(), "email".into());
        },
        &[],
        Severity::Error,
        "data_hints.orders.columns.total",
        "cannot produce values for a decimal(12,2) column",
    ),
    (
        "fk hint on a plain column",
        |p| {
            let h = p.data_hints.get_mut("orders").unwrap();
            h.columns.insert("total".into(), "fk".into());
        },
        &[],
        Severity::Error,
        "data_hints.orders.columns.total",
        "not part of a foreign key",
    ),
    (
        "choice that does not fit",
        |p| {
            let h = p.data_hints.get_mut("orders").unwrap();
            h.columns.insert(
                "status".into(),
                "choice(pending, a_status_much_too_long)".into(),
            );
        },
        &[],
        Severity::Error,
        "data_hints.orders.columns.status",
        "choice `a_status_much_too_long` does not fit column type varchar(16)",
    ),
    (
        "too many indexes for the strategy",
        |p| p.indexing_strategy.max_indexes_per_table = Some(0),
        &[],
        Severity::Warning,
        "initial_schema.tables[customers].indexes",
        "more than the strategy's max_indexes_per_table of 0",
    ),
    (
        "descending brin on postgres",
        |p| {
            table(p, "orders").indexes.push(Index {
                name: "orders_placed_brin".into(),
                columns: vec![IndexColumn::ordered("placed_at", SortOrder::Desc)],
                unique: false,
                predicate: None,
                include: vec![],
                method: IndexMethod::Brin,
            });
        },
        &[Dialect::Postgres],
        Severity::Error,
        "initial_schema.tables[orders].indexes[orders_placed_brin]",
        "brin indexes do not support DESC",
    ),
    (
        "fk without ref_columns to a table without primary key",
        |p| {
            table(p, "customers").primary_key.clear();
            col(p, "customers", "id").identity = false;
            table(p, "orders").foreign_keys[0].ref_columns.clear();
        },
        &[],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].ref_columns",
        "no primary key to reference",
    ),
    (
        "mysql fk referencing a unique key out of order",
        |p| {
            table(p, "customers").indexes[0].columns =
                vec![IndexColumn::column("email"), IndexColumn::column("id")];
            let o = table(p, "orders");
            o.columns
                .push(Column::new("customer_email", DataType::Varchar(255)));
            o.foreign_keys[0].columns = vec!["customer_id".into(), "customer_email".into()];
            o.foreign_keys[0].ref_columns = vec!["id".into(), "email".into()];
        },
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey].ref_columns",
        "to lead the primary key or an index of `customers` in this order",
    ),
    (
        "mysql index called PRIMARY",
        |p| table(p, "orders").indexes[0].name = "Primary".into(),
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[orders].indexes[Primary]",
        "cannot be called PRIMARY",
    ),
    (
        "mysql lower() of a text column is still a text key",
        |p| {
            table(p, "customers").indexes.push(Index {
                name: "customers_notes_ci".into(),
                columns: vec![IndexColumn::expression("lower(notes)")],
                unique: false,
                predicate: None,
                include: vec![],
                method: IndexMethod::Btree,
            });
        },
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[customers].indexes[customers_notes_ci]",
        "text column `notes` cannot be part of a key",
    ),
    (
        "mysql check named like a json column",
        |p| {
            table(p, "orders")
                .columns
                .push(Column::new("extra", DataType::Json));
            table(p, "orders").checks[0].name = "extra".into();
        },
        &[Dialect::Mysql],
        Severity::Error,
        "initial_schema.tables[orders].checks[extra]",
        "named like a json column",
    ),
    (
        "mysql 8 check on a cascading foreign-key column",
        |p| table(p, "orders").checks[0].expression = "customer_id > 0".into(),
        &[Dialect::Mysql],
        Severity::Warning,
        "initial_schema.tables[orders].checks[orders_total_check].expression",
        "MySQL 8 refuses checks on `customer_id`",
    ),
    (
        "unique partial index on mysql",
        |p| table(p, "customers").indexes[0].predicate = Some("notes IS NULL".into()),
        &[Dialect::Mysql],
        Severity::Warning,
        "initial_schema.tables[customers].indexes[customers_email_key].predicate",
        "without UNIQUE",
    ),
    (
        "boolean default on an integer column",
        |p| col(p, "orders", "customer_id").default = Some(DefaultValue::Bool(true)),
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[customer_id].default",
        "a boolean default (true) does not fit a bigint column",
    ),
    (
        "default longer than its varchar",
        |p| col(p, "orders", "status").default = Some(DefaultValue::Text("x".repeat(17))),
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[status].default",
        "is longer than varchar(16)",
    ),
    (
        "default out of decimal range",
        |p| col(p, "orders", "total").default = Some(DefaultValue::Number("12345678901".into())),
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[total].default",
        "out of range for decimal(12,2)",
    ),
    (
        "text default on a numeric column",
        |p| col(p, "orders", "total").default = Some(DefaultValue::Text("free".into())),
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[total].default",
        "default `free` is not a number",
    ),
    (
        "default refused by an IN check",
        |p| col(p, "orders", "status").default = Some(DefaultValue::Text("new".into())),
        &[],
        Severity::Error,
        "initial_schema.tables[orders].columns[status].default",
        "default `new` is not allowed by check `orders_total_check` (status IN (pending, paid))",
    ),
    (
        "choice hint refused by an IN check",
        |p| {
            let h = p.data_hints.get_mut("orders").unwrap();
            h.columns
                .insert("status".into(), "choice(pending, shipped)".into());
        },
        &[],
        Severity::Error,
        "data_hints.orders.columns.status",
        "choice `shipped` is not allowed by check `orders_total_check`",
    ),
];

#[test]
fn each_mutation_yields_its_problem() {
    for (what, mutate, dialects, severity, path, message) in CASES {
        let mut p = base();
        mutate(&mut p);
        let problems = validate(&p, dialects);
        let found = problems
            .iter()
            .any(|x| x.severity == *severity && x.path == *path && x.message.contains(message));
        assert!(
            found,
            "{what}: expected {severity} at `{path}` containing `{message}`, got:\n{problems:#?}"
        );
    }
}

#[test]
fn dialect_specific_problems_need_their_dialect() {
    let mut p = base();
    col(&mut p, "customers", "notes").default = Some(DefaultValue::Text("none".into()));
    assert!(validate(&p, &[Dialect::Postgres, Dialect::Sqlite]).is_empty());
    assert_eq!(validate(&p, &[Dialect::Mysql]).len(), 1);
}

#[test]
fn gin_and_expression_indexes_are_not_mysql_key_problems() {
    // A GIN index on a json column is PostgreSQL-only; MySQL and SQLite do without it.
    let mut p = base();
    table(&mut p, "customers")
        .columns
        .push(Column::new("prefs", DataType::Json));
    table(&mut p, "customers").indexes.push(Index {
        name: "customers_prefs_gin".into(),
        columns: vec![IndexColumn::column("prefs")],
        unique: false,
        predicate: None,
        include: vec![],
        method: IndexMethod::Gin,
    });
    let problems = validate(&p, &Dialect::ALL);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn ensure_valid_lists_errors_first_and_names_the_origin() {
    let mut p = base();
    table(&mut p, "orders").indexes.clear(); // a warning
    p.access_patterns[0].sql = "SELECT nope FROM orders".into(); // an error
    let err = ensure_valid(&p, &Dialect::ALL, "personas/shop.toml").unwrap_err();
    assert_eq!(err.problems[0].severity, Severity::Error);
    let text = err.to_string();
    assert!(
        text.starts_with("personas/shop.toml: invalid persona: 1 error, 1 warning"),
        "{text}"
    );
    assert!(
        text.contains("error: access_patterns[customer_orders].sql: unknown column `nope`"),
        "{text}"
    );
    // Warnings alone pass, and are returned.
    table(&mut p, "orders").indexes.clear();
    p.access_patterns[0].sql = "SELECT id FROM orders".into();
    let warnings = ensure_valid(&p, &Dialect::ALL, "x").unwrap();
    assert_eq!(warnings.len(), 1);
}

#[test]
fn pattern_sql_can_be_checked_alone() {
    let schema = base().initial_schema;
    assert!(validate_pattern_sql(&schema, "SELECT email FROM customers WHERE id = $1").is_empty());
    let problems = validate_pattern_sql(&schema, "SELECT mail FROM customers");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "sql");
}

#[test]
fn unnamed_objects_get_derived_names_in_paths() {
    let mut p = base();
    p.initial_schema.tables[1].foreign_keys.push(ForeignKey {
        name: String::new(),
        columns: vec!["status".into()],
        ref_table: "nowhere".into(),
        ref_columns: vec!["id".into()],
        on_delete: ForeignKeyAction::NoAction,
        on_update: ForeignKeyAction::NoAction,
    });
    let problems = validate(&p, &[]);
    assert!(
        problems.iter().any(|x| x.path
            == "initial_schema.tables[orders].foreign_keys[orders_status_fkey].ref_table"),
        "{problems:#?}"
    );
}

#[test]
fn a_foreign_key_without_ref_columns_references_the_primary_key() {
    let mut p = base();
    table(&mut p, "orders").foreign_keys[0].ref_columns.clear();
    let problems = validate(&p, &Dialect::ALL);
    assert!(problems.is_empty(), "{problems:#?}");
    // ... and is type-checked against it.
    col(&mut p, "orders", "customer_id").data_type = DataType::Varchar(10);
    let problems = validate(&p, &[]);
    assert!(
        problems
            .iter()
            .any(|x| x.message.contains("`customers`.`id` (bigint)")),
        "{problems:#?}"
    );
}

#[test]
fn gin_on_text_is_fulltext_on_mysql_but_an_error_on_postgres() {
    let mut p = base();
    table(&mut p, "customers").indexes.push(Index {
        name: "customers_notes_ft".into(),
        columns: vec![IndexColumn::column("notes")],
        unique: false,
        predicate: None,
        include: vec![],
        method: IndexMethod::Gin,
    });
    assert!(validate(&p, &[Dialect::Mysql, Dialect::Sqlite]).is_empty());
    let problems = validate(&p, &[Dialect::Postgres]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0]
            .message
            .contains("gin has no default operator class")
    );
}
