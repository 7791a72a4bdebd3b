//! Query structure: parses one statement with `sqlparser` (PostgreSQL, MySQL and SQLite
//! dialects) into a [`StatementShape`]: its kind, the tables it touches, every column reference
//! with its table (aliases, CTEs and subqueries resolved) and role(s), join pairs, JSON path
//! access, ORDER BY keys, LIMIT and aggregates.
//!
//! The caller parses each distinct shape once (cached by fingerprint), so this is thorough rather
//! than fast. Nothing here panics on bad input: a statement that does not parse becomes an opaque
//! shape carrying a warning.
//!
//! Conventions worth knowing:
//! - Unquoted identifiers are folded to lowercase (both dialects); quoted ones are kept as written.
//!   Schema-qualified names keep the table name only (`public.film` → `film`).
//! - A column is attributed to a table through its qualifier (alias, table or CTE name). An
//!   unqualified column goes to the only table in scope that can hold it (checked against the
//!   schema when one is given); when several can, its table is `None` (ambiguous).
//! - Columns reached through a CTE or a derived table are attributed to the base column they come
//!   from, when the derived column is a plain column reference.
//! - `LIKE $1` (a parameter pattern) counts as [`ColumnRole::LikePrefix`]: the shape can serve a
//!   prefix search, and a fingerprint merges the literal and parameter forms anyway. The
//!   [`LikeUse`] records whether the pattern was a parameter, a literal prefix or a leading
//!   wildcard (which does not get the role).
//! - `col IS NULL`, `col IS TRUE` and a bare boolean column in a condition count as equality
//!   filters; negated predicates (`<>`, `NOT IN`, `NOT LIKE`, …) give no filter role.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Delete, DuplicateTreatment, Expr, FromTable, Function,
    FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, InTarget, Insert,
    JoinConstraint, JoinOperator, LimitClause, ObjectName, ObjectNamePart, OnConflictAction,
    OnInsert, OrderBy, OrderByExpr, OrderByKind, OrderBySort, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableAlias, TableFactor, TableObject,
    TableWithJoins, UnaryOperator, Update, UpdateTableFromKind, Value, With,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::dialect::Dialect;
use crate::model::{ColumnRole, ColumnUsage, Schema, SortOrder, Table};
use crate::sqlwalk::{Node, children};

/// Statements longer than this are kept opaque (their ASTs get deep enough to be a risk).
const MAX_SQL_LEN: usize = 256 * 1024;
/// How deep the analyzer follows nested expressions and queries before giving up on a branch.
const MAX_DEPTH: usize = 200;

/// What a statement does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    /// Anything else: DDL, transaction control, `SET`, `SHOW`, …
    Other,
}

/// One column referenced by a statement, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnUse {
    /// `None` when the column is unqualified and several tables in scope could hold it.
    pub table: Option<String>,
    pub column: String,
    /// Sorted; empty when the column is only read in a way no role describes (e.g. inside an
    /// arithmetic expression in a condition).
    pub roles: Vec<ColumnRole>,
}

/// An equi-join between columns of two tables (composite when several column pairs join the same
/// two table instances). Normalized: `(left_table, left_columns) <= (right_table, right_columns)`,
/// pairs sorted by left column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JoinPair {
    pub left_table: String,
    pub left_columns: Vec<String>,
    pub right_table: String,
    pub right_columns: Vec<String>,
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonStep {
    /// An object key.
    Key(String),
    /// An array index.
    Index(i64),
    /// `*` / `[*]` / `**` in a MySQL path.
    Wildcard,
    /// A key or path supplied as a parameter.
    Parameter,
}

/// Render a JSON path in the `$.a.b[0]` notation (keys that are not plain identifiers quoted).
pub fn json_path_string(steps: &[JsonStep]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            JsonStep::Key(k) => {
                let plain = k
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if plain {
                    let _ = write!(out, ".{k}");
                } else {
                    let _ = write!(out, ".\"{}\"", k.replace('"', "\\\""));
                }
            }
            JsonStep::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            JsonStep::Wildcard => out.push_str(".*"),
            JsonStep::Parameter => out.push_str("[?]"),
        }
    }
    out
}

/// Access to a path inside a JSON column (`col->'a'->>'b'`, `col #>> '{a,b}'`,
/// `JSON_EXTRACT(col, '$.a.b')`, `col->>'$.a'`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JsonAccess {
    pub table: Option<String>,
    pub column: String,
    pub path: Vec<JsonStep>,
    /// Extracted as text (`->>`, `#>>`, `JSON_UNQUOTE`, `JSON_VALUE`, `*_text` functions).
    pub as_text: bool,
    /// Roles of the extracted value (equality filter, ORDER BY, projected, …), sorted.
    pub roles: Vec<ColumnRole>,
}

impl JsonAccess {
    /// The path in `$.a.b` notation.
    pub fn path_string(&self) -> String {
        json_path_string(&self.path)
    }
}

/// What a LIKE pattern looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LikeKind {
    /// A literal without a leading wildcard (`'abc%'`, `'abc'`).
    Prefix,
    /// A parameter (or a parameter followed by literals): assumed to be a prefix.
    Parameter,
    /// A leading wildcard (`'%abc'`, `'%' || $1 || '%'`): no index prefix.
    Infix,
    /// Some other expression.
    Unknown,
}

/// A `LIKE` / `ILIKE` predicate on a column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LikeUse {
    pub table: Option<String>,
    pub column: String,
    pub kind: LikeKind,
    pub case_insensitive: bool,
}

/// One ORDER BY key of the top-level query that is a plain column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderKey {
    pub table: Option<String>,
    pub column: String,
    pub order: SortOrder,
    /// `Some(true)` for `NULLS FIRST`, `Some(false)` for `NULLS LAST`, `None` when unspecified.
    pub nulls_first: Option<bool>,
}

/// The top-level LIMIT (or FETCH FIRST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// The row count when it is a literal; `None` for a parameter or an expression.
    pub rows: Option<u64>,
    /// Whether an OFFSET is present too.
    pub offset: bool,
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateFunction {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// One use of an aggregate (window functions with `OVER` are not counted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AggregateUse {
    pub function: AggregateFunction,
    pub table: Option<String>,
    /// The aggregated column; `None` for `count(*)` or an expression argument.
    pub column: Option<String>,
    pub distinct: bool,
}

/// The structure of one statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementShape {
    pub kind: StatementKind,
    /// The dialect whose parser accepted the statement; `None` for an opaque shape.
    pub parsed_as: Option<Dialect>,
    /// Base tables read or written (sorted; CTE names and derived tables excluded).
    pub tables: Vec<String>,
    /// Tables written by INSERT / UPDATE / DELETE (sorted).
    pub written_tables: Vec<String>,
    /// Column references, sorted by (table, column).
    pub columns: Vec<ColumnUse>,
    /// Equi-joins between table columns (sorted).
    pub joins: Vec<JoinPair>,
    /// JSON path accesses (sorted).
    pub json_paths: Vec<JsonAccess>,
    /// LIKE / ILIKE predicates (sorted).
    pub likes: Vec<LikeUse>,
    /// ORDER BY keys of the top-level query, in order.
    pub order_by: Vec<OrderKey>,
    pub limit: Option<Limit>,
    /// Aggregates used anywhere in the statement (sorted).
    pub aggregates: Vec<AggregateUse>,
    /// Tables read with `*` whose columns are unknown (no schema given) (sorted).
    pub wildcard_tables: Vec<String>,
    /// What could not be analysed, and why.
    pub warnings: Vec<String>,
    /// The statement reads system catalogs or statistics views (`pg_catalog.*`, `pg_*`,
    /// `information_schema`, `performance_schema`, `mysql.*`, `sys.*`): a driver's or a tool's
    /// introspection, not the application's data. Such shapes are kept as patterns but give no
    /// column usage, co-access items or relationships.
    #[serde(default)]
    pub system: bool,
}

impl StatementShape {
    /// Whether the statement could not be parsed (only `kind`, a guess, and `warnings` are set).
    pub fn is_opaque(&self) -> bool {
        self.parsed_as.is_none()
    }

    /// The roles of `table.column` (empty when the statement does not reference it).
    pub fn roles(&self, table: &str, column: &str) -> &[ColumnRole] {
        self.columns
            .iter()
            .find(|c| c.table.as_deref() == Some(table) && c.column == column)
            .map_or(&[], |c| c.roles.as_slice())
    }

    /// Whether `table.column` has `role`.
    pub fn has_role(&self, table: &str, column: &str, role: ColumnRole) -> bool {
        self.roles(table, column).contains(&role)
    }

    fn opaque(sql: &str, warnings: Vec<String>) -> Self {
        StatementShape {
            kind: guess_kind(sql),
            parsed_as: None,
            tables: Vec::new(),
            written_tables: Vec::new(),
            columns: Vec::new(),
            joins: Vec::new(),
            json_paths: Vec::new(),
            likes: Vec::new(),
            order_by: Vec::new(),
            limit: None,
            aggregates: Vec::new(),
            wildcard_tables: Vec::new(),
            warnings,
            system: false,
        }
    }
}

/// Analyse one statement (or a `;`-separated batch, merged into one shape). Parses with the hinted
/// dialect first, then PostgreSQL, then MySQL.
pub fn analyze_statement(sql: &str, dialect_hint: Option<Dialect>) -> StatementShape {
    analyze_statement_with_schema(sql, dialect_hint, None)
}

/// Like [`analyze_statement`], resolving unqualified columns (and `*`, `NATURAL JOIN`, `USING`,
/// `INSERT` without a column list) against a known schema.
pub fn analyze_statement_with_schema(
    sql: &str,
    dialect_hint: Option<Dialect>,
    schema: Option<&Schema>,
) -> StatementShape {
    match catch_unwind(AssertUnwindSafe(|| {
        analyze_guarded(sql, dialect_hint, schema)
    })) {
        Ok(shape) => shape,
        Err(_) => StatementShape::opaque(
            sql,
            vec![
                "the statement analyzer failed on this statement; kept as an opaque pattern".into(),
            ],
        ),
    }
}

fn analyze_guarded(sql: &str, hint: Option<Dialect>, schema: Option<&Schema>) -> StatementShape {
    if sql.len() > MAX_SQL_LEN {
        return StatementShape::opaque(
            sql,
            vec![format!(
                "statement of {} bytes is longer than the {MAX_SQL_LEN}-byte analysis limit; \
                 kept as an opaque pattern",
                sql.len()
            )],
        );
    }
    let order: &[Dialect] = match hint {
        Some(Dialect::Mysql) => &[Dialect::Mysql, Dialect::Postgres],
        Some(Dialect::Sqlite) => &[Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql],
        Some(Dialect::Postgres) | None => &[Dialect::Postgres, Dialect::Mysql],
    };
    let mut errors = Vec::new();
    for &dialect in order {
        match parse(dialect, sql) {
            Ok(statements) => return Analyzer::run(&statements, dialect, schema),
            Err(e) => errors.push(format!("{dialect}: {e}")),
        }
        // JDBC-style `?` parameters: PostgreSQL reads them once numbered. Tried before falling
        // back to MySQL, whose reading of `&&` / `||` differs.
        if dialect == Dialect::Postgres
            && let Some(numbered) = number_question_marks(sql)
            && let Ok(statements) = parse(Dialect::Postgres, &numbered)
        {
            return Analyzer::run(&statements, Dialect::Postgres, schema);
        }
        // MariaDB digests spell interval units `SQL_TSI_HOUR`, which the parser does not know.
        if dialect == Dialect::Mysql
            && let Some(plain) = without_odbc_interval_units(sql)
            && let Ok(statements) = parse(Dialect::Mysql, &plain)
        {
            return Analyzer::run(&statements, Dialect::Mysql, schema);
        }
    }
    StatementShape::opaque(
        sql,
        vec![format!(
            "could not parse statement ({}); kept as an opaque pattern",
            errors.join("; ")
        )],
    )
}

fn parse(dialect: Dialect, sql: &str) -> Result<Vec<Statement>, sqlparser::parser::ParserError> {
    match dialect {
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
        Dialect::Mysql => Parser::parse_sql(&MySqlDialect {}, sql),
        Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, sql),
    }
}

/// `sql` with the `SQL_TSI_` prefix taken off every word that has it (`INTERVAL ? SQL_TSI_DAY`
/// reads as `INTERVAL ? DAY`), or `None` when no word has it.
fn without_odbc_interval_units(sql: &str) -> Option<String> {
    const PREFIX: &str = "sql_tsi_";
    let bytes = sql.as_bytes();
    let starts_word = |i: usize| {
        bytes[i..].len() > PREFIX.len()
            && bytes[i..i + PREFIX.len()].eq_ignore_ascii_case(PREFIX.as_bytes())
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
    };
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for i in 0..bytes.len() {
        if i >= copied && starts_word(i) {
            out.push_str(&sql[copied..i]);
            copied = i + PREFIX.len();
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// The first keyword decides the kind of an unparseable statement.
fn guess_kind(sql: &str) -> StatementKind {
    let word: String = skip_comments(sql)
        .trim_start_matches(|c: char| c == '(' || c.is_whitespace())
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    match word.as_str() {
        "select" | "values" | "table" => StatementKind::Select,
        "insert" | "replace" => StatementKind::Insert,
        "update" => StatementKind::Update,
        "delete" => StatementKind::Delete,
        _ => StatementKind::Other,
    }
}

/// `sql` without leading whitespace and comments.
pub(crate) fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return sql;
        }
    }
}

