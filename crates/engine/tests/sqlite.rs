//! SQLite provisioning and introspection against a real (temporary) SQLite database: the round
//! trip law `introspect(provision(s)) == normalize(s, Sqlite)` on a schema that uses every
//! feature, on hostile identifiers and on Northwind; behaviour the DDL promises (identities,
//! cascades, checks, partial unique indexes, dropping a cycle); and a database made by another
//! tool read back sensibly.

use persona_core::ddl::{self, normalize};
use persona_core::{DataType, Dialect, Schema};
use persona_engine::Database;
use persona_engine::introspect::introspect;
use persona_engine::provision::ProvisionOptions;
use persona_engine::testing::TestDb;
use sqlx::sqlite::SqlitePool;

async fn sqlite_db() -> TestDb {
    TestDb::new(Dialect::Sqlite)
        .await
        .expect("SQLite tests always run")
}

fn pool(db: &Database) -> &SqlitePool {
    match db {
        Database::Sqlite(pool) => pool,
        other => panic!("expected SQLite, got {}", other.dialect()),
    }
}

/// Create `schema` in `db` the way the product does.
async fn provision(db: &Database, schema: &Schema) {
    persona_engine::provision::provision(db, schema, ProvisionOptions::default())
        .await
        .unwrap_or_else(|e| panic!("provisioning failed: {e}"));
}

async fn count(db: &Database, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool(db))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Assert two schemas are equal table by table, so a failure names the table that differs.
fn assert_same(got: &Schema, want: &Schema) {
    let names = |s: &Schema| s.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "tables");
    for (g, w) in got.tables.iter().zip(&want.tables) {
        assert_eq!(g, w, "table {:?}", w.name);
    }
    assert_eq!(got, want);
}

