//! Schema checks every dialect shares: names, keys, identity columns, indexes, foreign keys and
//! checks that refer to what exists, plus the warnings a DBA would raise (unindexed foreign
//! keys, redundant indexes, tables without a primary key).

use std::collections::HashMap;

use super::{Report, label, sql, table_path};
use crate::{
    DataType, DefaultValue, ForeignKey, ForeignKeyAction, Index, IndexMethod, Schema, SortOrder,
    Table,
};

pub(super) fn check(schema: &Schema, r: &mut Report) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (ti, table) in schema.tables.iter().enumerate() {
        let tp = table_path(table, ti);
        name(&table.name, "table", &tp, r);
        if !table.name.is_empty() && seen.insert(&table.name, ti).is_some() {
            r.error(&tp, format!("duplicate table name `{}`", table.name));
        }
        if table.columns.is_empty() {
            r.error(
                &format!("{tp}.columns"),
                "a table needs at least one column",
            );
        }
        columns(table, &tp, r);
        primary_key(table, &tp, r);
        for (ii, index) in table.indexes.iter().enumerate() {
            let ip = format!("{tp}.indexes[{}]", label(&index.name, ii));
            self::index(schema, table, index, &ip, r);
        }
        for (fi, fk) in table.foreign_keys.iter().enumerate() {
            let fp = format!("{tp}.foreign_keys[{}]", label(&fk.name, fi));
            foreign_key(schema, table, fi, &fp, r);
        }
        for (ci, check) in table.checks.iter().enumerate() {
            let cp = format!("{tp}.checks[{}]", label(&check.name, ci));
            name(&check.name, "check", &cp, r);
            if check.expression.trim().is_empty() {
                r.error(&format!("{cp}.expression"), "the check expression is empty");
            } else {
                expression(
                    schema,
                    table,
                    &check.expression,
                    &format!("{cp}.expression"),
                    r,
                );
            }
        }
        constraint_names(table, &tp, r);
        redundant_indexes(table, &tp, r);
    }
}

/// Empty names and NUL characters (no database accepts either).
pub(super) fn name(name: &str, what: &str, path: &str, r: &mut Report) {
    if name.is_empty() {
        r.error(path, format!("the {what} has an empty name"));
    } else if name.contains('\0') {
        r.error(
            path,
            format!("the {what} name {name:?} contains a NUL character"),
        );
    }
}

