//! Canonical form of SQL expressions (check constraints, index expressions, partial-index
//! predicates), so that an expression as written in a template and the same expression as a
//! database reports it back compare equal.
//!
//! Databases rewrite what they store: PostgreSQL adds casts and parentheses
//! (`((price >= (0)::numeric))`) and turns `IN` lists into `= ANY (ARRAY[…])`; MariaDB quotes
//! identifiers with backticks and spells `lower` as `lcase`; SQLite keeps the text as sent. The
//! canonical form parses the text with `sqlparser`, removes what carries no logical meaning for
//! a comparison (casts, redundant parentheses, quote style), rewrites equivalent spellings to
//! one (`= ANY (ARRAY[…])` and single-element lists, `BETWEEN`, `NOT (a = b)`, `~~`, function
//! synonyms) and prints the tree with lowercase keywords and the fewest parentheses that keep
//! its meaning. Identifiers keep their case; they are printed bare when they are plain
//! lowercase words and double-quoted otherwise.
//!
//! The canonical form is for comparison and display: it drops casts, so it is not meant to be
//! executed. To put a template's expression into a dialect's DDL use [`render_expression`].
//!
//! How the three functions fit together for a dialect `d`:
//! - DDL sends `render_expression(e, d)` (PostgreSQL and SQLite may send `e` as written);
//! - normalization expects `canonical_expression_in(&render_expression(e, d), d)`
//!   ([`stored_expression`]);
//! - introspection reports `canonical_expression_in(text_from_database, d)`.

use sqlparser::ast::{
    BinaryOperator, CaseWhen, DataType as SqlType, DuplicateTreatment, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, Ident, InTarget, ObjectName, ObjectNamePart,
    TrimWhereField, UnaryOperator, Value, ValueWithSpan,
};
use sqlparser::dialect::{
    Dialect as SqlDialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect,
};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::Dialect;

/// The canonical form of an expression written in a template (PostgreSQL / ANSI syntax; MySQL
/// syntax is accepted too). See the module documentation.
pub fn canonical_expression(sql: &str) -> String {
    canonical_with(
        sql,
        &[&PostgreSqlDialect {}, &MySqlDialect {}, &GenericDialect {}],
        None,
    )
}

/// The canonical form of an expression as `dialect` reports it (or as it was written for
/// `dialect`): parsed with that dialect's grammar first, and with the rewrites the dialect
/// applies when it stores an expression folded in (MySQL/MariaDB: `true`/`false` become
/// `1`/`0`, `length` is stored as `octet_length`).
pub fn canonical_expression_in(sql: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => canonical_expression(sql),
        Dialect::Mysql => canonical_with(
            sql,
            &[&MySqlDialect {}, &PostgreSqlDialect {}, &GenericDialect {}],
            Some(Dialect::Mysql),
        ),
        Dialect::Sqlite => canonical_with(
            sql,
            &[&SQLiteDialect {}, &PostgreSqlDialect {}, &GenericDialect {}],
            None,
        ),
    }
}

/// What a template expression looks like after being created in `dialect` and introspected
/// back, in canonical form: `canonical_expression_in(&render_expression(sql, d), d)`.
pub fn stored_expression(sql: &str, dialect: Dialect) -> String {
    canonical_expression_in(&render_expression(sql, dialect), dialect)
}

/// A template expression re-printed for `dialect`'s DDL: every identifier quoted for the
/// dialect, string literals escaped for it, and `a || b` written as `concat(a, b)` for MySQL
/// (where `||` means OR). Casts and parentheses are kept. Text that does not parse is returned
/// as written.
pub fn render_expression(sql: &str, dialect: Dialect) -> String {
    let Some(expr) = parse_any(
        sql,
        &[&PostgreSqlDialect {}, &MySqlDialect {}, &GenericDialect {}],
    ) else {
        return sql.trim().to_owned();
    };
    let mut out = String::new();
    Printer {
        style: Style::Render(dialect),
    }
    .expr(&expr, &mut out);
    out
}

fn canonical_with(sql: &str, dialects: &[&dyn SqlDialect], stored_by: Option<Dialect>) -> String {
    let sql = strip_check_keyword(sql);
    match parse_any(sql, dialects) {
        Some(expr) => {
            let expr = simplify(expr, stored_by);
            let mut out = String::new();
            Printer {
                style: Style::Canonical,
            }
            .expr(&expr, &mut out);
            out
        }
        None => fallback(sql),
    }
}

/// `sql` without a leading `CHECK` keyword (as in PostgreSQL's `pg_get_constraintdef`).
fn strip_check_keyword(sql: &str) -> &str {
    let t = sql.trim_start();
    match t.get(..5) {
        Some(word) if word.eq_ignore_ascii_case("check") => {
            let rest = t[5..].trim_start();
            if rest.starts_with('(') { rest } else { sql }
        }
        _ => sql,
    }
}

/// Parse `sql` as one complete expression with the first dialect that accepts it.
fn parse_any(sql: &str, dialects: &[&dyn SqlDialect]) -> Option<Expr> {
    dialects.iter().find_map(|d| {
        let mut parser = Parser::new(*d).try_with_sql(sql).ok()?;
        let expr = parser.parse_expr().ok()?;
        (parser.peek_token().token == Token::EOF).then_some(expr)
    })
}

