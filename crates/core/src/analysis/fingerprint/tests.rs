//! Tests of the fingerprinter: groups of statements that must share a fingerprint, pairs that
//! must not, the printed form of typical statements, and property tests (literals, spacing,
//! comments and case never matter; nothing panics).
//!
//! The `pg_stat_statements` and MariaDB digest texts below were captured from PostgreSQL 15
//! and MariaDB 10.11 (`performance_schema.events_statements_summary_by_digest`) running the
//! literal statements beside them.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::*;

/// Each group: statements that must all share one fingerprint.
const SAME: &[&[&str]] = &[
    // Literals, parameters of every style, spacing, case, comments, quoting, trailing `;`.
    &[
        "SELECT * FROM orders WHERE customer_id = 42",
        "select * from ORDERS where CUSTOMER_ID = $1",
        "SELECT *\n  FROM orders -- the hot path\n WHERE customer_id = ?;",
        "SELECT * FROM \"orders\" WHERE \"customer_id\" = :cid",
        "SELECT * FROM `orders` WHERE `customer_id` = %s",
        "SELECT * FROM orders WHERE customer_id = %(cid)s",
        "/* app=checkout */ SELECT * FROM orders WHERE customer_id = -7 ;",
        "SELECT * FROM orders WHERE customer_id = /* inline /* nested */ */ '42'",
        "# a MySQL comment line\nSELECT * FROM orders WHERE customer_id = 42",
        "SELECT * FROM `orders` WHERE `customer_id` = ?",
        "SELECT/*+ IndexScan(orders) */ * FROM orders WHERE customer_id = 1e3",
    ],
    // Numbers in every spelling, booleans and NULL as values.
    &[
        "UPDATE products SET price = 1, active = true WHERE id = 0x1F",
        "UPDATE products SET price = 1.5, active = FALSE WHERE id = .5",
        "UPDATE products SET price = -2.5E-3, active = NULL WHERE id = 1_000",
        "UPDATE products SET price = +3, active = 'yes' WHERE id = - 4",
        "UPDATE products SET price = $1, active = $2 WHERE id = $3",
        "UPDATE `products` SET `price` = ? , `active` = TRUE WHERE ID = - ?",
    ],
    // Strings in every spelling.
    &[
        "SELECT id FROM users WHERE name = 'O''Brien'",
        "SELECT id FROM users WHERE name = E'O\\'Brien'",
        "SELECT id FROM users WHERE name = 'O\\'Brien'",
        "SELECT id FROM users WHERE name = $$O'Brien$$",
        "SELECT id FROM users WHERE name = $q$O'Brien $$ $q$",
        "SELECT id FROM users WHERE name = N'O''Brien'",
        "SELECT id FROM users WHERE name = _utf8mb4'O\\'Brien'",
        "SELECT id FROM users WHERE name = 'O'\n  'Brien'",
        "SELECT id FROM users WHERE name = U&'d\\0061t'",
        "SELECT id FROM users WHERE name = 'caf\u{e9} \u{1f600}'",
    ],
    // IN-lists of any length and kind.
    &[
        "SELECT id FROM products WHERE category_id IN (1, 2, 3) AND status = 'live'",
        "SELECT id FROM products WHERE category_id IN (7) AND status = 'live'",
        "SELECT id FROM products WHERE category_id IN ($1, $2, $3, $4) AND status = $5",
        "SELECT id FROM products WHERE category_id IN ('a','b') AND status = 'live'",
        "SELECT id FROM products WHERE category_id in (-1, 2.5, NULL, ?) AND status = 'live'",
        "SELECT id FROM products WHERE category_id IN ($1 /*, ... */) AND status = $2",
        "SELECT ID FROM `products` WHERE `category_id` IN (...) AND `status` = ?",
    ],
    // MariaDB digests spell interval units the ODBC way.
    &[
        "SELECT id FROM orders WHERE placed_at >= NOW() - INTERVAL 5 HOUR",
        "SELECT `id` FROM `orders` WHERE `placed_at` >= NOW ( ) - INTERVAL ? SQL_TSI_HOUR",
        "select id from orders where placed_at >= now() - interval ? sql_tsi_hour",
    ],
    // ARRAY literals of any length.
    &[
        "SELECT id FROM posts WHERE tags && ARRAY['a']::text[]",
        "SELECT id FROM posts WHERE tags && ARRAY['a', 'b', 'c']::text[]",
        "SELECT id FROM posts WHERE tags && array[$1, $2]::text[]",
    ],
    // VALUES lists: any number of rows of one shape.
    &[
        "INSERT INTO order_items (order_id, product_id, qty) VALUES (1, 2, 3)",
        "INSERT INTO order_items (order_id, product_id, qty) VALUES (1, 2, 3), (4, 5, 6), (7, 8, 9)",
        "INSERT INTO order_items(order_id, product_id, qty) VALUES ($1, $2, $3), ($4, $5, $6)",
        "insert into order_items (order_id, product_id, qty) values (1, NULL, -3),(2,'x',4);",
        "INSERT INTO `order_items` ( `order_id` , `product_id` , `qty` ) VALUES (...) /* , ... */",
        "INSERT INTO `order_items` ( `order_id` , `product_id` , `qty` ) VALUES (...)",
    ],
    // Rows with expressions collapse too, and a digest's `?, ...` inside a row is read with
    // the column list's arity.
    &[
        "insert into t(id, a, d) values (1, 'a', now()), (2, 'b', now())",
        "insert into t(id, a, d) values (1, 2, now())",
        "insert into t(id, a, d) values ($1, $2, now()), ($3, $4, now()), ($5, $6, now())",
        "INSERT INTO `t` ( ID , `a` , `d` ) VALUES ( ?, ... , NOW ( ) ) , ( ?, ... , NOW ( ) ) ",
        "INSERT INTO `t` ( ID , `a` , `d` ) VALUES ( ?, ... , NOW ( ) ) ",
    ],
    &[
        "insert into t(id) values (1),(2)",
        "insert into t(id) values ($1)",
        "INSERT INTO `t` ( ID ) VALUES (?) /* , ... */ ",
        "INSERT INTO `t` ( ID ) VALUES (?) ",
    ],
    // PostgreSQL 15 pg_stat_statements texts and the statements that produced them.
    &[
        "select * from t where id = -5 and b = true and a = 'x''y' and c = 1.5e3 and d = date '2020-01-01';",
        "select * from t where id = $1 and b = $2 and a = $3 and c = $4 and d = date $5",
        "SELECT * FROM `t` WHERE ID = - ? AND `b` = TRUE AND `a` = ? AND `c` = ? AND `d` = DATE ? ",
    ],
    &[
        "select * from t where id in (1,2,3) and a is null and b is not true",
        "select * from t where id in ($1,$2,$3) and a is null and b is not true",
    ],
    &[
        "select * from t where id = any('{1,2}') or a = E'it\\'s' or a = $$dollar$$ or a = 'foo'\n  'bar' or a = $x$q$x$;",
        "select * from t where id = any($1) or a = $2 or a = $3 or a = $4 or a = $5",
    ],
    &[
        "insert into t(id, a) values (1, 'a'), (2, 'b'), (3, null);",
        "insert into t(id, a) values ($1, $2), ($3, $4), ($5, $6)",
        "INSERT INTO `t` ( ID , `a` ) VALUES (...) /* , ... */ ",
        "INSERT INTO `t` ( ID , `a` ) VALUES (...) ",
        "insert into t(id, a) values (1, 'a');",
    ],
    &[
        "select id from t where j ->> 'k' = 'v' and j #> '{a,b}' is not null and j ? 'z' order by 1 desc limit 10 offset 5;",
        "select id from t where j ->> $1 = $2 and j #> $3 is not null and j ? $4 order by 1 desc limit $5 offset $6",
    ],
    &[
        "select id, - 7, +3, -   2.5 from t where c between -1 and 2 and a <> 'q';",
        "select id, $1, +$2, $3 from t where c between $4 and $5 and a <> $6",
    ],
    &[
        "update t set a = null, c = c - 1 where id != 3;",
        "update t set a = $1, c = c - $2 where id != $3",
        "UPDATE `t` SET `a` = ? , `c` = `c` - ? WHERE ID != ? ",
    ],
    &[
        "select interval '1 day', '5'::int, array[1,2,3];",
        "select interval $1, $2::int, array[$3,$4,$5]",
    ],
    &[
        "select count(*) from t where a like 'abc%' group by a having count(*) > 10;",
        "select count(*) from t where a like $1 group by a having count(*) > $2",
    ],
    // MariaDB 10.11 digests and their statements.
    &[
        "select id, - 7, +3, 0x1F, -2.5 from t where c between -1 and 2 and a <> 'dq' and a != 'q' order by 1 desc limit 10, 20",
        "SELECT ID , ?, ... FROM `t` WHERE `c` BETWEEN ? AND ? AND `a` != ? AND `a` != ? ORDER BY ? DESC LIMIT ?, ... ",
    ],
    &[
        "select Orders, `Orders`, T.id from t as T where id = - 3 and c*-2 > 1 and id=-4;",
        "SELECT `Orders` , `Orders` , `T` . `id` FROM `t` AS `T` WHERE ID = - ? AND `c` * ? > ? AND ID = - ? ",
    ],
    &[
        "select substring(a, 1, 2), concat(a, 'x', 'y') from t where a like 'abc%';",
        "SELECT SUBSTRING ( `a` , ?, ... ) , `concat` ( `a` , ?, ... ) FROM `t` WHERE `a` LIKE ? ",
    ],
    &[
        "SELECT /*+ NO_RANGE_OPTIMIZATION(t) */ id FROM t WHERE id = 1 -- trailing\n;",
        "SELECT ID FROM `t` WHERE ID = ? ",
    ],
    &[
        "select * from t where (id, a) in ((1,'a'),(2,'b'));",
        "select * from t where (id, a) in (($1, $2), ($3, $4), ($5, $6))",
        "SELECT * FROM `t` WHERE ( ID , `a` ) IN ( (...) /* , ... */ ) ",
    ],
    &[
        "select * from t where id in (1, 2, now());",
        "SELECT * FROM `t` WHERE ID IN ( ?, ... , NOW ( ) ) ",
    ],
    // MySQL executable comments count; `#` is a comment at the start of a line.
    &[
        "/*!40101 SET character_set_client = @saved_cs_client */;",
        "SET character_set_client = @SAVED_CS_CLIENT",
    ],
    // Keyword case, whitespace and the spelling of `<>`.
    &[
        "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total <> 0 ORDER BY o.created_at DESC LIMIT 20",
        "select O.ID,C.NAME from ORDERS O join CUSTOMERS C on C.ID=O.CUSTOMER_ID where O.TOTAL!=0 order by O.CREATED_AT desc limit 50",
        "SeLeCt o.id ,\tc.name\r\nFrOm orders o JoIn customers c On c.id = o.customer_id WhErE o.total <> -0.0 OrDeR bY o.created_at DeSc LiMiT ?",
    ],
];

