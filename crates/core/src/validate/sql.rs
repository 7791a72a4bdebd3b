//! SQL checked against a schema: access-pattern statements, check constraints, index predicates
//! and index expressions are parsed (PostgreSQL syntax) and every table and column they name is
//! resolved, with aliases, CTEs, derived tables and correlated subqueries in scope.
//!
//! The resolver is conservative: a column is reported unknown only when every relation it could
//! come from is a schema table known to lack it. Anything whose columns cannot be known (a CTE, a
//! derived table, a table function) makes unqualified names in its scope unverifiable.

use sqlparser::ast::{
    AccessExpr, Assignment, AssignmentTarget, Expr, FromTable, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, InTarget, Insert, JoinConstraint,
    JoinOperator, LimitClause, ObjectName, ObjectNamePart, OnConflictAction, OnInsert, OrderBy,
    OrderByKind, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement,
    Subscript, TableFactor, TableObject, TableWithJoins, UpdateTableFromKind,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::sqlwalk::{Node, children};
use crate::{Schema, Table};

/// What kind of statement an access pattern's SQL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatementKind {
    Query,
    Insert {
        /// `ON CONFLICT … DO UPDATE` / `ON DUPLICATE KEY UPDATE`: an upsert.
        upsert: bool,
    },
    Update,
    Delete,
    Other,
}

/// The result of checking one statement.
#[derive(Debug)]
pub(crate) struct StatementCheck {
    pub kind: StatementKind,
    /// Unknown tables and columns, one message each, in order of appearance, deduplicated.
    pub issues: Vec<String>,
}

fn parser_message(e: &ParserError) -> String {
    let s = e.to_string();
    s.strip_prefix("sql parser error: ")
        .unwrap_or(&s)
        .to_owned()
}

/// Parse `sql` as exactly one statement and resolve its names against `schema`.
pub(crate) fn check_statement(schema: &Schema, sql: &str) -> Result<StatementCheck, String> {
    let statements =
        Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| parser_message(&e))?;
    let [statement] = statements.as_slice() else {
        return Err(format!(
            "expected exactly one statement, found {}",
            statements.len()
        ));
    };
    let mut r = Resolver::new(schema);
    let kind = r.statement(statement);
    Ok(StatementCheck {
        kind,
        issues: r.issues,
    })
}

/// Parse `sql` as one expression over the columns of `table` and report unknown columns.
pub(crate) fn check_expression(
    schema: &Schema,
    table: &Table,
    sql: &str,
) -> Result<Vec<String>, String> {
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| parser_message(&e))?;
    let expr = parser.parse_expr().map_err(|e| parser_message(&e))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(format!("unexpected `{}` after the expression", next.token));
    }
    let mut r = Resolver::new(schema);
    r.scopes.push(Scope {
        sources: vec![Source {
            name: table.name.clone(),
            table: Some(table),
        }],
        aliases: Vec::new(),
        permissive: false,
    });
    r.expr(&expr);
    Ok(r.issues)
}

