//! Emerging relationships: equi-joins seen in the workload that no foreign key backs, ranked by
//! how often they run, with the likely direction (which side is the unique "one" side) and type
//! compatibility; and the join graph (declared and observed relationships) on petgraph.
//!
//! Direction, in order of evidence:
//! 1. the side whose join columns contain the primary key or a (non-partial) unique index is the
//!    referenced side;
//! 2. when both are unique (one-to-one), the side whose key is the primary key, then naming (3);
//! 3. when neither is unique and distinct-value ratios are known (e.g. from `pg_stats`), the side
//!    with the higher ratio (closer to unique);
//! 4. naming: a single column called `id`, `<table>_id` or `<singular table>_id` on its own table
//!    marks the referenced side;
//! 5. otherwise the first side in name order is taken as referenced, and the candidate says so.
//!
//! A join is "backed" when a declared foreign key explains it in either direction (its column
//! pairs are among the join's), or when both sides are foreign keys to the same key of a third
//! table (siblings such as `rental.customer_id = payment.customer_id`): neither case is reported.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{Graph, NodeIndex};
use serde::{Deserialize, Serialize};

use super::structure::{JoinPair, StatementShape};
use crate::model::{EmergingRelationship, ForeignKey, Schema, Table};

/// Distinct-value ratio (distinct values / rows, in `0..=1`) per `(table, column)`.
pub type DistinctRatios = BTreeMap<(String, String), f64>;

/// What the direction of a relationship rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionBasis {
    /// Only the referenced side's columns hold a primary key or unique index.
    UniqueKey,
    /// Both sides are unique (one-to-one); the primary-key side was taken as referenced.
    OneToOne,
    /// Neither side is unique; the side with the higher distinct ratio is referenced.
    Statistics,
    /// Neither side is unique (or both are); column naming marks the referenced side.
    Naming,
    /// No evidence: the first side in name order is taken as referenced.
    Arbitrary,
}

/// An emerging relationship with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationshipCandidate {
    pub relationship: EmergingRelationship,
    pub basis: DirectionBasis,
    /// How many distinct statement shapes contain the join.
    pub shapes: usize,
}

/// Joins that no foreign key backs, most frequent first. See the module docs for the rules.
pub fn emerging_relationships<'a>(
    shapes: impl IntoIterator<Item = (&'a StatementShape, u64)>,
    schema: &Schema,
) -> Vec<EmergingRelationship> {
    relationship_candidates(shapes, schema, &DistinctRatios::new())
        .into_iter()
        .map(|c| c.relationship)
        .collect()
}

/// Like [`emerging_relationships`], with the basis of each direction, and optional distinct-value
/// ratios to direct joins where neither side is unique.
pub fn relationship_candidates<'a>(
    shapes: impl IntoIterator<Item = (&'a StatementShape, u64)>,
    schema: &Schema,
    ratios: &DistinctRatios,
) -> Vec<RelationshipCandidate> {
    let observed = observed_joins(shapes);
    let mut merged: BTreeMap<(String, Vec<String>, String, Vec<String>), RelationshipCandidate> =
        BTreeMap::new();
    for (pair, (calls, shapes)) in observed {
        let Some(join) = Resolved::new(&pair, schema) else {
            continue;
        };
        if join.trivial() || join.backed() {
            continue;
        }
        let (rel, basis) = join.direct(ratios);
        let key = (
            rel.from_table.clone(),
            rel.from_columns.clone(),
            rel.to_table.clone(),
            rel.to_columns.clone(),
        );
        let entry = merged.entry(key).or_insert_with(|| RelationshipCandidate {
            relationship: EmergingRelationship {
                join_count: 0,
                ..rel.clone()
            },
            basis,
            shapes: 0,
        });
        entry.relationship.join_count += calls;
        entry.shapes += shapes;
    }
    let mut out: Vec<RelationshipCandidate> = merged.into_values().collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.relationship.join_count));
    out
}

/// Calls and distinct shapes per join pair.
fn observed_joins<'a>(
    shapes: impl IntoIterator<Item = (&'a StatementShape, u64)>,
) -> BTreeMap<JoinPair, (u64, usize)> {
    let mut observed: BTreeMap<JoinPair, (u64, usize)> = BTreeMap::new();
    for (shape, calls) in shapes.into_iter().filter(|(s, _)| !s.system) {
        let distinct: BTreeSet<&JoinPair> = shape.joins.iter().collect();
        for pair in distinct {
            let entry = observed.entry(pair.clone()).or_default();
            entry.0 += calls;
            entry.1 += 1;
        }
    }
    observed
}

