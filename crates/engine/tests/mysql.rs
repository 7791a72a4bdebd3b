//! MySQL/MariaDB integration tests: DDL round trips (provision, introspect, compare with
//! `normalize`), hostile identifiers, compensation of a failing provision, and introspection of
//! the Sakila sample database. Skipped when `PERSONA_TEST_MYSQL_URL` is unset.

use persona_core::ddl::{self, normalize};
use persona_core::{
    Check, Column, DataType, DefaultValue, Dialect, ForeignKey, ForeignKeyAction, Index,
    IndexColumn, IndexMethod, Schema, SortOrder, Table,
};
use persona_engine::introspect::introspect;
use persona_engine::provision::{Cleanup, ProvisionError, ProvisionOptions, provision};
use persona_engine::testing::{TestDb, datasets_dir};
use sqlx::{AssertSqlSafe, Connection, Executor};

fn col(name: &str, ty: &str) -> Column {
    Column::new(name, ty.parse::<DataType>().unwrap())
}

fn not_null(name: &str, ty: &str) -> Column {
    Column {
        nullable: false,
        ..col(name, ty)
    }
}

fn with_default(name: &str, ty: &str, default: &str) -> Column {
    Column {
        default: Some(DefaultValue::parse(default)),
        ..col(name, ty)
    }
}

fn identity(name: &str, ty: &str) -> Column {
    Column {
        identity: true,
        nullable: false,
        ..col(name, ty)
    }
}

fn index(name: &str, columns: Vec<IndexColumn>) -> Index {
    Index {
        name: name.to_owned(),
        columns,
        unique: false,
        predicate: None,
        include: Vec::new(),
        method: IndexMethod::Btree,
    }
}

