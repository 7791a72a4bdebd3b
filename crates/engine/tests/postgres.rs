//! PostgreSQL lifecycle tests: provision → introspect round trips, refusal and rollback
//! guarantees, and introspection of the Pagila sample database. Each test works in its own
//! throwaway database (`TestDb`) and is skipped when `PERSONA_TEST_PG_URL` is unset.

use persona_core::ddl::{self, canonical_expression};
use persona_core::{
    DataType, DefaultValue, Dialect, ForeignKeyAction, IndexColumn, IndexMethod, Schema, SortOrder,
};
use persona_engine::Database;
use persona_engine::introspect::{introspect, introspect_with_warnings};
use persona_engine::provision::{Cleanup, ProvisionError, ProvisionOptions, provision};
use persona_engine::testing::TestDb;

/// A schema that exercises every type, default kind, key and index feature PostgreSQL has in
/// the model: identity, composite keys, a foreign-key cycle, a composite foreign key, a
/// reference to a unique index, expression / partial / descending / covering / gin / hash /
/// brin indexes, checks, comments and awkward names.
const RICH: &str = r#"
{
  "tables": [
    {
      "name": "customer",
      "comment": "People who buy",
      "primary_key": ["id"],
      "columns": [
        {"name": "id", "type": "bigint", "identity": true, "nullable": false},
        {"name": "email", "type": "varchar(320)", "nullable": false},
        {"name": "display name", "type": "text", "nullable": false, "comment": "as shown, it's free text"},
        {"name": "country", "type": "char(2)", "default": "'SE'"},
        {"name": "credit", "type": "decimal(12,2)", "nullable": false, "default": "0"},
        {"name": "balance", "type": "decimal(12,2)", "default": "-1.50"},
        {"name": "vip", "type": "boolean", "nullable": false, "default": "false"},
        {"name": "favorite_order_id", "type": "bigint"},
        {"name": "joined_on", "type": "date", "default": "CURRENT_DATE"},
        {"name": "created_at", "type": "timestamptz", "nullable": false, "default": "now()"}
      ],
      "indexes": [
        {"name": "customer_email_key", "columns": [{"expression": "lower(email)"}], "unique": true},
        {"columns": ["country", {"column": "created_at", "order": "desc"}], "include": ["credit"]},
        {"name": "customer_vip_idx", "columns": ["joined_on"], "predicate": "vip AND credit > 100"}
      ],
      "foreign_keys": [
        {"columns": ["favorite_order_id"], "ref_table": "order", "ref_columns": ["id"], "on_delete": "set_null"}
      ],
      "checks": [
        {"expression": "length(trim(\"display name\")) > 0"},
        {"name": "customer_credit_range", "expression": "credit BETWEEN 0 AND 1000000"}
      ]
    },
    {
      "name": "order",
      "primary_key": ["id"],
      "columns": [
        {"name": "id", "type": "bigint", "identity": true},
        {"name": "customer_id", "type": "bigint", "nullable": false},
        {"name": "public_id", "type": "uuid", "nullable": false, "default": "gen_random_uuid()"},
        {"name": "status", "type": "varchar(16)", "nullable": false, "default": "'pending'"},
        {"name": "attributes", "type": "json", "nullable": false, "default": "'{}'"},
        {"name": "placed_at", "type": "timestamp", "default": "CURRENT_TIMESTAMP"},
        {"name": "pickup_time", "type": "time"},
        {"name": "weight_kg", "type": "real"},
        {"name": "score", "type": "double", "default": "0.5"},
        {"name": "note", "type": "text", "default": "'it''s'"}
      ],
      "indexes": [
        {"columns": ["customer_id", {"column": "placed_at", "order": "desc"}]},
        {"name": "order_attributes_idx", "columns": ["attributes"], "method": "gin"},
        {"name": "order_public_id_idx", "columns": ["public_id"], "method": "hash"},
        {"name": "order_placed_brin", "columns": ["placed_at"], "method": "brin"},
        {"name": "order_open_idx", "columns": ["placed_at"], "predicate": "status IN ('pending', 'paid')"}
      ],
      "foreign_keys": [
        {"columns": ["customer_id"], "ref_table": "customer", "ref_columns": ["id"], "on_delete": "cascade"}
      ],
      "checks": [
        {"name": "order_status_check", "expression": "status IN ('pending', 'paid', 'shipped', 'cancelled')"},
        {"name": "order_weight_check", "expression": "weight_kg IS NULL OR weight_kg > 0"}
      ]
    },
    {
      "name": "product",
      "primary_key": ["id"],
      "columns": [
        {"name": "id", "type": "integer", "identity": true},
        {"name": "sku", "type": "varchar(64)", "nullable": false},
        {"name": "price", "type": "decimal(10,2)", "nullable": false},
        {"name": "stock", "type": "smallint", "nullable": false, "default": "0"},
        {"name": "picture", "type": "bytes"}
      ],
      "indexes": [
        {"columns": ["sku"], "unique": true}
      ],
      "checks": [
        {"expression": "price >= 0 AND stock >= 0"}
      ]
    },
    {
      "name": "Order Line",
      "primary_key": ["order_id", "line_no"],
      "columns": [
        {"name": "order_id", "type": "bigint", "nullable": false},
        {"name": "line_no", "type": "smallint", "nullable": false},
        {"name": "product_sku", "type": "varchar(64)", "nullable": false},
        {"name": "quantity", "type": "integer", "nullable": false, "default": "1"}
      ],
      "foreign_keys": [
        {"columns": ["order_id"], "ref_table": "order", "ref_columns": ["id"], "on_delete": "cascade"},
        {"name": "line_product_fk", "columns": ["product_sku"], "ref_table": "product", "ref_columns": ["sku"], "on_update": "cascade", "on_delete": "restrict"}
      ],
      "checks": [
        {"name": "quantity_positive", "expression": "quantity BETWEEN 1 AND 1000"}
      ]
    },
    {
      "name": "shipment",
      "primary_key": ["id"],
      "columns": [
        {"name": "id", "type": "bigint", "identity": true},
        {"name": "order_id", "type": "bigint"},
        {"name": "line_no", "type": "smallint"},
        {"name": "tracking", "type": "text"}
      ],
      "indexes": [
        {"columns": [{"expression": "upper(tracking)"}, "order_id"]}
      ],
      "foreign_keys": [
        {"columns": ["order_id", "line_no"], "ref_table": "Order Line", "ref_columns": ["order_id", "line_no"], "on_delete": "set_null", "on_update": "cascade"}
      ]
    }
  ]
}
"#;