/// A shop schema that uses every logical type, identity, each kind of default, composite /
/// descending / unique / partial / expression indexes, INCLUDE and non-B-tree indexes, foreign
/// keys with every action (a self reference and a cycle among them) and checks.
const SHOP: &str = r#"{ "tables": [
  { "name": "orders", "comment": "one row per checkout",
    "columns": [
      { "name": "id", "type": "integer", "nullable": false },
      { "name": "customer_id", "type": "bigint", "nullable": false },
      { "name": "status", "type": "varchar(20)", "nullable": false, "default": "'new'" },
      { "name": "placed_at", "type": "timestamp", "default": "CURRENT_TIMESTAMP" },
      { "name": "total", "type": "decimal(12,2)", "nullable": false, "default": "0.00" },
      { "name": "rank", "type": "integer", "default": "abs(-3) + 1" },
      { "name": "note", "type": "text", "default": "NULL", "comment": "free text" }
    ],
    "primary_key": ["id"],
    "foreign_keys": [
      { "name": "orders_customer_fk", "columns": ["customer_id"], "ref_table": "customers",
        "ref_columns": ["id"], "on_delete": "cascade" }
    ],
    "checks": [
      { "name": "orders_status_ck", "expression": "status IN ('new', 'paid', 'shipped')" },
      { "expression": "total >= 0" }
    ],
    "indexes": [
      { "columns": ["customer_id", { "column": "placed_at", "order": "desc" }],
        "include": ["total"] },
      { "name": "orders_open", "columns": ["placed_at"], "predicate": "status <> 'shipped'" }
    ]
  },
  { "name": "customers",
    "columns": [
      { "name": "id", "type": "bigint", "identity": true, "nullable": false },
      { "name": "email", "type": "varchar(255)", "nullable": false },
      { "name": "name", "type": "text", "nullable": false, "default": "'it''s me'" },
      { "name": "country", "type": "char(2)", "default": "'US'" },
      { "name": "active", "type": "boolean", "nullable": false, "default": "true" },
      { "name": "vip", "type": "boolean", "default": "false" },
      { "name": "score", "type": "real", "default": "-1.5" },
      { "name": "balance", "type": "double", "default": "0" },
      { "name": "age", "type": "smallint" },
      { "name": "external_id", "type": "uuid" },
      { "name": "profile", "type": "json", "default": "'{}'" },
      { "name": "born_on", "type": "date", "default": "CURRENT_DATE" },
      { "name": "wakes_at", "type": "time", "default": "'07:00:00'" },
      { "name": "created_at", "type": "timestamptz", "nullable": false,
        "default": "CURRENT_TIMESTAMP" },
      { "name": "avatar", "type": "bytes" },
      { "name": "referrer_id", "type": "bigint" }
    ],
    "primary_key": ["id"],
    "foreign_keys": [
      { "columns": ["referrer_id"], "ref_table": "customers", "ref_columns": ["id"],
        "on_delete": "set_null", "on_update": "restrict" }
    ],
    "checks": [ { "name": "customers_age_ck", "expression": "age BETWEEN 0 AND 150" } ],
    "indexes": [
      { "name": "customers_email_key", "columns": [{ "expression": "lower(email)" }],
        "unique": true },
      { "name": "customers_active_country", "columns": ["country", "name"],
        "predicate": "active = true AND country IS NOT NULL" },
      { "name": "customers_profile_gin", "columns": ["profile"], "method": "gin" },
      { "name": "customers_age_hash", "columns": ["age"], "method": "hash" },
      { "name": "customers_one_vip_per_country", "columns": ["country"], "unique": true,
        "predicate": "vip" }
    ]
  },
  { "name": "order_items",
    "columns": [
      { "name": "order_id", "type": "integer", "nullable": false },
      { "name": "line_no", "type": "smallint", "nullable": false },
      { "name": "sku", "type": "varchar(32)", "nullable": false },
      { "name": "qty", "type": "integer", "nullable": false, "default": "1" }
    ],
    "primary_key": ["order_id", "line_no"],
    "foreign_keys": [
      { "columns": ["order_id"], "ref_table": "orders", "ref_columns": ["id"],
        "on_delete": "cascade", "on_update": "cascade" },
      { "name": "order_items_sku_fk", "columns": ["sku"], "ref_table": "products",
        "ref_columns": ["sku"], "on_delete": "restrict" }
    ],
    "checks": [ { "name": "order_items_qty_ck", "expression": "qty > 0 AND qty < 1000" } ],
    "indexes": [ { "columns": ["sku", { "column": "qty", "order": "desc" }] } ]
  },
  { "name": "products",
    "columns": [
      { "name": "sku", "type": "varchar(32)", "nullable": false },
      { "name": "title", "type": "text", "nullable": false },
      { "name": "category_id", "type": "integer" },
      { "name": "price", "type": "decimal(10,2)", "nullable": false }
    ],
    "primary_key": ["sku"],
    "foreign_keys": [
      { "name": "products_category_fk", "columns": ["category_id"], "ref_table": "categories",
        "ref_columns": ["id"], "on_delete": "set_default" }
    ],
    "indexes": [
      { "name": "products_by_price", "columns": [{ "column": "price", "order": "desc" }, "sku"],
        "method": "brin" },
      { "name": "products_title", "columns": [{ "expression": "(title)" }] },
      { "name": "products_title_words", "columns": [{ "expression": "lower(title)" },
        { "expression": "length(title)", "order": "desc" }] }
    ]
  },
  { "name": "categories",
    "columns": [
      { "name": "id", "type": "integer", "identity": true },
      { "name": "name", "type": "text", "nullable": false },
      { "name": "featured_sku", "type": "varchar(32)" }
    ],
    "primary_key": ["id"],
    "foreign_keys": [
      { "name": "categories_featured_fk", "columns": ["featured_sku"], "ref_table": "products",
        "ref_columns": ["sku"] }
    ],
    "indexes": [ { "name": "categories_name_key", "columns": ["name"], "unique": true } ]
  }
] }"#;

fn shop() -> Schema {
    serde_json::from_str(SHOP).expect("the shop schema parses")
}