fn fk(columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
    ForeignKey {
        name: String::new(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        ref_table: ref_table.to_owned(),
        ref_columns: ref_columns.iter().map(|c| (*c).to_owned()).collect(),
        on_delete: ForeignKeyAction::NoAction,
        on_update: ForeignKeyAction::NoAction,
    }
}

fn check(expression: &str) -> Check {
    Check {
        name: String::new(),
        expression: expression.to_owned(),
    }
}

fn table(name: &str, columns: Vec<Column>, pk: &[&str]) -> Table {
    Table {
        name: name.to_owned(),
        columns,
        primary_key: pk.iter().map(|c| (*c).to_owned()).collect(),
        ..Table::default()
    }
}

/// Every logical type, identities, defaults of each kind, composite / descending / unique /
/// partial / expression / hash / full-text / json indexes, foreign keys with every action
/// InnoDB supports (self references and a cycle included), checks and comments.
fn representative_schema() -> Schema {
    let mut customers = table(
        "customers",
        vec![
            identity("id", "bigint"),
            not_null("email", "varchar(255)"),
            col("name", "varchar(120)"),
            col("bio", "text"),
            with_default("is_active", "boolean", "true"),
            with_default("is_vip", "boolean", "false"),
            with_default("balance", "decimal(12,2)", "0"),
            with_default("score", "real", "1.5"),
            with_default("ratio", "double", "0.25"),
            with_default("signup_date", "date", "CURRENT_DATE"),
            Column {
                nullable: false,
                ..with_default("created_at", "timestamptz", "CURRENT_TIMESTAMP")
            },
            with_default("updated_at", "timestamp", "'2020-01-02 03:04:05'"),
            with_default("wake_time", "time", "'07:30:00'"),
            with_default("external_id", "uuid", "gen_random_uuid()"),
            with_default("prefs", "json", "'{}'"),
            col("avatar", "bytes"),
            with_default("country", "char(2)", "'NL'"),
            with_default("rank", "smallint", "-1"),
            with_default("visits", "integer", "0"),
            with_default("note", "text", r"'it''s \ a \n note'"),
            with_default("nothing", "varchar(10)", "NULL"),
            with_default("computed", "integer", "(1 + 2)"),
            Column {
                comment: Some("shown to staff".into()),
                ..col("nickname", "varchar(40)")
            },
        ],
        &["id"],
    );
    customers.comment = Some("people who buy".into());
    let mut unique_email = index("customers_email_key", vec![IndexColumn::column("email")]);
    unique_email.unique = true;
    let mut folded = index("", vec![IndexColumn::expression("lower(name)")]);
    folded.unique = false;
    let mut partial = index("active_by_country", vec![IndexColumn::column("country")]);
    partial.predicate = Some("is_active".into());
    partial.unique = true;
    let mut hashed = index("by_external_id", vec![IndexColumn::column("external_id")]);
    hashed.method = IndexMethod::Hash;
    let mut full_text = index(
        "customers_text",
        vec![IndexColumn::column("name"), IndexColumn::column("bio")],
    );
    full_text.method = IndexMethod::Gin;
    let mut gin_json = index("customers_prefs", vec![IndexColumn::column("prefs")]);
    gin_json.method = IndexMethod::Gin;
    let mut covering = index(
        "",
        vec![
            IndexColumn::column("country"),
            IndexColumn::ordered("created_at", SortOrder::Desc),
        ],
    );
    covering.include = vec!["name".into()];
    customers.indexes = vec![
        unique_email,
        folded,
        partial,
        hashed,
        full_text,
        gin_json,
        covering,
    ];
    customers.checks = vec![
        check("balance >= 0"),
        check("country IN ('NL', 'DE') OR country IS NULL"),
        Check {
            name: "email_shape".into(),
            expression: "char_length(email) > 3".into(),
        },
        check("visits BETWEEN 0 AND 1000000"),
    ];

    let mut orders = table(
        "orders",
        vec![
            identity("id", "bigint"),
            not_null("customer_id", "bigint"),
            with_default("status", "varchar(20)", "'new'"),
            col("total", "decimal(12,2)"),
            with_default("placed_at", "timestamptz", "CURRENT_TIMESTAMP"),
        ],
        &["id"],
    );
    orders.indexes = vec![index(
        "",
        vec![
            IndexColumn::column("customer_id"),
            IndexColumn::ordered("placed_at", SortOrder::Desc),
        ],
    )];
    orders.foreign_keys = vec![ForeignKey {
        on_delete: ForeignKeyAction::Cascade,
        on_update: ForeignKeyAction::Restrict,
        ..fk(&["customer_id"], "customers", &["id"])
    }];
    orders.checks = vec![check("status IN ('new', 'paid', 'shipped')")];

    let mut products = table(
        "products",
        vec![
            not_null("sku", "varchar(40)"),
            col("parent_sku", "varchar(40)"),
            col("price", "decimal(10,2)"),
        ],
        &["sku"],
    );
    products.foreign_keys = vec![ForeignKey {
        on_delete: ForeignKeyAction::SetNull,
        on_update: ForeignKeyAction::Cascade,
        ..fk(&["parent_sku"], "products", &[])
    }];

    let mut items = table(
        "order_items",
        vec![
            not_null("order_id", "bigint"),
            not_null("line_no", "integer"),
            col("product_sku", "varchar(40)"),
            with_default("quantity", "integer", "1"),
        ],
        &["order_id", "line_no"],
    );
    items.foreign_keys = vec![
        ForeignKey {
            on_delete: ForeignKeyAction::Cascade,
            ..fk(&["order_id"], "orders", &["id"])
        },
        ForeignKey {
            on_delete: ForeignKeyAction::SetNull,
            ..fk(&["product_sku"], "products", &["sku"])
        },
    ];
    items.checks = vec![check("quantity > 0")];

    // An identity that is not the primary key, and a cycle between two tables.
    let tags = table(
        "tags",
        vec![not_null("label", "varchar(50)"), identity("seq", "integer")],
        &["label"],
    );
    let mut departments = table(
        "departments",
        vec![identity("id", "integer"), col("manager_id", "integer")],
        &["id"],
    );
    departments.foreign_keys = vec![fk(&["manager_id"], "employees", &["id"])];
    let mut employees = table(
        "employees",
        vec![
            identity("id", "integer"),
            not_null("department_id", "integer"),
        ],
        &["id"],
    );
    employees.foreign_keys = vec![fk(&["department_id"], "departments", &["id"])];

    Schema {
        tables: vec![
            customers,
            orders,
            products,
            items,
            tags,
            departments,
            employees,
        ],
    }
}

/// Schema with names built from quotes, backticks, semicolons, comment markers, backslashes,
/// unicode and reserved words (all of them valid MySQL names: no trailing space, BMP only).
fn hostile_schema() -> Schema {
    let parent_name = "select";
    let child_name = "we`ird \"ta'ble\"; DROP TABLE x; -- ü表\\";
    let key = "order";
    let quirky = "col\"q`; --";
    let mut parent = table(
        parent_name,
        vec![not_null(key, "integer"), col("group by", "text")],
        &[key],
    );
    parent.comment = Some("it's a `table` \\ ; --".into());
    let mut child = table(
        child_name,
        vec![
            identity("ïd", "bigint"),
            not_null("parent's", "integer"),
            Column {
                default: Some(DefaultValue::Text("it's \\ \n\t %_ 表 `x`".into())),
                comment: Some("c'\\`".into()),
                ..col(quirky, "varchar(100)")
            },
            col("日本", "varchar(20)"),
        ],
        &["ïd"],
    );
    let mut unique = index(
        "unique `ix`; --",
        vec![
            IndexColumn::column(quirky),
            IndexColumn::ordered("日本", SortOrder::Desc),
        ],
    );
    unique.unique = true;
    child.indexes = vec![unique];
    child.foreign_keys = vec![ForeignKey {
        name: "fk \"to\" `select`".into(),
        on_delete: ForeignKeyAction::Cascade,
        ..fk(&["parent's"], parent_name, &[key])
    }];
    child.checks = vec![
        Check {
            name: "chk 'q' `b`".into(),
            expression: "\"col\"\"q`; --\" <> 'it''s \\ x' AND \"parent's\" > 0".into(),
        },
        check("\"日本\" IS NULL OR char_length(\"日本\") > 1"),
    ];
    Schema {
        tables: vec![parent, child],
    }
}

fn describe(db: &TestDb, what: &str) -> String {
    format!("{what} ({})", db.url)
}

async fn provision_and_compare(test: &TestDb, schema: &Schema) {
    let report = provision(&test.db, schema, ProvisionOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", describe(test, "provision")));
    assert!(report.executed);
    let got = introspect(&test.db).await.unwrap();
    let want = normalize(schema, Dialect::Mysql);
    assert_eq!(
        got, want,
        "introspected schema differs from normalize(schema, Mysql)"
    );
}

async fn table_names(test: &TestDb) -> Vec<String> {
    introspect(&test.db)
        .await
        .unwrap()
        .tables
        .into_iter()
        .map(|t| t.name)
        .collect()
}

#[tokio::test]
async fn representative_schema_round_trips() {
    let Some(test) = TestDb::new(Dialect::Mysql).await else {
        return;
    };
    let schema = representative_schema();
    provision_and_compare(&test, &schema).await;

    // What the round trip is expected to have changed, spelled out.
    let got = introspect(&test.db).await.unwrap();
    let customers = got.table("customers").unwrap();
    assert_eq!(customers.column("prefs").unwrap().data_type, DataType::Json);
    assert_eq!(
        customers.column("external_id").unwrap().data_type,
        DataType::Char(36)
    );
    assert!(
        customers
            .checks
            .iter()
            .all(|c| !c.expression.contains("json_valid"))
    );
    let ix = |name: &str| customers.indexes.iter().find(|i| i.name == name);
    assert!(
        ix("customers_prefs").is_none(),
        "a gin index on json is not created"
    );
    assert_eq!(ix("customers_text").unwrap().method, IndexMethod::Gin);
    assert!(
        !ix("active_by_country").unwrap().unique,
        "a partial unique index loses UNIQUE"
    );
    assert_eq!(
        ix("customers_expr_idx").unwrap().columns,
        vec![IndexColumn::column("name")],
        "lower(name) is served by the case-insensitive column"
    );
    let items = got.table("order_items").unwrap();
    assert!(
        items
            .indexes
            .iter()
            .any(|i| i.name == "order_items_product_sku_fkey"),
        "InnoDB's index for the foreign key is predicted: {:?}",
        items.indexes
    );
    assert!(
        got.table("tags")
            .unwrap()
            .indexes
            .iter()
            .any(|i| i.name == "tags_seq_idx")
    );

    // The defaults really behave: a row with only the required columns gets them.
    let Some(pool) = mysql_pool(&test) else {
        unreachable!()
    };
    sqlx::query("INSERT INTO customers (email) VALUES ('a@example.com')")
        .execute(pool)
        .await
        .unwrap();
    let row: (i8, String, String, String) = sqlx::query_as(
        "SELECT is_active, CAST(balance AS CHAR), note, CAST(CHAR_LENGTH(external_id) AS CHAR) \
         FROM customers",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            1,
            "0.00".to_owned(),
            r"it's \ a \n note".to_owned(),
            "36".to_owned()
        )
    );

    // drop_schema removes everything, the cycle included, with foreign key checks on.
    for statement in ddl::drop_schema(&schema, Dialect::Mysql) {
        test.db.execute(&statement).await.unwrap();
    }
    assert!(table_names(&test).await.is_empty());
    test.cleanup().await;
}

#[tokio::test]
async fn hostile_identifiers_round_trip() {
    let Some(test) = TestDb::new(Dialect::Mysql).await else {
        return;
    };
    let schema = hostile_schema();
    provision_and_compare(&test, &schema).await;
    let names = table_names(&test).await;
    let mut want: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    want.sort();
    assert_eq!(names, want, "exactly the hostile names exist, nothing else");
    for statement in ddl::drop_schema(&schema, Dialect::Mysql) {
        test.db.execute(&statement).await.unwrap();
    }
    assert!(table_names(&test).await.is_empty());
    test.cleanup().await;
}

#[tokio::test]
async fn a_failing_provision_leaves_no_tables() {
    let Some(test) = TestDb::new(Dialect::Mysql).await else {
        return;
    };

    // Fails at the last statement: a foreign key between incompatible types, after every
    // table (with a cycle of valid foreign keys before it) was created.
    let mut schema = representative_schema();
    let mut bad = table(
        "bad",
        vec![col("id", "integer"), col("customer", "varchar(20)")],
        &["id"],
    );
    bad.foreign_keys = vec![fk(&["customer"], "customers", &["id"])];
    schema.tables.push(bad);
    let err = provision(&test.db, &schema, ProvisionOptions::default())
        .await
        .unwrap_err();
    let ProvisionError::Statement {
        number,
        total,
        cleanup,
        ..
    } = err
    else {
        panic!("expected a failing statement, got {err}");
    };
    assert_eq!(number, total, "the bad foreign key is the last statement");
    let Cleanup::Dropped(dropped) = cleanup else {
        panic!("compensation failed: {cleanup}")
    };
    assert_eq!(dropped.len(), schema.tables.len());
    assert!(table_names(&test).await.is_empty());

    // Fails in the middle: the second table's check names a column that does not exist.
    let first = table("first", vec![col("id", "integer")], &["id"]);
    let mut second = table("second", vec![col("id", "integer")], &["id"]);
    second.checks = vec![check("missing_column > 0")];
    let third = table("third", vec![col("id", "integer")], &["id"]);
    let schema = Schema {
        tables: vec![first, second, third],
    };
    let err = provision(&test.db, &schema, ProvisionOptions::default())
        .await
        .unwrap_err();
    let ProvisionError::Statement {
        number, cleanup, ..
    } = err
    else {
        panic!("expected a failing statement, got {err}");
    };
    assert_eq!(number, 2);
    assert_eq!(cleanup, Cleanup::Dropped(vec!["first".to_owned()]));
    assert!(table_names(&test).await.is_empty());

    // And the database is usable afterwards: the same names provision cleanly.
    provision_and_compare(&test, &representative_schema()).await;
    test.cleanup().await;
}

#[tokio::test]
async fn every_builtin_template_round_trips() {
    for template in persona_core::template::builtin() {
        let persona = template
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", template.slug));
        let Some(test) = TestDb::new(Dialect::Mysql).await else {
            return;
        };
        let schema = &persona.initial_schema;
        assert!(!schema.tables.is_empty(), "{} has tables", template.slug);
        if let Err(e) = provision(&test.db, schema, ProvisionOptions::default()).await {
            panic!(
                "template {} does not provision into MariaDB: {e}",
                template.slug
            );
        }
        let got = introspect(&test.db).await.unwrap();
        assert_eq!(
            got,
            normalize(schema, Dialect::Mysql),
            "template {} does not round-trip",
            template.slug
        );
        assert_eq!(got.tables.len(), schema.tables.len(), "{}", template.slug);
        test.cleanup().await;
    }
}

#[tokio::test]
async fn sakila_introspects_to_its_known_shape() {
    let Some(dir) = datasets_dir() else { return };
    let Some(test) = TestDb::new(Dialect::Mysql).await else {
        return;
    };
    let script = std::fs::read_to_string(dir.join("sakila-mysql/sakila-schema.sql")).unwrap();
    load_mysql_script(&test.url, &script).await;

    let sakila = introspect(&test.db).await.unwrap();
    let names: Vec<&str> = sakila.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "actor",
            "address",
            "category",
            "city",
            "country",
            "customer",
            "film",
            "film_actor",
            "film_category",
            "film_text",
            "inventory",
            "language",
            "payment",
            "rental",
            "staff",
            "store",
        ],
        "base tables only (no views)"
    );

    let rental = sakila.table("rental").unwrap();
    let to_inventory = rental
        .foreign_keys
        .iter()
        .find(|f| f.name == "fk_rental_inventory")
        .unwrap();
    assert_eq!(
        (
            to_inventory.columns.as_slice(),
            to_inventory.ref_table.as_str(),
            to_inventory.ref_columns.as_slice()
        ),
        (
            &["inventory_id".to_owned()][..],
            "inventory",
            &["inventory_id".to_owned()][..]
        )
    );
    assert_eq!(
        (to_inventory.on_delete, to_inventory.on_update),
        (ForeignKeyAction::Restrict, ForeignKeyAction::Cascade)
    );
    let unique = rental.indexes.iter().find(|i| i.unique).unwrap();
    assert_eq!(
        unique.columns,
        ["rental_date", "inventory_id", "customer_id"]
            .map(IndexColumn::column)
            .to_vec()
    );
    assert_eq!(rental.primary_key, ["rental_id"]);
    let rental_id = rental.column("rental_id").unwrap();
    assert!(rental_id.identity && !rental_id.nullable);
    assert_eq!(rental_id.data_type, DataType::Integer);

    let payment = sakila.table("payment").unwrap();
    assert_eq!(
        payment.column("amount").unwrap().data_type,
        DataType::Decimal {
            precision: 5,
            scale: 2
        }
    );
    let set_null = payment
        .foreign_keys
        .iter()
        .find(|f| f.ref_table == "rental")
        .unwrap();
    assert_eq!(set_null.on_delete, ForeignKeyAction::SetNull);

    let film = sakila.table("film").unwrap();
    let by_name = |n: &str| film.column(n).unwrap();
    assert_eq!(
        by_name("film_id").data_type,
        DataType::Integer,
        "smallint unsigned widens"
    );
    assert_eq!(
        by_name("language_id").data_type,
        DataType::SmallInt,
        "tinyint unsigned widens"
    );
    assert_eq!(
        by_name("rating").data_type,
        DataType::Varchar(5),
        "enum: its longest value"
    );
    assert_eq!(
        by_name("rating").default,
        Some(DefaultValue::Text("G".into()))
    );
    assert_eq!(
        by_name("rental_rate").default,
        Some(DefaultValue::Number("4.99".into()))
    );
    assert_eq!(by_name("description").data_type, DataType::Text);
    assert_eq!(by_name("last_update").data_type, DataType::TimestampTz);
    assert_eq!(
        by_name("last_update").default,
        Some(DefaultValue::CurrentTimestamp)
    );
    let customer = sakila.table("customer").unwrap();
    assert_eq!(
        customer.column("active").unwrap().data_type,
        DataType::Boolean
    );
    assert_eq!(
        customer.column("active").unwrap().default,
        Some(DefaultValue::Bool(true))
    );
    assert_eq!(
        customer.column("create_date").unwrap().data_type,
        DataType::Timestamp
    );
    let film_text = sakila.table("film_text").unwrap();
    assert_eq!(film_text.indexes.len(), 1);
    assert_eq!(
        film_text.indexes[0].method,
        IndexMethod::Gin,
        "FULLTEXT reads as gin"
    );
    // Every foreign key is backed by an index InnoDB can use (normalize adds none).
    let address = sakila.table("address").unwrap();
    assert!(address.indexes.iter().any(|i| i.name == "idx_fk_city_id"));

    // Everything but a spatial index (MySQL 8 runs Sakila's `/*!50705 … */` geometry column
    // and its index; MariaDB skips them) is something this dialect creates: normalizing Sakila
    // changes nothing else, and provisioning that normal form into an empty database gives it
    // back exactly.
    let mut representable = sakila.clone();
    for t in &mut representable.tables {
        t.indexes.retain(|i| i.method != IndexMethod::Gist);
    }
    assert_eq!(normalize(&sakila, Dialect::Mysql), representable);
    let copy = TestDb::new(Dialect::Mysql).await.unwrap();
    provision_and_compare(&copy, &representable).await;
    copy.cleanup().await;
    test.cleanup().await;
}