/// The `col IN (literal, …)` conjuncts of a boolean expression: for each column, the values the
/// expression allows (strings unquoted, numbers as written). Anything else is ignored.
pub(crate) fn in_lists(sql: &str) -> Vec<(String, Vec<String>)> {
    fn walk(e: &Expr, out: &mut Vec<(String, Vec<String>)>) {
        match e {
            Expr::Nested(inner) => walk(inner, out),
            Expr::BinaryOp {
                left,
                op: sqlparser::ast::BinaryOperator::And,
                right,
            } => {
                walk(left, out);
                walk(right, out);
            }
            Expr::In {
                expr,
                target: InTarget::List(items),
                negated: false,
                ..
            } => {
                let Expr::Identifier(column) = expr.as_ref() else {
                    return;
                };
                let values: Option<Vec<String>> = items
                    .iter()
                    .map(|item| match item {
                        Expr::Value(v) => match &v.value {
                            sqlparser::ast::Value::SingleQuotedString(s)
                            | sqlparser::ast::Value::Number(s, _) => Some(s.clone()),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
                if let Some(values) = values {
                    out.push((column.value.clone(), values));
                }
            }
            _ => {}
        }
    }
    let dialect = PostgreSqlDialect {};
    let Ok(mut parser) = Parser::new(&dialect).try_with_sql(sql) else {
        return Vec::new();
    };
    let Ok(expr) = parser.parse_expr() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(&expr, &mut out);
    out
}

/// A relation visible in a scope, under the name queries use for it.
struct Source<'a> {
    name: String,
    /// The schema table, or `None` when its columns cannot be known.
    table: Option<&'a Table>,
}

struct Scope<'a> {
    sources: Vec<Source<'a>>,
    /// Output column aliases of the SELECT (usable in ORDER BY / GROUP BY).
    aliases: Vec<String>,
    /// Anything goes: names here cannot be checked.
    permissive: bool,
}

impl Scope<'_> {
    fn permissive() -> Self {
        Scope {
            sources: Vec::new(),
            aliases: Vec::new(),
            permissive: true,
        }
    }
}

struct Resolver<'a> {
    schema: &'a Schema,
    /// Names of the CTEs visible at this point.
    ctes: Vec<String>,
    scopes: Vec<Scope<'a>>,
    issues: Vec<String>,
}

