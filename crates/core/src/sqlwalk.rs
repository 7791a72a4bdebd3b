//! The direct children of a sqlparser expression (sub-expressions and subqueries), the one
//! traversal shared by the statement analyzer and the access-pattern validator.

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments, InTarget, Query,
    WindowType,
};

/// A child of an expression.
pub(crate) enum Node<'a> {
    Expr(&'a Expr),
    Query(&'a Query),
}

fn push_args<'a>(args: &'a FunctionArguments, out: &mut Vec<Node<'a>>) {
    match args {
        FunctionArguments::None => {}
        FunctionArguments::Subquery(q) => out.push(Node::Query(q)),
        FunctionArguments::List(list) => {
            for a in &list.args {
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
                    out.push(Node::Expr(e));
                }
            }
            for c in &list.clauses {
                match c {
                    FunctionArgumentClause::Where(e) | FunctionArgumentClause::Limit(e) => {
                        out.push(Node::Expr(e));
                    }
                    FunctionArgumentClause::OrderBy(v) => {
                        out.extend(v.iter().map(|o| Node::Expr(&o.expr)));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The direct sub-expressions and subqueries of `e`, in source order.
pub(crate) fn children(e: &Expr) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    fn ex(x: &Expr) -> Node<'_> {
        Node::Expr(x)
    }
    match e {
        Expr::Identifier(_)
        | Expr::CompoundIdentifier(_)
        | Expr::Value(_)
        | Expr::TypedString(_)
        | Expr::Wildcard(_)
        | Expr::QualifiedWildcard(..)
        | Expr::MatchAgainst { .. } => {}
        Expr::CompoundFieldAccess { root, access_chain } => {
            out.push(ex(root));
            for a in access_chain {
                match a {
                    sqlparser::ast::AccessExpr::Dot(x) => out.push(ex(x)),
                    sqlparser::ast::AccessExpr::Subscript(s) => match s {
                        sqlparser::ast::Subscript::Index { index } => out.push(ex(index)),
                        sqlparser::ast::Subscript::Slice {
                            lower_bound,
                            upper_bound,
                            stride,
                        } => {
                            out.extend(
                                [lower_bound, upper_bound, stride]
                                    .into_iter()
                                    .flatten()
                                    .map(ex),
                            );
                        }
                    },
                }
            }
        }
        Expr::JsonAccess { value, .. } | Expr::Prefixed { value, .. } => out.push(ex(value)),
        Expr::IsFalse(x)
        | Expr::IsNotFalse(x)
        | Expr::IsTrue(x)
        | Expr::IsNotTrue(x)
        | Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::IsUnknown(x)
        | Expr::IsNotUnknown(x)
        | Expr::Nested(x)
        | Expr::OuterJoin(x)
        | Expr::Prior(x) => out.push(ex(x)),
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
            out.push(ex(a));
            out.push(ex(b));
        }
        Expr::IsJson { expr, .. }
        | Expr::IsNormalized { expr, .. }
        | Expr::UnaryOp { expr, .. }
        | Expr::Cast { expr, .. }
        | Expr::Extract { expr, .. }
        | Expr::Ceil { expr, .. }
        | Expr::Floor { expr, .. }
        | Expr::Collate { expr, .. }
        | Expr::Named { expr, .. } => out.push(ex(expr)),
        Expr::In { expr, target, .. } => {
            out.push(ex(expr));
            match target {
                InTarget::List(items) => out.extend(items.iter().map(ex)),
                InTarget::Subquery(q) => out.push(Node::Query(q)),
                InTarget::Unnest(x) => out.push(ex(x)),
                InTarget::Table { .. } => {}
            }
        }
        Expr::Between {
            expr, low, high, ..
        } => out.extend([expr, low, high].map(|b| ex(b))),
        Expr::BinaryOp { left, right, .. }
        | Expr::AnyOp { left, right, .. }
        | Expr::AllOp { left, right, .. } => {
            out.push(ex(left));
            out.push(ex(right));
        }
        Expr::Like {
            expr,
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            expr,
            pattern,
            escape_char,
            ..
        }
        | Expr::SimilarTo {
            expr,
            pattern,
            escape_char,
            ..
        } => {
            out.push(ex(expr));
            out.push(ex(pattern));
            out.extend(escape_char.iter().map(|b| ex(b)));
        }
        Expr::RLike { expr, pattern, .. } => {
            out.push(ex(expr));
            out.push(ex(pattern));
        }
        Expr::Convert { expr, styles, .. } => {
            out.push(ex(expr));
            out.extend(styles.iter().map(ex));
        }
        Expr::AtTimeZone {
            timestamp,
            time_zone,
        } => {
            out.push(ex(timestamp));
            out.push(ex(time_zone));
        }
        Expr::Position { expr, r#in } => {
            out.push(ex(expr));
            out.push(ex(r#in));
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            out.push(ex(expr));
            out.extend(
                [substring_from, substring_for]
                    .into_iter()
                    .flatten()
                    .map(|b| ex(b)),
            );
        }
        Expr::Trim {
            expr,
            trim_what,
            trim_characters,
            ..
        } => {
            out.push(ex(expr));
            out.extend(trim_what.iter().map(|b| ex(b)));
            out.extend(trim_characters.iter().flatten().map(ex));
        }
        Expr::Overlay {
            expr,
            overlay_what,
            overlay_from,
            overlay_for,
        } => {
            out.extend([expr, overlay_what, overlay_from].map(|b| ex(b)));
            out.extend(overlay_for.iter().map(|b| ex(b)));
        }
        Expr::Function(f) => {
            push_args(&f.parameters, &mut out);
            push_args(&f.args, &mut out);
            out.extend(f.filter.iter().map(|b| ex(b)));
            out.extend(f.within_group.iter().map(|o| ex(&o.expr)));
            if let Some(WindowType::WindowSpec(spec)) = &f.over {
                out.extend(spec.partition_by.iter().map(ex));
                out.extend(spec.order_by.iter().map(|o| ex(&o.expr)));
            }
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            out.extend(operand.iter().map(|b| ex(b)));
            for c in conditions {
                out.push(ex(&c.condition));
                out.push(ex(&c.result));
            }
            out.extend(else_result.iter().map(|b| ex(b)));
        }
        Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => out.push(Node::Query(subquery)),
        Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
            out.extend(sets.iter().flatten().map(ex));
        }
        Expr::Tuple(items) => out.extend(items.iter().map(ex)),
        Expr::Struct { values, .. } => out.extend(values.iter().map(ex)),
        Expr::Dictionary(fields) => out.extend(fields.iter().map(|f| ex(&f.value))),
        Expr::Map(map) => {
            for entry in &map.entries {
                out.push(ex(&entry.key));
                out.push(ex(&entry.value));
            }
        }
        Expr::Array(array) => out.extend(array.elem.iter().map(ex)),
        Expr::Interval(interval) => out.push(ex(&interval.value)),
        Expr::Lambda(lambda) => out.push(ex(&lambda.body)),
        Expr::MemberOf(m) => {
            out.push(ex(&m.value));
            out.push(ex(&m.array));
        }
    }
    out
}