/// Pairs that must get different fingerprints.
const DIFFERENT: &[(&str, &str)] = &[
    (
        "SELECT id FROM orders WHERE placed_at >= NOW() - INTERVAL ? SQL_TSI_HOUR",
        "SELECT id FROM orders WHERE placed_at >= NOW() - INTERVAL ? SQL_TSI_DAY",
    ),
    (
        "SELECT * FROM orders WHERE id = 1",
        "SELECT * FROM order_items WHERE id = 1",
    ),
    (
        "SELECT * FROM orders WHERE id = 1",
        "SELECT * FROM orders WHERE customer_id = 1",
    ),
    ("SELECT id FROM orders", "SELECT id, status FROM orders"),
    (
        "SELECT * FROM orders WHERE id = 1",
        "SELECT * FROM orders WHERE id > 1",
    ),
    (
        "SELECT * FROM orders WHERE id < 1",
        "SELECT * FROM orders WHERE id <= 1",
    ),
    (
        "SELECT * FROM orders WHERE id = 1",
        "SELECT * FROM orders WHERE id <> 1",
    ),
    (
        "SELECT * FROM t WHERE a LIKE 'x%'",
        "SELECT * FROM t WHERE a ILIKE 'x%'",
    ),
    (
        "SELECT * FROM t WHERE a IN (1, 2)",
        "SELECT * FROM t WHERE a NOT IN (1, 2)",
    ),
    (
        "SELECT * FROM t WHERE a = 1 AND b = 2",
        "SELECT * FROM t WHERE a = 1 OR b = 2",
    ),
    (
        "SELECT * FROM t ORDER BY created_at",
        "SELECT * FROM t ORDER BY created_at DESC",
    ),
    (
        "SELECT * FROM t ORDER BY created_at ASC",
        "SELECT * FROM t ORDER BY created_at DESC",
    ),
    (
        "SELECT * FROM t ORDER BY a, b",
        "SELECT * FROM t ORDER BY b, a",
    ),
    (
        "SELECT * FROM t WHERE a = 1 LIMIT 10",
        "SELECT * FROM t WHERE a = 1",
    ),
    (
        "SELECT * FROM t LIMIT 10 OFFSET 20",
        "SELECT * FROM t LIMIT 10",
    ),
    (
        "INSERT INTO t VALUES (1, 2)",
        "INSERT INTO t VALUES (1, 2, 3)",
    ),
    (
        "INSERT INTO t VALUES ($1, $2), ($3, $4)",
        "INSERT INTO t VALUES ($1, $2, $3)",
    ),
    (
        "INSERT INTO t (a, b) VALUES (1, 2)",
        "INSERT INTO t (a, b, c) VALUES (1, 2, 3)",
    ),
    (
        "INSERT INTO t (a, b) VALUES (1, 2)",
        "INSERT INTO t (a, b) VALUES (1, now())",
    ),
    (
        "SELECT * FROM t WHERE id = ANY($1)",
        "SELECT * FROM t WHERE id IN ($1)",
    ),
    (
        "SELECT * FROM t WHERE a IS NULL",
        "SELECT * FROM t WHERE a IS NOT NULL",
    ),
    (
        "SELECT * FROM t WHERE a IS NULL",
        "SELECT * FROM t WHERE a = NULL",
    ),
    (
        "SELECT * FROM t WHERE a IS TRUE",
        "SELECT * FROM t WHERE a IS FALSE",
    ),
    ("SELECT * FROM \"Orders\"", "SELECT * FROM orders"),
    ("SELECT a - 1 FROM t", "SELECT a + 1 FROM t"),
    ("SELECT a - 1 FROM t", "SELECT a, -1 FROM t"),
    (
        "SELECT * FROM a JOIN b ON a.id = b.a_id",
        "SELECT * FROM a LEFT JOIN b ON a.id = b.a_id",
    ),
    ("SELECT count(*) FROM t", "SELECT count(id) FROM t"),
    (
        "SELECT * FROM t WHERE lower(email) = 'x'",
        "SELECT * FROM t WHERE email = 'x'",
    ),
    ("SELECT 1; SELECT 2", "SELECT 1"),
    ("SELECT a::int FROM t", "SELECT a::bigint FROM t"),
    (
        "SELECT a, count(*) FROM t GROUP BY a",
        "SELECT a, count(*) FROM t",
    ),
    ("SELECT DISTINCT a FROM t", "SELECT a FROM t"),
    ("SELECT j -> 'a' FROM t", "SELECT j ->> 'a' FROM t"),
    (
        "SELECT a FROM t UNION SELECT a FROM u",
        "SELECT a FROM t UNION ALL SELECT a FROM u",
    ),
    (
        "SELECT * FROM t WHERE a IN (1, 2)",
        "SELECT * FROM t WHERE a IN (SELECT b FROM u)",
    ),
    ("SELECT * FROM t WHERE a = 1", "SELECT * FROM t WHERE a = b"),
    (
        "SELECT * FROM t WHERE j ? 'k'",
        "SELECT * FROM t WHERE j ?| 'k'",
    ),
    ("SELECT x FROM t", "SELECT \"x y\" FROM t"),
];

