//! End-to-end tests of the `persona` binary: each test runs the real executable against its own
//! temporary registry (via `PERSONA_REGISTRY`) and checks output, exit codes and registry state.
//!
//! Server tests (provisioning into PostgreSQL and MariaDB) skip with a printed reason when
//! `PERSONA_TEST_PG_URL` / `PERSONA_TEST_MYSQL_URL` are unset.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use persona_core::{Dialect, PersonaDefinition, Schema};
use persona_engine::testing::TestDb;

/// A sandbox: a temporary directory holding the registry and any files a test writes.
struct Sandbox {
    dir: tempfile::TempDir,
    registry: String,
}

/// What one run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let registry = dir.path().join("registry.db").display().to_string();
        Sandbox { dir, registry }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_persona"));
        cmd.args(args)
            .env("PERSONA_REGISTRY", &self.registry)
            .env_remove("RUST_LOG")
            .current_dir(self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start persona");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out: Output = child.wait_with_output().expect("run persona");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run, require exit code 0, return stdout.
    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code, 0,
            "persona {args:?} failed:\n{}{}",
            run.stdout, run.stderr
        );
        run.stdout
    }

    /// Run, require exit code `code`, return the run.
    fn fails(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "persona {args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        run
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("persona {args:?}: not JSON: {e}\n{out}"))
    }

    fn persona(&self, name: &str, version: Option<u32>) -> PersonaDefinition {
        let v = version.map(|v| v.to_string());
        let mut args = vec!["persona", "show", name, "--json"];
        if let Some(v) = &v {
            args.extend(["--version", v.as_str()]);
        }
        serde_json::from_value(self.json(&args)).expect("show --json is a persona")
    }

    fn names(&self) -> Vec<String> {
        self.json(&["persona", "list", "--json"])
            .as_array()
            .expect("list --json is an array")
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write file");
        path.display().to_string()
    }
}

/// The built-in template slugs, from `persona template list --json`.
fn template_slugs(sb: &Sandbox) -> Vec<String> {
    let list = sb.json(&["template", "list", "--json"]);
    list.as_array()
        .expect("template list --json is an array")
        .iter()
        .map(|t| {
            t["slug"]
                .as_str()
                .expect("each template has a slug")
                .to_owned()
        })
        .collect()
}

/// A small persona file of our own, independent of the templates.
const LIBRARY_TOML: &str = r#"
name = "library"
description = "Books and loans"
tags = ["test"]

[[initial_schema.tables]]
name = "books"
primary_key = ["id"]
columns = [
  { name = "id", type = "bigint", nullable = false, identity = true },
  { name = "title", type = "varchar(200)", nullable = false },
]

[[initial_schema.tables]]
name = "loans"
primary_key = ["id"]
columns = [
  { name = "id", type = "bigint", nullable = false, identity = true },
  { name = "book_id", type = "bigint", nullable = false },
  { name = "due", type = "date", nullable = false },
]
indexes = [{ columns = ["book_id", "due"] }]
foreign_keys = [{ columns = ["book_id"], ref_table = "books", ref_columns = ["id"] }]

[[access_patterns]]
name = "loans of a book"
kind = "range_scan"
sql = "SELECT id, due FROM loans WHERE book_id = $1 ORDER BY due"
expected_rate_per_sec = 20.0
"#;

fn table_names(schema: &Schema) -> Vec<String> {
    let mut names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    names.sort();
    names
}

// --- help and usage ---------------------------------------------------------------------

#[test]
fn no_arguments_prints_help() {
    let sb = Sandbox::new();
    let out = sb.ok(&[]);
    assert!(out.contains("Usage: persona"), "{out}");
    for command in ["template", "persona", "provision", "introspect"] {
        assert!(out.contains(command), "help lists {command}:\n{out}");
    }
    assert!(
        !Path::new(&sb.registry).exists(),
        "help must not create a registry"
    );
}