fn find_table<'a>(schema: &'a Schema, name: &str) -> Option<&'a Table> {
    schema.table(name).or_else(|| {
        schema
            .tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    })
}

fn canonical_column(table: &Table, name: &str) -> Option<String> {
    table
        .columns
        .iter()
        .find(|c| c.name == name)
        .or_else(|| {
            table
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
        .map(|c| c.name.clone())
}

/// The smallest primary key or unique index contained in `cols` (the primary key wins ties).
fn unique_key(table: &Table, cols: &[String]) -> Option<(Vec<String>, bool)> {
    let within = |key: &[String]| !key.is_empty() && key.iter().all(|k| cols.contains(k));
    let mut best: Option<(Vec<String>, bool)> =
        within(&table.primary_key).then(|| (table.primary_key.clone(), true));
    for ix in &table.indexes {
        if !ix.unique || ix.predicate.is_some() {
            continue;
        }
        let key: Option<Vec<String>> = ix.columns.iter().map(|c| c.column.clone()).collect();
        if let Some(key) = key
            && within(&key)
            && best.as_ref().is_none_or(|(b, _)| key.len() < b.len())
        {
            best = Some((key, false));
        }
    }
    best
}

fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = name.strip_suffix('s') {
        stem.to_owned()
    } else {
        name.to_owned()
    }
}

/// Whether the column name marks this side as the referenced one (`id`, `<table>_id`).
fn named_like_key(table: &str, cols: &[String]) -> bool {
    let [c] = cols else { return false };
    let c = c.to_ascii_lowercase();
    let t = table.to_ascii_lowercase();
    c == "id" || c == format!("{t}_id") || c == format!("{}_id", singular(&t))
}

/// One side of a join, checked against the schema.
struct Side<'a> {
    table: &'a Table,
    columns: Vec<String>,
}

/// A join pair whose tables and columns all exist in the schema.
struct Resolved<'a> {
    left: Side<'a>,
    right: Side<'a>,
}