/// How typical statements print.
const PRINTED: &[(&str, &str)] = &[
    (
        "select * from ORDERS where customer_id = 42 and status in ('new', 'paid') limit 10",
        "SELECT * FROM orders WHERE customer_id = ? AND status IN (?) LIMIT ?",
    ),
    (
        "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') ON CONFLICT (a) DO NOTHING;",
        "INSERT INTO t(a, b) VALUES (?, ?) ON CONFLICT (a) DO NOTHING",
    ),
    (
        "SELECT * FROM t WHERE id = ANY($1)",
        "SELECT * FROM t WHERE id = ANY(?)",
    ),
    (
        "SELECT \"Orders\".\"Id\", `Mixed`, \"a b\", \"x\"\"y\" FROM x",
        "SELECT \"Orders\".\"Id\", mixed, \"a b\", \"x\"\"y\" FROM x",
    ),
    (
        "select a from t where b is not null and c = null",
        "SELECT a FROM t WHERE b IS NOT NULL AND c = ?",
    ),
    (
        "select x from t limit 10, 20",
        "SELECT x FROM t LIMIT ?, ...",
    ),
    (
        "SELECT data->>'name', data #> '{a,b}' FROM docs",
        "SELECT data ->> ?, data #> ? FROM docs",
    ),
    (
        "select a[1:2], b[lo:hi] from t",
        "SELECT a[?:?], b[lo:hi] FROM t",
    ),
    (
        "select count(*), sum(x) filter (where y) from t",
        "SELECT count(*), sum(x) FILTER (WHERE y) FROM t",
    ),
    ("SELECT 1; SELECT 2;", "SELECT ?; SELECT ?"),
    (
        "select x - 1, -1, x*-1 from t",
        "SELECT x - ?, ..., x * ? FROM t",
    ),
    (
        "select * from t where a = any(array[:a, :b])",
        "SELECT * FROM t WHERE a = ANY(ARRAY[?])",
    ),
    ("", ""),
    ("  -- only a comment\n", ""),
];

