//! Persona documents on disk: every invalid fixture in `tests/fixtures/invalid` fails with the
//! message its first line announces, and every built-in template parses, validates clean on all
//! dialects, round-trips through TOML and JSON, and carries what a template promises.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use persona_core::template::{self, Format, LoadError};
use persona_core::validate::validate;
use persona_core::{Dialect, PatternKind, PersonaDefinition};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/invalid")
}

/// Invalid fixtures: each fails to load with its `# expect:` message.
mod invalid {
    use super::*;

    fn fixtures() -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for entry in fs::read_dir(fixtures_dir()).expect("tests/fixtures/invalid exists") {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let source = fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let expect = source
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# expect: "))
                .unwrap_or_else(|| panic!("{name}: first line must be `# expect: <message>`"))
                .trim()
                .to_owned();
            out.push((name, expect, source));
        }
        out.sort();
        out
    }

    #[test]
    fn every_fixture_fails_with_its_expected_message() {
        let fixtures = fixtures();
        assert!(fixtures.len() >= 30, "only {} fixtures", fixtures.len());
        let mut failures = Vec::new();
        for (name, expect, source) in &fixtures {
            let origin = format!("tests/fixtures/invalid/{name}");
            match template::load_persona(source, &origin, Format::Toml, &Dialect::ALL) {
                Ok((_, warnings)) => {
                    failures.push(format!(
                        "{name}: loaded without errors (warnings: {warnings:?})"
                    ));
                }
                Err(err) => {
                    let text = err.to_string();
                    if !text.starts_with(&origin) {
                        failures.push(format!("{name}: error does not name the file:\n{text}"));
                    }
                    if !text.contains(expect.as_str()) {
                        failures.push(format!("{name}: expected `{expect}` in:\n{text}"));
                    }
                    if let LoadError::Invalid(invalid) = &err {
                        // Each fixture is about one problem: exactly one error.
                        let errors: Vec<_> = invalid.errors().collect();
                        if errors.len() != 1 {
                            failures.push(format!("{name}: expected one error, got {errors:#?}"));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn parse_errors_carry_line_and_field() {
        let source = fs::read_to_string(fixtures_dir().join("bad_type.toml")).unwrap();
        let err = template::parse_persona(&source, "bad_type.toml", Format::Toml).unwrap_err();
        let template::TemplateError::Parse { location, path, .. } = err else {
            panic!("expected a parse error, got {err:?}");
        };
        let location = location.expect("a location");
        assert_eq!(path, "initial_schema.tables[orders].columns[total].type");
        assert!(location.line_text.contains("decmial"), "{location:?}");
        let want_line = source
            .lines()
            .position(|l| l.starts_with("type = \"decmial"))
            .unwrap()
            + 1;
        assert_eq!(location.line, want_line);
    }
}

/// Built-in templates.
mod builtin {
    use super::*;

    fn all() -> Vec<(&'static str, PersonaDefinition)> {
        template::builtin()
            .iter()
            .map(|t| (t.slug, t.parse().unwrap_or_else(|e| panic!("{e}"))))
            .collect()
    }

    #[test]
    fn there_are_at_least_six_and_each_file_is_shipped() {
        let list = template::builtin();
        assert!(list.len() >= 6);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
        let on_disk: BTreeSet<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| Format::from_path(n) == Some(Format::Toml))
            .collect();
        let embedded: BTreeSet<String> = list.iter().map(|t| t.file_name.to_owned()).collect();
        assert_eq!(
            on_disk, embedded,
            "every template file is embedded, and only those"
        );
        for t in list {
            assert_eq!(t.file_name, format!("{}.toml", t.slug));
            assert_eq!(fs::read_to_string(dir.join(t.file_name)).unwrap(), t.source);
        }
    }

    #[test]
    fn every_template_validates_clean_on_every_dialect() {
        for (slug, persona) in all() {
            let problems = validate(&persona, &Dialect::ALL);
            assert!(problems.is_empty(), "{slug}:\n{problems:#?}");
        }
    }

    #[test]
    fn every_template_round_trips_through_toml_and_json() {
        for (slug, persona) in all() {
            let toml = template::to_toml(&persona).unwrap();
            let back = template::parse_persona(&toml, slug, Format::Toml).unwrap();
            assert_eq!(back, persona, "{slug} via TOML");
            let json = template::to_json(&persona).unwrap();
            let back = template::parse_persona(&json, slug, Format::Json).unwrap();
            assert_eq!(back, persona, "{slug} via JSON");
        }
    }

    #[test]
    fn every_template_has_patterns_profile_and_hints() {
        for (slug, p) in all() {
            assert!(!p.description.is_empty(), "{slug}: description");
            assert!(
                p.access_patterns.len() >= 5,
                "{slug}: {} patterns",
                p.access_patterns.len()
            );
            let kinds: BTreeSet<String> = p
                .access_patterns
                .iter()
                .map(|a| format!("{:?}", a.kind))
                .collect();
            assert!(kinds.len() >= 4, "{slug}: pattern kinds {kinds:?}");
            assert!(
                p.access_patterns.iter().any(|a| a.kind.is_write()),
                "{slug}: no writes"
            );
            assert!(
                p.access_patterns.iter().any(|a| !a.kind.is_write()),
                "{slug}: no reads"
            );
            for a in &p.access_patterns {
                assert!(a.expected_rate_per_sec > 0.0, "{slug}/{}: rate", a.name);
                assert!(a.p95_latency_ms.is_some(), "{slug}/{}: p95 target", a.name);
            }
            let prof = &p.performance_profile;
            assert!(
                prof.reads_per_sec > 0.0 && prof.writes_per_sec > 0.0,
                "{slug}: rates"
            );
            assert!(prof.peak_multiplier.is_some(), "{slug}: peak");
            let schema = &p.initial_schema;
            for t in &schema.tables {
                assert!(!t.primary_key.is_empty(), "{slug}.{}: primary key", t.name);
                assert!(
                    prof.growth_rows_per_day.contains_key(&t.name),
                    "{slug}.{}: growth per day",
                    t.name
                );
                let hints = p
                    .data_hints
                    .get(&t.name)
                    .unwrap_or_else(|| panic!("{slug}.{}: no data hints", t.name));
                assert!(hints.rows > 0, "{slug}.{}: rows", t.name);
                // A generator can fill every column the database does not fill itself.
                for c in &t.columns {
                    if !c.identity && !c.nullable && c.default.is_none() {
                        assert!(
                            hints.columns.contains_key(&c.name),
                            "{slug}.{}.{}: NOT NULL without default needs a hint",
                            t.name,
                            c.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_set_of_kinds_across_templates_covers_every_kind() {
        let mut kinds = BTreeSet::new();
        for (_, p) in all() {
            for a in &p.access_patterns {
                kinds.insert(format!("{:?}", a.kind));
            }
        }
        for k in PatternKind::ALL {
            assert!(
                kinds.contains(&format!("{k:?}")),
                "no template has a {k:?} pattern"
            );
        }
    }
}