fn mysql_pool(test: &TestDb) -> Option<&sqlx::MySqlPool> {
    match &test.db {
        persona_engine::Database::Mysql(pool) => Some(pool),
        _ => None,
    }
}

/// Run a mysql-client script (with `DELIMITER` blocks) on one connection to `url`, skipping the
/// statements that would switch to, create or drop another database, and dropping `sakila.`
/// qualifiers.
async fn load_mysql_script(url: &str, script: &str) {
    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
    for statement in split_script(script) {
        let head = statement.trim_start().to_ascii_uppercase();
        if [
            "USE ",
            "CREATE SCHEMA",
            "DROP SCHEMA",
            "CREATE DATABASE",
            "DROP DATABASE",
        ]
        .iter()
        .any(|p| head.starts_with(p))
        {
            continue;
        }
        // Views name the sample's own database; point them at the current one.
        let statement = statement.replace("sakila.", "");
        conn.execute(sqlx::raw_sql(AssertSqlSafe(statement.clone())))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{statement}"));
    }
    conn.close().await.unwrap();
}

/// Statements of a mysql-client script: `--` comment lines dropped, `DELIMITER` honoured.
fn split_script(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut delimiter = ";".to_owned();
    let mut current = String::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with("--")) {
            continue;
        }
        if let Some(d) = trimmed.strip_prefix("DELIMITER ") {
            d.trim().clone_into(&mut delimiter);
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if let Some(body) = trimmed.strip_suffix(delimiter.as_str()) {
            let keep = current.trim_end().len() - (trimmed.len() - body.len());
            current.truncate(keep);
            if !current.trim().is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    out
}

#[test]
fn scripts_split_on_the_current_delimiter() {
    let script = "-- c\nSET a=1;\nCREATE TABLE t (\n x int\n);\nDELIMITER ;;\nCREATE TRIGGER g BEGIN\n  SET x=1;\nEND;;\nDELIMITER ;\nSELECT 1;\n";
    assert_eq!(
        split_script(script),
        [
            "SET a=1",
            "CREATE TABLE t (\n x int\n)",
            "CREATE TRIGGER g BEGIN\n  SET x=1;\nEND",
            "SELECT 1"
        ]
    );
}