#[test]
fn groups_share_a_fingerprint() {
    for group in SAME {
        let first = fingerprint(group[0]);
        for sql in &group[1..] {
            assert_eq!(
                fingerprint(sql),
                first,
                "\n{sql}\n  -> {}\nshould match\n{}\n  -> {}",
                normalize(sql),
                group[0],
                normalize(group[0])
            );
        }
    }
}

#[test]
fn groups_are_distinct_from_each_other() {
    let firsts: Vec<_> = SAME.iter().map(|g| (g[0], fingerprint(g[0]))).collect();
    for (i, (a, fa)) in firsts.iter().enumerate() {
        for (b, fb) in &firsts[i + 1..] {
            // Groups of the same table may legitimately coincide only if written so; none are.
            assert_ne!(fa, fb, "\n{a}\n{b}\n  -> {}", normalize(a));
        }
    }
}

#[test]
fn pairs_differ() {
    for (a, b) in DIFFERENT {
        assert_ne!(
            fingerprint(a),
            fingerprint(b),
            "\n{a}\n{b}\n  both -> {}",
            normalize(a)
        );
    }
}

#[test]
fn printed_forms() {
    for (sql, want) in PRINTED {
        assert_eq!(normalize(sql), *want, "{sql}");
    }
}

#[test]
fn fingerprint_is_the_hash_of_the_normalized_text() {
    let all = SAME
        .iter()
        .flat_map(|g| g.iter())
        .chain(DIFFERENT.iter().flat_map(|(a, b)| [a, b]));
    for sql in all {
        for flavor in [Flavor::Generic, Flavor::Postgres, Flavor::Mysql] {
            let text = normalize_as(sql, flavor);
            assert_eq!(
                fingerprint_as(sql, flavor),
                Fingerprint::of_normalized(&text),
                "{sql}"
            );
            // Normalizing is idempotent on real statements.
            assert_eq!(normalize_as(&text, flavor), text, "{sql}");
        }
    }
}