impl<'a> Resolved<'a> {
    fn new(pair: &JoinPair, schema: &'a Schema) -> Option<Self> {
        let side = |table: &str, cols: &[String]| -> Option<Side<'a>> {
            let table = find_table(schema, table)?;
            let columns = cols
                .iter()
                .map(|c| canonical_column(table, c))
                .collect::<Option<_>>()?;
            Some(Side { table, columns })
        };
        Some(Resolved {
            left: side(&pair.left_table, &pair.left_columns)?,
            right: side(&pair.right_table, &pair.right_columns)?,
        })
    }

    /// A table joined to itself on the same columns says nothing about relationships.
    fn trivial(&self) -> bool {
        self.left.table.name == self.right.table.name && self.left.columns == self.right.columns
    }

    fn pairs(from: &Side, to: &Side) -> Vec<(String, String)> {
        from.columns
            .iter()
            .cloned()
            .zip(to.columns.iter().cloned())
            .collect()
    }

    fn backed(&self) -> bool {
        let lr = Self::pairs(&self.left, &self.right);
        let rl = Self::pairs(&self.right, &self.left);
        let explains = |fk: &ForeignKey, to: &Table, pairs: &[(String, String)]| {
            fk.ref_table == to.name
                && fk
                    .columns
                    .iter()
                    .zip(&fk.ref_columns)
                    .all(|(c, r)| pairs.iter().any(|(a, b)| a == c && b == r))
        };
        let direct = self
            .left
            .table
            .foreign_keys
            .iter()
            .any(|fk| explains(fk, self.right.table, &lr))
            || self
                .right
                .table
                .foreign_keys
                .iter()
                .any(|fk| explains(fk, self.left.table, &rl));
        let sibling = self.left.table.foreign_keys.iter().any(|f1| {
            self.right.table.foreign_keys.iter().any(|f2| {
                f1.ref_table == f2.ref_table
                    && f1.columns.len() == f2.columns.len()
                    && f1.columns.iter().zip(&f1.ref_columns).all(|(c1, r)| {
                        f2.ref_columns
                            .iter()
                            .position(|r2| r2 == r)
                            .is_some_and(|j| lr.iter().any(|(a, b)| a == c1 && *b == f2.columns[j]))
                    })
            })
        });
        direct || sibling
    }

    /// Pick the direction and build the relationship.
    fn direct(&self, ratios: &DistinctRatios) -> (EmergingRelationship, DirectionBasis) {
        let lu = unique_key(self.left.table, &self.left.columns);
        let ru = unique_key(self.right.table, &self.right.columns);
        let naming = || {
            let l = named_like_key(&self.left.table.name, &self.left.columns);
            let r = named_like_key(&self.right.table.name, &self.right.columns);
            match (l, r) {
                (true, false) => Some(true),
                (false, true) => Some(false),
                _ => None,
            }
        };
        // `to_left`: whether the left side is the referenced one.
        let (to_left, basis) = match (&lu, &ru) {
            (Some(_), None) => (true, DirectionBasis::UniqueKey),
            (None, Some(_)) => (false, DirectionBasis::UniqueKey),
            (Some((_, lpk)), Some((_, rpk))) if lpk != rpk => (*lpk, DirectionBasis::OneToOne),
            (Some(_), Some(_)) => match naming() {
                Some(l) => (l, DirectionBasis::Naming),
                None => (true, DirectionBasis::Arbitrary),
            },
            (None, None) => match (
                Self::ratio(&self.left, ratios),
                Self::ratio(&self.right, ratios),
            ) {
                (Some(l), Some(r)) if (l - r).abs() > 1e-9 => (l > r, DirectionBasis::Statistics),
                _ => match naming() {
                    Some(l) => (l, DirectionBasis::Naming),
                    None => (true, DirectionBasis::Arbitrary),
                },
            },
        };
        let (from, to, key) = if to_left {
            (&self.right, &self.left, lu)
        } else {
            (&self.left, &self.right, ru)
        };
        // Keep only the column pairs on the referenced key (extra equalities are filters).
        let mut pairs = Self::pairs(from, to);
        if let Some((key, _)) = key {
            pairs.retain(|(_, t)| key.contains(t));
        }
        let types_compatible =
            pairs
                .iter()
                .all(|(f, t)| match (from.table.column(f), to.table.column(t)) {
                    (Some(a), Some(b)) => a.data_type.is_compatible_with(b.data_type),
                    _ => false,
                });
        let rel = EmergingRelationship {
            from_table: from.table.name.clone(),
            from_columns: pairs.iter().map(|p| p.0.clone()).collect(),
            to_table: to.table.name.clone(),
            to_columns: pairs.into_iter().map(|p| p.1).collect(),
            join_count: 0,
            types_compatible,
        };
        (rel, basis)
    }

    /// The distinct ratio of a one-column side, when known.
    fn ratio(side: &Side, ratios: &DistinctRatios) -> Option<f64> {
        let [c] = side.columns.as_slice() else {
            return None;
        };
        ratios.get(&(side.table.name.clone(), c.clone())).copied()
    }
}

/// A relationship edge of the join graph, from the referencing to the referenced table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinEdge {
    pub from_columns: Vec<String>,
    pub to_columns: Vec<String>,
    /// Calls of statements joining along this edge.
    pub calls: u64,
    /// Whether a foreign key declares it (otherwise it is an emerging relationship).
    pub declared: bool,
}

/// Tables as nodes, declared foreign keys and emerging relationships as directed edges.
#[derive(Debug, Clone, Default)]
pub struct JoinGraph {
    pub graph: Graph<String, JoinEdge>,
    nodes: BTreeMap<String, NodeIndex>,
}

impl JoinGraph {
    /// The node of `table`, if the graph has it.
    pub fn node(&self, table: &str) -> Option<NodeIndex> {
        self.nodes.get(table).copied()
    }

    /// Tables joined with `table` in either direction, sorted.
    pub fn neighbors(&self, table: &str) -> Vec<&str> {
        let Some(n) = self.node(table) else {
            return Vec::new();
        };
        let set: BTreeSet<&str> = self
            .graph
            .neighbors_undirected(n)
            .map(|m| self.graph[m].as_str())
            .collect();
        set.into_iter().collect()
    }

    /// Every edge as `(from_table, to_table, edge)`, in insertion order (declared first).
    pub fn edges(&self) -> impl Iterator<Item = (&str, &str, &JoinEdge)> {
        self.graph.edge_indices().filter_map(|e| {
            let (a, b) = self.graph.edge_endpoints(e)?;
            Some((
                self.graph[a].as_str(),
                self.graph[b].as_str(),
                &self.graph[e],
            ))
        })
    }

    fn ensure(&mut self, table: &str) -> NodeIndex {
        if let Some(&n) = self.nodes.get(table) {
            return n;
        }
        let n = self.graph.add_node(table.to_owned());
        self.nodes.insert(table.to_owned(), n);
        n
    }
}