fn columns(table: &Table, tp: &str, r: &mut Report) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (ci, col) in table.columns.iter().enumerate() {
        let cp = format!("{tp}.columns[{}]", label(&col.name, ci));
        name(&col.name, "column", &cp, r);
        if !col.name.is_empty() && seen.insert(&col.name, ci).is_some() {
            r.error(
                &cp,
                format!(
                    "duplicate column name `{}` in table `{}`",
                    col.name, table.name
                ),
            );
        }
        if col.identity {
            if !col.data_type.is_integer() {
                r.error(
                    &format!("{cp}.identity"),
                    format!(
                        "an identity column must have an integer type, not {}",
                        col.data_type
                    ),
                );
            }
            if table.primary_key.len() != 1 || table.primary_key[0] != col.name {
                r.error(
                    &format!("{cp}.identity"),
                    "an identity column must be the table's only primary-key column",
                );
            }
            if col.default.is_some() {
                r.error(
                    &format!("{cp}.default"),
                    "an identity column cannot also have a default",
                );
            }
        }
        if let Some(default) = &col.default
            && let Err(e) = default_fits(default, col.data_type)
        {
            r.error(&format!("{cp}.default"), e);
        }
    }
    // Defaults a `col IN (…)` check refuses: every insert relying on them would fail.
    for check in &table.checks {
        for (column, allowed) in sql::in_lists(&check.expression) {
            let Some((ci, col)) = table
                .columns
                .iter()
                .enumerate()
                .find(|(_, c)| c.name == column)
            else {
                continue;
            };
            let Some(DefaultValue::Text(value) | DefaultValue::Number(value)) = &col.default else {
                continue;
            };
            if !allowed.contains(value) {
                r.error(
                    &format!("{tp}.columns[{}].default", label(&col.name, ci)),
                    format!(
                        "default `{value}` is not allowed by check `{}` ({column} IN ({}))",
                        check.name,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }
}

/// Whether a default can be stored in a column of type `ty` (by every dialect).
fn default_fits(default: &DefaultValue, ty: DataType) -> Result<(), String> {
    let text = matches!(
        ty,
        DataType::Text | DataType::Varchar(_) | DataType::Char(_)
    );
    let temporal = matches!(
        ty,
        DataType::Date | DataType::Time | DataType::Timestamp | DataType::TimestampTz
    );
    let too_long = |v: &str| match ty {
        DataType::Varchar(n) | DataType::Char(n) if v.chars().count() > n as usize => {
            Err(format!("default `{v}` is longer than {ty}"))
        }
        _ => Ok(()),
    };
    match default {
        DefaultValue::Null | DefaultValue::Expression(_) => Ok(()),
        DefaultValue::Bool(_) if ty == DataType::Boolean => Ok(()),
        DefaultValue::Bool(b) => Err(format!(
            "a boolean default ({b}) does not fit a {ty} column"
        )),
        DefaultValue::CurrentTimestamp | DefaultValue::CurrentDate if temporal || text => Ok(()),
        DefaultValue::CurrentTimestamp | DefaultValue::CurrentDate => {
            Err(format!("a current time default does not fit a {ty} column"))
        }
        DefaultValue::Number(n) if text => too_long(n),
        DefaultValue::Number(n) => number_fits(n, ty),
        DefaultValue::Text(t) if text => too_long(t),
        DefaultValue::Text(t) => match ty {
            DataType::SmallInt
            | DataType::Integer
            | DataType::BigInt
            | DataType::Decimal { .. }
            | DataType::Real
            | DataType::Double => number_fits(t.trim(), ty),
            DataType::Boolean => {
                const WORDS: [&str; 10] = [
                    "true", "false", "t", "f", "yes", "no", "on", "off", "1", "0",
                ];
                if WORDS.iter().any(|w| t.trim().eq_ignore_ascii_case(w)) {
                    Ok(())
                } else {
                    Err(format!("default `{t}` is not a boolean"))
                }
            }
            DataType::Uuid => {
                let hex = t.chars().filter(char::is_ascii_hexdigit).count();
                if t.len() == 36 && hex == 32 && t.chars().filter(|c| *c == '-').count() == 4 {
                    Ok(())
                } else {
                    Err(format!("default `{t}` is not a UUID"))
                }
            }
            DataType::Json => serde_json::from_str::<serde_json::Value>(t)
                .map(|_| ())
                .map_err(|e| format!("default `{t}` is not JSON: {e}")),
            _ => Ok(()),
        },
    }
}

/// Whether the number `n` (as written) fits a numeric column of type `ty`.
fn number_fits(n: &str, ty: DataType) -> Result<(), String> {
    let Ok(value) = n.parse::<f64>() else {
        return Err(format!("default `{n}` is not a number"));
    };
    let int_range = match ty {
        DataType::SmallInt => Some((i128::from(i16::MIN), i128::from(i16::MAX))),
        DataType::Integer => Some((i128::from(i32::MIN), i128::from(i32::MAX))),
        DataType::BigInt => Some((i128::from(i64::MIN), i128::from(i64::MAX))),
        _ => None,
    };
    if let Some((lo, hi)) = int_range {
        return match n.parse::<i128>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(()),
            Ok(_) => Err(format!("default {n} is out of range for {ty}")),
            Err(_) => Err(format!("default {n} is not an integer")),
        };
    }
    match ty {
        DataType::Decimal { precision, scale } => {
            let digits = n.trim_start_matches('-').split('.').next().unwrap_or("");
            let int_digits = digits.trim_start_matches('0').len();
            if int_digits > usize::from(precision - scale) {
                Err(format!("default {n} is out of range for {ty}"))
            } else {
                Ok(())
            }
        }
        DataType::Real | DataType::Double if value.is_finite() => Ok(()),
        _ => Err(format!(
            "a numeric default ({n}) does not fit a {ty} column"
        )),
    }
}

fn primary_key(table: &Table, tp: &str, r: &mut Report) {
    if table.primary_key.is_empty() {
        if !table.columns.is_empty() {
            r.warn(tp, format!("table `{}` has no primary key", table.name));
        }
        return;
    }
    for (i, key) in table.primary_key.iter().enumerate() {
        let kp = format!("{tp}.primary_key[{i}]");
        match table.column(key) {
            None => r.error(&kp, format!("unknown column `{key}` in the primary key")),
            Some(col) if col.nullable => r.error(
                &kp,
                format!("primary-key column `{key}` is nullable; declare it `nullable = false`"),
            ),
            Some(_) => {}
        }
        if table.primary_key[..i].contains(key) {
            r.error(
                &kp,
                format!("column `{key}` appears twice in the primary key"),
            );
        }
    }
}

fn index(schema: &Schema, table: &Table, index: &Index, ip: &str, r: &mut Report) {
    name(&index.name, "index", ip, r);
    if index.columns.is_empty() {
        r.error(&format!("{ip}.columns"), "the index has no key columns");
    }
    let mut keys: Vec<&str> = Vec::new();
    for (i, part) in index.columns.iter().enumerate() {
        let kp = format!("{ip}.columns[{i}]");
        match (&part.column, &part.expression) {
            (Some(_), Some(_)) => {
                r.error(
                    &kp,
                    "a key part is either a column or an expression, not both",
                );
            }
            (None, None) => r.error(&kp, "a key part needs a column or an expression"),
            (Some(c), None) => {
                if table.column(c).is_none() {
                    r.error(
                        &kp,
                        format!("unknown column `{c}` in table `{}`", table.name),
                    );
                } else if keys.contains(&c.as_str()) {
                    r.error(&kp, format!("column `{c}` appears twice in the index"));
                }
                keys.push(c);
            }
            (None, Some(e)) => expression(schema, table, e, &kp, r),
        }
    }
    for (i, inc) in index.include.iter().enumerate() {
        let kp = format!("{ip}.include[{i}]");
        if table.column(inc).is_none() {
            r.error(
                &kp,
                format!("unknown column `{inc}` in table `{}`", table.name),
            );
        } else if keys.contains(&inc.as_str()) {
            r.warn(
                &kp,
                format!("column `{inc}` is already a key column of the index"),
            );
        }
    }
    if let Some(predicate) = &index.predicate {
        let pp = format!("{ip}.predicate");
        if predicate.trim().is_empty() {
            r.error(&pp, "the predicate is empty (omit it for a full index)");
        } else {
            expression(schema, table, predicate, &pp, r);
        }
    }
}

/// A SQL expression over `table`'s columns: it must parse and name only existing columns.
fn expression(schema: &Schema, table: &Table, sql_text: &str, path: &str, r: &mut Report) {
    match sql::check_expression(schema, table, sql_text) {
        Err(e) => r.error(path, format!("expression `{sql_text}` does not parse: {e}")),
        Ok(issues) => {
            for issue in issues {
                r.error(path, issue);
            }
        }
    }
}

fn foreign_key(schema: &Schema, table: &Table, fi: usize, fp: &str, r: &mut Report) {
    let fk = &table.foreign_keys[fi];
    name(&fk.name, "foreign key", fp, r);
    if fk.columns.is_empty() {
        r.error(&format!("{fp}.columns"), "the foreign key has no columns");
    }
    let mut ok = true;
    for (i, c) in fk.columns.iter().enumerate() {
        let cp = format!("{fp}.columns[{i}]");
        if table.column(c).is_none() {
            r.error(
                &cp,
                format!("unknown column `{c}` in table `{}`", table.name),
            );
            ok = false;
        } else if fk.columns[..i].contains(c) {
            r.error(
                &cp,
                format!("column `{c}` appears twice in the foreign key"),
            );
        }
    }
    let Some(target) = schema.table(&fk.ref_table) else {
        r.error(
            &format!("{fp}.ref_table"),
            format!("foreign key references unknown table `{}`", fk.ref_table),
        );
        return;
    };
    // No referenced columns: the target's primary key.
    let ref_columns = referenced_columns(fk, target);
    if ref_columns.is_empty() {
        r.error(
            &format!("{fp}.ref_columns"),
            format!(
                "no referenced columns given, and `{}` has no primary key to reference",
                target.name
            ),
        );
        return;
    }
    if fk.columns.len() != ref_columns.len() {
        r.error(
            fp,
            format!(
                "{} column{} cannot reference {} column{}",
                fk.columns.len(),
                if fk.columns.len() == 1 { "" } else { "s" },
                ref_columns.len(),
                if ref_columns.len() == 1 { "" } else { "s" },
            ),
        );
    }
    for (i, c) in fk.ref_columns.iter().enumerate() {
        if target.column(c).is_none() {
            r.error(
                &format!("{fp}.ref_columns[{i}]"),
                format!("referenced table `{}` has no column `{c}`", target.name),
            );
            ok = false;
        }
    }
    if !ok || fk.columns.len() != ref_columns.len() {
        return;
    }
    for (i, (c, rc)) in fk.columns.iter().zip(ref_columns).enumerate() {
        let (Some(col), Some(rcol)) = (table.column(c), target.column(rc)) else {
            continue;
        };
        if !col.data_type.is_compatible_with(rcol.data_type) {
            r.error(
                &format!("{fp}.columns[{i}]"),
                format!(
                    "column `{c}` ({}) is not type-compatible with the referenced `{}`.`{rc}` ({})",
                    col.data_type, target.name, rcol.data_type
                ),
            );
        }
    }
    if !target.is_unique_key(ref_columns) {
        r.error(
            &format!("{fp}.ref_columns"),
            format!(
                "the referenced columns ({}) of `{}` are neither its primary key nor a unique index",
                ref_columns.join(", "),
                target.name
            ),
        );
    }
    for (action, field) in [(fk.on_delete, "on_delete"), (fk.on_update, "on_update")] {
        let sql_name = action.as_sql();
        for c in &fk.columns {
            let Some(col) = table.column(c) else { continue };
            if action == ForeignKeyAction::SetNull && !col.nullable {
                r.error(
                    &format!("{fp}.{field}"),
                    format!("{sql_name} on a NOT NULL column (`{c}`) would always fail"),
                );
            }
            if action == ForeignKeyAction::SetDefault && col.default.is_none() {
                r.error(
                    &format!("{fp}.{field}"),
                    format!("{sql_name} but column `{c}` has no default"),
                );
            }
        }
    }
    if !is_fk_indexed(table, &fk.columns) {
        r.warn(
            fp,
            format!(
                "no index starts with the foreign-key column{} ({}): deletes in `{}` will scan `{}`",
                if fk.columns.len() == 1 { "" } else { "s" },
                fk.columns.join(", "),
                target.name,
                table.name
            ),
        );
    }
}

/// The columns a foreign key references: as written, or the target's primary key when none are.
pub(super) fn referenced_columns<'t>(fk: &'t ForeignKey, target: &'t Table) -> &'t [String] {
    if fk.ref_columns.is_empty() {
        &target.primary_key
    } else {
        &fk.ref_columns
    }
}

/// Whether the primary key or an index (full, or partial on `col IS NOT NULL`) starts with the
/// foreign-key columns, in any order.
fn is_fk_indexed(table: &Table, fk_columns: &[String]) -> bool {
    let leads = |key: &[Option<&str>]| {
        key.len() >= fk_columns.len()
            && key[..fk_columns.len()]
                .iter()
                .all(|k| k.is_some_and(|k| fk_columns.iter().any(|c| c == k)))
    };
    let pk: Vec<Option<&str>> = table.primary_key.iter().map(|c| Some(c.as_str())).collect();
    if leads(&pk) {
        return true;
    }
    table.indexes.iter().any(|ix| {
        let usable = match &ix.predicate {
            None => true,
            Some(p) => fk_columns.iter().any(|c| is_not_null_predicate(p, c)),
        };
        let key: Vec<Option<&str>> = ix.columns.iter().map(|c| c.column.as_deref()).collect();
        usable && matches!(ix.method, IndexMethod::Btree | IndexMethod::Hash) && leads(&key)
    })
}

/// `col IS NOT NULL`, however spaced or cased.
fn is_not_null_predicate(predicate: &str, column: &str) -> bool {
    let words: Vec<String> = predicate
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_lowercase())
        .collect();
    words
        == [
            column.to_lowercase(),
            "is".into(),
            "not".into(),
            "null".into(),
        ]
}

/// Index, foreign key and check names must be distinct within a table.
fn constraint_names(table: &Table, tp: &str, r: &mut Report) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let named = table
        .indexes
        .iter()
        .enumerate()
        .map(|(i, ix)| {
            (
                ix.name.as_str(),
                "index",
                format!("{tp}.indexes[{}]", label(&ix.name, i)),
            )
        })
        .chain(table.foreign_keys.iter().enumerate().map(|(i, fk)| {
            (
                fk.name.as_str(),
                "foreign key",
                format!("{tp}.foreign_keys[{}]", label(&fk.name, i)),
            )
        }))
        .chain(table.checks.iter().enumerate().map(|(i, c)| {
            (
                c.name.as_str(),
                "check",
                format!("{tp}.checks[{}]", label(&c.name, i)),
            )
        }));
    for (name, what, path) in named {
        if name.is_empty() {
            continue;
        }
        if let Some(first) = seen.get(name) {
            r.error(
                &path,
                format!(
                    "duplicate name `{name}`: table `{}` already has a {first} called that",
                    table.name
                ),
            );
        } else {
            seen.insert(name, what);
        }
    }
}