/// Whitespace collapsed and enclosing parentheses removed, for text no dialect parses.
fn fallback(sql: &str) -> String {
    let mut s = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    while s.starts_with('(') && s.ends_with(')') && encloses_all(&s) {
        s = s[1..s.len() - 1].trim().to_owned();
    }
    s
}

/// Whether the parenthesis opening `s` is closed by its last character (ignoring parentheses
/// inside quotes).
fn encloses_all(s: &str) -> bool {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let last = s.char_indices().last().map_or(0, |(i, _)| i);
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && i != last {
                        return false;
                    }
                }
                _ => {}
            },
        }
    }
    depth == 0
}

// ---------------------------------------------------------------------------------------------
// Simplification: rewrite the tree into its canonical shape.

fn simplify(expr: Expr, stored_by: Option<Dialect>) -> Expr {
    let s = |e: Expr| simplify(e, stored_by);
    let sb = |e: Box<Expr>| Box::new(simplify(*e, stored_by));
    match expr {
        Expr::Nested(inner)
        | Expr::Prefixed { value: inner, .. }
        | Expr::Collate { expr: inner, .. } => s(*inner),
        Expr::Cast {
            expr, data_type, ..
        } => uncast(s(*expr), &data_type),
        Expr::TypedString(ts) => uncast(Expr::Value(ts.value), &ts.data_type),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match s(*expr) {
            Expr::Value(ValueWithSpan {
                value: Value::Number(n, long),
                span,
            }) if !n.starts_with('-') => Expr::Value(ValueWithSpan {
                value: Value::Number(format!("-{n}"), long),
                span,
            }),
            other => Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(other),
            },
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => s(*expr),
        Expr::UnaryOp {
            op: UnaryOperator::Not | UnaryOperator::BangNot,
            expr,
        } => negate(s(*expr)),
        Expr::UnaryOp { op, expr } => Expr::UnaryOp { op, expr: sb(expr) },
        Expr::IsNull(e) => Expr::IsNull(sb(e)),
        Expr::IsNotNull(e) => Expr::IsNotNull(sb(e)),
        Expr::IsTrue(e) => Expr::IsTrue(sb(e)),
        Expr::IsNotTrue(e) => Expr::IsNotTrue(sb(e)),
        Expr::IsFalse(e) => Expr::IsFalse(sb(e)),
        Expr::IsNotFalse(e) => Expr::IsNotFalse(sb(e)),
        Expr::IsDistinctFrom(a, b) => Expr::IsDistinctFrom(sb(a), sb(b)),
        Expr::IsNotDistinctFrom(a, b) => Expr::IsNotDistinctFrom(sb(a), sb(b)),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let e = s(*expr);
            let (low, high) = (s(*low), s(*high));
            if negated {
                binary(
                    binary(e.clone(), BinaryOperator::Lt, low),
                    BinaryOperator::Or,
                    binary(e, BinaryOperator::Gt, high),
                )
            } else {
                binary(
                    binary(e.clone(), BinaryOperator::GtEq, low),
                    BinaryOperator::And,
                    binary(e, BinaryOperator::LtEq, high),
                )
            }
        }
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            global,
        } => in_list(s(*expr), list.into_iter().map(s).collect(), negated, global),
        Expr::In {
            expr,
            target,
            negated,
            global,
        } => Expr::In {
            expr: sb(expr),
            target,
            negated,
            global,
        },
        Expr::AnyOp {
            left,
            compare_op,
            right,
            is_some,
        } => {
            let (left, right) = (s(*left), s(*right));
            match (compare_op, right) {
                (BinaryOperator::Eq, Expr::Array(arr)) => in_list(left, arr.elem, false, false),
                (compare_op, right) => Expr::AnyOp {
                    left: Box::new(left),
                    compare_op,
                    right: Box::new(right),
                    is_some,
                },
            }
        }
        Expr::AllOp {
            left,
            compare_op,
            right,
        } => {
            let (left, right) = (s(*left), s(*right));
            match (compare_op, right) {
                (BinaryOperator::NotEq, Expr::Array(arr)) => in_list(left, arr.elem, true, false),
                (compare_op, right) => Expr::AllOp {
                    left: Box::new(left),
                    compare_op,
                    right: Box::new(right),
                },
            }
        }
        Expr::BinaryOp { left, op, right } => {
            let (left, right) = (sb(left), sb(right));
            let like = |negated, ilike| {
                let (expr, pattern) = (left.clone(), right.clone());
                if ilike {
                    Expr::ILike {
                        negated,
                        any: false,
                        expr,
                        pattern,
                        escape_char: None,
                    }
                } else {
                    Expr::Like {
                        negated,
                        any: false,
                        expr,
                        pattern,
                        escape_char: None,
                    }
                }
            };
            match op {
                BinaryOperator::PGLikeMatch => like(false, false),
                BinaryOperator::PGNotLikeMatch => like(true, false),
                BinaryOperator::PGILikeMatch => like(false, true),
                BinaryOperator::PGNotILikeMatch => like(true, true),
                op => Expr::BinaryOp { left, op, right },
            }
        }
        Expr::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::Like {
            negated,
            any,
            expr: sb(expr),
            pattern: sb(pattern),
            escape_char: escape_char.map(sb),
        },
        Expr::ILike {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::ILike {
            negated,
            any,
            expr: sb(expr),
            pattern: sb(pattern),
            escape_char: escape_char.map(sb),
        },
        Expr::SimilarTo {
            negated,
            expr,
            pattern,
            escape_char,
        } => Expr::SimilarTo {
            negated,
            expr: sb(expr),
            pattern: sb(pattern),
            escape_char: escape_char.map(sb),
        },
        Expr::RLike {
            negated,
            expr,
            pattern,
            ..
        } => Expr::RLike {
            negated,
            expr: sb(expr),
            pattern: sb(pattern),
            regexp: true,
        },
        Expr::Function(f) => simplify_function(f, stored_by),
        Expr::Trim {
            trim_where,
            trim_what,
            expr,
            trim_characters,
        } => Expr::Trim {
            trim_where: match trim_where {
                Some(TrimWhereField::Both) => None,
                other => other,
            },
            trim_what: trim_what.map(sb),
            expr: sb(expr),
            trim_characters: trim_characters.map(|v| v.into_iter().map(s).collect()),
        },
        Expr::Array(mut arr) => {
            arr.elem = arr.elem.into_iter().map(s).collect();
            arr.named = true;
            Expr::Array(arr)
        }
        Expr::Tuple(items) => Expr::Tuple(items.into_iter().map(s).collect()),
        Expr::Case {
            case_token,
            end_token,
            operand,
            conditions,
            else_result,
        } => Expr::Case {
            case_token,
            end_token,
            operand: operand.map(sb),
            conditions: conditions
                .into_iter()
                .map(|w| CaseWhen {
                    condition: s(w.condition),
                    result: s(w.result),
                })
                .collect(),
            else_result: else_result.map(sb),
        },
        Expr::Value(v) => simplify_value(v, stored_by),
        other => other,
    }
}