/// The join graph: every schema table, each declared foreign key (with the calls of the joins it
/// explains) and each emerging relationship.
pub fn join_graph<'a>(
    shapes: impl IntoIterator<Item = (&'a StatementShape, u64)>,
    schema: &Schema,
) -> JoinGraph {
    let shapes: Vec<(&StatementShape, u64)> = shapes.into_iter().collect();
    let observed = observed_joins(shapes.iter().copied());
    let mut g = JoinGraph::default();
    let mut tables: Vec<&Table> = schema.tables.iter().collect();
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    for t in &tables {
        g.ensure(&t.name);
    }
    for t in &tables {
        for fk in &t.foreign_keys {
            let fk_pairs: Vec<(&String, &String)> =
                fk.columns.iter().zip(&fk.ref_columns).collect();
            let calls = observed
                .iter()
                .filter(|(pair, _)| join_contains(pair, &t.name, &fk.ref_table, &fk_pairs))
                .map(|(_, (calls, _))| calls)
                .sum();
            let (a, b) = (g.ensure(&t.name), g.ensure(&fk.ref_table));
            g.graph.add_edge(
                a,
                b,
                JoinEdge {
                    from_columns: fk.columns.clone(),
                    to_columns: fk.ref_columns.clone(),
                    calls,
                    declared: true,
                },
            );
        }
    }
    for c in relationship_candidates(shapes, schema, &DistinctRatios::new()) {
        let r = c.relationship;
        let (a, b) = (g.ensure(&r.from_table), g.ensure(&r.to_table));
        g.graph.add_edge(
            a,
            b,
            JoinEdge {
                from_columns: r.from_columns,
                to_columns: r.to_columns,
                calls: r.join_count,
                declared: false,
            },
        );
    }
    g
}