#[test]
fn help_is_available_everywhere() {
    let sb = Sandbox::new();
    let paths: &[&[&str]] = &[
        &["template"],
        &["template", "list"],
        &["template", "show"],
        &["template", "validate"],
        &["persona"],
        &["persona", "create"],
        &["persona", "list"],
        &["persona", "show"],
        &["persona", "export"],
        &["persona", "import"],
        &["persona", "update"],
        &["persona", "delete"],
        &["persona", "history"],
        &["persona", "restore"],
        &["provision"],
        &["introspect"],
    ];
    for path in paths {
        let mut args = path.to_vec();
        args.push("--help");
        let out = sb.ok(&args);
        assert!(out.contains("Usage: persona"), "{args:?}:\n{out}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    sb.fails(&["persona", "create", "--name", "x"], 2);
    sb.fails(&["no-such-command"], 2);
}

// --- registry round trips with a persona file ----------------------------------------------

#[test]
fn import_export_round_trip_in_both_formats() {
    let sb = Sandbox::new();
    let file = sb.write("library.toml", LIBRARY_TOML);
    let out = sb.ok(&["persona", "import", &file]);
    assert!(
        out.contains("imported persona `library` (version 1"),
        "{out}"
    );
    let original = sb.persona("library", None);
    assert_eq!(table_names(&original.initial_schema), ["books", "loans"]);

    for (format, ext) in [("toml", "toml"), ("json", "json")] {
        let exported = sb.path(&format!("export.{ext}"));
        let exported = exported.to_str().unwrap();
        sb.ok(&[
            "persona", "export", "library", "--format", format, "--output", exported,
        ]);
        let copy = format!("library-{format}");
        sb.ok(&["persona", "import", exported, "--name", &copy]);
        let back = sb.persona(&copy, None);
        assert_eq!(back.initial_schema, original.initial_schema, "{format}");
        assert_eq!(back.access_patterns, original.access_patterns, "{format}");
        assert_eq!(back.description, original.description, "{format}");
        assert_ne!(
            back.persona_id, original.persona_id,
            "an import is a new persona"
        );
        assert_eq!(back.version, 1);
    }

    // Export to stdout is the same text as export to a file.
    let stdout = sb.ok(&["persona", "export", "library"]);
    let file_text = std::fs::read_to_string(sb.path("export.toml")).unwrap();
    assert_eq!(stdout, file_text);

    assert_eq!(sb.names(), ["library", "library-json", "library-toml"]);

    // The same name twice is refused with a hint and changes nothing.
    let run = sb.fails(&["persona", "import", &file], 2);
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("--name"),
        "{}",
        run.stderr
    );
    assert_eq!(sb.names(), ["library", "library-json", "library-toml"]);
}

#[test]
fn show_is_a_readable_summary() {
    let sb = Sandbox::new();
    let file = sb.write("library.toml", LIBRARY_TOML);
    sb.ok(&["persona", "import", &file]);
    let out = sb.ok(&["persona", "show", "library"]);
    assert!(out.contains("Persona      library"), "{out}");
    assert!(out.contains("Tables (2)"), "{out}");
    let loans = out
        .lines()
        .find(|l| l.trim_start().starts_with("loans"))
        .expect("loans row");
    let cells: Vec<&str> = loans.split_whitespace().collect();
    assert_eq!(
        &cells[..4],
        ["loans", "3", "1", "1"],
        "columns, indexes, fks: {loans}"
    );
    assert!(
        out.contains("loans of a book") && out.contains("range_scan"),
        "{out}"
    );
    assert!(out.contains("Performance profile"), "{out}");
}

#[test]
fn update_history_and_restore() {
    let sb = Sandbox::new();
    let file = sb.write("library.toml", LIBRARY_TOML);
    sb.ok(&["persona", "import", &file]);
    let v1 = sb.persona("library", None);

    let edited = LIBRARY_TOML.replace("Books and loans", "Books, loans and fines");
    let edited = sb.write("edited.toml", &edited);
    let out = sb.ok(&["persona", "update", "library", "--from-file", &edited]);
    assert!(out.contains("now version 2"), "{out}");
    assert_eq!(
        sb.persona("library", None).description,
        "Books, loans and fines"
    );
    assert_eq!(
        sb.persona("library", Some(1)).description,
        "Books and loans"
    );

    let out = sb.ok(&["persona", "restore", "library", "--version", "1"]);
    assert!(out.contains("now version 3"), "{out}");
    let v3 = sb.persona("library", None);
    assert_eq!(v3.version, 3);
    assert_eq!(v3.description, v1.description);
    assert_eq!(v3.initial_schema, v1.initial_schema);
    assert_eq!(v3.persona_id, v1.persona_id);

    let history = sb.json(&["persona", "history", "library", "--json"]);
    let versions: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    let text = sb.ok(&["persona", "history", "library"]);
    assert!(text.contains("restored from version 1"), "{text}");

    // Any version can be exported.
    let old = sb.ok(&[
        "persona",
        "export",
        "library",
        "--version",
        "2",
        "--format",
        "json",
    ]);
    assert!(old.contains("Books, loans and fines"), "{old}");
    let run = sb.fails(&["persona", "show", "library", "--version", "9"], 2);
    assert!(run.stderr.contains("no version 9"), "{}", run.stderr);
}

#[test]
fn delete_asks_unless_yes() {
    let sb = Sandbox::new();
    let file = sb.write("library.toml", LIBRARY_TOML);
    sb.ok(&["persona", "import", &file]);
    sb.ok(&["persona", "import", &file, "--name", "other"]);

    let run = sb.run_with_stdin(&["persona", "delete", "library"], "n\n");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(sb.names(), ["library", "other"]);

    let run = sb.run_with_stdin(&["persona", "delete", "library"], "y\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sb.names(), ["other"]);

    let out = sb.ok(&["persona", "delete", "other", "--yes"]);
    assert!(out.contains("deleted persona `other` (1 version"), "{out}");
    assert!(sb.names().is_empty());
    sb.fails(&["persona", "history", "other"], 2);
    sb.fails(&["persona", "delete", "other", "--yes"], 2);
}

#[test]
fn registry_flag_overrides_the_environment() {
    let sb = Sandbox::new();
    let other = sb.path("other.db");
    let url = format!("sqlite://{}", other.display());
    let file = sb.write("library.toml", LIBRARY_TOML);
    sb.ok(&["--registry", &url, "persona", "import", &file]);
    assert!(other.exists());
    assert!(sb.names().is_empty(), "the default registry is untouched");
    let list = sb.ok(&["persona", "list", "--registry", &url]);
    assert!(list.lines().any(|l| l.starts_with("library ")), "{list}");
    assert!(list.starts_with("NAME"), "{list}");
}

#[test]
fn bad_registry_url_is_invalid_input() {
    let sb = Sandbox::new();
    let run = sb.fails(
        &[
            "--registry",
            "mysql://root:hunter2@localhost/reg",
            "persona",
            "list",
        ],
        2,
    );
    assert!(
        run.stderr.contains("SQLite") && run.stderr.contains("PostgreSQL"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

// --- introspection --------------------------------------------------------------------------

#[test]
fn introspect_reads_a_sqlite_database_and_saves_it() {
    let sb = Sandbox::new();
    let db = sb.path("plain.db");
    let url = format!("sqlite://{}", db.display());
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let target = persona_engine::Database::connect(&url).await.unwrap();
            target
                .execute("CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
                .await
                .unwrap();
            target
                .execute(
                    "CREATE TABLE posts (id INTEGER PRIMARY KEY, \
                     author_id INTEGER NOT NULL REFERENCES authors (id), body TEXT)",
                )
                .await
                .unwrap();
            target
                .execute("CREATE INDEX posts_author ON posts (author_id)")
                .await
                .unwrap();
            target.close().await;
        });
    }
    let schema: Schema =
        serde_json::from_value(sb.json(&["introspect", "--url", &url, "--json"])).unwrap();
    assert_eq!(table_names(&schema), ["authors", "posts"]);
    let posts = schema.table("posts").unwrap();
    assert_eq!(posts.foreign_keys.len(), 1);
    assert_eq!(posts.foreign_keys[0].ref_table, "authors");

    let text = sb.ok(&["introspect", "--url", &url]);
    assert!(text.contains("(sqlite, 2 tables)"), "{text}");
    assert!(text.contains("posts_author"), "{text}");

    let run = sb.run(&["introspect", "--url", &url, "--save-as", "blog-live"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("saved as persona `blog-live`"),
        "{}",
        run.stderr
    );
    assert_eq!(sb.persona("blog-live", None).initial_schema, schema);
}

#[test]
fn unreachable_database_is_a_runtime_failure_without_the_password() {
    let sb = Sandbox::new();
    let run = sb.fails(
        &["introspect", "--url", "postgres://me:hunter2@127.0.0.1:1/x"],
        1,
    );
    assert!(run.stderr.contains("127.0.0.1:1"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    let run = sb.fails(&["introspect", "--url", "http://example.com"], 2);
    assert!(
        run.stderr.contains("unsupported database URL"),
        "{}",
        run.stderr
    );
}

// --- templates ------------------------------------------------------------------------------

#[test]
fn template_list_and_show() {
    let sb = Sandbox::new();
    let slugs = template_slugs(&sb);
    assert!(slugs.len() >= 6, "at least six templates: {slugs:?}");
    let text = sb.ok(&["template", "list"]);
    for slug in &slugs {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{slug} "))),
            "{slug}:\n{text}"
        );

        let json: PersonaDefinition =
            serde_json::from_value(sb.json(&["template", "show", slug, "--json"])).unwrap();
        assert!(!json.initial_schema.tables.is_empty(), "{slug} has tables");
        let toml_text = sb.ok(&["template", "show", slug, "--toml"]);
        let file = sb.write(&format!("{slug}.toml"), &toml_text);
        let reread = sb.ok(&["template", "validate", &file]);
        assert!(reread.contains("ok"), "{slug}: {reread}");

        let summary = sb.ok(&["template", "show", slug]);
        let first = &json.initial_schema.tables[0].name;
        assert!(
            summary.contains(first.as_str()),
            "{slug} summary names {first}:\n{summary}"
        );
    }
    assert!(
        !Path::new(&sb.registry).exists(),
        "template commands never touch the registry"
    );
    let run = sb.fails(&["template", "show", "no-such-template"], 2);
    assert!(run.stderr.contains("no-such-template"), "{}", run.stderr);
}

#[test]
fn persona_from_template_round_trips_through_toml_export() {
    let sb = Sandbox::new();
    let slug = template_slugs(&sb).remove(0);
    let out = sb.ok(&[
        "persona",
        "create",
        "--from-template",
        &slug,
        "--name",
        "shop",
    ]);
    assert!(out.contains("created persona `shop` (version 1"), "{out}");
    assert!(out.contains(&format!("template `{slug}`")), "{out}");
    let template: PersonaDefinition =
        serde_json::from_value(sb.json(&["template", "show", &slug, "--json"])).unwrap();
    let shop = sb.persona("shop", None);
    assert_eq!(shop.initial_schema, template.initial_schema);
    assert_eq!(shop.access_patterns, template.access_patterns);

    let list = sb.json(&["persona", "list", "--json"]);
    let row = &list.as_array().unwrap()[0];
    assert_eq!(row["name"], "shop");
    assert_eq!(row["version"], 1);
    assert_eq!(row["table_count"], template.initial_schema.tables.len());
    assert_eq!(row["persona_id"], shop.persona_id.as_str());

    let exported = sb.ok(&["persona", "export", "shop"]);
    let file = sb.write("shop.toml", &exported);
    sb.ok(&["persona", "import", &file, "--name", "shop-copy"]);
    let copy = sb.persona("shop-copy", None);
    assert_eq!(copy.initial_schema, shop.initial_schema);
    assert_eq!(copy.access_patterns, shop.access_patterns);
    assert_eq!(copy.performance_profile, shop.performance_profile);
    assert_eq!(copy.data_hints, shop.data_hints);
    assert_eq!(sb.names(), ["shop", "shop-copy"]);

    let run = sb.fails(
        &[
            "persona",
            "create",
            "--from-template",
            "nope",
            "--name",
            "x",
        ],
        2,
    );
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    assert_eq!(sb.names(), ["shop", "shop-copy"]);
}

// --- invalid input ------------------------------------------------------------------------

/// The `# expect: …` first line of an invalid fixture.
fn expectation(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("# expect:")
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: …`", path.display()))
        .trim()
        .to_owned()
}

#[test]
fn invalid_fixtures_exit_2_and_leave_the_registry_unchanged() {
    let sb = Sandbox::new();
    let file = sb.write("library.toml", LIBRARY_TOML);
    sb.ok(&["persona", "import", &file]);
    let before = sb.json(&["persona", "list", "--json"]);

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    fixtures.sort();
    assert!(!fixtures.is_empty(), "no fixtures in {}", dir.display());
    for fixture in &fixtures {
        let expected = expectation(fixture);
        let path = fixture.to_str().unwrap();
        let name = fixture.file_name().unwrap().to_str().unwrap();
        for args in [
            vec!["persona", "import", path],
            vec!["persona", "create", "--from-file", path],
            vec!["persona", "update", "library", "--from-file", path],
            vec!["template", "validate", path],
        ] {
            let run = sb.fails(&args, 2);
            assert!(
                run.stderr.contains(&expected),
                "{args:?}: stderr lacks `{expected}`:\n{}",
                run.stderr
            );
            assert!(
                run.stderr.contains(name),
                "{args:?}: stderr names the file:\n{}",
                run.stderr
            );
        }
    }
    assert_eq!(
        sb.json(&["persona", "list", "--json"]),
        before,
        "the registry is unchanged"
    );
}

#[test]
fn provision_validates_for_the_target_dialect() {
    let sb = Sandbox::new();
    let broken = LIBRARY_TOML.replace("ref_table = \"books\"", "ref_table = \"bookz\"");
    let file = sb.write("broken.toml", &broken);
    for url in [
        "sqlite://never.db",
        "postgres://me@127.0.0.1:1/x",
        "mysql://me@127.0.0.1:1/x",
    ] {
        for dry in [true, false] {
            let mut args = vec!["provision", file.as_str(), "--url", url];
            if dry {
                args.push("--dry-run");
            }
            let run = sb.fails(&args, 2);
            assert!(run.stderr.contains("broken.toml"), "{url}: {}", run.stderr);
            assert!(
                run.stderr.contains("foreign_keys"),
                "{url}: names the field: {}",
                run.stderr
            );
            assert!(run.stderr.contains("bookz"), "{url}: {}", run.stderr);
        }
    }
    assert!(
        !sb.path("never.db").exists(),
        "nothing is created for invalid input"
    );
    assert!(sb.names().is_empty());
}

#[test]
fn unknown_persona_and_bad_urls_are_invalid_input() {
    let sb = Sandbox::new();
    let run = sb.fails(
        &[
            "provision",
            "no-such-thing",
            "--url",
            "sqlite://x.db",
            "--dry-run",
        ],
        2,
    );
    assert!(run.stderr.contains("no-such-thing"), "{}", run.stderr);
    let slug = template_slugs(&sb).remove(0);
    let run = sb.fails(
        &[
            "provision",
            &slug,
            "--url",
            "oracle://scott:tiger@h/x",
            "--dry-run",
        ],
        2,
    );
    assert!(
        run.stderr.contains("unsupported database URL"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("tiger"), "{}", run.stderr);
}

// --- provisioning ---------------------------------------------------------------------------

#[test]
fn dry_run_prints_ddl_for_each_dialect_without_connecting() {
    let sb = Sandbox::new();
    let slug = template_slugs(&sb).remove(0);
    let template: PersonaDefinition =
        serde_json::from_value(sb.json(&["template", "show", &slug, "--json"])).unwrap();
    let urls = [
        ("postgres://me:hunter2@127.0.0.1:1/nowhere", '"'),
        ("mysql://me:hunter2@127.0.0.1:1/nowhere", '`'),
        ("mariadb://me@127.0.0.1:1/nowhere", '`'),
        ("sqlite://dry.db", '"'),
    ];
    for (url, quote) in urls {
        let run = sb.run(&["provision", &slug, "--url", url, "--dry-run"]);
        assert_eq!(run.code, 0, "{url}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("template `{slug}`")),
            "says which: {}",
            run.stderr
        );
        let creates = run.stdout.matches("CREATE TABLE").count();
        assert_eq!(
            creates,
            template.initial_schema.tables.len(),
            "{url}:\n{}",
            run.stdout
        );
        let first = format!("{quote}{}{quote}", template.initial_schema.tables[0].name);
        assert!(
            run.stdout.contains(&first),
            "{url}: identifiers quoted:\n{}",
            run.stdout
        );
        assert!(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"));

        let json = sb.json(&["provision", &slug, "--url", url, "--dry-run", "--json"]);
        assert_eq!(json["dry_run"], true);
        assert_eq!(json["source"], "template");
        let statements = json["statements"].as_array().unwrap();
        assert!(
            statements
                .iter()
                .any(|s| s.as_str().unwrap().starts_with("CREATE TABLE"))
        );
    }
    assert!(!sb.path("dry.db").exists(), "a dry run creates nothing");

    // A registry persona wins over a template of the same name, and the command says so.
    sb.ok(&[
        "persona",
        "create",
        "--from-template",
        &slug,
        "--name",
        &slug,
    ]);
    let run = sb.run(&["provision", &slug, "--url", "sqlite://dry.db", "--dry-run"]);
    assert!(run.stderr.contains("registry persona"), "{}", run.stderr);
}

#[test]
fn provision_into_sqlite_and_introspect_back() {
    let sb = Sandbox::new();
    for slug in template_slugs(&sb) {
        let template: PersonaDefinition =
            serde_json::from_value(sb.json(&["template", "show", &slug, "--json"])).unwrap();
        let url = format!("sqlite://{}", sb.path(&format!("{slug}.db")).display());
        let out = sb.ok(&["provision", &slug, "--url", &url]);
        let n = template.initial_schema.tables.len();
        assert!(out.contains(&format!("{n} tables")), "{slug}:\n{out}");

        let schema: Schema =
            serde_json::from_value(sb.json(&["introspect", "--url", &url, "--json"])).unwrap();
        assert_eq!(
            table_names(&schema),
            table_names(&template.initial_schema),
            "{slug}"
        );
        for t in &template.initial_schema.tables {
            let back = schema.table(&t.name).unwrap();
            let cols = |t: &persona_core::Table| -> Vec<String> {
                t.columns.iter().map(|c| c.name.clone()).collect()
            };
            assert_eq!(cols(back), cols(t), "{slug}.{}", t.name);
            assert_eq!(
                back.foreign_keys.len(),
                t.foreign_keys.len(),
                "{slug}.{}",
                t.name
            );
        }

        // A second run refuses to touch existing tables.
        let run = sb.fails(&["provision", &slug, "--url", &url], 1);
        assert!(run.stderr.contains("already exist"), "{}", run.stderr);
    }
}

/// Provision every template into a scratch database of `dialect` through the CLI and read it
/// back; skipped (with the reason printed) when the server is not configured.
fn provision_into_server(dialect: Dialect) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sb = Sandbox::new();
    for slug in template_slugs(&sb) {
        let Some(test) = rt.block_on(TestDb::new(dialect)) else {
            return;
        };
        let template: PersonaDefinition =
            serde_json::from_value(sb.json(&["template", "show", &slug, "--json"])).unwrap();
        let json = sb.json(&["provision", &slug, "--url", &test.url, "--json"]);
        assert_eq!(json["dry_run"], false);
        let created: Vec<String> = json["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        let mut created_sorted = created.clone();
        created_sorted.sort();
        assert_eq!(
            created_sorted,
            table_names(&template.initial_schema),
            "{dialect} {slug}"
        );
        let schema: Schema =
            serde_json::from_value(sb.json(&["introspect", "--url", &test.url, "--json"])).unwrap();
        assert_eq!(
            table_names(&schema),
            table_names(&template.initial_schema),
            "{dialect} {slug}"
        );
        rt.block_on(test.cleanup());
    }
}

#[test]
fn provision_into_postgres() {
    provision_into_server(Dialect::Postgres);
}

#[test]
fn provision_into_mariadb() {
    provision_into_server(Dialect::Mysql);
}

#[test]
fn postgres_registry_through_the_cli() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(test) = rt.block_on(TestDb::new(Dialect::Postgres)) else {
        return;
    };
    let sb = Sandbox::new();
    let file = sb.write("library.toml", LIBRARY_TOML);
    sb.ok(&["--registry", &test.url, "persona", "import", &file]);
    sb.ok(&[
        "--registry",
        &test.url,
        "persona",
        "import",
        &file,
        "--name",
        "copy",
    ]);
    let list = sb.json(&["--registry", &test.url, "persona", "list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["copy", "library"]);
    sb.ok(&[
        "--registry",
        &test.url,
        "persona",
        "delete",
        "copy",
        "--yes",
    ]);
    assert!(
        sb.names().is_empty(),
        "the SQLite default registry was not used"
    );
    rt.block_on(test.cleanup());
}