fn simplify_value(v: ValueWithSpan, stored_by: Option<Dialect>) -> Expr {
    let ValueWithSpan { value, span } = v;
    let value = match value {
        Value::Boolean(b) if stored_by == Some(Dialect::Mysql) => {
            Value::Number(if b { "1" } else { "0" }.to_owned(), false)
        }
        Value::Number(n, long) => Value::Number(n.strip_prefix('+').unwrap_or(&n).to_owned(), long),
        Value::DoubleQuotedString(t) if stored_by == Some(Dialect::Mysql) => {
            Value::SingleQuotedString(t)
        }
        Value::EscapedStringLiteral(t)
        | Value::NationalStringLiteral(t)
        | Value::UnicodeStringLiteral(t) => Value::SingleQuotedString(t),
        Value::DollarQuotedString(d) => Value::SingleQuotedString(d.value),
        other => other,
    };
    Expr::Value(ValueWithSpan { value, span })
}

fn simplify_function(mut f: Function, stored_by: Option<Dialect>) -> Expr {
    if let FunctionArguments::List(list) = &mut f.args {
        for arg in &mut list.args {
            if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg {
                let taken = std::mem::replace(e, Expr::Value(Value::Null.into()));
                *e = simplify(taken, stored_by);
            }
        }
    }
    let no_args = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(l) => l.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    let Some(name) = plain_function_name(&f.name) else {
        return Expr::Function(f);
    };
    let canonical = match name.as_str() {
        "lcase" => "lower",
        "ucase" => "upper",
        "character_length" => "char_length",
        "octet_length" if stored_by == Some(Dialect::Mysql) => "length",
        "now" | "current_timestamp" | "localtimestamp" if no_args => "current_timestamp",
        "current_date" | "curdate" if no_args => "current_date",
        other => other,
    };
    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(canonical))]);
    if no_args && matches!(canonical, "current_timestamp" | "current_date") {
        f.args = FunctionArguments::None;
    }
    Expr::Function(f)
}

/// The lowercase name of a function called by an unquoted, unqualified name.
fn plain_function_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] if id.quote_style.is_none() => {
            Some(id.value.to_lowercase())
        }
        _ => None,
    }
}

/// Strip a cast: the operand, except that a string literal holding a number cast to a numeric
/// type becomes that number (`'-1'::integer` is `-1`).
fn uncast(inner: Expr, to: &SqlType) -> Expr {
    if let Expr::Value(ValueWithSpan {
        value: Value::SingleQuotedString(t),
        span,
    }) = &inner
        && is_numeric_type(to)
        && is_number(t)
    {
        return Expr::Value(ValueWithSpan {
            value: Value::Number(t.strip_prefix('+').unwrap_or(t).to_owned(), false),
            span: *span,
        });
    }
    inner
}