#[test]
fn flavors_read_what_their_dialect_means() {
    // Standard-conforming strings: the backslash is a character; MySQL: an escape.
    let pg = "SELECT * FROM f WHERE path = 'C:\\' AND name = 'x'";
    assert_eq!(
        normalize_as(pg, Flavor::Postgres),
        "SELECT * FROM f WHERE path = ? AND name = ?"
    );
    assert_ne!(
        normalize_as(pg, Flavor::Mysql),
        normalize_as(pg, Flavor::Postgres)
    );
    // MySQL: double quotes make strings; elsewhere identifiers.
    assert_eq!(
        normalize_as("SELECT a FROM t WHERE b = \"x\"", Flavor::Mysql),
        "SELECT a FROM t WHERE b = ?"
    );
    assert_eq!(
        normalize("SELECT a FROM t WHERE b = \"x\""),
        "SELECT a FROM t WHERE b = x"
    );
    // `#`: an operator in PostgreSQL, a comment in MySQL.
    assert_eq!(
        normalize_as("SELECT a # b FROM t", Flavor::Postgres),
        "SELECT a # b FROM t"
    );
    assert_eq!(
        normalize_as("SELECT a # b FROM t", Flavor::Mysql),
        "SELECT a"
    );
    assert_eq!(normalize("SELECT a # b FROM t"), "SELECT a # b FROM t");
    let slow_log = "SELECT /*+ NO_RANGE_OPTIMIZATION(t) */ id FROM t WHERE id = 1 # trailing\n;";
    assert_eq!(
        fingerprint_as(slow_log, Flavor::Mysql),
        fingerprint("SELECT ID FROM `t` WHERE ID = ? ")
    );
    // One namespace: a statement every flavor lexes alike gets one fingerprint.
    let sql = "SELECT id FROM users WHERE email = $1 AND org_id IN (1, 2)";
    assert_eq!(fingerprint_as(sql, Flavor::Postgres), fingerprint(sql));
    assert_eq!(fingerprint_as(sql, Flavor::Mysql), fingerprint(sql));
    assert_eq!(Flavor::from(crate::Dialect::Sqlite), Flavor::Postgres);
}