#[tokio::test]
async fn every_feature_round_trips_to_the_normalized_schema() {
    let t = sqlite_db().await;
    let schema = shop();
    provision(&t.db, &schema).await;
    let got = introspect(&t.db).await.unwrap();
    let want = normalize(&schema, Dialect::Sqlite);
    assert_same(&got, &want);

    // The decisions normalization describes are really what the database holds.
    let customers = got.table("customers").unwrap();
    assert!(customers.columns[0].identity);
    assert_eq!(customers.columns[0].data_type, DataType::BigInt);
    let categories = got.table("categories").unwrap();
    assert!(categories.columns[0].identity && !categories.columns[0].nullable);
    let orders = got.table("orders").unwrap();
    assert!(
        !orders.columns[0].identity,
        "an integer key without identity is not generated"
    );
    assert!(orders.indexes.iter().all(|ix| ix.include.is_empty()));
    let names: Vec<&str> = customers
        .indexes
        .iter()
        .map(|ix| ix.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "customers_active_country",
            "customers_age_hash",
            "customers_email_key",
            "customers_one_vip_per_country"
        ],
        "the gin index is not created; the hash index is a B-tree"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn provisioned_schema_behaves_as_declared() {
    let t = sqlite_db().await;
    let schema = shop();
    provision(&t.db, &schema).await;
    let db = &t.db;

    // Identity: generated, and never reused after the newest row is deleted (AUTOINCREMENT).
    for email in ["a@x", "b@x"] {
        db.execute(&format!("INSERT INTO customers (email) VALUES ('{email}')"))
            .await
            .unwrap();
    }
    assert_eq!(count(db, "SELECT max(id) FROM customers").await, 2);
    db.execute("DELETE FROM customers WHERE id = 2")
        .await
        .unwrap();
    db.execute("INSERT INTO customers (email) VALUES ('c@x')")
        .await
        .unwrap();
    assert_eq!(count(db, "SELECT max(id) FROM customers").await, 3);

    // Defaults of each kind are applied.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM customers WHERE name = 'it''s me' AND country = 'US' \
             AND active = 1 AND vip = 0 AND score = -1.5 AND profile = '{}' \
             AND born_on = date('now') AND created_at IS NOT NULL"
        )
        .await,
        2
    );

    // The unique expression index is case-insensitive; the partial one only covers VIPs.
    assert!(
        db.execute("INSERT INTO customers (email) VALUES ('A@X')")
            .await
            .is_err()
    );
    db.execute("INSERT INTO customers (email, vip) VALUES ('v1@x', 1)")
        .await
        .unwrap();
    assert!(
        db.execute("INSERT INTO customers (email, vip) VALUES ('v2@x', 1)")
            .await
            .is_err()
    );
    db.execute("INSERT INTO customers (email, vip, country) VALUES ('v2@x', 1, 'FR')")
        .await
        .unwrap();

    // Foreign keys, checks and cascades.
    db.execute("INSERT INTO orders (id, customer_id) VALUES (10, 1)")
        .await
        .unwrap();
    assert!(
        db.execute("INSERT INTO orders (id, customer_id) VALUES (11, 99)")
            .await
            .is_err()
    );
    assert!(
        db.execute("INSERT INTO orders (id, customer_id, status) VALUES (12, 1, 'lost')")
            .await
            .is_err()
    );
    assert!(
        db.execute("INSERT INTO orders (id, customer_id, total) VALUES (13, 1, -1)")
            .await
            .is_err()
    );
    assert_eq!(count(db, "SELECT rank FROM orders WHERE id = 10").await, 4);
    db.execute("INSERT INTO categories (name) VALUES ('tools')")
        .await
        .unwrap();
    db.execute("INSERT INTO products VALUES ('S1', 'Saw', 1, 9.99)")
        .await
        .unwrap();
    db.execute("UPDATE categories SET featured_sku = 'S1'")
        .await
        .unwrap();
    db.execute("INSERT INTO order_items (order_id, line_no, sku) VALUES (10, 1, 'S1')")
        .await
        .unwrap();
    db.execute("UPDATE categories SET featured_sku = NULL")
        .await
        .unwrap();
    assert!(
        db.execute("DELETE FROM products WHERE sku = 'S1'")
            .await
            .is_err(),
        "ON DELETE RESTRICT"
    );
    db.execute("UPDATE categories SET featured_sku = 'S1'")
        .await
        .unwrap();
    db.execute("UPDATE orders SET id = 20 WHERE id = 10")
        .await
        .unwrap();
    assert_eq!(
        count(db, "SELECT order_id FROM order_items").await,
        20,
        "ON UPDATE CASCADE"
    );
    db.execute("DELETE FROM customers WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(
        count(db, "SELECT count(*) FROM order_items").await,
        0,
        "ON DELETE CASCADE"
    );

    // Dropping in one transaction works although categories and products reference each
    // other and hold rows.
    let drop = ddl::drop_schema(&schema, Dialect::Sqlite);
    db.execute(&format!("BEGIN;\n{}COMMIT;\n", ddl::script(&drop)))
        .await
        .unwrap();
    assert_eq!(introspect(db).await.unwrap(), Schema::default());
    t.cleanup().await;
}

/// Names that break naive quoting, comment handling, keyword handling or the reading of
/// SQLite's stored `CREATE` text.
const HOSTILE: &[&str] = &[
    "a\"b",
    "Robert'); DROP TABLE students;--",
    "select",
    "CONSTRAINT",
    "check",
    "ünïcødé 表",
    "back`tick",
    "[bracket]",
    "with space",
    "-- not a comment",
    "/* nor this */",
    "x,y",
    "(paren",
    "new\nline",
    " padded ",
    "🦀",
    "Mixed Case",
];