fn rich() -> Schema {
    serde_json::from_str(RICH).expect("the test schema parses")
}

fn table_names(schema: &Schema) -> Vec<&str> {
    schema.tables.iter().map(|t| t.name.as_str()).collect()
}

async fn pg() -> Option<TestDb> {
    TestDb::new(Dialect::Postgres).await
}

/// Provision → introspect equals normalize, with no warnings; the data really is there.
#[tokio::test]
async fn rich_schema_round_trips() {
    let Some(test) = pg().await else { return };
    let schema = rich();
    let report = provision(&test.db, &schema, ProvisionOptions::default())
        .await
        .unwrap();
    assert!(report.executed);
    assert_eq!(
        report.statements,
        ddl::create_schema(&schema, Dialect::Postgres)
    );
    assert_eq!(
        report.tables,
        vec!["customer", "order", "product", "Order Line", "shipment"]
    );

    let got = introspect_with_warnings(&test.db).await.unwrap();
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    let want = ddl::normalize(&schema, Dialect::Postgres);
    assert_eq!(got.schema, want);

    // Spot checks that would catch a normalize that hid a wrong introspection.
    let customer = got.schema.table("customer").unwrap();
    let id = customer.column("id").unwrap();
    assert!(id.identity && !id.nullable && id.default.is_none());
    assert_eq!(customer.comment.as_deref(), Some("People who buy"));
    assert_eq!(
        customer.column("balance").unwrap().default,
        Some(DefaultValue::Number("-1.50".into()))
    );
    assert_eq!(
        customer.column("created_at").unwrap().default,
        Some(DefaultValue::CurrentTimestamp)
    );
    let email = customer
        .indexes
        .iter()
        .find(|i| i.name == "customer_email_key")
        .unwrap();
    assert!(email.unique);
    assert_eq!(email.columns, vec![IndexColumn::expression("lower(email)")]);
    let covering = customer
        .indexes
        .iter()
        .find(|i| i.name == "customer_country_created_at_idx");
    let covering = covering.expect("a derived index name");
    assert_eq!(covering.include, vec!["credit".to_owned()]);
    assert_eq!(
        covering.columns[1],
        IndexColumn::ordered("created_at", SortOrder::Desc)
    );
    let check = customer
        .checks
        .iter()
        .find(|c| c.name == "customer_credit_range")
        .unwrap();
    assert_eq!(check.expression, "credit >= 0 and credit <= 1000000");
    let order = got.schema.table("order").unwrap();
    assert_eq!(
        order.column("attributes").unwrap().data_type,
        DataType::Json
    );
    let gin = order
        .indexes
        .iter()
        .find(|i| i.name == "order_attributes_idx")
        .unwrap();
    assert_eq!(gin.method, IndexMethod::Gin);
    let open = order
        .indexes
        .iter()
        .find(|i| i.name == "order_open_idx")
        .unwrap();
    assert_eq!(
        open.predicate.as_deref(),
        Some("status in ('pending', 'paid')")
    );
    let line = got.schema.table("Order Line").unwrap();
    assert_eq!(
        line.primary_key,
        vec!["order_id".to_owned(), "line_no".to_owned()]
    );
    let fk = line
        .foreign_keys
        .iter()
        .find(|f| f.name == "line_product_fk")
        .unwrap();
    assert_eq!(
        (fk.on_delete, fk.on_update),
        (ForeignKeyAction::Restrict, ForeignKeyAction::Cascade)
    );
    let shipment = got.schema.table("shipment").unwrap();
    assert_eq!(
        shipment.foreign_keys[0].columns,
        vec!["order_id".to_owned(), "line_no".to_owned()]
    );

    // The defaults and checks are live: a row gets its defaults, a bad row is refused.
    test.db
        .execute("INSERT INTO customer (email, \"display name\") VALUES ('a@b.c', 'Ann')")
        .await
        .unwrap();
    test.db
        .execute("INSERT INTO \"order\" (customer_id) SELECT id FROM customer")
        .await
        .unwrap();
    let err = test
        .db
        .execute("INSERT INTO \"order\" (customer_id, status) SELECT id, 'lost' FROM customer")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("order_status_check"), "{err}");

    // Provisioning is deterministic: a second database built from the same plan reads the same.
    let Some(second) = pg().await else { return };
    provision(&second.db, &schema, ProvisionOptions::default())
        .await
        .unwrap();
    assert_eq!(introspect(&second.db).await.unwrap(), got.schema);
    second.cleanup().await;
    test.cleanup().await;
}