/// Names compare as PostgreSQL and the other dialects would accept them: case-insensitively.
fn same(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Unquoted words that parse as identifiers but are keywords or system columns.
fn is_special_word(ident: &Ident) -> bool {
    const WORDS: [&str; 13] = [
        "default",
        "current_user",
        "session_user",
        "user",
        "current_role",
        "current_catalog",
        "current_schema",
        "ctid",
        "xmin",
        "xmax",
        "cmin",
        "cmax",
        "tableoid",
    ];
    ident.quote_style.is_none() && WORDS.iter().any(|w| ident.value.eq_ignore_ascii_case(w))
}

fn last_part(name: &ObjectName) -> Option<&Ident> {
    match name.0.last()? {
        ObjectNamePart::Identifier(ident) => Some(ident),
        ObjectNamePart::Function(_) => None,
    }
}

impl<'a> Resolver<'a> {
    fn new(schema: &'a Schema) -> Self {
        Resolver {
            schema,
            ctes: Vec::new(),
            scopes: Vec::new(),
            issues: Vec::new(),
        }
    }

    fn issue(&mut self, message: String) {
        if !self.issues.contains(&message) {
            self.issues.push(message);
        }
    }

    fn table(&self, name: &str) -> Option<&'a Table> {
        self.schema.tables.iter().find(|t| same(&t.name, name))
    }

    fn has_column(table: &Table, name: &str) -> bool {
        table.columns.iter().any(|c| same(&c.name, name))
    }

    /// Resolve a table reference to a source; reports unknown tables.
    fn relation(&mut self, name: &ObjectName, alias: Option<&Ident>) -> Source<'a> {
        let Some(ident) = last_part(name) else {
            return Source {
                name: String::new(),
                table: None,
            };
        };
        let visible = alias.unwrap_or(ident).value.clone();
        if name.0.len() == 1 && self.ctes.iter().any(|c| same(c, &ident.value)) {
            return Source {
                name: visible,
                table: None,
            };
        }
        let table = self.table(&ident.value);
        if table.is_none() {
            self.issue(format!("unknown table `{}`", ident.value));
        }
        Source {
            name: visible,
            table,
        }
    }

    fn with_scope<R>(&mut self, scope: Scope<'a>, f: impl FnOnce(&mut Self) -> R) -> R {
        self.scopes.push(scope);
        let out = f(self);
        self.scopes.pop();
        out
    }

    fn statement(&mut self, statement: &Statement) -> StatementKind {
        match statement {
            Statement::Query(q) => {
                self.query(q);
                StatementKind::Query
            }
            Statement::Insert(insert) => self.insert(insert),
            Statement::Update(update) => {
                let mut sources = Vec::new();
                let mut ons = Vec::new();
                self.add_from_item(&update.table, &mut sources, &mut ons);
                let target = sources.first().and_then(|s| s.table);
                if let Some(from) = &update.from {
                    let (UpdateTableFromKind::BeforeSet(items)
                    | UpdateTableFromKind::AfterSet(items)) = from;
                    for item in items {
                        self.add_from_item(item, &mut sources, &mut ons);
                    }
                }
                let scope = Scope {
                    sources,
                    aliases: Vec::new(),
                    permissive: false,
                };
                self.with_scope(scope, |r| {
                    for on in ons {
                        r.expr(on);
                    }
                    r.assignments(&update.assignments, target);
                    if let Some(e) = &update.selection {
                        r.expr(e);
                    }
                    r.select_items(update.returning.as_deref().unwrap_or_default());
                });
                StatementKind::Update
            }
            Statement::Delete(delete) => {
                let mut sources = Vec::new();
                let mut ons = Vec::new();
                let (FromTable::WithFromKeyword(items) | FromTable::WithoutKeyword(items)) =
                    &delete.from;
                for item in items.iter().chain(delete.using.iter().flatten()) {
                    self.add_from_item(item, &mut sources, &mut ons);
                }
                let scope = Scope {
                    sources,
                    aliases: Vec::new(),
                    permissive: false,
                };
                self.with_scope(scope, |r| {
                    for on in ons {
                        r.expr(on);
                    }
                    if let Some(e) = &delete.selection {
                        r.expr(e);
                    }
                    r.select_items(delete.returning.as_deref().unwrap_or_default());
                });
                StatementKind::Delete
            }
            _ => StatementKind::Other,
        }
    }

    fn insert(&mut self, insert: &Insert) -> StatementKind {
        let target = match &insert.table {
            TableObject::TableName(name) => {
                let alias = insert.table_alias.as_ref().map(|a| &a.alias);
                Some(self.relation(name, alias))
            }
            _ => None,
        };
        let target_table = target.as_ref().and_then(|s| s.table);
        if let Some(t) = target_table {
            for col in &insert.columns {
                if let Some(c) = last_part(col)
                    && !Self::has_column(t, &c.value)
                {
                    self.issue(format!(
                        "unknown column `{}` in the INSERT column list: table `{}` has no such column",
                        c.value, t.name
                    ));
                }
            }
        }
        if let Some(source) = &insert.source {
            self.query(source);
        }
        let target_scope = |excluded: bool| {
            let mut sources = Vec::new();
            if let Some(t) = &target {
                sources.push(Source {
                    name: t.name.clone(),
                    table: t.table,
                });
                if excluded {
                    sources.push(Source {
                        name: "excluded".to_owned(),
                        table: t.table,
                    });
                }
            } else {
                sources.push(Source {
                    name: String::new(),
                    table: None,
                });
            }
            Scope {
                sources,
                aliases: Vec::new(),
                permissive: false,
            }
        };
        let mut upsert = false;
        match &insert.on {
            Some(OnInsert::OnConflict(on_conflict)) => {
                if let Some(sqlparser::ast::ConflictTarget::Columns { columns, predicate }) =
                    &on_conflict.conflict_target
                {
                    if let Some(t) = target_table {
                        for c in columns {
                            if !Self::has_column(t, &c.value) {
                                self.issue(format!(
                                    "unknown column `{}` in ON CONFLICT: table `{}` has no such column",
                                    c.value, t.name
                                ));
                            }
                        }
                    }
                    if let Some(p) = predicate {
                        self.with_scope(target_scope(false), |r| r.expr(p));
                    }
                }
                if let OnConflictAction::DoUpdate(update) = &on_conflict.action {
                    upsert = true;
                    self.with_scope(target_scope(true), |r| {
                        r.assignments(&update.assignments, target_table);
                        if let Some(e) = &update.selection {
                            r.expr(e);
                        }
                    });
                }
            }
            Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                upsert = true;
                self.with_scope(target_scope(false), |r| {
                    r.assignments(assignments, target_table);
                });
            }
            _ => {}
        }
        if let Some(items) = &insert.returning {
            self.with_scope(target_scope(false), |r| r.select_items(items));
        }
        StatementKind::Insert { upsert }
    }

    fn assignments(&mut self, assignments: &[Assignment], target: Option<&'a Table>) {
        for a in assignments {
            let names: Vec<&ObjectName> = match &a.target {
                AssignmentTarget::ColumnName(n) => vec![n],
                AssignmentTarget::Tuple(ns) => ns.iter().collect(),
            };
            if let Some(t) = target {
                for n in names {
                    if let Some(c) = last_part(n)
                        && !Self::has_column(t, &c.value)
                    {
                        self.issue(format!(
                            "unknown column `{}` in SET: table `{}` has no such column",
                            c.value, t.name
                        ));
                    }
                }
            }
            self.expr(&a.value);
        }
    }

    fn query(&mut self, q: &Query) {
        let mark = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                if with.recursive {
                    self.ctes.push(cte.alias.name.value.clone());
                    self.query(&cte.query);
                } else {
                    self.query(&cte.query);
                    self.ctes.push(cte.alias.name.value.clone());
                }
            }
        }
        match q.body.as_ref() {
            SetExpr::Select(select) => {
                self.select(select, q.order_by.as_ref(), q.limit_clause.as_ref());
            }
            body => {
                self.set_expr(body);
                // ORDER BY of a set operation names output columns: not checkable here.
                self.with_scope(Scope::permissive(), |r| {
                    if let Some(order_by) = &q.order_by {
                        r.order_by(order_by);
                    }
                    if let Some(limit) = &q.limit_clause {
                        r.limit(limit);
                    }
                });
            }
        }
        self.ctes.truncate(mark);
    }

    fn set_expr(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => self.select(select, None, None),
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left);
                self.set_expr(right);
            }
            SetExpr::Values(values) => {
                for row in &values.rows {
                    for e in &row.content {
                        self.expr(e);
                    }
                }
            }
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => {
                self.statement(s);
            }
            SetExpr::Table(t) => {
                if let Some(name) = &t.table_name
                    && self.table(&name.value).is_none()
                    && !self.ctes.iter().any(|c| same(c, &name.value))
                {
                    self.issue(format!("unknown table `{}`", name.value));
                }
            }
            SetExpr::Merge(_) => {}
        }
    }

    /// Add the relations of one FROM item to `sources`, walking derived tables, and collect its
    /// join conditions (checked once the whole FROM clause is in scope).
    fn add_from_item<'q>(
        &mut self,
        item: &'q TableWithJoins,
        sources: &mut Vec<Source<'a>>,
        ons: &mut Vec<&'q Expr>,
    ) {
        self.factor(&item.relation, sources, ons);
        for join in &item.joins {
            self.factor(&join.relation, sources, ons);
            if let Some(JoinConstraint::On(e)) =
                crate::analysis::structure::join_constraint(&join.join_operator)
            {
                ons.push(e);
            }
            if let JoinOperator::AsOf {
                match_condition, ..
            } = &join.join_operator
            {
                ons.push(match_condition);
            }
        }
    }

    fn factor<'q>(
        &mut self,
        factor: &'q TableFactor,
        sources: &mut Vec<Source<'a>>,
        ons: &mut Vec<&'q Expr>,
    ) {
        let opaque = |alias: Option<&sqlparser::ast::TableAlias>| Source {
            name: alias.map(|a| a.name.value.clone()).unwrap_or_default(),
            table: None,
        };
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if let Some(args) = args {
                    for a in &args.args {
                        self.function_arg(a);
                    }
                    sources.push(opaque(alias.as_ref()));
                } else {
                    let source = self.relation(name, alias.as_ref().map(|a| &a.name));
                    sources.push(source);
                }
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                if *lateral {
                    self.with_scope(Scope::permissive(), |r| r.query(subquery));
                } else {
                    self.query(subquery);
                }
                sources.push(opaque(alias.as_ref()));
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.is_some() {
                    let mut inner = Vec::new();
                    self.add_from_item(table_with_joins, &mut inner, ons);
                    sources.push(opaque(alias.as_ref()));
                } else {
                    self.add_from_item(table_with_joins, sources, ons);
                }
            }
            TableFactor::TableFunction { expr, alias } => {
                self.with_scope(Scope::permissive(), |r| r.expr(expr));
                sources.push(opaque(alias.as_ref()));
            }
            TableFactor::Function { args, alias, .. } => {
                self.with_scope(Scope::permissive(), |r| {
                    for a in args {
                        r.function_arg(a);
                    }
                });
                sources.push(opaque(alias.as_ref()));
            }
            TableFactor::UNNEST {
                alias, array_exprs, ..
            } => {
                self.with_scope(Scope::permissive(), |r| {
                    for e in array_exprs {
                        r.expr(e);
                    }
                });
                sources.push(opaque(alias.as_ref()));
            }
            // Exotic relations: visible under their alias, columns unknown.
            TableFactor::JsonTable { alias, .. }
            | TableFactor::OpenJsonTable { alias, .. }
            | TableFactor::Pivot { alias, .. }
            | TableFactor::Unpivot { alias, .. }
            | TableFactor::MatchRecognize { alias, .. }
            | TableFactor::XmlTable { alias, .. }
            | TableFactor::SemanticView { alias, .. } => sources.push(opaque(alias.as_ref())),
            TableFactor::UnpivotExpr { .. } => sources.push(opaque(None)),
        }
    }

    fn select(&mut self, select: &Select, order_by: Option<&OrderBy>, limit: Option<&LimitClause>) {
        let mut sources = Vec::new();
        let mut ons = Vec::new();
        for item in &select.from {
            self.add_from_item(item, &mut sources, &mut ons);
        }
        let aliases = select
            .projection
            .iter()
            .filter_map(|item| match item {
                SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
                SelectItem::ExprWithAliases { aliases, .. } => {
                    aliases.first().map(|a| a.value.clone())
                }
                _ => None,
            })
            .collect();
        let scope = Scope {
            sources,
            aliases,
            permissive: false,
        };
        self.with_scope(scope, |r| {
            for on in ons {
                r.expr(on);
            }
            r.select_items(&select.projection);
            if let Some(e) = &select.prewhere {
                r.expr(e);
            }
            if let Some(e) = &select.selection {
                r.expr(e);
            }
            if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
                for e in exprs {
                    r.expr(e);
                }
            }
            if let Some(e) = &select.having {
                r.expr(e);
            }
            if let Some(e) = &select.qualify {
                r.expr(e);
            }
            if let Some(order_by) = order_by {
                r.order_by(order_by);
            }
            if let Some(limit) = limit {
                r.limit(limit);
            }
        });
    }

    fn select_items(&mut self, items: &[SelectItem]) {
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e)
                | SelectItem::ExprWithAlias { expr: e, .. }
                | SelectItem::ExprWithAliases { expr: e, .. } => self.expr(e),
                SelectItem::QualifiedWildcard(kind, _) => match kind {
                    SelectItemQualifiedWildcardKind::ObjectName(name) => self.qualifier(name),
                    SelectItemQualifiedWildcardKind::Expr(e) => self.expr(e),
                },
                SelectItem::Wildcard(_) => {}
            }
        }
    }

    /// `t.*`: `t` must be a visible relation.
    fn qualifier(&mut self, name: &ObjectName) {
        let Some(q) = last_part(name) else { return };
        for scope in self.scopes.iter().rev() {
            if scope.sources.iter().any(|s| same(&s.name, &q.value)) || scope.permissive {
                return;
            }
        }
        self.issue(format!("unknown table or alias `{}`", q.value));
    }

    fn order_by(&mut self, order_by: &OrderBy) {
        if let OrderByKind::Expressions(exprs) = &order_by.kind {
            for o in exprs {
                self.expr(&o.expr);
            }
        }
    }

    fn limit(&mut self, limit: &LimitClause) {
        match limit {
            LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            } => {
                if let Some(e) = limit {
                    self.expr(e);
                }
                if let Some(o) = offset {
                    self.expr(&o.value);
                }
                for e in limit_by {
                    self.expr(e);
                }
            }
            LimitClause::OffsetCommaLimit { offset, limit } => {
                self.expr(offset);
                self.expr(limit);
            }
        }
    }

    fn unqualified(&mut self, ident: &Ident) {
        if is_special_word(ident) {
            return;
        }
        let mut searched: Vec<&str> = Vec::new();
        for scope in self.scopes.iter().rev() {
            if scope.permissive || scope.aliases.iter().any(|a| same(a, &ident.value)) {
                return;
            }
            for source in &scope.sources {
                match source.table {
                    None => return,
                    Some(t) if Self::has_column(t, &ident.value) => return,
                    Some(t) => {
                        if !searched.contains(&t.name.as_str()) {
                            searched.push(&t.name);
                        }
                    }
                }
            }
        }
        if searched.is_empty() {
            return;
        }
        let tables = searched
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let message = format!("unknown column `{}` (not in {tables})", ident.value);
        self.issue(message);
    }

    fn qualified(&mut self, idents: &[Ident]) {
        let [.., qualifier, column] = idents else {
            return;
        };
        for scope in self.scopes.iter().rev() {
            if let Some(source) = scope
                .sources
                .iter()
                .find(|s| same(&s.name, &qualifier.value))
            {
                if let Some(t) = source.table
                    && !Self::has_column(t, &column.value)
                {
                    let message = format!(
                        "unknown column `{}.{}`: table `{}` has no column `{}`",
                        qualifier.value, column.value, t.name, column.value
                    );
                    self.issue(message);
                }
                return;
            }
            if scope.permissive {
                return;
            }
        }
        if self.scopes.is_empty() {
            return;
        }
        self.issue(format!(
            "unknown table or alias `{}` in `{}.{}`",
            qualifier.value, qualifier.value, column.value
        ));
    }

    /// `t.*` inside a call (`count(t.*)`) must name a table in scope.
    fn function_wildcards(&mut self, f: &Function) {
        for args in [&f.parameters, &f.args] {
            if let FunctionArguments::List(list) = args {
                for a in &list.args {
                    let (FunctionArg::Named { arg, .. }
                    | FunctionArg::ExprNamed { arg, .. }
                    | FunctionArg::Unnamed(arg)) = a;
                    if let FunctionArgExpr::QualifiedWildcard(name) = arg {
                        self.qualifier(name);
                    }
                }
            }
        }
    }

    fn function_arg(&mut self, arg: &FunctionArg) {
        let (FunctionArg::Named { arg, .. }
        | FunctionArg::ExprNamed { arg, .. }
        | FunctionArg::Unnamed(arg)) = arg;
        match arg {
            FunctionArgExpr::Expr(e) => self.expr(e),
            FunctionArgExpr::QualifiedWildcard(name) => self.qualifier(name),
            FunctionArgExpr::Wildcard | FunctionArgExpr::WildcardWithOptions(_) => {}
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Identifier(ident) => return self.unqualified(ident),
            Expr::CompoundIdentifier(idents) => return self.qualified(idents),
            // A field name after `.` is not a column; subscripts are expressions.
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.expr(root);
                for access in access_chain {
                    if let AccessExpr::Subscript(sub) = access {
                        match sub {
                            Subscript::Index { index } => self.expr(index),
                            Subscript::Slice {
                                lower_bound,
                                upper_bound,
                                stride,
                            } => {
                                for e in [lower_bound, upper_bound, stride].into_iter().flatten() {
                                    self.expr(e);
                                }
                            }
                        }
                    }
                }
                return;
            }
            // Lambda parameters, dictionary and map keys are names of their own, not columns.
            Expr::Lambda(_) | Expr::Dictionary(_) | Expr::Map(_) | Expr::MemberOf(_) => return,
            Expr::Function(f) => self.function_wildcards(f),
            _ => {}
        }
        for child in children(expr) {
            match child {
                Node::Expr(e) => self.expr(e),
                Node::Query(q) => self.query(q),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, DataType};

    fn schema() -> Schema {
        let table = |name: &str, cols: &[&str]| Table {
            name: name.into(),
            columns: cols
                .iter()
                .map(|c| Column::new(*c, DataType::BigInt))
                .collect(),
            ..Table::default()
        };
        Schema {
            tables: vec![
                table(
                    "orders",
                    &["id", "customer_id", "status", "total", "placed_at"],
                ),
                table("customers", &["id", "email", "name"]),
                table("order_items", &["order_id", "product_id", "quantity"]),
            ],
        }
    }

    #[test]
    fn statements_resolve_or_report() {
        // (sql, expected issue substrings; empty: clean)
        let cases: &[(&str, &[&str])] = &[
            ("SELECT id, status FROM orders WHERE customer_id = $1", &[]),
            (
                "SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id",
                &[],
            ),
            (
                "SELECT id FROM order WHERE id = 1",
                &["unknown table `order`"],
            ),
            (
                "SELECT x FROM orders",
                &["unknown column `x` (not in `orders`)"],
            ),
            (
                "SELECT o.nope FROM orders o",
                &["unknown column `o.nope`: table `orders` has no column `nope`"],
            ),
            ("SELECT z.id FROM orders o", &["unknown table or alias `z`"]),
            ("SELECT id FROM shipments", &["unknown table `shipments`"]),
            // Ambiguity between two tables is not our business; existence is.
            ("SELECT id, email FROM orders, customers", &[]),
            (
                "SELECT email FROM orders o JOIN customers c ON c.id = o.customer_id",
                &[],
            ),
            // Output aliases are usable in ORDER BY.
            (
                "SELECT count(*) AS n, status FROM orders GROUP BY status ORDER BY n DESC",
                &[],
            ),
            // CTEs and derived tables: columns unknown, nothing reported.
            (
                "WITH recent AS (SELECT id FROM orders) SELECT whatever FROM recent",
                &[],
            ),
            ("SELECT d.x FROM (SELECT id AS x FROM orders) d", &[]),
            (
                "WITH r AS (SELECT nope FROM orders) SELECT 1 FROM r",
                &["unknown column `nope`"],
            ),
            // Correlated subqueries see the outer scope.
            (
                "SELECT id FROM orders o WHERE EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND quantity > 1)",
                &[],
            ),
            (
                "SELECT id FROM orders o WHERE EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND qty > 1)",
                &["unknown column `qty` (not in `order_items`, `orders`)"],
            ),
            (
                "INSERT INTO orders (customer_id, status) VALUES ($1, DEFAULT) RETURNING id",
                &[],
            ),
            (
                "INSERT INTO orders (customer_id, stat) VALUES ($1, $2)",
                &["unknown column `stat` in the INSERT column list"],
            ),
            (
                "INSERT INTO orders (id, total) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET total = excluded.total + orders.total",
                &[],
            ),
            (
                "INSERT INTO orders (id) VALUES ($1) ON CONFLICT (idx) DO NOTHING",
                &["unknown column `idx` in ON CONFLICT"],
            ),
            (
                "UPDATE orders SET status = 'x', totl = 1 WHERE id = $1",
                &["unknown column `totl` in SET"],
            ),
            (
                "UPDATE orders o SET status = c.name FROM customers c WHERE c.id = o.customer_id",
                &[],
            ),
            (
                "DELETE FROM orders WHERE placed_at < $1 AND statuss = 'x'",
                &["unknown column `statuss`"],
            ),
            (
                "DELETE FROM orders o USING customers c WHERE c.id = o.customer_id AND c.email = $1",
                &[],
            ),
            ("SELECT o.* FROM orders o", &[]),
            ("SELECT q.* FROM orders o", &["unknown table or alias `q`"]),
            (
                "SELECT count(*) FILTER (WHERE status = 'paid') FROM orders",
                &[],
            ),
            (
                "SELECT sum(total) OVER (PARTITION BY customer_id ORDER BY placed_at) FROM orders",
                &[],
            ),
            (
                "SELECT id FROM public.orders WHERE public.orders.id = 1",
                &[],
            ),
            ("SELECT ID FROM Orders", &[]),
            ("SELECT t.x FROM generate_series(1, 3) AS t(x)", &[]),
        ];
        for (sql, want) in cases {
            let got = match check_statement(&schema(), sql) {
                Ok(check) => check.issues,
                Err(e) => panic!("{sql}: unexpected parse error {e}"),
            };
            assert_eq!(got.len(), want.len(), "{sql}: {got:?}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(g.contains(w), "{sql}: {g} does not contain {w}");
            }
        }
    }

    #[test]
    fn statement_kinds_and_parse_errors() {
        let s = schema();
        assert_eq!(
            check_statement(&s, "SELECT 1").unwrap().kind,
            StatementKind::Query
        );
        assert_eq!(
            check_statement(
                &s,
                "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET total = 1"
            )
            .unwrap()
            .kind,
            StatementKind::Insert { upsert: true }
        );
        assert_eq!(
            check_statement(&s, "DELETE FROM orders").unwrap().kind,
            StatementKind::Delete
        );
        assert_eq!(
            check_statement(&s, "DROP TABLE orders").unwrap().kind,
            StatementKind::Other
        );
        let e = check_statement(&s, "SELEC 1").unwrap_err();
        assert!(e.contains("Expected"), "{e}");
        let e = check_statement(&s, "SELECT 1; SELECT 2").unwrap_err();
        assert!(e.contains("exactly one statement, found 2"), "{e}");
        assert!(check_statement(&s, "").unwrap_err().contains("found 0"));
    }

    #[test]
    fn in_lists_are_found_in_conjunctions_only() {
        type Expected = &'static [(&'static str, &'static [&'static str])];
        let cases: &[(&str, Expected)] = &[
            ("status IN ('a', 'b')", &[("status", &["a", "b"])]),
            (
                "(q IN (0, 1, 2)) AND x > 0 AND k IN ('z')",
                &[("q", &["0", "1", "2"]), ("k", &["z"])],
            ),
            ("status IN ('a') OR status IS NULL", &[]),
            ("status NOT IN ('a')", &[]),
            ("status IN ('a', lower('B'))", &[]),
            ("not sql at all (", &[]),
        ];
        for (sql, want) in cases {
            let got = in_lists(sql);
            let want: Vec<(String, Vec<String>)> = want
                .iter()
                .map(|(c, vs)| {
                    (
                        (*c).to_owned(),
                        vs.iter().map(|v| (*v).to_owned()).collect(),
                    )
                })
                .collect();
            assert_eq!(got, want, "{sql}");
        }
    }

    #[test]
    fn expressions_are_checked_against_their_table() {
        let s = schema();
        let orders = s.table("orders").unwrap();
        assert_eq!(
            check_expression(&s, orders, "total >= 0 AND status IN ('a', 'b')").unwrap(),
            Vec::<String>::new()
        );
        let issues = check_expression(&s, orders, "length(stat) > 0").unwrap();
        assert_eq!(
            issues,
            vec!["unknown column `stat` (not in `orders`)".to_owned()]
        );
        assert!(check_expression(&s, orders, "total >= 0 garbage").is_err());
        assert!(check_expression(&s, orders, "total >=").is_err());
    }
}