/// Replace standalone `?` parameters (outside strings, quoted identifiers and comments) by `$1`,
/// `$2`, …; `None` when there are none.
fn number_question_marks(sql: &str) -> Option<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == c {
                        break;
                    }
                }
                continue;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                out.push_str("/*");
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    out.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    out.push_str("*/");
                    i += 2;
                }
                continue;
            }
            '?' => {
                let next = chars.get(i + 1).copied();
                let prev = i.checked_sub(1).map(|p| chars[p]);
                let operator = matches!(next, Some('|' | '&' | '?')) || prev == Some('?');
                if operator {
                    out.push(c);
                } else {
                    n += 1;
                    let _ = write!(out, "${n}");
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    (n > 0).then_some(out)
}

/// Per-column role counts over many shapes, weighted by their calls. Ambiguous columns (no table)
/// are left out. Sorted by calls (descending), then table, column and role.
pub fn column_usage<'a>(
    shapes: impl IntoIterator<Item = (&'a StatementShape, u64)>,
) -> Vec<ColumnUsage> {
    let mut counts: BTreeMap<(String, String, ColumnRole), u64> = BTreeMap::new();
    for (shape, calls) in shapes {
        if shape.system {
            continue;
        }
        for c in &shape.columns {
            let Some(table) = &c.table else { continue };
            for &role in &c.roles {
                *counts
                    .entry((table.clone(), c.column.clone(), role))
                    .or_default() += calls;
            }
        }
    }
    let mut out: Vec<ColumnUsage> = counts
        .into_iter()
        .map(|((table, column, role), calls)| ColumnUsage {
            table,
            column,
            role,
            calls,
        })
        .collect();
    out.sort_by_key(|u| std::cmp::Reverse(u.calls));
    out
}

// ---------------------------------------------------------------------------------------------
// The analyzer.

type InstId = usize;

/// A base-table column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BaseCol {
    table: String,
    column: String,
}

/// A resolved column reference: its base table (when known) and the FROM-item instance it was
/// reached through (so that `a.x = b.y` between two instances is recognised as a join).
#[derive(Debug, Clone)]
struct Col {
    table: Option<String>,
    column: String,
    inst: Option<InstId>,
}

impl Col {
    fn base(b: &BaseCol, inst: Option<InstId>) -> Col {
        Col {
            table: Some(b.table.clone()),
            column: b.column.clone(),
            inst,
        }
    }
}

/// The columns a query produces, with the base column each comes from when it is a plain
/// reference. `open` lists base tables behind a `*` whose columns are unknown.
#[derive(Debug, Clone, Default)]
struct Output {
    columns: Vec<(String, Option<BaseCol>)>,
    open: Vec<String>,
}

#[derive(Debug)]
enum Source {
    Base(String),
    Derived(Rc<Output>),
    /// A table function, VALUES list without names, … : columns unknown.
    Opaque,
    /// `EXCLUDED` / an `INSERT … AS new` row alias: the proposed row, not a table read.
    Pseudo,
}

#[derive(Debug)]
struct Instance {
    id: InstId,
    alias: Option<String>,
    /// Base table or CTE name.
    name: Option<String>,
    source: Source,
}

#[derive(Debug, Default)]
struct Scope {
    instances: Vec<Instance>,
    /// Equalities between columns of two instances, grouped into join pairs when the scope ends.
    edges: Vec<(Col, Col)>,
}

enum Resolved {
    Col(Col),
    /// A parameter, a keyword-like identifier with nothing in scope (`DEFAULT`), …
    Constant,
    /// A computed column of a derived table, an unknown qualifier, …
    NotAColumn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Has {
    Yes,
    Maybe,
    No,
}

#[derive(Debug, Clone, Copy)]
enum Ctx {
    Plain,
    Projection,
    GroupBy,
    OrderBy,
}

impl Ctx {
    fn role(self) -> Option<ColumnRole> {
        match self {
            Ctx::Plain => None,
            Ctx::Projection => Some(ColumnRole::Projected),
            Ctx::GroupBy => Some(ColumnRole::GroupBy),
            Ctx::OrderBy => Some(ColumnRole::OrderBy),
        }
    }
}

enum Operand {
    Col(Col),
    Json(Col, Vec<JsonStep>, bool),
    Constant,
    Expression,
}

/// A JSON access: table, column and path.
type JsonKey = (Option<String>, String, Vec<JsonStep>);
/// Join edges of one scope grouped by (instance, table, instance, table).
type EdgeGroups = BTreeMap<(InstId, String, InstId, String), BTreeSet<(String, String)>>;

#[derive(Default)]
struct Acc {
    tables: BTreeSet<String>,
    written: BTreeSet<String>,
    columns: BTreeMap<(Option<String>, String), BTreeSet<ColumnRole>>,
    joins: BTreeSet<JoinPair>,
    json: BTreeMap<JsonKey, (bool, BTreeSet<ColumnRole>)>,
    likes: BTreeSet<LikeUse>,
    order_by: Vec<OrderKey>,
    order_by_set: bool,
    limit: Option<Limit>,
    aggregates: BTreeSet<AggregateUse>,
    wildcard_tables: BTreeSet<String>,
    warnings: Vec<String>,
    system: bool,
}

struct Analyzer<'s> {
    schema: Option<&'s Schema>,
    scopes: Vec<Scope>,
    ctes: Vec<Vec<(String, Rc<Output>)>>,
    next_inst: InstId,
    depth: usize,
    acc: Acc,
}

fn norm(id: &Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(ObjectNamePart::as_ident)
        .map(norm)
        .collect()
}

/// Whether a relation name (its parts, normalized) is a system catalog or statistics view.
/// PostgreSQL reserves the `pg_` prefix for its catalogs, which resolve unqualified.
fn is_system_relation(parts: &[String]) -> bool {
    match parts {
        [.., schema, _] => matches!(
            schema.as_str(),
            "pg_catalog" | "information_schema" | "performance_schema" | "mysql" | "sys"
        ),
        [name] => name.starts_with("pg_"),
        [] => false,
    }
}

fn is_parameter_ident(id: &Ident) -> bool {
    id.quote_style.is_none() && id.value.starts_with(['$', '@', ':', '?'])
}

fn strip(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Nested(x) => e = x,
            Expr::Cast { expr, .. } | Expr::Collate { expr, .. } => e = expr,
            _ => return e,
        }
    }
}

fn literal_u64(e: &Expr) -> Option<u64> {
    match strip(e) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn string_literal(e: &Expr) -> Option<&str> {
    match strip(e) {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s)
            | Value::DoubleQuotedString(s)
            | Value::EscapedStringLiteral(s)
            | Value::NationalStringLiteral(s) => Some(s),
            Value::DollarQuotedString(d) => Some(&d.value),
            _ => None,
        },
        _ => None,
    }
}

fn is_parameter(e: &Expr) -> bool {
    match strip(e) {
        Expr::Value(v) => matches!(v.value, Value::Placeholder(_)),
        Expr::Identifier(id) => is_parameter_ident(id),
        _ => false,
    }
}

fn function_name(f: &Function) -> String {
    f.name
        .0
        .last()
        .and_then(ObjectNamePart::as_ident)
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}

/// The plain (unnamed or named) expression arguments of a function call.
fn function_args(f: &Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Named { arg, .. }
                | FunctionArg::ExprNamed { arg, .. }
                | FunctionArg::Unnamed(arg) => match arg {
                    FunctionArgExpr::Expr(e) => Some(e),
                    _ => None,
                },
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Path steps of a MySQL / SQLite JSON path (`$.a.b[0]`, `$."k y"`, `$[*]`, `$**.a`).
fn parse_mysql_path(path: &str) -> Vec<JsonStep> {
    let chars: Vec<char> = path.trim().chars().collect();
    let mut steps = Vec::new();
    let mut i = usize::from(chars.first() == Some(&'$'));
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'"') {
                    let mut key = String::new();
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        key.push(chars[i]);
                        i += 1;
                    }
                    i += 1;
                    steps.push(JsonStep::Key(key));
                } else {
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let key: String = chars[start..i].iter().collect();
                    steps.push(if key == "*" {
                        JsonStep::Wildcard
                    } else {
                        JsonStep::Key(key)
                    });
                }
            }
            '[' => {
                let start = i + 1;
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                let inner = inner.trim();
                steps.push(match inner.parse::<i64>() {
                    Ok(n) => JsonStep::Index(n),
                    Err(_) if inner == "*" => JsonStep::Wildcard,
                    Err(_) => JsonStep::Key(inner.to_owned()),
                });
                i += 1;
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                steps.push(JsonStep::Wildcard);
                i += 2;
            }
            _ => i += 1,
        }
    }
    steps
}

fn looks_like_mysql_path(s: &str) -> bool {
    let s = s.trim();
    s == "$" || s.starts_with("$.") || s.starts_with("$[") || s.starts_with("$**")
}

/// Steps of a PostgreSQL text-array path (`'{a,b,0}'`).
fn parse_pg_text_path(s: &str) -> Vec<JsonStep> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    if inner.trim().is_empty() {
        return Vec::new();
    }
    inner
        .split(',')
        .map(|p| {
            let p = p.trim().trim_matches('"');
            p.parse::<i64>()
                .map_or_else(|_| JsonStep::Key(p.to_owned()), JsonStep::Index)
        })
        .collect()
}

/// Steps contributed by the right operand of `->` / `->>`.
fn arrow_steps(right: &Expr) -> Vec<JsonStep> {
    if let Some(s) = string_literal(right) {
        if looks_like_mysql_path(s) {
            return parse_mysql_path(s);
        }
        return vec![JsonStep::Key(s.to_owned())];
    }
    match strip(right) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => vec![
                n.parse::<i64>()
                    .map_or_else(|_| JsonStep::Key(n.clone()), JsonStep::Index),
            ],
            _ => vec![JsonStep::Parameter],
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match literal_u64(expr) {
            Some(n) => vec![JsonStep::Index(-(n as i64))],
            None => vec![JsonStep::Parameter],
        },
        _ => vec![JsonStep::Parameter],
    }
}

/// Steps contributed by the right operand of `#>` / `#>>`.
fn hash_arrow_steps(right: &Expr) -> Vec<JsonStep> {
    if let Some(s) = string_literal(right) {
        return parse_pg_text_path(s);
    }
    match strip(right) {
        Expr::Array(a) => a
            .elem
            .iter()
            .map(|e| string_literal(e).map_or(JsonStep::Parameter, |s| JsonStep::Key(s.to_owned())))
            .collect(),
        _ => vec![JsonStep::Parameter],
    }
}

fn like_kind(pattern: &Expr) -> LikeKind {
    if let Some(s) = string_literal(pattern) {
        return if s.starts_with(['%', '_']) {
            LikeKind::Infix
        } else {
            LikeKind::Prefix
        };
    }
    if is_parameter(pattern) {
        return LikeKind::Parameter;
    }
    match strip(pattern) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::StringConcat,
            ..
        } => like_kind(left),
        Expr::Function(f) if function_name(f) == "concat" => function_args(f)
            .first()
            .map_or(LikeKind::Unknown, |first| like_kind(first)),
        _ => LikeKind::Unknown,
    }
}

/// The constraint (`ON`, `USING`, natural) of a join, for the join kinds that have one.
pub(crate) fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c)
        | JoinOperator::AsOf { constraint: c, .. } => Some(c),
        JoinOperator::CrossApply
        | JoinOperator::OuterApply
        | JoinOperator::ArrayJoin
        | JoinOperator::LeftArrayJoin
        | JoinOperator::InnerArrayJoin => None,
    }
}

fn statement_kind(st: &Statement) -> StatementKind {
    match st {
        Statement::Query(q) => set_expr_kind(&q.body),
        Statement::Insert(_) => StatementKind::Insert,
        Statement::Update(_) => StatementKind::Update,
        Statement::Delete(_) => StatementKind::Delete,
        _ => StatementKind::Other,
    }
}

fn set_expr_kind(body: &SetExpr) -> StatementKind {
    match body {
        SetExpr::Insert(_) => StatementKind::Insert,
        SetExpr::Update(_) => StatementKind::Update,
        SetExpr::Delete(_) => StatementKind::Delete,
        SetExpr::Merge(_) => StatementKind::Other,
        SetExpr::Query(q) => set_expr_kind(&q.body),
        SetExpr::Select(_)
        | SetExpr::SetOperation { .. }
        | SetExpr::Values(_)
        | SetExpr::Table(_) => StatementKind::Select,
    }
}

fn output_name(e: &Expr) -> String {
    match strip(e) {
        Expr::Identifier(i) => norm(i),
        Expr::CompoundIdentifier(parts) => parts.last().map(norm).unwrap_or_default(),
        Expr::Function(f) => function_name(f),
        _ => "?column?".to_owned(),
    }
}

fn rename(mut out: Output, alias: Option<&TableAlias>) -> Output {
    if let Some(alias) = alias {
        for (i, c) in alias.columns.iter().enumerate() {
            let name = norm(&c.name);
            match out.columns.get_mut(i) {
                Some(slot) => slot.0 = name,
                None => out.columns.push((name, None)),
            }
        }
    }
    out
}