/// Whether `pair` joins `from` to `to` on every column pair of `pairs` (in either orientation).
fn join_contains(pair: &JoinPair, from: &str, to: &str, pairs: &[(&String, &String)]) -> bool {
    let check = |ft: &str, fc: &[String], tt: &str, tc: &[String]| {
        ft == from
            && tt == to
            && pairs
                .iter()
                .all(|(c, r)| fc.iter().zip(tc).any(|(a, b)| a == *c && b == *r))
    };
    check(
        &pair.left_table,
        &pair.left_columns,
        &pair.right_table,
        &pair.right_columns,
    ) || check(
        &pair.right_table,
        &pair.right_columns,
        &pair.left_table,
        &pair.left_columns,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::structure::analyze_statement;
    use crate::model::{Column, DataType, Index, IndexColumn, IndexMethod};

    fn table(name: &str, cols: &[(&str, DataType)], pk: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: cols.iter().map(|(c, t)| Column::new(*c, *t)).collect(),
            primary_key: pk.iter().map(|c| (*c).to_owned()).collect(),
            ..Table::default()
        }
    }

    fn fk(cols: &[&str], ref_table: &str, ref_cols: &[&str]) -> ForeignKey {
        ForeignKey {
            name: String::new(),
            columns: cols.iter().map(|c| (*c).to_owned()).collect(),
            ref_table: ref_table.into(),
            ref_columns: ref_cols.iter().map(|c| (*c).to_owned()).collect(),
            on_delete: crate::model::ForeignKeyAction::NoAction,
            on_update: crate::model::ForeignKeyAction::NoAction,
        }
    }

    fn unique(cols: &[&str]) -> Index {
        Index {
            name: String::new(),
            columns: cols.iter().map(|c| IndexColumn::column(*c)).collect(),
            unique: true,
            predicate: None,
            include: Vec::new(),
            method: IndexMethod::Btree,
        }
    }

    /// A shop whose `orders.customer_id` has no foreign key.
    fn shop() -> Schema {
        use DataType::{BigInt, Integer, Text};
        let customers = table(
            "customers",
            &[("id", BigInt), ("email", Text), ("region", Text)],
            &["id"],
        );
        let mut customers = customers;
        customers.indexes.push(unique(&["email"]));
        let orders = table(
            "orders",
            &[
                ("id", BigInt),
                ("customer_id", Integer),
                ("region", Text),
                ("contact", Text),
            ],
            &["id"],
        );
        let mut items = table("order_items", &[("order_id", BigInt), ("sku", Text)], &[]);
        items
            .foreign_keys
            .push(fk(&["order_id"], "orders", &["id"]));
        let mut refunds = table("refunds", &[("order_id", BigInt), ("amount", Integer)], &[]);
        refunds
            .foreign_keys
            .push(fk(&["order_id"], "orders", &["id"]));
        Schema {
            tables: vec![customers, orders, items, refunds],
        }
    }

    fn shapes(queries: &[(&str, u64)]) -> Vec<(StatementShape, u64)> {
        queries
            .iter()
            .map(|(q, n)| (analyze_statement(q, None), *n))
            .collect()
    }

    fn run(schema: &Schema, queries: &[(&str, u64)]) -> Vec<EmergingRelationship> {
        let shapes = shapes(queries);
        emerging_relationships(shapes.iter().map(|(s, n)| (s, *n)), schema)
    }

    fn rel(
        from: &str,
        fc: &[&str],
        to: &str,
        tc: &[&str],
        count: u64,
        ok: bool,
    ) -> EmergingRelationship {
        EmergingRelationship {
            from_table: from.into(),
            from_columns: fc.iter().map(|c| (*c).to_owned()).collect(),
            to_table: to.into(),
            to_columns: tc.iter().map(|c| (*c).to_owned()).collect(),
            join_count: count,
            types_compatible: ok,
        }
    }

    #[test]
    fn undeclared_join_is_found_with_direction_and_frequency() {
        let schema = shop();
        let found = run(
            &schema,
            &[
                (
                    "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = $1",
                    7,
                ),
                (
                    "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE id > $1)",
                    3,
                ),
                // Declared and sibling joins are not reported.
                (
                    "SELECT * FROM order_items i JOIN orders o ON o.id = i.order_id",
                    50,
                ),
                (
                    "SELECT * FROM order_items i JOIN refunds r ON r.order_id = i.order_id",
                    20,
                ),
            ],
        );
        assert_eq!(
            found,
            vec![rel(
                "orders",
                &["customer_id"],
                "customers",
                &["id"],
                10,
                true
            )]
        );
    }

    #[test]
    fn declared_foreign_key_is_not_emerging() {
        let mut schema = shop();
        schema.table_mut("orders").unwrap().foreign_keys.push(fk(
            &["customer_id"],
            "customers",
            &["id"],
        ));
        let found = run(
            &schema,
            &[(
                "SELECT 1 FROM orders o JOIN customers c ON o.customer_id = c.id",
                5,
            )],
        );
        assert!(found.is_empty(), "{found:?}");
        // A FK declared on a subset of a composite join explains it too.
        let found = run(
            &schema,
            &[(
                "SELECT 1 FROM orders o JOIN customers c ON o.customer_id = c.id AND o.region = c.region",
                5,
            )],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn direction_picks_the_unique_side_whichever_way_the_join_is_written() {
        let schema = shop();
        for q in [
            "SELECT 1 FROM orders o JOIN customers c ON o.contact = c.email",
            "SELECT 1 FROM customers c JOIN orders o ON c.email = o.contact",
        ] {
            let shapes = shapes(&[(q, 2)]);
            let found = relationship_candidates(
                shapes.iter().map(|(s, n)| (s, *n)),
                &schema,
                &DistinctRatios::new(),
            );
            assert_eq!(found.len(), 1, "{q}");
            assert_eq!(
                found[0].relationship,
                rel("orders", &["contact"], "customers", &["email"], 2, true)
            );
            assert_eq!(found[0].basis, DirectionBasis::UniqueKey);
        }
        // Extra equalities beside the unique key are filters, not part of the relationship.
        let found = run(
            &schema,
            &[(
                "SELECT 1 FROM orders o JOIN customers c ON o.customer_id = c.id AND o.region = c.region",
                4,
            )],
        );
        assert_eq!(
            found,
            vec![rel(
                "orders",
                &["customer_id"],
                "customers",
                &["id"],
                4,
                true
            )]
        );
    }

    #[test]
    fn type_mismatch_is_reported() {
        let schema = shop();
        let found = run(
            &schema,
            &[(
                "SELECT 1 FROM orders o JOIN customers c ON c.id = o.contact",
                1,
            )],
        );
        assert_eq!(
            found,
            vec![rel("orders", &["contact"], "customers", &["id"], 1, false)]
        );
    }

    #[test]
    fn ranking_and_self_references() {
        use DataType::{Integer, Text};
        let employee = table(
            "employee",
            &[("id", Integer), ("manager_id", Integer), ("dept", Text)],
            &["id"],
        );
        let dept = table("dept", &[("code", Text)], &[]);
        let schema = Schema {
            tables: vec![employee, dept],
        };
        let shapes = shapes(&[
            (
                "SELECT e.id FROM employee e JOIN employee m ON e.manager_id = m.id",
                3,
            ),
            ("SELECT 1 FROM employee e JOIN dept d ON d.code = e.dept", 9),
            (
                "SELECT 1 FROM employee a JOIN employee b ON a.dept = b.dept",
                100,
            ),
        ]);
        let found = relationship_candidates(
            shapes.iter().map(|(s, n)| (s, *n)),
            &schema,
            &DistinctRatios::new(),
        );
        let got: Vec<(EmergingRelationship, DirectionBasis)> = found
            .into_iter()
            .map(|c| (c.relationship, c.basis))
            .collect();
        assert_eq!(
            got,
            vec![
                // Neither side unique and no naming hint: first side in name order.
                (
                    rel("employee", &["dept"], "dept", &["code"], 9, true),
                    DirectionBasis::Arbitrary
                ),
                (
                    rel("employee", &["manager_id"], "employee", &["id"], 3, true),
                    DirectionBasis::UniqueKey
                ),
            ]
        );
        // Statistics decide when given: `employee.dept` repeats, `dept.code` does not.
        let ratios = DistinctRatios::from([
            (("employee".to_owned(), "dept".to_owned()), 0.01),
            (("dept".to_owned(), "code".to_owned()), 1.0),
        ]);
        let found = relationship_candidates(shapes.iter().map(|(s, n)| (s, *n)), &schema, &ratios);
        assert_eq!(found[0].basis, DirectionBasis::Statistics);
        assert_eq!(found[0].relationship.to_table, "dept");
        let reversed = DistinctRatios::from([
            (("employee".to_owned(), "dept".to_owned()), 1.0),
            (("dept".to_owned(), "code".to_owned()), 0.5),
        ]);
        let found =
            relationship_candidates(shapes.iter().map(|(s, n)| (s, *n)), &schema, &reversed);
        assert_eq!(found[0].relationship.to_table, "employee");
    }

    #[test]
    fn naming_directs_joins_between_non_unique_columns() {
        use DataType::Integer;
        // A legacy `orders` table without a primary key.
        let orders = table("orders", &[("order_id", Integer)], &[]);
        let shipments = table("shipments", &[("order_id", Integer)], &[]);
        let schema = Schema {
            tables: vec![shipments, orders],
        };
        for q in [
            "SELECT 1 FROM shipments s JOIN orders o ON s.order_id = o.order_id",
            "SELECT 1 FROM orders o JOIN shipments s ON s.order_id = o.order_id",
        ] {
            let shapes = shapes(&[(q, 1)]);
            let found = relationship_candidates(
                shapes.iter().map(|(s, n)| (s, *n)),
                &schema,
                &DistinctRatios::new(),
            );
            assert_eq!(
                found[0].relationship,
                rel("shipments", &["order_id"], "orders", &["order_id"], 1, true)
            );
            assert_eq!(found[0].basis, DirectionBasis::Naming);
        }
    }

    #[test]
    fn unknown_tables_are_skipped() {
        let found = run(
            &shop(),
            &[(
                "SELECT 1 FROM orders o JOIN ghosts g ON g.order_id = o.id",
                5,
            )],
        );
        assert!(found.is_empty());
    }

    #[test]
    fn join_graph_has_declared_and_emerging_edges() {
        let schema = shop();
        let shapes = shapes(&[
            (
                "SELECT 1 FROM orders o JOIN customers c ON c.id = o.customer_id",
                7,
            ),
            (
                "SELECT 1 FROM order_items i JOIN orders o ON o.id = i.order_id",
                4,
            ),
        ]);
        let g = join_graph(shapes.iter().map(|(s, n)| (s, *n)), &schema);
        assert_eq!(g.graph.node_count(), 4);
        let edges: Vec<(String, String, u64, bool)> = g
            .edges()
            .map(|(a, b, e)| (a.to_owned(), b.to_owned(), e.calls, e.declared))
            .collect();
        assert_eq!(
            edges,
            vec![
                ("order_items".into(), "orders".into(), 4, true),
                ("refunds".into(), "orders".into(), 0, true),
                ("orders".into(), "customers".into(), 7, false),
            ]
        );
        assert_eq!(
            g.neighbors("orders"),
            vec!["customers", "order_items", "refunds"]
        );
        assert!(g.neighbors("nowhere").is_empty());
    }
}