fn is_numeric_type(t: &SqlType) -> bool {
    let name = t.to_string().to_ascii_lowercase();
    [
        "int", "bigint", "smallint", "numeric", "decimal", "real", "float", "double", "tinyint",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn is_number(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1
}

fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

fn in_list(expr: Expr, list: Vec<Expr>, negated: bool, global: bool) -> Expr {
    if let [single] = list.as_slice() {
        let op = if negated {
            BinaryOperator::NotEq
        } else {
            BinaryOperator::Eq
        };
        return binary(expr, op, single.clone());
    }
    Expr::In {
        expr: Box::new(expr),
        target: InTarget::List(list),
        negated,
        global,
    }
}

/// `NOT e`, pushed into `e` where an equivalent positive form exists (MariaDB stores
/// `NOT (a = b)` as `a <> b`).
fn negate(expr: Expr) -> Expr {
    match expr {
        Expr::BinaryOp { left, op, right } => {
            let flipped = match op {
                BinaryOperator::Eq => Some(BinaryOperator::NotEq),
                BinaryOperator::NotEq => Some(BinaryOperator::Eq),
                BinaryOperator::Lt => Some(BinaryOperator::GtEq),
                BinaryOperator::GtEq => Some(BinaryOperator::Lt),
                BinaryOperator::Gt => Some(BinaryOperator::LtEq),
                BinaryOperator::LtEq => Some(BinaryOperator::Gt),
                _ => None,
            };
            match flipped {
                Some(op) => Expr::BinaryOp { left, op, right },
                None => not(Expr::BinaryOp { left, op, right }),
            }
        }
        Expr::IsNull(e) => Expr::IsNotNull(e),
        Expr::IsNotNull(e) => Expr::IsNull(e),
        Expr::In {
            expr,
            target,
            negated,
            global,
        } => Expr::In {
            expr,
            target,
            negated: !negated,
            global,
        },
        Expr::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::Like {
            negated: !negated,
            any,
            expr,
            pattern,
            escape_char,
        },
        Expr::ILike {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::ILike {
            negated: !negated,
            any,
            expr,
            pattern,
            escape_char,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => *expr,
        other => not(other),
    }
}

fn not(expr: Expr) -> Expr {
    Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: Box::new(expr),
    }
}

// ---------------------------------------------------------------------------------------------
// Printing.

#[derive(Clone, Copy)]
enum Style {
    /// Bare lowercase words, other identifiers double-quoted; for comparison.
    Canonical,
    /// Every identifier quoted for the dialect; for DDL.
    Render(Dialect),
}

/// Binding strength, loosest first. Comparisons, `IN`, `LIKE` and `BETWEEN` share one level and
/// never chain without parentheses, which reads the same in PostgreSQL, MySQL and SQLite.
mod prec {
    pub const OR: u8 = 1;
    pub const AND: u8 = 2;
    pub const NOT: u8 = 3;
    pub const IS: u8 = 4;
    pub const CMP: u8 = 5;
    pub const OTHER: u8 = 7;
    pub const ADD: u8 = 8;
    pub const MUL: u8 = 9;
    pub const EXP: u8 = 10;
    pub const UNARY: u8 = 11;
    pub const ATOM: u8 = 13;
}

fn binary_prec(op: &BinaryOperator) -> u8 {
    match op {
        BinaryOperator::Or | BinaryOperator::Xor => prec::OR,
        BinaryOperator::And => prec::AND,
        BinaryOperator::Eq
        | BinaryOperator::NotEq
        | BinaryOperator::Lt
        | BinaryOperator::LtEq
        | BinaryOperator::Gt
        | BinaryOperator::GtEq
        | BinaryOperator::Spaceship => prec::CMP,
        BinaryOperator::Plus | BinaryOperator::Minus => prec::ADD,
        BinaryOperator::Multiply
        | BinaryOperator::Divide
        | BinaryOperator::Modulo
        | BinaryOperator::DuckIntegerDivide
        | BinaryOperator::MyIntegerDivide => prec::MUL,
        BinaryOperator::PGExp => prec::EXP,
        _ => prec::OTHER,
    }
}

fn expr_prec(e: &Expr) -> u8 {
    match e {
        Expr::BinaryOp { op, .. } => binary_prec(op),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        } => prec::NOT,
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..) => prec::IS,
        Expr::In { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::SimilarTo { .. }
        | Expr::RLike { .. }
        | Expr::AnyOp { .. }
        | Expr::AllOp { .. } => prec::CMP,
        Expr::UnaryOp { .. } | Expr::Collate { .. } | Expr::AtTimeZone { .. } => prec::UNARY,
        Expr::Value(ValueWithSpan {
            value: Value::Number(n, _),
            ..
        }) if n.starts_with('-') => prec::UNARY,
        _ => prec::ATOM,
    }
}

/// Words printed in double quotes even when lowercase, so that canonical text stays valid SQL.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "between",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "into",
    "is",
    "join",
    "key",
    "leading",
    "left",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "primary",
    "references",
    "right",
    "select",
    "session_user",
    "some",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
];

struct Printer {
    style: Style,
}

impl Printer {
    fn ident(&self, id: &Ident, out: &mut String) {
        match self.style {
            Style::Render(d) => out.push_str(&d.quote_ident(&id.value)),
            Style::Canonical => {
                let v = &id.value;
                let plain = v.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && v.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && !RESERVED.contains(&v.as_str());
                if plain {
                    out.push_str(v);
                } else {
                    out.push_str(&Dialect::Postgres.quote_ident(v));
                }
            }
        }
    }

    fn literal(&self, text: &str, out: &mut String) {
        let d = match self.style {
            Style::Render(d) => d,
            Style::Canonical => Dialect::Postgres,
        };
        out.push_str(&d.quote_literal(text));
    }

    /// Print `e`, parenthesized when it binds looser than `min`.
    fn child(&self, e: &Expr, min: u8, out: &mut String) {
        if expr_prec(e) < min {
            out.push('(');
            self.expr(e, out);
            out.push(')');
        } else {
            self.expr(e, out);
        }
    }

    fn list(&self, items: &[Expr], out: &mut String) {
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.expr(e, out);
        }
    }

    fn expr(&self, e: &Expr, out: &mut String) {
        match e {
            Expr::Identifier(id) => self.ident(id, out),
            Expr::CompoundIdentifier(parts) => {
                for (i, id) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    self.ident(id, out);
                }
            }
            Expr::Value(v) => self.value(&v.value, out),
            Expr::Nested(inner) => {
                out.push('(');
                self.expr(inner, out);
                out.push(')');
            }
            Expr::BinaryOp { left, op, right } => self.binary_op(left, op, right, out),
            Expr::UnaryOp { op, expr } => {
                let p = expr_prec(e);
                match op {
                    UnaryOperator::Not => out.push_str("not "),
                    UnaryOperator::Minus => out.push('-'),
                    UnaryOperator::Plus => out.push('+'),
                    other => out.push_str(&other.to_string()),
                }
                self.child(expr, p, out);
            }
            Expr::IsNull(x) => self.postfix(x, " is null", out),
            Expr::IsNotNull(x) => self.postfix(x, " is not null", out),
            Expr::IsTrue(x) => self.postfix(x, " is true", out),
            Expr::IsNotTrue(x) => self.postfix(x, " is not true", out),
            Expr::IsFalse(x) => self.postfix(x, " is false", out),
            Expr::IsNotFalse(x) => self.postfix(x, " is not false", out),
            Expr::IsUnknown(x) => self.postfix(x, " is unknown", out),
            Expr::IsNotUnknown(x) => self.postfix(x, " is not unknown", out),
            Expr::IsDistinctFrom(a, b) => self.infix(a, " is distinct from ", b, prec::IS, out),
            Expr::IsNotDistinctFrom(a, b) => {
                self.infix(a, " is not distinct from ", b, prec::IS, out);
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated,
                ..
            } => {
                self.child(expr, prec::CMP + 1, out);
                out.push_str(if *negated { " not in (" } else { " in (" });
                self.list(list, out);
                out.push(')');
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                self.child(expr, prec::CMP + 1, out);
                out.push_str(if *negated {
                    " not between "
                } else {
                    " between "
                });
                self.child(low, prec::CMP + 1, out);
                out.push_str(" and ");
                self.child(high, prec::CMP + 1, out);
            }
            Expr::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            } => {
                self.like(expr, *negated, "like", pattern, escape_char.as_deref(), out);
            }
            Expr::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            } => {
                self.like(
                    expr,
                    *negated,
                    "ilike",
                    pattern,
                    escape_char.as_deref(),
                    out,
                );
            }
            Expr::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char,
            } => {
                self.like(
                    expr,
                    *negated,
                    "similar to",
                    pattern,
                    escape_char.as_deref(),
                    out,
                );
            }
            Expr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                self.like(expr, *negated, "regexp", pattern, None, out);
            }
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => {
                self.quantified(left, compare_op, "any", right, out);
            }
            Expr::AllOp {
                left,
                compare_op,
                right,
            } => {
                self.quantified(left, compare_op, "all", right, out);
            }
            Expr::Cast {
                expr, data_type, ..
            } => {
                out.push_str("cast(");
                self.expr(expr, out);
                out.push_str(" as ");
                out.push_str(&data_type.to_string().to_lowercase());
                out.push(')');
            }
            Expr::TypedString(ts) => {
                out.push_str(&ts.data_type.to_string().to_lowercase());
                out.push(' ');
                self.value(&ts.value.value, out);
            }
            Expr::Collate { expr, collation } => {
                self.child(expr, prec::ATOM, out);
                out.push_str(" collate ");
                out.push_str(&collation.to_string());
            }
            Expr::Function(f) => self.function(f, out),
            Expr::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                out.push_str("trim(");
                match trim_where {
                    Some(TrimWhereField::Leading) => out.push_str("leading "),
                    Some(TrimWhereField::Trailing) => out.push_str("trailing "),
                    Some(TrimWhereField::Both) => out.push_str("both "),
                    None if trim_what.is_some() => out.push_str("both "),
                    None => {}
                }
                if let Some(what) = trim_what {
                    self.expr(what, out);
                    out.push(' ');
                }
                if trim_where.is_some() || trim_what.is_some() {
                    out.push_str("from ");
                }
                self.expr(expr, out);
                if let Some(chars) = trim_characters {
                    out.push_str(", ");
                    self.list(chars, out);
                }
                out.push(')');
            }
            Expr::Array(arr) => {
                out.push_str("array[");
                self.list(&arr.elem, out);
                out.push(']');
            }
            Expr::Tuple(items) => {
                out.push('(');
                self.list(items, out);
                out.push(')');
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                out.push_str("case");
                if let Some(op) = operand {
                    out.push(' ');
                    self.expr(op, out);
                }
                for w in conditions {
                    out.push_str(" when ");
                    self.expr(&w.condition, out);
                    out.push_str(" then ");
                    self.expr(&w.result, out);
                }
                if let Some(e) = else_result {
                    out.push_str(" else ");
                    self.expr(e, out);
                }
                out.push_str(" end");
            }
            other => out.push_str(&other.to_string()),
        }
    }

    fn value(&self, v: &Value, out: &mut String) {
        match v {
            Value::Number(n, _) => out.push_str(n),
            Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Null => out.push_str("null"),
            Value::SingleQuotedString(t)
            | Value::EscapedStringLiteral(t)
            | Value::NationalStringLiteral(t)
            | Value::UnicodeStringLiteral(t) => self.literal(t, out),
            Value::DollarQuotedString(d) => self.literal(&d.value, out),
            other => out.push_str(&other.to_string()),
        }
    }

    fn postfix(&self, x: &Expr, suffix: &str, out: &mut String) {
        self.child(x, prec::CMP + 1, out);
        out.push_str(suffix);
    }

    fn infix(&self, a: &Expr, op: &str, b: &Expr, p: u8, out: &mut String) {
        self.child(a, p + 1, out);
        out.push_str(op);
        self.child(b, p + 1, out);
    }

    fn binary_op(&self, left: &Expr, op: &BinaryOperator, right: &Expr, out: &mut String) {
        if op == &BinaryOperator::StringConcat
            && matches!(self.style, Style::Render(Dialect::Mysql))
        {
            out.push_str("concat(");
            self.expr(left, out);
            out.push_str(", ");
            self.expr(right, out);
            out.push(')');
            return;
        }
        let p = binary_prec(op);
        let (lmin, rmin) = match p {
            prec::OR | prec::AND => (p, p),
            prec::CMP => (p + 1, p + 1),
            _ => (p, p + 1),
        };
        self.child(left, lmin, out);
        out.push(' ');
        out.push_str(&operator(op));
        out.push(' ');
        self.child(right, rmin, out);
    }

    fn like(
        &self,
        expr: &Expr,
        negated: bool,
        word: &str,
        pattern: &Expr,
        escape: Option<&Expr>,
        out: &mut String,
    ) {
        self.child(expr, prec::CMP + 1, out);
        out.push_str(if negated { " not " } else { " " });
        out.push_str(word);
        out.push(' ');
        self.child(pattern, prec::CMP + 1, out);
        if let Some(esc) = escape {
            out.push_str(" escape ");
            self.expr(esc, out);
        }
    }

    fn quantified(
        &self,
        left: &Expr,
        op: &BinaryOperator,
        word: &str,
        right: &Expr,
        out: &mut String,
    ) {
        self.child(left, prec::CMP + 1, out);
        out.push(' ');
        out.push_str(&operator(op));
        out.push(' ');
        out.push_str(word);
        out.push_str(" (");
        self.expr(right, out);
        out.push(')');
    }

    fn function(&self, f: &Function, out: &mut String) {
        let simple = f.parameters == FunctionArguments::None
            && f.within_group.is_empty()
            && f.filter.is_none()
            && f.null_treatment.is_none()
            && f.over.is_none()
            && !f.uses_odbc_syntax;
        let list = match &f.args {
            FunctionArguments::List(l) if simple && l.clauses.is_empty() => Some(l),
            FunctionArguments::None if simple => None,
            _ => {
                out.push_str(&Expr::Function(f.clone()).to_string());
                return;
            }
        };
        match plain_function_name(&f.name) {
            Some(name) => out.push_str(&name),
            None => {
                for (i, part) in f.name.0.iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    match part {
                        ObjectNamePart::Identifier(id) => self.ident(id, out),
                        other @ ObjectNamePart::Function(_) => {
                            out.push_str(&other.to_string());
                        }
                    }
                }
            }
        }
        let Some(list) = list else {
            return;
        };
        out.push('(');
        match list.duplicate_treatment {
            Some(DuplicateTreatment::Distinct) => out.push_str("distinct "),
            Some(DuplicateTreatment::All) => out.push_str("all "),
            None => {}
        }
        for (i, arg) in list.args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => self.expr(e, out),
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => out.push('*'),
                other => out.push_str(&other.to_string()),
            }
        }
        out.push(')');
    }
}