fn hostile_schema() -> Schema {
    let q = |name: &str| Dialect::Postgres.quote_ident(name);
    let mut tables = Vec::new();
    for (i, name) in HOSTILE.iter().enumerate() {
        let value = format!("{name}·v");
        let parent = serde_json::json!({
            "name": name,
            "columns": [
                { "name": name, "type": "bigint", "identity": true },
                { "name": value, "type": "integer", "default": "1" },
                { "name": format!("{name}·t"), "type": "text", "default": format!("'{}'", name.replace('\'', "''")) }
            ],
            "primary_key": [name],
            "checks": [ { "name": name, "expression": format!("{} > 0", q(&value)) } ],
            "indexes": [
                { "name": format!("{name} ix{i}"),
                  "columns": [{ "expression": format!("lower({})", q(&format!("{name}·t"))) },
                              { "column": value, "order": "desc" }],
                  "unique": true,
                  "predicate": format!("{} IS NOT NULL", q(&value)) }
            ]
        });
        let child = serde_json::json!({
            "name": format!("{name} child"),
            "columns": [
                { "name": name, "type": "bigint", "nullable": false },
                { "name": "PRIMARY", "type": "varchar(10)" }
            ],
            "primary_key": [name, "PRIMARY"],
            "foreign_keys": [
                { "name": name, "columns": [name], "ref_table": name, "ref_columns": [name],
                  "on_delete": "cascade" }
            ],
            "indexes": [ { "name": format!("{name} child ix{i}"), "columns": ["PRIMARY"] } ]
        });
        tables.push(parent);
        tables.push(child);
    }
    serde_json::from_value(serde_json::json!({ "tables": tables })).expect("hostile schema")
}

#[tokio::test]
async fn hostile_identifiers_round_trip() {
    let t = sqlite_db().await;
    let schema = hostile_schema();
    provision(&t.db, &schema).await;
    let got = introspect(&t.db).await.unwrap();
    assert_eq!(got.tables.len(), HOSTILE.len() * 2);
    assert_same(&got, &normalize(&schema, Dialect::Sqlite));

    // The names are exactly those asked for: rows go in and come out under them.
    let name = HOSTILE[1];
    let q = |n: &str| Dialect::Sqlite.quote_ident(n);
    t.db.execute(&format!(
        "INSERT INTO {} ({}) VALUES (5)",
        q(name),
        q(&format!("{name}·v"))
    ))
    .await
    .unwrap();
    assert_eq!(
        count(
            &t.db,
            &format!("SELECT {} FROM {}", q(&format!("{name}·v")), q(name))
        )
        .await,
        5
    );
    let drop = ddl::drop_schema(&schema, Dialect::Sqlite);
    t.db.execute(&format!("BEGIN;\n{}COMMIT;\n", ddl::script(&drop)))
        .await
        .unwrap();
    assert_eq!(introspect(&t.db).await.unwrap(), Schema::default());
    t.cleanup().await;
}

/// A database made by another tool: loose types, no types, `AUTOINCREMENT`, `WITHOUT ROWID`,
/// column-level constraints, unnamed constraints, names in another case than declared, a
/// virtual table, a view.
const FOREIGN: &str = r#"
CREATE TABLE "Customers" (
  CustomerID INTEGER PRIMARY KEY AUTOINCREMENT,
  Name NVARCHAR(40) NOT NULL,
  Joined DATETIME DEFAULT CURRENT_TIMESTAMP,
  Flags INT DEFAULT 0,
  Misc,
  Price NUMERIC(10,2),
  Email TEXT UNIQUE,
  Code varchar(10) COLLATE NOCASE,
  CONSTRAINT uq_name UNIQUE (Name, Joined)
);
CREATE TABLE Orders (
  OrderID integer primary key,
  CustomerID INTEGER REFERENCES customers (customerid) ON DELETE SET NULL,
  OrderDate TIMESTAMP, -- a comment with a ) in it
  Total REAL CHECK (Total >= 0)
);
CREATE INDEX idx_orders_customer ON Orders (CustomerID, OrderDate DESC);
CREATE TABLE [Order Details] (
  OrderID INT NOT NULL REFERENCES Orders,
  ProductID int CONSTRAINT fk_prod REFERENCES Products(id) ON DELETE CASCADE,
  Qty SMALLINT CHECK (Qty > 0) CONSTRAINT qty_small CHECK (Qty < 1000),
  PRIMARY KEY (OrderID, ProductID)
) WITHOUT ROWID;
CREATE TABLE Products (id integer PRIMARY KEY DESC, label STRING, data BLOB, weight FLOAT,
  payload JSON);