/// A plain B-tree index over columns only, as (column, order) pairs.
fn plain_key(ix: &Index) -> Option<Vec<(&str, SortOrder)>> {
    if ix.method != IndexMethod::Btree || ix.predicate.is_some() {
        return None;
    }
    ix.columns
        .iter()
        .map(|c| c.column.as_deref().map(|name| (name, c.order)))
        .collect()
}

/// `short` is served by `long`: same leading columns, same or fully reversed orders.
fn is_prefix(short: &[(&str, SortOrder)], long: &[(&str, SortOrder)]) -> bool {
    if short.is_empty() || short.len() > long.len() {
        return false;
    }
    let same_cols = short.iter().zip(long).all(|(a, b)| a.0 == b.0);
    let same_order = short.iter().zip(long).all(|(a, b)| a.1 == b.1);
    let reversed = short.iter().zip(long).all(|(a, b)| a.1 != b.1);
    same_cols && (same_order || reversed)
}

fn redundant_indexes(table: &Table, tp: &str, r: &mut Report) {
    let pk: Vec<(&str, SortOrder)> = table
        .primary_key
        .iter()
        .map(|c| (c.as_str(), SortOrder::Asc))
        .collect();
    for (i, ix) in table.indexes.iter().enumerate() {
        let Some(key) = plain_key(ix) else { continue };
        if !ix.include.is_empty() {
            continue;
        }
        let ip = format!("{tp}.indexes[{}]", label(&ix.name, i));
        if key.len() == pk.len() && is_prefix(&key, &pk) {
            r.warn(&ip, "the index has the same columns as the primary key");
            continue;
        }
        if !ix.unique && is_prefix(&key, &pk) {
            r.warn(
                &ip,
                "the primary key starts with the same columns: this index is redundant",
            );
            continue;
        }
        for (j, other) in table.indexes.iter().enumerate() {
            if i == j {
                continue;
            }
            let Some(other_key) = plain_key(other) else {
                continue;
            };
            let identical = key.len() == other_key.len() && is_prefix(&key, &other_key);
            if identical && ix.unique == other.unique {
                // Report the later one of an identical pair only.
                if j < i {
                    r.warn(&ip, format!("the index duplicates `{}`", other.name));
                    break;
                }
            } else if !ix.unique && is_prefix(&key, &other_key) {
                r.warn(
                    &ip,
                    format!(
                        "`{}` starts with the same columns: this index is redundant",
                        other.name
                    ),
                );
                break;
            }
        }
    }
}