#[test]
fn fingerprint_text_forms() {
    let fp = fingerprint("SELECT 1");
    let text = fp.to_string();
    assert_eq!(text.len(), 16);
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(text.parse::<Fingerprint>(), Ok(fp));
    assert_eq!(Fingerprint::from_u64(fp.as_u64()), fp);
    let json = serde_json::to_string(&fp).expect("serializes");
    assert_eq!(json, format!("\"{text}\""));
    assert_eq!(
        serde_json::from_str::<Fingerprint>(&json).expect("deserializes"),
        fp
    );
    for bad in [
        "",
        "123",
        "0123456789abcdeg",
        "+123456789abcdef",
        "0123456789abcdef0",
    ] {
        assert!(bad.parse::<Fingerprint>().is_err(), "{bad:?}");
    }
    assert!(serde_json::from_str::<Fingerprint>("\"xyz\"").is_err());
    assert!(serde_json::from_str::<Fingerprint>("42").is_err());
}

#[test]
fn nothing_panics_on_malformed_input() {
    let nasty = [
        "'",
        "\"",
        "`",
        "$",
        "$$",
        "$a",
        "$a$",
        "$a$ x $b$",
        "E'",
        "E'\\",
        "U&'",
        "_x'",
        "N'",
        "/*",
        "/* /*",
        "*/",
        "/*!",
        "/*!123",
        "--",
        "#",
        "(",
        ")",
        ")))(((",
        "[",
        "]:",
        "::",
        ":",
        "?",
        "?|",
        "%",
        "%(",
        "%(x",
        "%(x)",
        "@",
        "@@",
        "0x",
        "0b",
        "1e",
        "1e+",
        ".",
        "..",
        "...",
        "VALUES",
        "VALUES (",
        "VALUES (...",
        "INSERT INTO t (a) VALUES (...",
        "IN (",
        "IN ((1,",
        "- - - -",
        "-",
        "+",
        "SELECT 'a\\",
        "SELECT '\\'",
        "\u{0}",
        "é",
        "\u{1f600}'\u{1f600}",
        "SELECT \"\u{e9}",
        "x\u{e9}'",
        "$\u{e9}$ $\u{e9}",
        "`a``",
        "\"a\"\"",
    ];
    for sql in nasty {
        for flavor in [Flavor::Generic, Flavor::Postgres, Flavor::Mysql] {
            let text = normalize_as(sql, flavor);
            assert_eq!(
                fingerprint_as(sql, flavor),
                Fingerprint::of_normalized(&text),
                "{sql:?}"
            );
        }
    }
    // Deep nesting beyond the fixed stack, and many IN-lists and rows.
    let deep = format!("SELECT {}1{} FROM t", "(".repeat(500), ")".repeat(500));
    assert_eq!(
        normalize(&deep),
        normalize(&format!(
            "SELECT {}2{} FROM t",
            "(".repeat(500),
            ")".repeat(500)
        ))
    );
    let many = format!(
        "SELECT * FROM t WHERE {}",
        vec!["a IN (1, 2)"; 100].join(" AND ")
    );
    assert!(normalize(&many).starts_with("SELECT * FROM t WHERE a IN (?) AND a IN (?)"));
    let rows = format!(
        "INSERT INTO t (a, b) VALUES {}",
        vec!["(1, 'x')"; 10_000].join(", ")
    );
    assert_eq!(normalize(&rows), "INSERT INTO t(a, b) VALUES (?, ?)");
}

// ---- property tests ----------------------------------------------------------------------