/// A statement that fails after several have succeeded leaves no table behind.
#[tokio::test]
async fn failed_provision_rolls_everything_back() {
    let Some(test) = pg().await else { return };
    let mut schema = rich();
    // An index on a column that does not exist fails after every CREATE TABLE has run.
    schema.tables[2].indexes.push(persona_core::Index {
        name: "product_broken_idx".into(),
        columns: vec![IndexColumn::column("no_such_column")],
        unique: false,
        predicate: None,
        include: vec![],
        method: IndexMethod::Btree,
    });
    let err = provision(&test.db, &schema, ProvisionOptions::default())
        .await
        .unwrap_err();
    match &err {
        ProvisionError::Statement {
            number,
            total,
            statement,
            cleanup,
            ..
        } => {
            assert!(
                *number > schema.tables.len(),
                "failed at {number} of {total}"
            );
            assert!(statement.contains("product_broken_idx"), "{statement}");
            assert_eq!(*cleanup, Cleanup::RolledBack);
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(err.to_string().contains("no_such_column"), "{err}");
    let after = introspect(&test.db).await.unwrap();
    assert!(
        after.tables.is_empty(),
        "left behind: {:?}",
        table_names(&after)
    );
    test.cleanup().await;
}

/// An existing table makes provisioning refuse before writing anything.
#[tokio::test]
async fn existing_table_is_never_touched() {
    let Some(test) = pg().await else { return };
    test.db
        .execute("CREATE TABLE product (id integer PRIMARY KEY, name text)")
        .await
        .unwrap();
    test.db
        .execute("INSERT INTO product VALUES (1, 'kept')")
        .await
        .unwrap();
    test.db
        .execute("CREATE INDEX \"order_placed_brin\" ON product (name)")
        .await
        .unwrap();
    let before = introspect(&test.db).await.unwrap();

    let err = provision(&test.db, &rich(), ProvisionOptions::default())
        .await
        .unwrap_err();
    match &err {
        ProvisionError::AlreadyExists { existing } => assert_eq!(
            existing,
            &vec![
                "table \"product\"".to_owned(),
                "index \"order_placed_brin\"".to_owned()
            ]
        ),
        other => panic!("unexpected error: {other}"),
    }
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(introspect(&test.db).await.unwrap(), before);
    let Database::Postgres(pool) = &test.db else {
        unreachable!()
    };
    let kept: String = sqlx::query_scalar("SELECT name FROM product WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(kept, "kept");
    test.cleanup().await;
}

/// A dry run returns the plan and leaves the database empty.
#[tokio::test]
async fn dry_run_writes_nothing() {
    let Some(test) = pg().await else { return };
    let report = provision(&test.db, &rich(), ProvisionOptions { dry_run: true })
        .await
        .unwrap();
    assert!(!report.executed);
    assert_eq!(
        report.statements,
        ddl::create_schema(&rich(), Dialect::Postgres)
    );
    assert!(introspect(&test.db).await.unwrap().tables.is_empty());
    test.cleanup().await;
}

/// Introspecting the Pagila sample database reports its real structure.
#[tokio::test]
async fn pagila_introspects_to_its_real_structure() {
    let Some(test) = pg().await else { return };
    let Some(datasets) = persona_engine::testing::datasets_dir() else {
        test.cleanup().await;
        return;
    };
    let dump = datasets.join("pagila/pagila.sql");
    let status = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &test.url, "-f"])
        .arg(&dump)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("psql is installed");
    assert!(status.success(), "loading {} failed", dump.display());

    let got = introspect_with_warnings(&test.db).await.unwrap();
    let schema = &got.schema;
    // Partitions and the materialized view are not tables of their own.
    assert_eq!(
        table_names(schema),
        vec![
            "actor",
            "address",
            "category",
            "city",
            "country",
            "customer",
            "film",
            "film_actor",
            "film_category",
            "inventory",
            "language",
            "payment",
            "rental",
            "staff",
            "store",
        ]
    );

    let rental = schema.table("rental").unwrap();
    assert_eq!(rental.primary_key, vec!["rental_id".to_owned()]);
    let fk = rental
        .foreign_keys
        .iter()
        .find(|f| f.name == "rental_inventory_id_fkey")
        .unwrap();
    assert_eq!(fk.columns, vec!["inventory_id".to_owned()]);
    assert_eq!(
        (fk.ref_table.as_str(), fk.ref_columns.as_slice()),
        ("inventory", &["inventory_id".to_owned()][..])
    );
    assert_eq!(
        (fk.on_delete, fk.on_update),
        (ForeignKeyAction::Restrict, ForeignKeyAction::Cascade)
    );
    let unique = rental
        .indexes
        .iter()
        .find(|i| i.name == "idx_unq_rental_rental_date_inventory_id_customer_id")
        .unwrap();
    assert!(unique.unique);
    let cols: Vec<_> = unique
        .columns
        .iter()
        .filter_map(|c| c.column.as_deref())
        .collect();
    assert_eq!(cols, vec!["rental_date", "inventory_id", "customer_id"]);
    assert!(
        !rental.indexes.iter().any(|i| i.name == "rental_pkey"),
        "the PK index is the PK"
    );

    let actor = schema.table("actor").unwrap();
    let actor_id = actor.column("actor_id").unwrap();
    assert!(
        actor_id.identity && !actor_id.nullable && actor_id.default.is_none(),
        "serial"
    );
    assert_eq!(
        actor.column("last_update").unwrap().default,
        Some(DefaultValue::CurrentTimestamp)
    );

    let film = schema.table("film").unwrap();
    let rate = film.column("rental_rate").unwrap();
    assert_eq!(
        rate.data_type,
        DataType::Decimal {
            precision: 4,
            scale: 2
        }
    );
    assert_eq!(rate.default, Some(DefaultValue::Number("4.99".into())));
    assert_eq!(
        film.column("rental_duration").unwrap().data_type,
        DataType::SmallInt
    );
    assert_eq!(
        film.column("release_year").unwrap().data_type,
        DataType::Integer,
        "domain year"
    );
    assert_eq!(
        film.column("rating").unwrap().data_type,
        DataType::Text,
        "enum mpaa_rating"
    );
    assert_eq!(
        film.column("rating").unwrap().default,
        Some(DefaultValue::Text("G".into()))
    );
    let fulltext = film
        .indexes
        .iter()
        .find(|i| i.name == "film_fulltext_idx")
        .unwrap();
    assert_eq!(fulltext.method, IndexMethod::Gist);

    let film_actor = schema.table("film_actor").unwrap();
    assert_eq!(
        film_actor.primary_key,
        vec!["actor_id".to_owned(), "film_id".to_owned()]
    );
    let payment = schema.table("payment").unwrap();
    assert_eq!(
        payment.primary_key,
        vec!["payment_date".to_owned(), "payment_id".to_owned()]
    );

    // Every approximation is reported, naming table.column and the type.
    let warnings: Vec<String> = got.warnings.iter().map(ToString::to_string).collect();
    for needle in [
        "film.rating: type `mpaa_rating`",
        "film.special_features: type `text[]`",
        "film.fulltext: type `tsvector`",
        "film.release_year: domain `year`",
    ] {
        assert!(
            warnings.iter().any(|w| w.starts_with(needle)),
            "{needle} not in {warnings:#?}"
        );
    }
    // Expressions come back canonical.
    for table in &schema.tables {
        for check in &table.checks {
            assert_eq!(canonical_expression(&check.expression), check.expression);
        }
    }
    test.cleanup().await;
}

/// Every built-in template provisions into PostgreSQL and reads back as its normalized schema.
#[tokio::test]
async fn every_builtin_template_round_trips() {
    let templates = persona_core::template::builtin();
    assert!(templates.len() >= 6, "expected the six built-in templates");
    for template in templates {
        let Some(test) = pg().await else { return };
        let persona = template
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", template.slug));
        let schema = &persona.initial_schema;
        provision(&test.db, schema, ProvisionOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", template.slug));
        let got = introspect_with_warnings(&test.db).await.unwrap();
        assert!(
            got.warnings.is_empty(),
            "{}: {:?}",
            template.slug,
            got.warnings
        );
        assert_eq!(
            got.schema,
            ddl::normalize(schema, Dialect::Postgres),
            "{}",
            template.slug
        );
        assert_eq!(
            table_names(&got.schema).len(),
            schema.tables.len(),
            "{}",
            template.slug
        );
        test.cleanup().await;
    }
}