CREATE VIRTUAL TABLE docs USING fts5(body);
CREATE VIEW big_orders AS SELECT * FROM Orders WHERE Total > 100;
"#;

const FOREIGN_EXPECTED: &str = r#"{ "tables": [
  { "name": "Customers",
    "columns": [
      { "name": "CustomerID", "type": "bigint", "nullable": false, "identity": true },
      { "name": "Name", "type": "varchar(40)", "nullable": false },
      { "name": "Joined", "type": "timestamp", "default": "CURRENT_TIMESTAMP" },
      { "name": "Flags", "type": "integer", "default": "0" },
      { "name": "Misc", "type": "bytes" },
      { "name": "Price", "type": "decimal(10,2)" },
      { "name": "Email", "type": "text" },
      { "name": "Code", "type": "varchar(10)" }
    ],
    "primary_key": ["CustomerID"],
    "indexes": [
      { "name": "Customers_Email_key", "columns": ["Email"], "unique": true },
      { "name": "uq_name", "columns": ["Name", "Joined"], "unique": true }
    ]
  },
  { "name": "Order Details",
    "columns": [
      { "name": "OrderID", "type": "integer", "nullable": false },
      { "name": "ProductID", "type": "integer", "nullable": false },
      { "name": "Qty", "type": "smallint" }
    ],
    "primary_key": ["OrderID", "ProductID"],
    "foreign_keys": [
      { "name": "Order Details_OrderID_fkey", "columns": ["OrderID"], "ref_table": "Orders",
        "ref_columns": ["OrderID"] },
      { "name": "fk_prod", "columns": ["ProductID"], "ref_table": "Products",
        "ref_columns": ["id"], "on_delete": "cascade" }
    ],
    "checks": [
      { "name": "Order Details_check1", "expression": "\"Qty\" > 0" },
      { "name": "qty_small", "expression": "\"Qty\" < 1000" }
    ]
  },
  { "name": "Orders",
    "columns": [
      { "name": "OrderID", "type": "bigint", "nullable": false, "identity": true },
      { "name": "CustomerID", "type": "integer" },
      { "name": "OrderDate", "type": "timestamp" },
      { "name": "Total", "type": "real" }
    ],
    "primary_key": ["OrderID"],
    "foreign_keys": [
      { "name": "Orders_CustomerID_fkey", "columns": ["CustomerID"], "ref_table": "Customers",
        "ref_columns": ["CustomerID"], "on_delete": "set_null" }
    ],
    "checks": [ { "name": "Orders_check1", "expression": "\"Total\" >= 0" } ],
    "indexes": [
      { "name": "idx_orders_customer",
        "columns": ["CustomerID", { "column": "OrderDate", "order": "desc" }] }
    ]
  },
  { "name": "Products",
    "columns": [
      { "name": "id", "type": "integer", "nullable": true },
      { "name": "label", "type": "double" },
      { "name": "data", "type": "bytes" },
      { "name": "weight", "type": "double" },
      { "name": "payload", "type": "json" }
    ],
    "primary_key": ["id"]
  }
] }"#;

#[tokio::test]
async fn a_database_made_elsewhere_reads_back_sensibly() {
    let t = sqlite_db().await;
    t.db.execute(FOREIGN).await.unwrap();
    let got = introspect(&t.db).await.unwrap();
    let want: Schema = serde_json::from_str(FOREIGN_EXPECTED).unwrap();
    assert_same(&got, &want);

    // What was read provisions again and reads back as its own normalization.
    let again = sqlite_db().await;
    provision(&again.db, &got).await;
    assert_same(
        &introspect(&again.db).await.unwrap(),
        &normalize(&got, Dialect::Sqlite),
    );
    again.cleanup().await;
    t.cleanup().await;
}