/// A literal or parameter in one of its spellings, valid under [`Flavor::Generic`].
fn literal() -> impl Strategy<Value = String> {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('\'', "''");
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<i32>().prop_map(|n| format!("- {}", n.unsigned_abs())),
        (any::<f64>().prop_filter("finite", |f| f.is_finite())).prop_map(|f| format!("{f:?}")),
        (0u32..1_000_000, 0u32..100, -30i32..30).prop_map(|(a, b, e)| format!("{a}.{b}e{e}")),
        any::<u32>().prop_map(|n| format!("0x{n:X}")),
        ".*".prop_map(move |s| format!("'{}'", quote(&s))),
        ".*".prop_map(move |s| format!("E'{}'", quote(&s))),
        ".*".prop_map(move |s| format!("N'{}'", quote(&s))),
        "[^$]*".prop_map(|s| format!("$$ {s} $$")),
        "[^$]*".prop_map(|s| format!("$tag${s}$tag$")),
        (1u32..100).prop_map(|n| format!("${n}")),
        Just("?".to_owned()),
        "[a-z][a-z0-9_]{0,8}".prop_map(|s| format!(":{s}")),
        Just("%s".to_owned()),
        Just("TRUE".to_owned()),
        Just("false".to_owned()),
        Just("NULL".to_owned()),
    ]
}

/// Templates with `{}` holes for one value and `{list}` for a list of values.
const TEMPLATES: &[&str] = &[
    "SELECT * FROM orders WHERE customer_id = {} AND status = {} ORDER BY created_at DESC LIMIT {}",
    "SELECT p.id, p.name FROM products p WHERE p.category_id IN ({list}) AND p.price BETWEEN {} AND {}",
    "UPDATE accounts SET balance = balance - {}, updated_at = now() WHERE id = {}",
    "INSERT INTO events (kind, payload, at) VALUES {rows}",
    "SELECT count(*) FROM sessions WHERE user_id = {} AND expires_at > {}::timestamptz",
    "DELETE FROM carts WHERE id IN ({list}) OR owner = {}",
    "SELECT a FROM t WHERE x = ANY(ARRAY[{list}]) AND y <> {} AND z = - {}",
    "SELECT u.id FROM users u JOIN orgs o ON o.id = u.org_id WHERE o.name = {} LIMIT {} OFFSET {}",
];

fn fill(template: &str, values: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let mut values = values.iter().cycle();
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let hole = &rest[at..];
        let end = hole.find('}').map_or(hole.len(), |e| e + 1);
        match &hole[..end] {
            "{list}" => {
                let list: Vec<_> = rows.iter().flatten().cloned().collect();
                out.push_str(&list.join(", "));
            }
            "{rows}" => {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        format!(
                            "({}, {}, {})",
                            r[0],
                            r.get(1).unwrap_or(&r[0]),
                            r.get(2).unwrap_or(&r[0])
                        )
                    })
                    .collect();
                out.push_str(&rows.join(", "));
            }
            _ => out.push_str(values.next().map_or("0", String::as_str)),
        }
        rest = &hole[end..];
    }
    out.push_str(rest);
    out
}

/// The template with `$n` parameters in every hole, as pg_stat_statements would print it.
fn parameterized(template: &str) -> String {
    fill(
        template,
        &["$1".to_owned()],
        &[vec!["$2".to_owned(), "$3".to_owned(), "$4".to_owned()]],
    )
}