/// Columns of two set-operation branches: a column keeps its base only when both agree.
fn merge_outputs(left: Output, right: &Output) -> Output {
    let columns = left
        .columns
        .into_iter()
        .enumerate()
        .map(|(i, (name, base))| {
            let same = right.columns.get(i).is_some_and(|(_, b)| *b == base);
            (name, if same { base } else { None })
        })
        .collect();
    Output {
        columns,
        open: Vec::new(),
    }
}

/// A table function, `UNNEST`, … : its columns are known only when the alias lists them.
fn function_source(alias: Option<&TableAlias>) -> Source {
    match alias {
        Some(a) if !a.columns.is_empty() => Source::Derived(Rc::new(Output {
            columns: a.columns.iter().map(|c| (norm(&c.name), None)).collect(),
            open: Vec::new(),
        })),
        _ => Source::Opaque,
    }
}

fn schema_table<'a>(schema: Option<&'a Schema>, name: &str) -> Option<&'a Table> {
    let schema = schema?;
    schema.table(name).or_else(|| {
        schema
            .tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    })
}

fn table_has_column(table: &Table, column: &str) -> bool {
    table
        .columns
        .iter()
        .any(|c| c.name == column || c.name.eq_ignore_ascii_case(column))
}

impl<'s> Analyzer<'s> {
    fn run(
        statements: &[Statement],
        dialect: Dialect,
        schema: Option<&'s Schema>,
    ) -> StatementShape {
        let mut a = Analyzer {
            schema,
            scopes: Vec::new(),
            ctes: Vec::new(),
            next_inst: 0,
            depth: 0,
            acc: Acc::default(),
        };
        let mut kind = StatementKind::Other;
        for st in statements {
            if kind == StatementKind::Other {
                kind = statement_kind(st);
            }
            a.statement(st, true);
        }
        a.finish(kind, dialect)
    }

    fn finish(self, kind: StatementKind, dialect: Dialect) -> StatementShape {
        let acc = self.acc;
        StatementShape {
            kind,
            parsed_as: Some(dialect),
            tables: acc.tables.into_iter().collect(),
            written_tables: acc.written.into_iter().collect(),
            columns: acc
                .columns
                .into_iter()
                .map(|((table, column), roles)| ColumnUse {
                    table,
                    column,
                    roles: roles.into_iter().collect(),
                })
                .collect(),
            joins: acc.joins.into_iter().collect(),
            json_paths: acc
                .json
                .into_iter()
                .map(|((table, column, path), (as_text, roles))| JsonAccess {
                    table,
                    column,
                    path,
                    as_text,
                    roles: roles.into_iter().collect(),
                })
                .collect(),
            likes: acc.likes.into_iter().collect(),
            order_by: acc.order_by,
            limit: acc.limit,
            aggregates: acc.aggregates.into_iter().collect(),
            wildcard_tables: acc.wildcard_tables.into_iter().collect(),
            warnings: acc.warnings,
            system: acc.system,
        }
    }

    fn warn(&mut self, message: String) {
        if !self.acc.warnings.contains(&message) {
            self.acc.warnings.push(message);
        }
    }

    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            self.warn(format!(
                "statement nested deeper than {MAX_DEPTH} levels; analysis truncated"
            ));
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // --- scopes and resolution ---------------------------------------------------------------

    fn push_instance(
        &mut self,
        alias: Option<String>,
        name: Option<String>,
        source: Source,
    ) -> InstId {
        let id = self.next_inst;
        self.next_inst += 1;
        if self.scopes.is_empty() {
            self.scopes.push(Scope::default());
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.instances.push(Instance {
                id,
                alias,
                name,
                source,
            });
        }
        id
    }

    fn pop_scope(&mut self) {
        let Some(scope) = self.scopes.pop() else {
            return;
        };
        let mut groups = EdgeGroups::new();
        for (a, b) in scope.edges {
            let (a, b) = if a.inst <= b.inst { (a, b) } else { (b, a) };
            let (Some(ia), Some(ta), Some(ib), Some(tb)) = (a.inst, a.table, b.inst, b.table)
            else {
                continue;
            };
            groups
                .entry((ia, ta, ib, tb))
                .or_default()
                .insert((a.column, b.column));
        }
        for ((_, ta, _, tb), pairs) in groups {
            self.add_join(&ta, &tb, pairs.into_iter().collect());
        }
    }

    fn add_join(&mut self, ta: &str, tb: &str, mut pairs: Vec<(String, String)>) {
        pairs.sort();
        pairs.dedup();
        let a_cols: Vec<String> = pairs.iter().map(|p| p.0.clone()).collect();
        let mut swapped: Vec<(String, String)> =
            pairs.iter().map(|(a, b)| (b.clone(), a.clone())).collect();
        swapped.sort();
        let b_cols: Vec<String> = swapped.iter().map(|p| p.0.clone()).collect();
        let pair = if (ta, &a_cols) <= (tb, &b_cols) {
            JoinPair {
                left_table: ta.to_owned(),
                left_columns: a_cols,
                right_table: tb.to_owned(),
                right_columns: pairs.into_iter().map(|p| p.1).collect(),
            }
        } else {
            JoinPair {
                left_table: tb.to_owned(),
                left_columns: b_cols,
                right_table: ta.to_owned(),
                right_columns: swapped.into_iter().map(|p| p.1).collect(),
            }
        };
        self.acc.joins.insert(pair);
    }