fn operator(op: &BinaryOperator) -> String {
    match op {
        BinaryOperator::NotEq => "<>".to_owned(),
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (as written in a template, as a database reports it back): both sides must have the same
    /// canonical form, and it must be `want`.
    #[test]
    fn postgres_round_trips_compare_equal() {
        let cases = [
            (
                "price >= 0",
                "CHECK ((price >= (0)::numeric))",
                "price >= 0",
            ),
            (
                "status IN ('a', 'b')",
                "CHECK (((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))",
                "status in ('a', 'b')",
            ),
            (
                "st IN ('x','y')",
                "((st = ANY (ARRAY['x'::text, 'y'::text])))",
                "st in ('x', 'y')",
            ),
            (
                "n IN (1, 2, 3)",
                "((n = ANY (ARRAY[1, 2, 3])))",
                "n in (1, 2, 3)",
            ),
            (
                "status NOT IN ('z')",
                "(((status)::text <> 'z'::text))",
                "status <> 'z'",
            ),
            (
                "length(name) > 0",
                "((length((name)::text) > 0))",
                "length(name) > 0",
            ),
            (
                "length(trim(name)) > 0",
                "((length(TRIM(BOTH FROM name)) > 0))",
                "length(trim(name)) > 0",
            ),
            (
                "n BETWEEN 1 AND 5",
                "(((n >= 1) AND (n <= 5)))",
                "n >= 1 and n <= 5",
            ),
            (
                "n >= -1 AND n <> 3 OR n IS NULL",
                "((((n >= '-1'::integer) AND (n <> 3)) OR (n IS NULL)))",
                "n >= -1 and n <> 3 or n is null",
            ),
            (
                "name LIKE 'a%'",
                "(((name)::text ~~ 'a%'::text))",
                "name like 'a%'",
            ),
            ("f > 0.5", "((f > (0.5)::double precision))", "f > 0.5"),
            (
                "price > 0.01 AND price < 1000",
                "(((price > 0.01) AND (price < (1000)::numeric)))",
                "price > 0.01 and price < 1000",
            ),
            ("b = true", "((b = true))", "b = true"),
            (
                "d >= '2000-01-01'",
                "((d >= '2000-01-01'::date))",
                "d >= '2000-01-01'",
            ),
            (
                "jsonb_typeof(j) = 'object'",
                "((jsonb_typeof(j) = 'object'::text))",
                "jsonb_typeof(j) = 'object'",
            ),
            ("NOT (n = 2)", "((NOT (n = 2)))", "n <> 2"),
            ("n % 2 = 0", "(((n % 2) = 0))", "n % 2 = 0"),
            (
                "price * 2 + 1 > n - (3 - 1)",
                "((((price * (2)::numeric) + (1)::numeric) > ((n - (3 - 1)))::numeric))",
                "price * 2 + 1 > n - (3 - 1)",
            ),
            (
                "ends_at > starts_at",
                "((ends_at > starts_at))",
                "ends_at > starts_at",
            ),
            ("lower(email)", "lower((email)::text)", "lower(email)"),
            ("lower(name)", "lower(name::text)", "lower(name)"),
            (
                "status = 'a' AND n > 0",
                "status::text = 'a'::text AND n > 0",
                "status = 'a' and n > 0",
            ),
            (
                "deleted_at IS NULL",
                "(deleted_at IS NULL)",
                "deleted_at is null",
            ),
            (
                "(payload->>'kind')",
                "(payload ->> 'kind'::text)",
                "payload ->> 'kind'",
            ),
            ("\"Order\" > 0", "((\"Order\" > 0))", "\"Order\" > 0"),
            ("\"order\" > 0", "((\"order\" > 0))", "\"order\" > 0"),
            (
                "\"we\"\"ird\" <> ''",
                "((\"we\"\"ird\")::text <> ''::text)",
                "\"we\"\"ird\" <> ''",
            ),
            (
                "note <> 'it''s'",
                "((note <> 'it''s'::text))",
                "note <> 'it''s'",
            ),
            (
                "n NOT BETWEEN 1 AND 5",
                "(((n < 1) OR (n > 5)))",
                "n < 1 or n > 5",
            ),
            (
                "x IS NOT NULL OR y IS NOT NULL",
                "(((x IS NOT NULL) OR (y IS NOT NULL)))",
                "x is not null or y is not null",
            ),
            (
                "(a > 0 OR b > 0) AND c > 0",
                "((((a > 0) OR (b > 0)) AND (c > 0)))",
                "(a > 0 or b > 0) and c > 0",
            ),
        ];
        for (written, reported, want) in cases {
            assert_eq!(canonical_expression(written), want, "written: {written}");
            assert_eq!(canonical_expression(reported), want, "reported: {reported}");
            assert_eq!(canonical_expression_in(reported, Dialect::Postgres), want);
            // The canonical form is stable.
            assert_eq!(canonical_expression(want), want, "stable: {want}");
        }
    }

    #[test]
    fn a_check_keyword_wrapper_is_removed() {
        assert_eq!(
            canonical_expression("CHECK ((price >= (0)::numeric))"),
            "price >= 0"
        );
        assert_eq!(canonical_expression("check(a > 0) "), "a > 0");
        assert_eq!(canonical_expression("checked > 0"), "checked > 0");
    }

    #[test]
    fn mariadb_round_trips_compare_equal() {
        let cases = [
            ("price >= 0", "`price` >= 0", "price >= 0"),
            (
                "status IN ('a', 'b')",
                "`status` in ('a','b')",
                "status in ('a', 'b')",
            ),
            (
                "length(name) > 0",
                "octet_length(`name`) > 0",
                "length(name) > 0",
            ),
            (
                "char_length(trim(name)) > 0",
                "char_length(trim(`name`)) > 0",
                "char_length(trim(name)) > 0",
            ),
            (
                "n BETWEEN 1 AND 5",
                "`n` between 1 and 5",
                "n >= 1 and n <= 5",
            ),
            (
                "n >= -1 AND n <> 3 OR n IS NULL",
                "`n` >= -1 and `n` <> 3 or `n` is null",
                "n >= -1 and n <> 3 or n is null",
            ),
            ("status NOT IN ('z')", "`status` <> 'z'", "status <> 'z'"),
            ("name LIKE 'a%'", "`name` like 'a%'", "name like 'a%'"),
            ("b = true", "`b` = 1", "b = 1"),
            ("NOT (n = 2)", "`n` <> 2", "n <> 2"),
            (
                "lower(name) = name",
                "lcase(`name`) = `name`",
                "lower(name) = name",
            ),
            (
                "price * 2 + 1 > n - (3 - 1)",
                "`price` * 2 + 1 > `n` - (3 - 1)",
                "price * 2 + 1 > n - (3 - 1)",
            ),
            ("\"Weird col\" > 0", "`Weird col` > 0", "\"Weird col\" > 0"),
            (
                "status <> 'it''s'",
                r"`status` <> 'it\'s'",
                "status <> 'it''s'",
            ),
            (
                "d >= '2000-01-01'",
                "`d` >= '2000-01-01'",
                "d >= '2000-01-01'",
            ),
        ];
        for (written, reported, want) in cases {
            assert_eq!(
                stored_expression(written, Dialect::Mysql),
                want,
                "written: {written}"
            );
            assert_eq!(
                canonical_expression_in(reported, Dialect::Mysql),
                want,
                "{reported}"
            );
        }
        // Without the MySQL storage rewrites, backticks and backslash escapes still parse.
        assert_eq!(canonical_expression("`price` >= 0"), "price >= 0");
        assert_eq!(canonical_expression(r"`s` <> 'it\'s'"), "s <> 'it''s'");
    }

    #[test]
    fn sqlite_text_as_written_compares_equal() {
        let cases = [
            ("\"price\" >= 0", "price >= 0"),
            ("`price` >= 0", "price >= 0"),
            ("status IN ('a','b')", "status in ('a', 'b')"),
            ("length(\"name\") > 0", "length(name) > 0"),
            ("\"a b\" IS NOT NULL", "\"a b\" is not null"),
            ("x glob 'a*'", "x glob 'a*'"),
        ];
        for (reported, want) in cases {
            assert_eq!(
                canonical_expression_in(reported, Dialect::Sqlite),
                want,
                "{reported}"
            );
            assert_eq!(
                stored_expression(reported, Dialect::Sqlite),
                want,
                "{reported}"
            );
        }
    }

    #[test]
    fn parentheses_are_kept_where_they_change_meaning() {
        let cases = [
            ("a - (b - c)", "a - (b - c)"),
            ("(a - b) - c", "a - b - c"),
            ("(a + b) * c", "(a + b) * c"),
            ("a * (b + c)", "a * (b + c)"),
            ("NOT (a > 0 AND b > 0)", "not (a > 0 and b > 0)"),
            ("a AND (b OR c)", "a and (b or c)"),
            ("(a AND b) OR c", "a and b or c"),
            ("-(a + b)", "-(a + b)"),
            ("(a = b) IS NULL", "(a = b) is null"),
            ("(x = 1) = true", "(x = 1) = true"),
        ];
        for (sql, want) in cases {
            assert_eq!(canonical_expression(sql), want, "{sql}");
            assert_eq!(canonical_expression(want), want, "{want} is stable");
        }
    }

    #[test]
    fn synonyms_and_literal_spellings() {
        assert_eq!(
            canonical_expression("created_at <= now()"),
            "created_at <= current_timestamp"
        );
        assert_eq!(
            canonical_expression("created_at <= CURRENT_TIMESTAMP"),
            "created_at <= current_timestamp"
        );
        assert_eq!(
            canonical_expression("UCASE(code) = code"),
            "upper(code) = code"
        );
        assert_eq!(
            canonical_expression("a <> ALL (ARRAY[1, 2])"),
            "a not in (1, 2)"
        );
        assert_eq!(canonical_expression("a != 1"), "a <> 1");
        assert_eq!(canonical_expression("CAST(a AS integer) > 0"), "a > 0");
        assert_eq!(canonical_expression("a > +5"), "a > 5");
        assert_eq!(
            canonical_expression("UPPER(\"Name\") = 'X'"),
            "upper(\"Name\") = 'X'"
        );
        // Identifiers keep their case; quote style does not matter.
        assert_eq!(
            canonical_expression("\"Total\" > 0"),
            canonical_expression("`Total` > 0")
        );
        assert_ne!(
            canonical_expression("\"Total\" > 0"),
            canonical_expression("total > 0")
        );
    }

    #[test]
    fn unparsable_text_is_collapsed_and_unwrapped() {
        assert_eq!(canonical_expression("  ((a   = = b))  "), "a = = b");
        assert_eq!(
            canonical_expression("(a @@@ (b)) @@@ (c"),
            "(a @@@ (b)) @@@ (c"
        );
        assert_eq!(fallback("(a) + (b)"), "(a) + (b)");
        assert_eq!(fallback("('(' = = b)"), "'(' = = b");
    }

    #[test]
    fn rendering_quotes_identifiers_for_the_dialect() {
        let sql = "\"we`ird\" >= 0 AND status IN ('a', 'it''s') AND code || 'x' <> ''";
        assert_eq!(
            render_expression(sql, Dialect::Postgres),
            "\"we`ird\" >= 0 and \"status\" in ('a', 'it''s') and \"code\" || 'x' <> ''"
        );
        assert_eq!(
            render_expression(sql, Dialect::Mysql),
            "`we``ird` >= 0 and `status` in ('a', 'it''s') and concat(`code`, 'x') <> ''"
        );
        // Casts and explicit parentheses are kept when rendering.
        assert_eq!(
            render_expression("((payload->>'n')::integer) > 0", Dialect::Postgres),
            "(cast((\"payload\" ->> 'n') as integer)) > 0"
        );
        assert_eq!(render_expression("a = = b", Dialect::Mysql), "a = = b");
    }
}