/// Northwind, from the PostgreSQL dump in the shared data sets, loaded into SQLite with its
/// keys folded into `CREATE TABLE` (SQLite cannot add constraints later).
fn northwind_sqlite(dump: &str) -> (String, Vec<String>) {
    let mut creates: Vec<(String, String)> = Vec::new();
    let mut inserts = Vec::new();
    let mut statement = String::new();
    for line in dump.lines() {
        if statement.is_empty() && (line.starts_with("--") || line.trim().is_empty()) {
            continue;
        }
        statement.push_str(line);
        statement.push('\n');
        if !line.trim_end().ends_with(';') {
            continue;
        }
        let s = std::mem::take(&mut statement);
        if let Some(rest) = s.strip_prefix("CREATE TABLE ") {
            let name = rest.split_whitespace().next().unwrap().to_owned();
            let body = s
                .trim_end()
                .strip_suffix(");")
                .unwrap()
                .trim_end()
                .to_owned();
            creates.push((name, body));
        } else if let Some(rest) = s.strip_prefix("ALTER TABLE ONLY ") {
            let (table, constraint) = rest.split_once('\n').unwrap();
            let constraint = constraint
                .trim()
                .strip_prefix("ADD ")
                .unwrap()
                .trim_end_matches(';');
            let create = creates.iter_mut().find(|(n, _)| n == table.trim()).unwrap();
            create.1.push_str(",\n    ");
            create.1.push_str(constraint);
        } else if s.starts_with("INSERT INTO ") {
            inserts.push(s);
        }
    }
    let mut script = String::new();
    for (_, body) in creates {
        script.push_str(&body);
        script.push_str("\n);\n");
    }
    (script, inserts)
}

#[tokio::test]
async fn northwind_loads_and_round_trips() {
    let Some(dir) = persona_engine::testing::datasets_dir() else {
        return;
    };
    let dump = std::fs::read_to_string(dir.join("northwind/northwind.sql")).unwrap();
    let (ddl_script, inserts) = northwind_sqlite(&dump);
    let t = sqlite_db().await;
    // The dump inserts children before parents: load with enforcement off, then verify.
    t.db.execute(&format!(
        "PRAGMA foreign_keys = OFF;\nBEGIN;\n{ddl_script}{}COMMIT;\nPRAGMA foreign_keys = ON;\n",
        inserts.concat()
    ))
    .await
    .unwrap();
    assert_eq!(
        count(&t.db, "SELECT count(*) FROM pragma_foreign_key_check").await,
        0
    );
    assert_eq!(
        count(&t.db, "SELECT count(*) FROM order_details").await,
        2155
    );

    let got = introspect(&t.db).await.unwrap();
    assert_eq!(got.tables.len(), 14);
    let orders = got.table("orders").unwrap();
    assert_eq!(orders.primary_key, ["order_id"]);
    assert_eq!(
        orders.column("order_id").unwrap().data_type,
        DataType::SmallInt
    );
    assert_eq!(
        orders.column("ship_name").unwrap().data_type,
        DataType::Varchar(40)
    );
    assert_eq!(orders.column("freight").unwrap().data_type, DataType::Real);
    let fk = orders
        .foreign_keys
        .iter()
        .find(|fk| fk.name == "fk_orders_customers")
        .unwrap();
    assert_eq!(
        (fk.ref_table.as_str(), fk.ref_columns.as_slice()),
        ("customers", &["customer_id".to_owned()][..])
    );
    let employees = got.table("employees").unwrap();
    assert_eq!(
        employees.column("photo").unwrap().data_type,
        DataType::Bytes
    );
    assert_eq!(
        employees.foreign_keys[0].ref_table, "employees",
        "self reference"
    );
    let details = got.table("order_details").unwrap();
    assert_eq!(details.primary_key, ["order_id", "product_id"]);
    assert_eq!(details.foreign_keys.len(), 2);

    // Its schema, provisioned by Persona Studio, reads back as its normalization.
    let again = sqlite_db().await;
    provision(&again.db, &got).await;
    assert_same(
        &introspect(&again.db).await.unwrap(),
        &normalize(&got, Dialect::Sqlite),
    );
    again.cleanup().await;
    t.cleanup().await;
}

#[tokio::test]
async fn every_builtin_template_round_trips() {
    let templates = persona_core::template::builtin();
    assert!(templates.len() >= 6, "the built-in templates are listed");
    for template in templates {
        let persona = template
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", template.slug));
        let schema = &persona.initial_schema;
        let t = sqlite_db().await;
        provision(&t.db, schema).await;
        let got = introspect(&t.db).await.unwrap();
        let want = normalize(schema, Dialect::Sqlite);
        assert!(!want.tables.is_empty(), "{}", template.slug);
        for (g, w) in got.tables.iter().zip(&want.tables) {
            assert_eq!(g, w, "template {}, table {:?}", template.slug, w.name);
        }
        assert_eq!(got, want, "template {}", template.slug);
        t.cleanup().await;
    }
}