    fn cte(&self, name: &str) -> Option<Rc<Output>> {
        self.ctes
            .iter()
            .rev()
            .flat_map(|f| f.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, o)| o.clone())
    }

    fn find_instance(&self, qualifier: &str) -> Option<&Instance> {
        for scope in self.scopes.iter().rev() {
            if let Some(i) = scope
                .instances
                .iter()
                .find(|i| i.alias.as_deref() == Some(qualifier))
            {
                return Some(i);
            }
            if let Some(i) = scope
                .instances
                .iter()
                .find(|i| i.alias.is_none() && i.name.as_deref() == Some(qualifier))
            {
                return Some(i);
            }
        }
        None
    }

    fn col_in(inst: &Instance, column: &str) -> Option<Col> {
        match &inst.source {
            Source::Base(t) => Some(Col {
                table: Some(t.clone()),
                column: column.to_owned(),
                inst: Some(inst.id),
            }),
            Source::Derived(out) => {
                if let Some((_, base)) = out.columns.iter().find(|(n, _)| n == column) {
                    base.as_ref().map(|b| Col::base(b, Some(inst.id)))
                } else if let [only] = out.open.as_slice() {
                    Some(Col {
                        table: Some(only.clone()),
                        column: column.to_owned(),
                        inst: Some(inst.id),
                    })
                } else {
                    None
                }
            }
            Source::Opaque | Source::Pseudo => None,
        }
    }

    fn has(&self, inst: &Instance, column: &str) -> Has {
        match &inst.source {
            Source::Base(t) => match schema_table(self.schema, t) {
                Some(table) if table_has_column(table, column) => Has::Yes,
                Some(_) => Has::No,
                None => Has::Maybe,
            },
            Source::Derived(out) => {
                if out.columns.iter().any(|(n, _)| n == column) {
                    Has::Yes
                } else if out.open.is_empty() {
                    Has::No
                } else if out.open.iter().any(|t| {
                    schema_table(self.schema, t).is_some_and(|tab| table_has_column(tab, column))
                }) {
                    Has::Yes
                } else if out
                    .open
                    .iter()
                    .all(|t| schema_table(self.schema, t).is_some())
                {
                    Has::No
                } else {
                    Has::Maybe
                }
            }
            Source::Opaque => Has::Maybe,
            Source::Pseudo => Has::No,
        }
    }

    fn resolve(&mut self, parts: &[Ident]) -> Resolved {
        match parts {
            [] => Resolved::NotAColumn,
            [only] if is_parameter_ident(only) => Resolved::Constant,
            [only] => self.resolve_unqualified(&norm(only)),
            [.., qualifier, column] => {
                let (q, c) = (norm(qualifier), norm(column));
                if let Some(inst) = self.find_instance(&q) {
                    return Self::col_in(inst, &c).map_or(Resolved::NotAColumn, Resolved::Col);
                }
                self.warn(format!("unresolved qualifier `{q}` in `{q}.{c}`"));
                Resolved::NotAColumn
            }
        }
    }

    fn resolve_unqualified(&self, column: &str) -> Resolved {
        let mut any = false;
        for scope in self.scopes.iter().rev() {
            if scope.instances.is_empty() {
                continue;
            }
            any = true;
            let mut yes = Vec::new();
            let mut maybe = Vec::new();
            for inst in &scope.instances {
                match self.has(inst, column) {
                    Has::Yes => yes.push(inst),
                    Has::Maybe => maybe.push(inst),
                    Has::No => {}
                }
            }
            let pick = match (yes.as_slice(), maybe.as_slice()) {
                ([one], _) | ([], [one]) => *one,
                ([], []) => continue,
                _ => {
                    return Resolved::Col(Col {
                        table: None,
                        column: column.to_owned(),
                        inst: None,
                    });
                }
            };
            return Self::col_in(pick, column).map_or(Resolved::NotAColumn, Resolved::Col);
        }
        if any {
            Resolved::Col(Col {
                table: None,
                column: column.to_owned(),
                inst: None,
            })
        } else {
            Resolved::Constant
        }
    }

    fn resolve_expr(&mut self, e: &Expr) -> Option<Resolved> {
        match e {
            Expr::Identifier(id) => Some(self.resolve(std::slice::from_ref(id))),
            Expr::CompoundIdentifier(parts) => Some(self.resolve(parts)),
            _ => None,
        }
    }

    // --- recording -----------------------------------------------------------------------------

    fn note(&mut self, col: &Col, role: Option<ColumnRole>) {
        let roles = self
            .acc
            .columns
            .entry((col.table.clone(), col.column.clone()))
            .or_default();
        if let Some(role) = role {
            roles.insert(role);
        }
    }

    fn note_json(
        &mut self,
        col: &Col,
        path: Vec<JsonStep>,
        as_text: bool,
        role: Option<ColumnRole>,
    ) {
        self.note(col, Some(ColumnRole::JsonPath));
        let entry = self
            .acc
            .json
            .entry((col.table.clone(), col.column.clone(), path))
            .or_insert_with(|| (false, BTreeSet::new()));
        entry.0 |= as_text;
        if let Some(role) = role {
            entry.1.insert(role);
        }
    }

    fn note_operand(&mut self, op: Operand, role: Option<ColumnRole>) {
        match op {
            Operand::Col(c) => self.note(&c, role),
            Operand::Json(c, path, text) => self.note_json(&c, path, text, role),
            Operand::Constant | Operand::Expression => {}
        }
    }

    // --- expressions ---------------------------------------------------------------------------

    /// A JSON path access on a column, if `e` is one.
    fn json_of(&mut self, e: &Expr) -> Option<(Col, Vec<JsonStep>, bool)> {
        match e {
            Expr::Nested(x) | Expr::Cast { expr: x, .. } => self.json_of(x),
            Expr::BinaryOp { left, op, right } => {
                let (hash, text) = match op {
                    BinaryOperator::Arrow => (false, false),
                    BinaryOperator::LongArrow => (false, true),
                    BinaryOperator::HashArrow => (true, false),
                    BinaryOperator::HashLongArrow => (true, true),
                    _ => return None,
                };
                let (col, mut path) = self.json_base(left)?;
                path.extend(if hash {
                    hash_arrow_steps(right)
                } else {
                    arrow_steps(right)
                });
                Some((col, path, text))
            }
            Expr::Function(f) => {
                let name = function_name(f);
                let args = function_args(f);
                match name.as_str() {
                    "json_unquote" => {
                        let (col, path, _) = self.json_of(args.first()?)?;
                        Some((col, path, true))
                    }
                    "json_extract" | "json_value" | "json_query" => {
                        let (col, mut path) = self.json_base(args.first()?)?;
                        let steps = args.get(1).map_or_else(
                            || vec![JsonStep::Parameter],
                            |p| {
                                string_literal(p)
                                    .map_or(vec![JsonStep::Parameter], parse_mysql_path)
                            },
                        );
                        path.extend(steps);
                        Some((col, path, name == "json_value"))
                    }
                    "json_extract_path"
                    | "jsonb_extract_path"
                    | "json_extract_path_text"
                    | "jsonb_extract_path_text" => {
                        let (col, mut path) = self.json_base(args.first()?)?;
                        path.extend(args[1..].iter().map(|a| {
                            string_literal(a)
                                .map_or(JsonStep::Parameter, |s| JsonStep::Key(s.to_owned()))
                        }));
                        Some((col, path, name.ends_with("_text")))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The column (and path so far) a JSON access starts from.
    fn json_base(&mut self, e: &Expr) -> Option<(Col, Vec<JsonStep>)> {
        let s = strip(e);
        if let Some(r) = self.resolve_expr(s) {
            return match r {
                Resolved::Col(c) => Some((c, Vec::new())),
                _ => None,
            };
        }
        self.json_of(s).map(|(c, p, _)| (c, p))
    }

    fn operand(&mut self, e: &Expr) -> Operand {
        let s = strip(e);
        if let Some(r) = self.resolve_expr(s) {
            return match r {
                Resolved::Col(c) => Operand::Col(c),
                Resolved::Constant => Operand::Constant,
                Resolved::NotAColumn => Operand::Expression,
            };
        }
        if let Some((c, p, t)) = self.json_of(s) {
            return Operand::Json(c, p, t);
        }
        if self.is_constant(s) {
            Operand::Constant
        } else {
            Operand::Expression
        }
    }

    /// Whether `e` references no column of any table in scope (subqueries count as constants).
    fn is_constant(&mut self, e: &Expr) -> bool {
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            if let Some(r) = self.resolve_expr(x) {
                if !matches!(r, Resolved::Constant) {
                    return false;
                }
                continue;
            }
            for child in children(x) {
                if let Node::Expr(c) = child {
                    stack.push(c);
                }
            }
        }
        true
    }

    /// Walk an expression, noting each column with the context's role.
    fn walk(&mut self, e: &Expr, ctx: Ctx) {
        if !self.enter() {
            return;
        }
        // Left-deep operator chains are walked iteratively.
        let mut cur = e;
        loop {
            match cur {
                Expr::BinaryOp { left, op, right }
                    if !matches!(
                        op,
                        BinaryOperator::Arrow
                            | BinaryOperator::LongArrow
                            | BinaryOperator::HashArrow
                            | BinaryOperator::HashLongArrow
                    ) =>
                {
                    self.walk(right, ctx);
                    cur = left;
                }
                _ => break,
            }
        }
        self.walk_one(cur, ctx);
        self.leave();
    }

    fn walk_one(&mut self, e: &Expr, ctx: Ctx) {
        if let Some(r) = self.resolve_expr(e) {
            if let Resolved::Col(c) = r {
                self.note(&c, ctx.role());
            }
            return;
        }
        match e {
            Expr::MatchAgainst { columns, .. } => {
                for name in columns {
                    let parts: Vec<Ident> = name
                        .0
                        .iter()
                        .filter_map(ObjectNamePart::as_ident)
                        .cloned()
                        .collect();
                    if let Resolved::Col(c) = self.resolve(&parts) {
                        self.note(&c, ctx.role());
                    }
                }
                return;
            }
            Expr::BinaryOp { .. } | Expr::Function(_) => {
                if let Some((c, path, text)) = self.json_of(e) {
                    self.note_json(&c, path, text, ctx.role());
                    return;
                }
                if let Expr::Function(f) = e {
                    self.aggregate(f);
                }
            }
            _ => {}
        }
        for child in children(e) {
            match child {
                Node::Expr(x) => self.walk(x, ctx),
                Node::Query(q) => {
                    self.query(q, false);
                }
            }
        }
    }

    fn aggregate(&mut self, f: &Function) {
        if f.over.is_some() {
            return;
        }
        let function = match function_name(f).as_str() {
            "count" => AggregateFunction::Count,
            "sum" => AggregateFunction::Sum,
            "avg" => AggregateFunction::Avg,
            "min" => AggregateFunction::Min,
            "max" => AggregateFunction::Max,
            _ => return,
        };
        let FunctionArguments::List(list) = &f.args else {
            return;
        };
        let distinct = list.duplicate_treatment == Some(DuplicateTreatment::Distinct);
        let col = match list.args.first() {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => match strip(e) {
                x @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)) => {
                    match self.resolve_expr(x) {
                        Some(Resolved::Col(c)) => Some(c),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        };
        self.acc.aggregates.insert(AggregateUse {
            function,
            table: col.as_ref().and_then(|c| c.table.clone()),
            column: col.map(|c| c.column),
            distinct,
        });
    }

    // --- predicates ----------------------------------------------------------------------------

    fn predicate(&mut self, e: &Expr) {
        if !self.enter() {
            return;
        }
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            match x {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::And | BinaryOperator::Or,
                    right,
                } => {
                    stack.push(right);
                    stack.push(left);
                }
                Expr::Nested(inner) => stack.push(inner),
                _ => self.condition(x),
            }
        }
        self.leave();
    }

    fn condition(&mut self, e: &Expr) {
        use ColumnRole::{EqualityFilter, InList, RangeFilter};
        match e {
            Expr::BinaryOp { left, op, right } => self.compare(left, op, right),
            Expr::IsNotDistinctFrom(a, b) => self.compare(a, &BinaryOperator::Eq, b),
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => {
                self.target(expr, RangeFilter);
                self.walk(low, Ctx::Plain);
                self.walk(high, Ctx::Plain);
            }
            Expr::In {
                expr,
                target,
                negated: false,
                ..
            } => match target {
                InTarget::List(items) => {
                    self.target(expr, InList);
                    for item in items {
                        self.walk(item, Ctx::Plain);
                    }
                }
                InTarget::Subquery(q) => self.semi_join(expr, q),
                InTarget::Unnest(x) => {
                    self.target(expr, InList);
                    self.walk(x, Ctx::Plain);
                }
                InTarget::Table { .. } => self.walk(expr, Ctx::Plain),
            },
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => {
                if let Expr::Subquery(q) = strip(right) {
                    self.semi_join(left, q);
                } else {
                    self.target(left, InList);
                    self.walk(right, Ctx::Plain);
                }
            }
            Expr::AnyOp {
                left,
                compare_op:
                    BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op:
                    BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq,
                right,
            } => {
                self.target(left, RangeFilter);
                self.walk(right, Ctx::Plain);
            }
            Expr::Like {
                negated: false,
                any: false,
                expr,
                pattern,
                ..
            } => self.like(expr, pattern, false),
            Expr::ILike {
                negated: false,
                any: false,
                expr,
                pattern,
                ..
            } => self.like(expr, pattern, true),
            Expr::IsNull(x) | Expr::IsTrue(x) | Expr::IsFalse(x) => self.target(x, EqualityFilter),
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } if matches!(
                strip(expr),
                Expr::Identifier(_) | Expr::CompoundIdentifier(_)
            ) =>
            {
                self.target(expr, EqualityFilter);
            }
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => self.target(e, EqualityFilter),
            _ => self.walk(e, Ctx::Plain),
        }
    }

    /// Give the column (or JSON path, or each element of a row value) in `e` a filter role.
    fn target(&mut self, e: &Expr, role: ColumnRole) {
        if let Expr::Tuple(items) = strip(e) {
            for item in items {
                self.target(item, role);
            }
            return;
        }
        match self.operand(e) {
            op @ (Operand::Col(_) | Operand::Json(..)) => self.note_operand(op, Some(role)),
            Operand::Constant | Operand::Expression => self.walk(e, Ctx::Plain),
        }
    }

    fn compare(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr) {
        let role = match op {
            BinaryOperator::Eq | BinaryOperator::Spaceship => Some(ColumnRole::EqualityFilter),
            BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => Some(ColumnRole::RangeFilter),
            _ => None,
        };
        if role.is_none() {
            self.walk(left, Ctx::Plain);
            self.walk(right, Ctx::Plain);
            return;
        }
        let l = self.operand(left);
        let r = self.operand(right);
        match (l, r) {
            (Operand::Col(a), Operand::Col(b)) => {
                let join = role == Some(ColumnRole::EqualityFilter)
                    && a.table.is_some()
                    && b.table.is_some()
                    && a.inst.is_some()
                    && b.inst.is_some()
                    && a.inst != b.inst;
                if join {
                    self.note(&a, Some(ColumnRole::JoinKey));
                    self.note(&b, Some(ColumnRole::JoinKey));
                    if let Some(scope) = self.scopes.last_mut() {
                        scope.edges.push((a, b));
                    }
                } else {
                    self.note(&a, None);
                    self.note(&b, None);
                }
            }
            (t @ (Operand::Col(_) | Operand::Json(..)), Operand::Constant) => {
                self.note_operand(t, role);
                self.walk(right, Ctx::Plain);
            }
            (Operand::Constant, t @ (Operand::Col(_) | Operand::Json(..))) => {
                self.note_operand(t, role);
                self.walk(left, Ctx::Plain);
            }
            _ => {
                self.walk(left, Ctx::Plain);
                self.walk(right, Ctx::Plain);
            }
        }
    }

    /// `expr IN (SELECT col …)` / `expr = ANY(SELECT col …)`: an IN filter and, when the subquery
    /// projects one plain column, a (semi-)join between the two columns.
    fn semi_join(&mut self, expr: &Expr, q: &Query) {
        let target = self.operand(expr);
        let out = self.query(q, false);
        match target {
            Operand::Col(c) => {
                self.note(&c, Some(ColumnRole::InList));
                if let (Some(table), [(_, Some(base))]) = (&c.table, out.columns.as_slice()) {
                    self.note(&c, Some(ColumnRole::JoinKey));
                    self.note(&Col::base(base, None), Some(ColumnRole::JoinKey));
                    let table = table.clone();
                    self.add_join(
                        &table,
                        &base.table,
                        vec![(c.column.clone(), base.column.clone())],
                    );
                }
            }
            op @ Operand::Json(..) => self.note_operand(op, Some(ColumnRole::InList)),
            Operand::Constant | Operand::Expression => self.walk(expr, Ctx::Plain),
        }
    }

    fn like(&mut self, expr: &Expr, pattern: &Expr, case_insensitive: bool) {
        let kind = like_kind(pattern);
        let role = matches!(kind, LikeKind::Prefix | LikeKind::Parameter)
            .then_some(ColumnRole::LikePrefix);
        match self.operand(expr) {
            Operand::Col(c) => {
                self.note(&c, role);
                self.acc.likes.insert(LikeUse {
                    table: c.table.clone(),
                    column: c.column.clone(),
                    kind,
                    case_insensitive,
                });
            }
            op @ Operand::Json(..) => self.note_operand(op, role),
            Operand::Constant | Operand::Expression => self.walk(expr, Ctx::Plain),
        }
        self.walk(pattern, Ctx::Plain);
    }

    // --- statements and queries ------------------------------------------------------------------

    fn statement(&mut self, st: &Statement, top: bool) -> Output {
        match st {
            Statement::Query(q) => self.query(q, top),
            Statement::Insert(i) => self.insert(i),
            Statement::Update(u) => self.update(u, top),
            Statement::Delete(d) => self.delete(d, top),
            Statement::Explain { statement, .. } => self.statement(statement, top),
            _ => Output::default(),
        }
    }

    fn query(&mut self, q: &Query, top: bool) -> Output {
        if !self.enter() {
            return Output::default();
        }
        let pushed = q.with.as_ref().is_some_and(|w| {
            self.with(w);
            true
        });
        let out = self.set_expr(&q.body, q.order_by.as_ref(), top);
        if top && self.acc.limit.is_none() {
            self.acc.limit = match &q.limit_clause {
                Some(LimitClause::LimitOffset { limit, offset, .. })
                    if limit.is_some() || offset.is_some() =>
                {
                    Some(Limit {
                        rows: limit.as_ref().and_then(literal_u64),
                        offset: offset.is_some(),
                    })
                }
                Some(LimitClause::OffsetCommaLimit { limit, .. }) => Some(Limit {
                    rows: literal_u64(limit),
                    offset: true,
                }),
                _ => q.fetch.as_ref().map(|f| Limit {
                    rows: f.quantity.as_ref().and_then(literal_u64),
                    offset: false,
                }),
            };
        }
        if pushed {
            self.ctes.pop();
        }
        self.leave();
        out
    }

    fn with(&mut self, w: &With) {
        self.ctes.push(Vec::new());
        for cte in &w.cte_tables {
            let name = norm(&cte.alias.name);
            let mut out = Output::default();
            // A recursive CTE is analysed twice: the second pass sees the first pass's columns.
            let passes = if w.recursive { 2 } else { 1 };
            for _ in 0..passes {
                self.set_cte(&name, Rc::new(out.clone()));
                out = rename(self.query(&cte.query, false), Some(&cte.alias));
            }
            self.set_cte(&name, Rc::new(out));
        }
    }

    fn set_cte(&mut self, name: &str, out: Rc<Output>) {
        if let Some(frame) = self.ctes.last_mut() {
            match frame.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = out,
                None => frame.push((name.to_owned(), out)),
            }
        }
    }

    fn set_expr(&mut self, body: &SetExpr, order_by: Option<&OrderBy>, top: bool) -> Output {
        match body {
            SetExpr::Select(s) => self.select(s, order_by, top),
            SetExpr::Query(q) => {
                let out = self.query(q, top && order_by.is_none());
                self.output_order_by(&out, order_by, top);
                out
            }
            SetExpr::SetOperation { left, right, .. } => {
                let l = self.set_expr(left, None, false);
                let r = self.set_expr(right, None, false);
                let out = merge_outputs(l, &r);
                self.output_order_by(&out, order_by, top);
                out
            }
            SetExpr::Values(values) => {
                let mut width = 0;
                for row in &values.rows {
                    width = width.max(row.content.len());
                    for e in &row.content {
                        self.walk(e, Ctx::Plain);
                    }
                }
                Output {
                    columns: (1..=width).map(|i| (format!("column{i}"), None)).collect(),
                    open: Vec::new(),
                }
            }
            SetExpr::Insert(st) | SetExpr::Update(st) | SetExpr::Delete(st) => {
                self.statement(st, top)
            }
            SetExpr::Merge(_) => {
                self.warn("MERGE statements are not analysed".to_owned());
                Output::default()
            }
            SetExpr::Table(t) => {
                let Some(name) = t.table_name.as_ref().map(norm) else {
                    return Output::default();
                };
                if let Some(out) = self.cte(&name) {
                    return (*out).clone();
                }
                self.acc.tables.insert(name.clone());
                self.acc.wildcard_tables.insert(name.clone());
                Output {
                    columns: Vec::new(),
                    open: vec![name],
                }
            }
        }
    }

    /// ORDER BY over a set operation or parenthesized query: names and positions of its output.
    fn output_order_by(&mut self, out: &Output, order_by: Option<&OrderBy>, top: bool) {
        let Some(OrderBy {
            kind: OrderByKind::Expressions(exprs),
            ..
        }) = order_by
        else {
            return;
        };
        for o in exprs {
            let base = match strip(&o.expr) {
                Expr::Value(_) => literal_u64(&o.expr)
                    .and_then(|n| out.columns.get((n as usize).checked_sub(1)?))
                    .and_then(|(_, b)| b.clone()),
                Expr::Identifier(id) => {
                    let name = norm(id);
                    out.columns
                        .iter()
                        .find(|(n, _)| *n == name)
                        .and_then(|(_, b)| b.clone())
                }
                _ => None,
            };
            if let Some(b) = base {
                let col = Col::base(&b, None);
                self.note(&col, Some(ColumnRole::OrderBy));
                if top {
                    self.order_key(&col, o);
                }
            }
        }
        if top {
            self.acc.order_by_set = true;
        }
    }

    fn order_key(&mut self, col: &Col, o: &OrderByExpr) {
        if self.acc.order_by_set {
            return;
        }
        let order = match o.options.sort {
            Some(OrderBySort::Desc) => SortOrder::Desc,
            _ => SortOrder::Asc,
        };
        self.acc.order_by.push(OrderKey {
            table: col.table.clone(),
            column: col.column.clone(),
            order,
            nulls_first: o.options.nulls_first,
        });
    }

    fn select(&mut self, s: &Select, order_by: Option<&OrderBy>, top: bool) -> Output {
        self.scopes.push(Scope::default());
        for twj in &s.from {
            self.join_tree(twj);
        }
        let mut out = Output::default();
        for item in &s.projection {
            self.projection_item(item, &mut out);
        }
        if let Some(sqlparser::ast::Distinct::On(exprs)) = &s.distinct {
            for e in exprs {
                self.walk(e, Ctx::Plain);
            }
        }
        if let Some(p) = &s.prewhere {
            self.predicate(p);
        }
        if let Some(w) = &s.selection {
            self.predicate(w);
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                self.keyed(e, &out, Ctx::GroupBy);
            }
        }
        if let Some(h) = &s.having {
            self.predicate(h);
        }
        if let Some(q) = &s.qualify {
            self.predicate(q);
        }
        if let Some(OrderBy {
            kind: OrderByKind::Expressions(exprs),
            ..
        }) = order_by
        {
            for o in exprs {
                if let Some(col) = self.keyed(&o.expr, &out, Ctx::OrderBy)
                    && top
                {
                    self.order_key(&col, o);
                }
            }
        }
        if top && order_by.is_some() {
            self.acc.order_by_set = true;
        }
        self.pop_scope();
        out
    }

    /// A GROUP BY / ORDER BY item: a position, an output name, or an expression over the input.
    /// Returns the column when the item is a plain column.
    fn keyed(&mut self, e: &Expr, out: &Output, ctx: Ctx) -> Option<Col> {
        let s = strip(e);
        let from_output = match s {
            Expr::Value(_) => match literal_u64(s) {
                Some(n) => Some(
                    out.columns
                        .get((n as usize).wrapping_sub(1))
                        .and_then(|(_, b)| b.clone()),
                ),
                None => return None,
            },
            Expr::Identifier(id) if !is_parameter_ident(id) => {
                let name = norm(id);
                out.columns
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, b)| b.clone())
            }
            _ => None,
        };
        if let Some(base) = from_output {
            let col = base.map(|b| Col::base(&b, None))?;
            self.note(&col, ctx.role());
            return Some(col);
        }
        if let Some(Resolved::Col(c)) = self.resolve_expr(s) {
            self.note(&c, ctx.role());
            return Some(c);
        }
        self.walk(e, ctx);
        None
    }

    fn projection_item(&mut self, item: &SelectItem, out: &mut Output) {
        match item {
            SelectItem::UnnamedExpr(e) => {
                self.walk(e, Ctx::Projection);
                let base = self.lineage(e);
                out.columns.push((output_name(e), base));
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                self.walk(expr, Ctx::Projection);
                let base = self.lineage(expr);
                out.columns.push((norm(alias), base));
            }
            SelectItem::ExprWithAliases { expr, aliases } => {
                self.walk(expr, Ctx::Projection);
                out.columns.extend(aliases.iter().map(|a| (norm(a), None)));
            }
            SelectItem::Wildcard(_) => {
                let ids: Vec<InstId> = self
                    .scopes
                    .last()
                    .map(|s| s.instances.iter().map(|i| i.id).collect())
                    .unwrap_or_default();
                for id in ids {
                    self.expand(id, out);
                }
            }
            SelectItem::QualifiedWildcard(kind, _) => match kind {
                SelectItemQualifiedWildcardKind::ObjectName(name) => {
                    let parts = name_parts(name);
                    let id = parts
                        .last()
                        .and_then(|q| self.find_instance(q))
                        .map(|i| i.id);
                    match id {
                        Some(id) => self.expand(id, out),
                        None => self.warn(format!("unresolved qualifier in `{name}.*`")),
                    }
                }
                SelectItemQualifiedWildcardKind::Expr(e) => self.walk(e, Ctx::Projection),
            },
        }
    }

    /// The base column a projected expression is a plain reference to.
    fn lineage(&mut self, e: &Expr) -> Option<BaseCol> {
        match self.resolve_expr(strip(e))? {
            Resolved::Col(Col {
                table: Some(table),
                column,
                ..
            }) => Some(BaseCol { table, column }),
            _ => None,
        }
    }

    /// `*` / `t.*`: project every column of the instance (known through the schema or its query).
    fn expand(&mut self, id: InstId, out: &mut Output) {
        enum What {
            Base(String),
            Derived(Rc<Output>),
            Nothing,
        }
        let what = self
            .scopes
            .iter()
            .rev()
            .flat_map(|s| s.instances.iter())
            .find(|i| i.id == id)
            .map_or(What::Nothing, |i| match &i.source {
                Source::Base(t) => What::Base(t.clone()),
                Source::Derived(o) => What::Derived(o.clone()),
                Source::Opaque | Source::Pseudo => What::Nothing,
            });
        match what {
            What::Base(t) => {
                if let Some(table) = schema_table(self.schema, &t) {
                    for c in &table.columns {
                        let base = BaseCol {
                            table: t.clone(),
                            column: c.name.clone(),
                        };
                        self.note(&Col::base(&base, Some(id)), Some(ColumnRole::Projected));
                        out.columns.push((c.name.clone(), Some(base)));
                    }
                } else {
                    self.acc.wildcard_tables.insert(t.clone());
                    out.open.push(t);
                }
            }
            What::Derived(o) => {
                for (name, base) in &o.columns {
                    if let Some(b) = base {
                        self.note(&Col::base(b, Some(id)), Some(ColumnRole::Projected));
                    }
                    out.columns.push((name.clone(), base.clone()));
                }
                for t in &o.open {
                    self.acc.wildcard_tables.insert(t.clone());
                }
                out.open.extend(o.open.iter().cloned());
            }
            What::Nothing => {}
        }
    }

    // --- FROM ----------------------------------------------------------------------------------

    fn join_tree(&mut self, twj: &TableWithJoins) {
        self.table_factor(&twj.relation);
        for join in &twj.joins {
            let before = self.scopes.last().map_or(0, |s| s.instances.len());
            self.table_factor(&join.relation);
            if let JoinOperator::AsOf {
                match_condition, ..
            } = &join.join_operator
            {
                self.predicate(match_condition);
            }
            match join_constraint(&join.join_operator) {
                Some(JoinConstraint::On(e)) => self.predicate(e),
                Some(JoinConstraint::Using(names) | JoinConstraint::UsingAlias(names, _)) => {
                    for name in names {
                        if let Some(column) = name_parts(name).pop() {
                            self.using_join(before, &column);
                        }
                    }
                }
                Some(JoinConstraint::Natural) => self.natural_join(before),
                Some(JoinConstraint::None) | None => {}
            }
        }
    }

    /// `USING (column)`: join the left-side instance holding `column` with the right-side one.
    fn using_join(&mut self, split: usize, column: &str) {
        let Some(scope) = self.scopes.last() else {
            return;
        };
        let pick = |insts: &[Instance]| -> Option<Col> {
            let yes: Vec<&Instance> = insts
                .iter()
                .filter(|i| self.has(i, column) == Has::Yes)
                .collect();
            let maybe: Vec<&Instance> = insts
                .iter()
                .filter(|i| self.has(i, column) == Has::Maybe)
                .collect();
            let inst = match (yes.as_slice(), maybe.as_slice()) {
                ([one], _) | ([], [one]) => *one,
                _ => return None,
            };
            Self::col_in(inst, column)
        };
        let left = pick(&scope.instances[..split]);
        let right = pick(&scope.instances[split..]);
        match (left, right) {
            (Some(a), Some(b)) => {
                self.note(&a, Some(ColumnRole::JoinKey));
                self.note(&b, Some(ColumnRole::JoinKey));
                if let Some(scope) = self.scopes.last_mut() {
                    scope.edges.push((a, b));
                }
            }
            _ => self.warn(format!(
                "USING ({column}): could not tell which tables it joins"
            )),
        }
    }

    fn natural_join(&mut self, split: usize) {
        let Some(scope) = self.scopes.last() else {
            return;
        };
        let columns_of = |i: &Instance| -> Option<Vec<String>> {
            match &i.source {
                Source::Base(t) => schema_table(self.schema, t)
                    .map(|tab| tab.columns.iter().map(|c| c.name.clone()).collect()),
                Source::Derived(o) if o.open.is_empty() => {
                    Some(o.columns.iter().map(|c| c.0.clone()).collect())
                }
                _ => None,
            }
        };
        let right: Option<Vec<Vec<String>>> =
            scope.instances[split..].iter().map(columns_of).collect();
        let left: Option<Vec<Vec<String>>> =
            scope.instances[..split].iter().map(columns_of).collect();
        let (Some(left), Some(right)) = (left, right) else {
            self.warn("NATURAL JOIN needs the schema to know its columns".to_owned());
            return;
        };
        let left: BTreeSet<String> = left.into_iter().flatten().collect();
        let common: Vec<String> = right
            .into_iter()
            .flatten()
            .filter(|c| left.contains(c))
            .collect();
        for c in common {
            self.using_join(split, &c);
        }
    }

    fn table_factor(&mut self, tf: &TableFactor) {
        match tf {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let parts = name_parts(name);
                self.acc.system |= is_system_relation(&parts);
                let alias_name = alias.as_ref().map(|a| norm(&a.name));
                if let Some(args) = args {
                    for a in &args.args {
                        if let FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        }
                        | FunctionArg::ExprNamed {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        }
                        | FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = a
                        {
                            self.walk(e, Ctx::Plain);
                        }
                    }
                    self.push_instance(
                        alias_name,
                        parts.last().cloned(),
                        function_source(alias.as_ref()),
                    );
                    return;
                }
                let Some(table) = parts.last().cloned() else {
                    return;
                };
                if parts.len() == 1
                    && let Some(out) = self.cte(&table)
                {
                    let out = match alias {
                        Some(a) if !a.columns.is_empty() => {
                            Rc::new(rename((*out).clone(), Some(a)))
                        }
                        _ => out,
                    };
                    self.push_instance(alias_name, Some(table), Source::Derived(out));
                    return;
                }
                self.acc.tables.insert(table.clone());
                self.push_instance(alias_name, Some(table.clone()), Source::Base(table));
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                let out = if *lateral {
                    self.query(subquery, false)
                } else {
                    // A plain derived table cannot see its siblings in this FROM clause.
                    let current = self.scopes.pop();
                    let out = self.query(subquery, false);
                    self.scopes.extend(current);
                    out
                };
                let out = rename(out, alias.as_ref());
                let alias_name = alias.as_ref().map(|a| norm(&a.name));
                self.push_instance(alias_name, None, Source::Derived(Rc::new(out)));
            }
            TableFactor::TableFunction { expr, alias } => {
                self.walk(expr, Ctx::Plain);
                self.push_instance(
                    alias.as_ref().map(|a| norm(&a.name)),
                    None,
                    function_source(alias.as_ref()),
                );
            }
            TableFactor::Function { args, alias, .. } => {
                for a in args {
                    if let FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    }
                    | FunctionArg::ExprNamed {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    }
                    | FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = a
                    {
                        self.walk(e, Ctx::Plain);
                    }
                }
                self.push_instance(
                    alias.as_ref().map(|a| norm(&a.name)),
                    None,
                    function_source(alias.as_ref()),
                );
            }
            TableFactor::UNNEST {
                alias, array_exprs, ..
            } => {
                for e in array_exprs {
                    self.walk(e, Ctx::Plain);
                }
                self.push_instance(
                    alias.as_ref().map(|a| norm(&a.name)),
                    None,
                    function_source(alias.as_ref()),
                );
            }
            TableFactor::JsonTable {
                json_expr, alias, ..
            }
            | TableFactor::OpenJsonTable {
                json_expr, alias, ..
            } => {
                self.walk(json_expr, Ctx::Plain);
                self.push_instance(
                    alias.as_ref().map(|a| norm(&a.name)),
                    None,
                    function_source(alias.as_ref()),
                );
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.join_tree(table_with_joins),
            TableFactor::Pivot { table, .. }
            | TableFactor::Unpivot { table, .. }
            | TableFactor::MatchRecognize { table, .. } => {
                self.warn(
                    "PIVOT / UNPIVOT / MATCH_RECOGNIZE are analysed only for their input table"
                        .to_owned(),
                );
                self.table_factor(table);
            }
            _ => {
                self.warn("unsupported FROM item; its columns are not resolved".to_owned());
                self.push_instance(None, None, Source::Opaque);
            }
        }
    }

    // --- DML -----------------------------------------------------------------------------------

    fn assignments(&mut self, assignments: &[sqlparser::ast::Assignment]) {
        for a in assignments {
            let targets: Vec<&ObjectName> = match &a.target {
                AssignmentTarget::ColumnName(n) => vec![n],
                AssignmentTarget::Tuple(ns) => ns.iter().collect(),
            };
            for name in targets {
                let parts: Vec<Ident> = name
                    .0
                    .iter()
                    .filter_map(ObjectNamePart::as_ident)
                    .cloned()
                    .collect();
                if let Resolved::Col(c) = self.resolve(&parts) {
                    if let Some(t) = &c.table {
                        self.acc.written.insert(t.clone());
                    }
                    self.note(&c, Some(ColumnRole::Written));
                }
            }
            self.walk(&a.value, Ctx::Plain);
        }
    }

    fn returning(&mut self, items: Option<&Vec<SelectItem>>) -> Output {
        let mut out = Output::default();
        for item in items.into_iter().flatten() {
            self.projection_item(item, &mut out);
        }
        out
    }

    fn insert(&mut self, ins: &Insert) -> Output {
        let TableObject::TableName(name) = &ins.table else {
            self.warn("INSERT into a table function is not analysed".to_owned());
            return Output::default();
        };
        let Some(table) = name_parts(name).pop() else {
            return Output::default();
        };
        self.acc.tables.insert(table.clone());
        self.acc.written.insert(table.clone());
        if let Some(source) = &ins.source {
            self.query(source, false);
        }
        if ins.columns.is_empty()
            && ins.assignments.is_empty()
            && let Some(t) = schema_table(self.schema, &table)
        {
            let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            for column in names {
                self.note(
                    &Col {
                        table: Some(table.clone()),
                        column,
                        inst: None,
                    },
                    Some(ColumnRole::Written),
                );
            }
        }
        for c in &ins.columns {
            if let Some(column) = name_parts(c).pop() {
                self.note(
                    &Col {
                        table: Some(table.clone()),
                        column,
                        inst: None,
                    },
                    Some(ColumnRole::Written),
                );
            }
        }
        self.scopes.push(Scope::default());
        let alias = ins.table_alias.as_ref().map(|a| norm(&a.alias));
        self.push_instance(alias, Some(table.clone()), Source::Base(table));
        if let Some(row_alias) = &ins.insert_alias {
            let name = name_parts(&row_alias.row_alias).pop();
            self.push_instance(name, None, Source::Pseudo);
        }
        self.assignments(&ins.assignments);
        match &ins.on {
            Some(OnInsert::DuplicateKeyUpdate(assignments)) => self.assignments(assignments),
            Some(OnInsert::OnConflict(oc)) => {
                self.push_instance(Some("excluded".to_owned()), None, Source::Pseudo);
                if let OnConflictAction::DoUpdate(du) = &oc.action {
                    self.assignments(&du.assignments);
                    if let Some(sel) = &du.selection {
                        self.predicate(sel);
                    }
                }
            }
            _ => {}
        }
        let out = self.returning(ins.returning.as_ref());
        self.pop_scope();
        out
    }

    fn update(&mut self, u: &Update, top: bool) -> Output {
        self.scopes.push(Scope::default());
        self.join_tree(&u.table);
        let first_base = self.scopes.last().and_then(|s| {
            s.instances.iter().find_map(|i| match &i.source {
                Source::Base(t) => Some(t.clone()),
                _ => None,
            })
        });
        if let Some(from) = &u.from {
            let (UpdateTableFromKind::BeforeSet(items) | UpdateTableFromKind::AfterSet(items)) =
                from;
            for twj in items {
                self.join_tree(twj);
            }
        }
        let written_before = self.acc.written.len();
        self.assignments(&u.assignments);
        if self.acc.written.len() == written_before
            && let Some(t) = first_base
        {
            self.acc.written.insert(t);
        }
        if let Some(sel) = &u.selection {
            self.predicate(sel);
        }
        self.dml_tail(&u.order_by, u.limit.as_ref(), top);
        let out = self.returning(u.returning.as_ref());
        self.pop_scope();
        out
    }

    fn delete(&mut self, d: &Delete, top: bool) -> Output {
        self.scopes.push(Scope::default());
        let (FromTable::WithFromKeyword(items) | FromTable::WithoutKeyword(items)) = &d.from;
        for twj in items {
            self.join_tree(twj);
        }
        for twj in d.using.iter().flatten() {
            self.join_tree(twj);
        }
        let mut written = Vec::new();
        if d.tables.is_empty() {
            if let Some(Instance {
                source: Source::Base(t),
                ..
            }) = self.scopes.last().and_then(|s| s.instances.first())
            {
                written.push(t.clone());
            }
        } else {
            for name in &d.tables {
                let Some(q) = name_parts(name).pop() else {
                    continue;
                };
                match self.find_instance(&q).map(|i| &i.source) {
                    Some(Source::Base(t)) => written.push(t.clone()),
                    _ => written.push(q),
                }
            }
        }
        self.acc.written.extend(written);
        if let Some(sel) = &d.selection {
            self.predicate(sel);
        }
        self.dml_tail(&d.order_by, d.limit.as_ref(), top);
        let out = self.returning(d.returning.as_ref());
        self.pop_scope();
        out
    }

    /// MySQL's `ORDER BY … LIMIT n` on UPDATE / DELETE.
    fn dml_tail(&mut self, order_by: &[OrderByExpr], limit: Option<&Expr>, top: bool) {
        let empty = Output::default();
        for o in order_by {
            if let Some(col) = self.keyed(&o.expr, &empty, Ctx::OrderBy)
                && top
            {
                self.order_key(&col, o);
            }
        }
        if top && !order_by.is_empty() {
            self.acc.order_by_set = true;
        }
        if top
            && self.acc.limit.is_none()
            && let Some(l) = limit
        {
            self.acc.limit = Some(Limit {
                rows: literal_u64(l),
                offset: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, DataType, Index, IndexColumn};
    use ColumnRole::{
        EqualityFilter as Eq, GroupBy as Grp, InList as In, JoinKey as Join, JsonPath as Json,
        LikePrefix as Like, OrderBy as Ord, Projected as Proj, RangeFilter as Range, Written as W,
    };

    /// `table.column` (or `?.column` when ambiguous) → roles.
    fn roles_map(shape: &StatementShape) -> BTreeMap<String, Vec<ColumnRole>> {
        shape
            .columns
            .iter()
            .map(|c| {
                let t = c.table.as_deref().unwrap_or("?");
                (format!("{t}.{}", c.column), c.roles.clone())
            })
            .collect()
    }

    fn joins(shape: &StatementShape) -> Vec<String> {
        shape
            .joins
            .iter()
            .map(|j| {
                format!(
                    "{}({})={}({})",
                    j.left_table,
                    j.left_columns.join(","),
                    j.right_table,
                    j.right_columns.join(",")
                )
            })
            .collect()
    }

    struct Case {
        sql: &'static str,
        hint: Option<Dialect>,
        kind: StatementKind,
        tables: &'static [&'static str],
        written: &'static [&'static str],
        columns: &'static [(&'static str, &'static [ColumnRole])],
        joins: &'static [&'static str],
    }

    const CASES: &[Case] = &[
        // A MariaDB digest: backticks, `?` and the ODBC interval unit.
        Case {
            sql: "SELECT `id` , `total` FROM `orders` WHERE `placed_at` >= NOW ( ) - INTERVAL ? \
                  SQL_TSI_HOUR AND `total` > ? ORDER BY `placed_at`",
            hint: Some(Dialect::Mysql),
            kind: StatementKind::Select,
            tables: &["orders"],
            written: &[],
            columns: &[
                ("orders.id", &[Proj]),
                ("orders.placed_at", &[Range, Ord]),
                ("orders.total", &[Range, Proj]),
            ],
            joins: &[],
        },
        Case {
            sql: "SELECT f.title FROM film f JOIN film_actor fa ON fa.film_id = f.film_id \
                  WHERE fa.actor_id = $1 ORDER BY f.title LIMIT 10",
            hint: None,
            kind: StatementKind::Select,
            tables: &["film", "film_actor"],
            written: &[],
            columns: &[
                ("film.film_id", &[Join]),
                ("film.title", &[Ord, Proj]),
                ("film_actor.actor_id", &[Eq]),
                ("film_actor.film_id", &[Join]),
            ],
            joins: &["film(film_id)=film_actor(film_id)"],
        },
        Case {
            sql: "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) \
                  VALUES (now(), $1, $2, $3) RETURNING rental_id",
            hint: None,
            kind: StatementKind::Insert,
            tables: &["rental"],
            written: &["rental"],
            columns: &[
                ("rental.customer_id", &[W]),
                ("rental.inventory_id", &[W]),
                ("rental.rental_date", &[W]),
                ("rental.rental_id", &[Proj]),
                ("rental.staff_id", &[W]),
            ],
            joins: &[],
        },
        Case {
            sql: "INSERT INTO actor (first_name, last_name) VALUES ('A', 'B'), ('C', 'D') \
                  ON CONFLICT (actor_id) DO UPDATE SET last_name = EXCLUDED.last_name",
            hint: None,
            kind: StatementKind::Insert,
            tables: &["actor"],
            written: &["actor"],
            columns: &[("actor.first_name", &[W]), ("actor.last_name", &[W])],
            joins: &[],
        },
        Case {
            sql: "UPDATE customer SET email = $1, last_update = now() WHERE customer_id = $2",
            hint: None,
            kind: StatementKind::Update,
            tables: &["customer"],
            written: &["customer"],
            columns: &[
                ("customer.customer_id", &[Eq]),
                ("customer.email", &[W]),
                ("customer.last_update", &[W]),
            ],
            joins: &[],
        },
        Case {
            sql: "DELETE FROM payment p USING rental r \
                  WHERE p.rental_id = r.rental_id AND r.return_date IS NULL",
            hint: None,
            kind: StatementKind::Delete,
            tables: &["payment", "rental"],
            written: &["payment"],
            columns: &[
                ("payment.rental_id", &[Join]),
                ("rental.rental_id", &[Join]),
                ("rental.return_date", &[Eq]),
            ],
            joins: &["payment(rental_id)=rental(rental_id)"],
        },
        Case {
            // A CTE is not a table; its plain columns lead back to the base table.
            sql: "WITH recent AS (SELECT customer_id, max(rental_date) AS last FROM rental \
                  GROUP BY customer_id) \
                  SELECT c.first_name, r.last FROM customer c \
                  JOIN recent r ON r.customer_id = c.customer_id WHERE r.last > $1",
            hint: None,
            kind: StatementKind::Select,
            tables: &["customer", "rental"],
            written: &[],
            columns: &[
                ("customer.customer_id", &[Join]),
                ("customer.first_name", &[Proj]),
                ("rental.customer_id", &[Join, Grp, Proj]),
                ("rental.rental_date", &[Proj]),
            ],
            joins: &["customer(customer_id)=rental(customer_id)"],
        },
        Case {
            sql: "SELECT title FROM film WHERE film_id IN \
                  (SELECT film_id FROM inventory WHERE store_id = $1)",
            hint: None,
            kind: StatementKind::Select,
            tables: &["film", "inventory"],
            written: &[],
            columns: &[
                ("film.film_id", &[In, Join]),
                ("film.title", &[Proj]),
                ("inventory.film_id", &[Join, Proj]),
                ("inventory.store_id", &[Eq]),
            ],
            joins: &["film(film_id)=inventory(film_id)"],
        },
        Case {
            // A correlated subquery sees the outer alias.
            sql: "SELECT c.email FROM customer c WHERE EXISTS (SELECT 1 FROM rental r \
                  WHERE r.customer_id = c.customer_id AND r.rental_date >= $1)",
            hint: None,
            kind: StatementKind::Select,
            tables: &["customer", "rental"],
            written: &[],
            columns: &[
                ("customer.customer_id", &[Join]),
                ("customer.email", &[Proj]),
                ("rental.customer_id", &[Join]),
                ("rental.rental_date", &[Range]),
            ],
            joins: &["customer(customer_id)=rental(customer_id)"],
        },
        Case {
            // Derived table with renamed columns.
            sql: "SELECT x.fid FROM (SELECT film_id AS fid, title FROM public.film) x \
                  JOIN inventory i ON i.film_id = x.fid WHERE x.title LIKE 'A%'",
            hint: None,
            kind: StatementKind::Select,
            tables: &["film", "inventory"],
            written: &[],
            columns: &[
                ("film.film_id", &[Join, Proj]),
                ("film.title", &[Like, Proj]),
                ("inventory.film_id", &[Join]),
            ],
            joins: &["film(film_id)=inventory(film_id)"],
        },
        Case {
            sql: "SELECT `c`.`first_name` FROM `customer` `c` WHERE `c`.`store_id` = ? \
                  AND `c`.`active` = 1 ORDER BY `c`.`last_name` DESC LIMIT 20",
            hint: Some(Dialect::Mysql),
            kind: StatementKind::Select,
            tables: &["customer"],
            written: &[],
            columns: &[
                ("customer.active", &[Eq]),
                ("customer.first_name", &[Proj]),
                ("customer.last_name", &[Ord]),
                ("customer.store_id", &[Eq]),
            ],
            joins: &[],
        },
        Case {
            sql: "UPDATE `rental` `r` JOIN `inventory` `i` ON `r`.`inventory_id` = `i`.`inventory_id` \
                  SET `r`.`return_date` = NOW() WHERE `i`.`store_id` = ?",
            hint: Some(Dialect::Mysql),
            kind: StatementKind::Update,
            tables: &["inventory", "rental"],
            written: &["rental"],
            columns: &[
                ("inventory.inventory_id", &[Join]),
                ("inventory.store_id", &[Eq]),
                ("rental.inventory_id", &[Join]),
                ("rental.return_date", &[W]),
            ],
            joins: &["inventory(inventory_id)=rental(inventory_id)"],
        },
        Case {
            sql: "SELECT c.customer_id, count(*), sum(p.amount) FROM customer c \
                  JOIN payment p ON p.customer_id = c.customer_id GROUP BY 1 \
                  HAVING count(*) > 5 ORDER BY 3 DESC",
            hint: None,
            kind: StatementKind::Select,
            tables: &["customer", "payment"],
            written: &[],
            columns: &[
                ("customer.customer_id", &[Join, Grp, Proj]),
                ("payment.amount", &[Proj]),
                ("payment.customer_id", &[Join]),
            ],
            joins: &["customer(customer_id)=payment(customer_id)"],
        },
        Case {
            sql: "SELECT id FROM orders WHERE id = ANY($1) AND created_at BETWEEN $2 AND $3 \
                  AND status <> 'x' AND kind NOT IN (1, 2) AND total >= 10 AND note NOT LIKE 'a%'",
            hint: None,
            kind: StatementKind::Select,
            tables: &["orders"],
            written: &[],
            columns: &[
                ("orders.created_at", &[Range]),
                ("orders.id", &[In, Proj]),
                ("orders.kind", &[]),
                ("orders.note", &[]),
                ("orders.status", &[]),
                ("orders.total", &[Range]),
            ],
            joins: &[],
        },
        Case {
            // Composite join; unqualified columns with two tables in scope are ambiguous.
            sql: "SELECT a FROM t1, t2 WHERE t1.x = t2.y AND t2.w = t1.z AND q = 1",
            hint: None,
            kind: StatementKind::Select,
            tables: &["t1", "t2"],
            written: &[],
            columns: &[
                ("?.a", &[Proj]),
                ("?.q", &[Eq]),
                ("t1.x", &[Join]),
                ("t1.z", &[Join]),
                ("t2.w", &[Join]),
                ("t2.y", &[Join]),
            ],
            joins: &["t1(x,z)=t2(y,w)"],
        },
        Case {
            sql: "SELECT e.name, m.name FROM employee e LEFT JOIN employee m ON e.manager_id = m.id",
            hint: None,
            kind: StatementKind::Select,
            tables: &["employee"],
            written: &[],
            columns: &[
                ("employee.id", &[Join]),
                ("employee.manager_id", &[Join]),
                ("employee.name", &[Proj]),
            ],
            joins: &["employee(id)=employee(manager_id)"],
        },
        Case {
            sql: "WITH r AS (SELECT customer_id FROM rental) \
                  SELECT c.email FROM r JOIN customer c USING (customer_id)",
            hint: None,
            kind: StatementKind::Select,
            tables: &["customer", "rental"],
            written: &[],
            columns: &[
                ("customer.customer_id", &[Join]),
                ("customer.email", &[Proj]),
                ("rental.customer_id", &[Join, Proj]),
            ],
            joins: &["customer(customer_id)=rental(customer_id)"],
        },
        Case {
            sql: "SELECT id, attributes->>'color' FROM products \
                  WHERE attributes->'dims'->>'w' = $1 AND attributes #>> '{tags,0}' LIKE 'a%'",
            hint: None,
            kind: StatementKind::Select,
            tables: &["products"],
            written: &[],
            columns: &[("products.attributes", &[Json]), ("products.id", &[Proj])],
            joins: &[],
        },
        Case {
            sql: "SELECT id FROM products WHERE JSON_EXTRACT(attributes, '$.color') = 'red' \
                  AND attributes->>'$.size' IN ('S', 'M')",
            hint: Some(Dialect::Mysql),
            kind: StatementKind::Select,
            tables: &["products"],
            written: &[],
            columns: &[("products.attributes", &[Json]), ("products.id", &[Proj])],
            joins: &[],
        },
        Case {
            sql: "SELECT id FROM t WHERE active AND NOT deleted AND parent_id IS NULL",
            hint: None,
            kind: StatementKind::Select,
            tables: &["t"],
            written: &[],
            columns: &[
                ("t.active", &[Eq]),
                ("t.deleted", &[Eq]),
                ("t.id", &[Proj]),
                ("t.parent_id", &[Eq]),
            ],
            joins: &[],
        },
        Case {
            sql: "SELECT o.id FROM orders o WHERE o.customer_id = 42 \
                  UNION ALL SELECT id FROM archived_orders WHERE customer_id = 42",
            hint: None,
            kind: StatementKind::Select,
            tables: &["archived_orders", "orders"],
            written: &[],
            columns: &[
                ("archived_orders.customer_id", &[Eq]),
                ("archived_orders.id", &[Proj]),
                ("orders.customer_id", &[Eq]),
                ("orders.id", &[Proj]),
            ],
            joins: &[],
        },
        Case {
            sql: "INSERT INTO film_archive (film_id, title) SELECT film_id, title FROM film \
                  WHERE last_update < $1",
            hint: None,
            kind: StatementKind::Insert,
            tables: &["film", "film_archive"],
            written: &["film_archive"],
            columns: &[
                ("film.film_id", &[Proj]),
                ("film.last_update", &[Range]),
                ("film.title", &[Proj]),
                ("film_archive.film_id", &[W]),
                ("film_archive.title", &[W]),
            ],
            joins: &[],
        },
        Case {
            sql: "INSERT INTO counters (name, hits) VALUES (?, 1) \
                  ON DUPLICATE KEY UPDATE hits = hits + 1",
            hint: Some(Dialect::Mysql),
            kind: StatementKind::Insert,
            tables: &["counters"],
            written: &["counters"],
            columns: &[("counters.hits", &[W]), ("counters.name", &[W])],
            joins: &[],
        },
        Case {
            sql: "SELECT name FROM customers WHERE email ILIKE $1 || '%' AND city LIKE '%ville'",
            hint: None,
            kind: StatementKind::Select,
            tables: &["customers"],
            written: &[],
            columns: &[
                ("customers.city", &[]),
                ("customers.email", &[Like]),
                ("customers.name", &[Proj]),
            ],
            joins: &[],
        },
        Case {
            sql: "WITH RECURSIVE tree AS (SELECT id, parent_id FROM category WHERE id = $1 \
                  UNION ALL SELECT c.id, c.parent_id FROM category c JOIN tree t ON c.parent_id = t.id) \
                  SELECT id FROM tree",
            hint: None,
            kind: StatementKind::Select,
            tables: &["category"],
            written: &[],
            columns: &[
                ("category.id", &[Eq, Join, Proj]),
                ("category.parent_id", &[Join, Proj]),
            ],
            joins: &["category(id)=category(parent_id)"],
        },
        Case {
            // A table function's alias columns are known; the rest goes to the only table.
            sql: "SELECT x FROM t JOIN unnest($1::int[]) AS u(id) ON u.id = t.id WHERE y = 1",
            hint: None,
            kind: StatementKind::Select,
            tables: &["t"],
            written: &[],
            columns: &[("t.id", &[]), ("t.x", &[Proj]), ("t.y", &[Eq])],
            joins: &[],
        },
        Case {
            sql: "BEGIN",
            hint: None,
            kind: StatementKind::Other,
            tables: &[],
            written: &[],
            columns: &[],
            joins: &[],
        },
    ];

    #[test]
    fn catalog_reads_are_marked_and_give_no_usage_or_items() {
        use crate::analysis::rules::{ItemKind, statement_items};
        let catalog = analyze_statement(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_namespace n \
             ON n.oid = c.relnamespace WHERE c.oid = $1",
            Some(Dialect::Postgres),
        );
        let schema_info = analyze_statement(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            Some(Dialect::Mysql),
        );
        let app = analyze_statement(
            "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.id = $1",
            Some(Dialect::Postgres),
        );
        assert!(catalog.system && schema_info.system && !app.system);
        assert!(
            !catalog.joins.is_empty(),
            "the structure itself is still read"
        );
        assert!(statement_items(&catalog, ItemKind::FilterColumn).is_empty());
        assert!(statement_items(&catalog, ItemKind::Table).is_empty());
        assert!(!statement_items(&app, ItemKind::FilterColumn).is_empty());
        let usage = column_usage([(&catalog, 10), (&schema_info, 5), (&app, 1)]);
        assert!(!usage.is_empty());
        assert!(
            usage
                .iter()
                .all(|u| u.table == "orders" || u.table == "customers"),
            "{usage:?}"
        );
    }

    #[test]
    fn odbc_interval_units_lose_their_prefix() {
        assert_eq!(
            without_odbc_interval_units("x - INTERVAL ? SQL_TSI_DAY + INTERVAL 1 sql_tsi_minute")
                .as_deref(),
            Some("x - INTERVAL ? DAY + INTERVAL 1 minute")
        );
        assert_eq!(without_odbc_interval_units("SELECT my_sql_tsi_x"), None);
        assert_eq!(without_odbc_interval_units("SELECT 1"), None);
    }

    #[test]
    fn roles_tables_and_joins_of_real_queries() {
        for case in CASES {
            let shape = analyze_statement(case.sql, case.hint);
            assert!(!shape.is_opaque(), "{}: {:?}", case.sql, shape.warnings);
            assert_eq!(shape.kind, case.kind, "{}", case.sql);
            assert_eq!(shape.tables, case.tables, "{}", case.sql);
            assert_eq!(shape.written_tables, case.written, "{}", case.sql);
            let want: BTreeMap<String, Vec<ColumnRole>> = case
                .columns
                .iter()
                .map(|(c, r)| ((*c).to_owned(), r.to_vec()))
                .collect();
            assert_eq!(roles_map(&shape), want, "{}", case.sql);
            assert_eq!(joins(&shape), case.joins, "{}", case.sql);
            assert!(
                shape.warnings.is_empty(),
                "{}: {:?}",
                case.sql,
                shape.warnings
            );
        }
    }

    #[test]
    fn json_paths_in_both_dialects() {
        let pg = analyze_statement(
            "SELECT id, attributes->>'color' FROM products \
             WHERE attributes->'dims'->>'w' = $1 AND attributes #>> '{tags,0}' LIKE 'a%' \
             ORDER BY jsonb_extract_path_text(attributes, 'rank')",
            None,
        );
        let got: Vec<(String, bool, Vec<ColumnRole>)> = pg
            .json_paths
            .iter()
            .map(|j| (j.path_string(), j.as_text, j.roles.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("$.color".to_owned(), true, vec![Proj]),
                ("$.dims.w".to_owned(), true, vec![Eq]),
                ("$.rank".to_owned(), true, vec![Ord]),
                ("$.tags[0]".to_owned(), true, vec![Like]),
            ]
        );
        assert!(
            pg.json_paths
                .iter()
                .all(|j| j.table.as_deref() == Some("products"))
        );

        let my = analyze_statement(
            "SELECT doc->'$.a' FROM t WHERE JSON_UNQUOTE(JSON_EXTRACT(doc, '$.a[0].b')) = 'x' \
             AND JSON_EXTRACT(doc, '$.\"odd key\"') > 3 ORDER BY doc->>'$.rank' DESC",
            Some(Dialect::Mysql),
        );
        assert_eq!(my.parsed_as, Some(Dialect::Mysql));
        let got: Vec<(String, bool, Vec<ColumnRole>)> = my
            .json_paths
            .iter()
            .map(|j| (j.path_string(), j.as_text, j.roles.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("$.a".to_owned(), false, vec![Proj]),
                ("$.a[0].b".to_owned(), true, vec![Eq]),
                ("$.\"odd key\"".to_owned(), false, vec![Range]),
                ("$.rank".to_owned(), true, vec![Ord]),
            ]
        );
    }

    #[test]
    fn json_path_parsing() {
        use JsonStep::{Index, Key, Wildcard};
        let cases: &[(&str, Vec<JsonStep>)] = &[
            ("$", vec![]),
            ("$.a.b", vec![Key("a".into()), Key("b".into())]),
            ("$.a[3].b", vec![Key("a".into()), Index(3), Key("b".into())]),
            ("$[*].x", vec![Wildcard, Key("x".into())]),
            ("$.\"k.y\"", vec![Key("k.y".into())]),
            ("$**.z", vec![Wildcard, Key("z".into())]),
        ];
        for (path, want) in cases {
            assert_eq!(&parse_mysql_path(path), want, "{path}");
        }
        assert_eq!(
            parse_pg_text_path("{a, 2,\"b c\"}"),
            vec![Key("a".into()), Index(2), Key("b c".into())]
        );
        assert_eq!(
            json_path_string(&[Key("a".into()), Index(0), Key("b c".into())]),
            "$.a[0].\"b c\""
        );
    }

    #[test]
    fn order_by_limit_and_aggregates() {
        let s = analyze_statement(
            "SELECT c.customer_id, count(DISTINCT r.inventory_id), avg(p.amount) FROM customer c \
             JOIN rental r ON r.customer_id = c.customer_id \
             JOIN payment p ON p.rental_id = r.rental_id \
             GROUP BY c.customer_id ORDER BY c.last_name DESC NULLS LAST, c.first_name \
             LIMIT $1 OFFSET $2",
            None,
        );
        let keys: Vec<(String, SortOrder, Option<bool>)> = s
            .order_by
            .iter()
            .map(|k| (k.column.clone(), k.order, k.nulls_first))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("last_name".to_owned(), SortOrder::Desc, Some(false)),
                ("first_name".to_owned(), SortOrder::Asc, None),
            ]
        );
        assert_eq!(
            s.limit,
            Some(Limit {
                rows: None,
                offset: true
            })
        );
        assert_eq!(
            s.aggregates,
            vec![
                AggregateUse {
                    function: AggregateFunction::Count,
                    table: Some("rental".into()),
                    column: Some("inventory_id".into()),
                    distinct: true,
                },
                AggregateUse {
                    function: AggregateFunction::Avg,
                    table: Some("payment".into()),
                    column: Some("amount".into()),
                    distinct: false,
                },
            ]
        );
        // Window functions are not aggregates; FETCH FIRST is a limit.
        let w = analyze_statement(
            "SELECT sum(amount) OVER (PARTITION BY customer_id) FROM payment \
             ORDER BY payment_date FETCH FIRST 5 ROWS ONLY",
            None,
        );
        assert!(w.aggregates.is_empty());
        assert_eq!(
            w.limit,
            Some(Limit {
                rows: Some(5),
                offset: false
            })
        );
        assert_eq!(w.order_by.len(), 1);
        // Only the top-level query's ORDER BY / LIMIT are keys of the shape.
        let nested = analyze_statement(
            "SELECT * FROM (SELECT id FROM t ORDER BY id LIMIT 3) x",
            None,
        );
        assert!(nested.order_by.is_empty());
        assert_eq!(nested.limit, None);
        assert!(nested.has_role("t", "id", Ord));
        // MySQL `LIMIT offset, count`.
        let my = analyze_statement("SELECT a FROM t LIMIT 40, 20", Some(Dialect::Mysql));
        assert_eq!(
            my.limit,
            Some(Limit {
                rows: Some(20),
                offset: true
            })
        );
        // Output aliases in ORDER BY.
        let alias = analyze_statement("SELECT f.title AS t FROM film f ORDER BY t", None);
        assert!(alias.has_role("film", "title", Ord));
    }

    #[test]
    fn like_patterns() {
        let s = analyze_statement(
            "SELECT 1 FROM t WHERE a LIKE 'ab%' AND b LIKE $1 AND c ILIKE '%x%' \
             AND d LIKE '%' || $2 || '%' AND e LIKE CONCAT($3, '%')",
            None,
        );
        let kinds: Vec<(String, LikeKind, bool)> = s
            .likes
            .iter()
            .map(|l| (l.column.clone(), l.kind, l.case_insensitive))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a".to_owned(), LikeKind::Prefix, false),
                ("b".to_owned(), LikeKind::Parameter, false),
                ("c".to_owned(), LikeKind::Infix, true),
                ("d".to_owned(), LikeKind::Infix, false),
                ("e".to_owned(), LikeKind::Parameter, false),
            ]
        );
        for (col, prefix) in [
            ("a", true),
            ("b", true),
            ("c", false),
            ("d", false),
            ("e", true),
        ] {
            assert_eq!(s.has_role("t", col, Like), prefix, "{col}");
        }
    }

    fn pagila_fragment() -> Schema {
        let table = |name: &str, cols: &[&str], pk: &[&str]| Table {
            name: name.into(),
            columns: cols
                .iter()
                .map(|c| Column::new(*c, DataType::Integer))
                .collect(),
            primary_key: pk.iter().map(|c| (*c).to_owned()).collect(),
            ..Table::default()
        };
        let mut film = table("film", &["film_id", "title", "release_year"], &["film_id"]);
        film.columns[1].data_type = DataType::Text;
        film.indexes.push(Index {
            name: "film_title_key".into(),
            columns: vec![IndexColumn::column("title")],
            unique: true,
            predicate: None,
            include: Vec::new(),
            method: crate::model::IndexMethod::Btree,
        });
        Schema {
            tables: vec![
                film,
                table(
                    "inventory",
                    &["inventory_id", "film_id", "store_id"],
                    &["inventory_id"],
                ),
                table("store", &["store_id", "manager_staff_id"], &["store_id"]),
            ],
        }
    }

    #[test]
    fn schema_resolves_unqualified_columns() {
        let sql = "SELECT title, store_id FROM film f JOIN inventory i ON i.film_id = f.film_id \
                   WHERE release_year = $1";
        let bare = analyze_statement(sql, None);
        assert_eq!(bare.roles("film", "title"), &[] as &[ColumnRole]);
        assert!(
            bare.columns
                .iter()
                .any(|c| c.table.is_none() && c.column == "title")
        );
        let schema = pagila_fragment();
        let known = analyze_statement_with_schema(sql, None, Some(&schema));
        assert_eq!(
            roles_map(&known),
            BTreeMap::from([
                ("film.film_id".to_owned(), vec![Join]),
                ("film.release_year".to_owned(), vec![Eq]),
                ("film.title".to_owned(), vec![Proj]),
                ("inventory.film_id".to_owned(), vec![Join]),
                ("inventory.store_id".to_owned(), vec![Proj]),
            ])
        );
        // NATURAL JOIN and `*` need the schema.
        let natural = analyze_statement_with_schema(
            "SELECT * FROM inventory NATURAL JOIN store",
            None,
            Some(&schema),
        );
        assert_eq!(joins(&natural), vec!["inventory(store_id)=store(store_id)"]);
        assert!(natural.has_role("store", "manager_staff_id", Proj));
        assert!(natural.wildcard_tables.is_empty());
        let without = analyze_statement("SELECT * FROM inventory NATURAL JOIN store", None);
        assert!(without.joins.is_empty());
        assert_eq!(without.wildcard_tables, vec!["inventory", "store"]);
        assert!(!without.warnings.is_empty());
        // INSERT without a column list writes every column.
        let ins = analyze_statement_with_schema(
            "INSERT INTO store VALUES (DEFAULT, 3)",
            None,
            Some(&schema),
        );
        assert!(
            ins.has_role("store", "store_id", W) && ins.has_role("store", "manager_staff_id", W)
        );
    }

    #[test]
    fn question_mark_parameters_prefer_postgres_reading() {
        // `&&` is array overlap in PostgreSQL, logical AND in MySQL.
        let s = analyze_statement("SELECT a FROM t WHERE tags && ? AND b = ?", None);
        assert_eq!(s.parsed_as, Some(Dialect::Postgres));
        assert!(s.roles("t", "tags").is_empty());
        assert!(s.has_role("t", "b", Eq));
        assert_eq!(
            number_question_marks("a = ? AND b ?| c AND s = '?' -- ?\n AND d = ?").as_deref(),
            Some("a = $1 AND b ?| c AND s = '?' -- ?\n AND d = $2")
        );
        assert_eq!(number_question_marks("SELECT 1"), None);
        // MySQL parses `$1` as an identifier: still a parameter, not a column.
        let my = analyze_statement("SELECT a FROM t WHERE b = $1", Some(Dialect::Mysql));
        assert_eq!(my.parsed_as, Some(Dialect::Mysql));
        assert!(my.has_role("t", "b", Eq));
        assert_eq!(my.columns.len(), 2);
    }

    #[test]
    fn unparseable_statements_are_opaque_with_a_warning() {
        for (sql, kind) in [
            ("SELECT FROM WHERE (((", StatementKind::Select),
            ("/* c */ UPDATE SET = = ", StatementKind::Update),
            ("frobnicate the widgets", StatementKind::Other),
        ] {
            let s = analyze_statement(sql, None);
            assert!(s.is_opaque(), "{sql}");
            assert_eq!(s.kind, kind, "{sql}");
            assert_eq!(s.warnings.len(), 1, "{sql}");
            assert!(s.warnings[0].contains("could not parse"), "{sql}");
        }
        let long = format!("SELECT 1 FROM t WHERE a = '{}'", "x".repeat(MAX_SQL_LEN));
        let s = analyze_statement(&long, None);
        assert!(s.is_opaque() && s.warnings[0].contains("longer than"));
    }

    #[test]
    fn long_condition_chains_do_not_exhaust_the_stack() {
        let mut sql = String::from("SELECT id FROM t WHERE a = 0");
        for i in 1..5000 {
            let _ = write!(sql, " OR a = {i} + b * {i}");
        }
        let handle = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || analyze_statement(&sql, None))
            .unwrap();
        let s = handle.join().unwrap();
        assert!(s.has_role("t", "a", Eq));
        assert!(s.columns.iter().any(|c| c.column == "b"));
    }

    #[test]
    fn column_usage_weights_by_calls() {
        let a = analyze_statement("SELECT name FROM users WHERE id = $1", None);
        let b = analyze_statement("UPDATE users SET name = $1 WHERE id = $2", None);
        let usage = column_usage([(&a, 10), (&b, 3)]);
        let get = |column: &str, role: ColumnRole| {
            usage
                .iter()
                .find(|u| u.table == "users" && u.column == column && u.role == role)
                .map(|u| u.calls)
        };
        assert_eq!(get("id", Eq), Some(13));
        assert_eq!(get("name", Proj), Some(10));
        assert_eq!(get("name", W), Some(3));
        assert_eq!(usage[0].calls, 13);
    }

    /// The sample datasets: `$PERSONA_DATASETS`, else `<repo>/../shared/datasets`.
    fn datasets_dir() -> Option<std::path::PathBuf> {
        let dir = std::env::var_os("PERSONA_DATASETS").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"),
            std::path::PathBuf::from,
        );
        dir.is_dir().then_some(dir)
    }

    /// The SELECT bodies of the `CREATE VIEW … AS` statements of a dump.
    fn view_queries(dump: &str) -> Vec<(String, String)> {
        dump.split(";\n")
            .filter_map(|stmt| {
                let body = &stmt[stmt.find("CREATE VIEW ")?..];
                let name = body["CREATE VIEW ".len()..]
                    .split_whitespace()
                    .next()?
                    .to_owned();
                let at = body.find("AS\n").or_else(|| body.find("\nAS "))?;
                Some((name, body[at + 3..].to_owned()))
            })
            .collect()
    }

    #[test]
    fn real_views_of_pagila_and_sakila_resolve_fully() {
        let Some(dir) = datasets_dir() else {
            eprintln!("skipped: sample datasets not found (set PERSONA_DATASETS)");
            return;
        };
        for (file, dialect, views) in [
            ("pagila/pagila.sql", Dialect::Postgres, 7),
            ("sakila-mysql/sakila-schema.sql", Dialect::Mysql, 6),
        ] {
            let dump = std::fs::read_to_string(dir.join(file)).unwrap();
            let queries = view_queries(&dump);
            assert_eq!(queries.len(), views, "{file}");
            for (name, sql) in queries {
                let s = analyze_statement(&sql, Some(dialect));
                assert_eq!(s.parsed_as, Some(dialect), "{name}: {:?}", s.warnings);
                assert!(s.warnings.is_empty(), "{name}: {:?}", s.warnings);
                assert!(
                    s.columns.iter().all(|c| c.table.is_some()),
                    "{name}: {:?}",
                    s.columns
                );
                if name.ends_with("sales_by_store") {
                    assert_eq!(
                        joins(&s),
                        vec![
                            "address(address_id)=store(address_id)",
                            "address(city_id)=city(city_id)",
                            "city(country_id)=country(country_id)",
                            "inventory(inventory_id)=rental(inventory_id)",
                            "inventory(store_id)=store(store_id)",
                            "payment(rental_id)=rental(rental_id)",
                            "staff(staff_id)=store(manager_staff_id)",
                        ],
                        "{name}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_fails_on_token_soup(tokens in proptest::collection::vec(
            proptest::sample::select(vec![
                "SELECT", "FROM", "WHERE", "JOIN", "ON", "(", ")", ",", "=", "a", "b.c", "t",
                "'x'", "$1", "?", "->>", "#>>", "IN", "AND", "OR", "WITH", "AS", "UNION",
                "ORDER BY", "LIMIT", "1", "*", "`q`", "\"Q\"", "::int", "LIKE", "NOT", ";",
                "INSERT INTO", "VALUES", "UPDATE", "SET", "DELETE", "USING", "EXISTS",
            ]),
            0..40,
        )) {
            let sql = tokens.join(" ");
            let s = analyze_statement(&sql, None);
            proptest::prop_assert!(
                !s.warnings.iter().any(|w| w.contains("analyzer failed")),
                "{}", sql
            );
        }
    }
}