/// Case flips and extra whitespace or comments between tokens that are not literals.
fn respell(sql: &str, seed: u64) -> String {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = String::new();
    for word in sql.split(' ') {
        let literal =
            word.contains(['\'', '$', '?', ':', '%']) || word.starts_with(char::is_numeric);
        if !out.is_empty() {
            out.push_str(match next() % 5 {
                0 => " ",
                1 => "\n\t",
                2 => " /* note */ ",
                3 => " -- note\n",
                _ => "   ",
            });
        }
        if literal {
            out.push_str(word);
        } else {
            out.extend(word.chars().map(|c| {
                if next() % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            }));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    /// Substituting any literals into a statement never changes its fingerprint.
    #[test]
    fn literals_never_change_the_fingerprint(
        template in prop::sample::select(TEMPLATES),
        values in prop::collection::vec(literal(), 1..6),
        rows in prop::collection::vec(prop::collection::vec(literal(), 3), 1..6),
    ) {
        let sql = fill(template, &values, &rows);
        let expected = parameterized(template);
        prop_assert_eq!(
            fingerprint(&sql), fingerprint(&expected),
            "\n{}\n  -> {}\n{}\n  -> {}", sql, normalize(&sql), expected, normalize(&expected)
        );
        prop_assert_eq!(normalize(&normalize(&sql)), normalize(&sql));
    }

    /// Case, whitespace and comments between tokens never change it either.
    #[test]
    fn spelling_never_changes_the_fingerprint(
        template in prop::sample::select(TEMPLATES),
        seed in any::<u64>(),
    ) {
        let sql = parameterized(template);
        prop_assert_eq!(fingerprint(&respell(&sql, seed)), fingerprint(&sql), "{}", respell(&sql, seed));
    }

    /// No string makes the fingerprinter panic, and the fingerprint is always the hash of
    /// the normalized text.
    #[test]
    fn any_string_is_safe(sql in any::<String>()) {
        for flavor in [Flavor::Generic, Flavor::Postgres, Flavor::Mysql] {
            let text = normalize_as(&sql, flavor);
            prop_assert_eq!(fingerprint_as(&sql, flavor), Fingerprint::of_normalized(&text));
        }
    }

    /// The same with strings made of the characters that steer the lexer.
    #[test]
    fn sql_punctuation_is_safe(sql in "[-'\"`$?:%@#/*()\\[\\],;.\\\\eEnNxXuU&_a-z0-9 \n\u{e9}]{0,64}") {
        for flavor in [Flavor::Generic, Flavor::Postgres, Flavor::Mysql] {
            let text = normalize_as(&sql, flavor);
            prop_assert_eq!(fingerprint_as(&sql, flavor), Fingerprint::of_normalized(&text));
        }
    }
}

/// A long fuzzing run on a proptest engine: arbitrary strings and byte-level mutations of
/// real statements, checking that nothing panics, that the fingerprint is the hash of the
/// normalized text, and that the output stays proportionate to the input. Runs batches of
/// `FINGERPRINT_FUZZ_CASES` (default 200,000) until `FINGERPRINT_FUZZ_SECS` have passed:
/// `FINGERPRINT_FUZZ_SECS=300 cargo test -p persona-core --release fuzz_ -- --ignored --nocapture`
#[test]
#[ignore = "long-running fuzzing; run on demand"]
fn fuzz_mutated_statements() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cases = u32::try_from(env("FINGERPRINT_FUZZ_CASES", 200_000)).unwrap_or(u32::MAX);
    let budget = std::time::Duration::from_secs(env("FINGERPRINT_FUZZ_SECS", 0));
    let corpus: Vec<&str> = SAME.iter().flat_map(|g| g.iter().copied()).collect();
    let pieces = [
        "'", "\"", "`", "$", "$$", "$a$", "?", ":", "::", "%s", "/*", "*/", "/*!", "--", "#", "\n",
        "(", ")", "[", "]", ",", ".", "...", "-", "E'", "\\", "VALUES", "IN", "IS", "NOT", "NULL",
        "ARRAY", "\u{e9}",
    ];
    let mutated = (
        prop::sample::select(corpus),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                0usize..4,
                prop::sample::select(pieces.to_vec()),
            ),
            1..8,
        ),
    )
        .prop_map(|(base, edits)| {
            let mut sql = base.to_owned();
            for (at, op, piece) in edits {
                let bounds: Vec<usize> = (0..=sql.len())
                    .filter(|&i| sql.is_char_boundary(i))
                    .collect();
                let k = at.index(bounds.len());
                let (i, j) = (bounds[k], bounds[(k + 1).min(bounds.len() - 1)]);
                match op {
                    0 => sql.insert_str(i, piece),
                    1 => sql.replace_range(i..j, ""),
                    2 => sql.replace_range(i..j, piece),
                    _ => sql.truncate(i),
                }
            }
            sql
        });
    let input = prop_oneof![
        mutated,
        any::<String>(),
        "[-'\"`$?:%@#/*()\\[\\],;.\\\\eExXnN_a-z0-9 \n]{0,200}"
    ];
    let started = std::time::Instant::now();
    let mut total = 0u64;
    loop {
        let config = ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        runner
            .run(&input, |sql| {
                for flavor in [Flavor::Generic, Flavor::Postgres, Flavor::Mysql] {
                    let text = normalize_as(&sql, flavor);
                    prop_assert_eq!(
                        fingerprint_as(&sql, flavor),
                        Fingerprint::of_normalized(&text)
                    );
                    prop_assert!(text.len() <= 8 * sql.len() + 16, "{} -> {}", sql, text);
                }
                Ok(())
            })
            .expect("no failure");
        total += u64::from(cases);
        if started.elapsed() >= budget {
            break;
        }
    }
    eprintln!(
        "fuzzed {total} inputs (x3 flavors) in {:.0?} without a failure",
        started.elapsed()
    );
}
