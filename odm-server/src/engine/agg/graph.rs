//! `$graphLookup`: a recursive search of another collection, for trees and graphs
//! stored as references (an employee's `reportsTo`, a part's `components`).
//!
//! ```text
//! {$graphLookup: {from, startWith: <expression>, connectFromField, connectToField, as,
//!                 maxDepth?: n, depthField?: "field", restrictSearchWithMatch?: {...}}}
//! ```
//!
//! From the values of `startWith`, each round finds the foreign documents whose
//! `connectToField` equals one of the current values (one query per round, through the
//! planner), keeps those not found before, and takes their `connectFromField` values for
//! the next round, until a round finds nothing new or `maxDepth` is reached. Arrays are
//! looked through on both sides. Each found document appears once, with its depth (the
//! round that first found it, from 0) in `depthField` when asked.

use bson::{Bson, Document, doc};

use super::bind::Vars;
use super::expr::{self, Expression, Scope};
use super::join::{Collections, check_path, local_values, set_overwriting};
use super::pipeline::stage_error as error;
use crate::engine::compare::OrderedBson;
use crate::engine::matcher::Filter;
use crate::engine::types::type_name;
use crate::error::CmdResult;

#[derive(Clone, Debug)]
pub struct GraphLookup {
    from: String,
    start_with: Expression,
    connect_from: String,
    connect_to: String,
    as_path: String,
    max_depth: Option<u64>,
    depth_field: Option<String>,
    restrict: Option<Filter>,
}

impl GraphLookup {
    pub fn parse(arg: &Bson) -> CmdResult<GraphLookup> {
        let Bson::Document(spec) = arg else {
            return Err(error(
                40327,
                format!(
                    "the $graphLookup stage specification must be an object, but found {}",
                    type_name(arg)
                ),
            ));
        };
        let mut from = None;
        let mut start_with = None;
        let (mut connect_from, mut connect_to, mut as_path) = (None, None, None);
        let (mut max_depth, mut depth_field, mut restrict) = (None, None, None);
        let string = |name: &str, v: &Bson| match v {
            Bson::String(s) => Ok(s.clone()),
            other => Err(error(
                40103,
                format!(
                    "expected string as argument for $graphLookup.{name}, found: {}",
                    type_name(other)
                ),
            )),
        };
        for (name, value) in spec {
            match name.as_str() {
                "from" => from = Some(string(name, value)?),
                "startWith" => start_with = Some(expr::parse(value)?),
                "connectFromField" => connect_from = Some(string(name, value)?),
                "connectToField" => connect_to = Some(string(name, value)?),
                "as" => as_path = Some(string(name, value)?),
                "depthField" => depth_field = Some(string(name, value)?),
                "maxDepth" => {
                    let n = match value {
                        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                            crate::engine::arith::to_i64_exact(value).ok_or_else(|| {
                                error(
                                    40102,
                                    format!(
                                        "maxDepth could not be represented as a long long: {value}"
                                    ),
                                )
                            })?
                        }
                        other => {
                            return Err(error(
                                40100,
                                format!(
                                    "maxDepth must be numeric, found type: {}",
                                    type_name(other)
                                ),
                            ));
                        }
                    };
                    if n < 0 {
                        return Err(error(
                            40101,
                            format!("maxDepth requires a nonnegative argument, found: {n}"),
                        ));
                    }
                    max_depth = Some(n as u64);
                }
                "restrictSearchWithMatch" => {
                    let Bson::Document(m) = value else {
                        return Err(error(
                            40185,
                            format!(
                                "restrictSearchWithMatch must be an object, found {}",
                                type_name(value)
                            ),
                        ));
                    };
                    restrict = Some(Filter::parse(m)?);
                }
                other => {
                    return Err(error(
                        40104,
                        format!("Unknown argument to $graphLookup: {other}"),
                    ));
                }
            }
        }
        let (Some(from), Some(start_with), Some(connect_from), Some(connect_to), Some(as_path)) =
            (from, start_with, connect_from, connect_to, as_path)
        else {
            return Err(error(
                40105,
                "from, as, startWith, connectFromField and connectToField must all be specified",
            ));
        };
        for (what, path) in [
            ("connectFromField", &connect_from),
            ("connectToField", &connect_to),
            ("as", &as_path),
        ] {
            check_path(what, path)?;
        }
        if let Some(d) = &depth_field {
            check_path("depthField", d)?;
        }
        Ok(GraphLookup {
            from,
            start_with,
            connect_from,
            connect_to,
            as_path,
            max_depth,
            depth_field,
            restrict,
        })
    }

    pub fn from(&self) -> &str {
        &self.from
    }

    /// For `explain`: the stage's collections and fields, and the filter each step of its
    /// search asks of `from` (with a stand-in value: the plan depends on the field).
    pub fn explain(&self) -> CmdResult<(Document, Filter)> {
        let shown = doc! {
            "from": &self.from,
            "connectFromField": &self.connect_from,
            "connectToField": &self.connect_to,
            "as": &self.as_path,
        };
        let mut filter = vec![Filter::parse(&doc! {&self.connect_to: {"$in": [0]}})?];
        if let Some(r) = &self.restrict {
            filter.push(r.clone());
        }
        Ok((shown, Filter::And(filter)))
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.start_with.bind(vars);
        if let Some(f) = &mut self.restrict {
            f.bind(vars);
        }
    }

    pub fn run(&self, docs: Vec<Document>, source: &dyn Collections) -> CmdResult<Vec<Document>> {
        let mut out = Vec::with_capacity(docs.len());
        for mut d in docs {
            let start = self.start_with.evaluate(&mut Scope::new(&d))?;
            let values = match start {
                Some(Bson::Array(items)) => items,
                Some(v) => vec![v],
                None => Vec::new(),
            };
            let found = self.search(values, source)?;
            set_overwriting(
                &mut d,
                &self.as_path,
                Bson::Array(found.into_iter().map(Bson::Document).collect()),
            );
            out.push(d);
        }
        Ok(out)
    }

    /// The breadth-first search from `values`: every document reached, once.
    fn search(&self, mut values: Vec<Bson>, source: &dyn Collections) -> CmdResult<Vec<Document>> {
        let mut seen_values = std::collections::BTreeSet::new();
        let mut seen_docs = std::collections::BTreeSet::new();
        let mut found = Vec::new();
        let mut depth: u64 = 0;
        loop {
            values.retain(|v| seen_values.insert(OrderedBson(v.clone())));
            if values.is_empty() || self.max_depth.is_some_and(|m| depth > m) {
                return Ok(found);
            }
            let mut filter = vec![Filter::parse(
                &doc! {&self.connect_to: {"$in": std::mem::take(&mut values)}},
            )?];
            if let Some(r) = &self.restrict {
                filter.push(r.clone());
            }
            for mut hit in source.find(&self.from, &Filter::And(filter))? {
                let id = OrderedBson(hit.get("_id").cloned().unwrap_or(Bson::Null));
                if !seen_docs.insert(id) {
                    continue;
                }
                for v in local_values(&hit, &self.connect_from) {
                    if !matches!(v, Bson::Null) || hit.contains_key(&self.connect_from) {
                        values.push(v);
                    }
                }
                if let Some(field) = &self.depth_field {
                    set_overwriting(&mut hit, field, Bson::Int64(depth as i64));
                }
                found.push(hit);
            }
            depth += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::engine::agg::pipeline::Pipeline;

    struct Memory(HashMap<&'static str, Vec<Document>>);

    impl Collections for Memory {
        fn find(&self, coll: &str, filter: &Filter) -> CmdResult<Vec<Document>> {
            Ok(self
                .0
                .get(coll)
                .map(|docs| docs.iter().filter(|d| filter.matches(d)).cloned().collect())
                .unwrap_or_default())
        }
    }

    fn employees() -> Memory {
        Memory(
            [(
                "employees",
                vec![
                    doc! {"_id": 1, "name": "Dev"},
                    doc! {"_id": 2, "name": "Eliot", "reportsTo": "Dev"},
                    doc! {"_id": 3, "name": "Ron", "reportsTo": "Eliot"},
                    doc! {"_id": 4, "name": "Andrew", "reportsTo": "Eliot"},
                    doc! {"_id": 5, "name": "Asya", "reportsTo": "Ron"},
                    doc! {"_id": 6, "name": "Dan", "reportsTo": "Andrew"},
                ],
            )]
            .into(),
        )
    }

    fn run(stage: Document, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        Pipeline::parse(&[Bson::Document(stage)])?.run_with(docs, &employees())
    }

    #[test]
    fn follows_the_chain_with_depths_and_a_limit() {
        let out = run(
            doc! {"$graphLookup": {"from": "employees", "startWith": "$reportsTo", "connectFromField": "reportsTo",
                "connectToField": "name", "as": "chain", "depthField": "d"}},
            vec![doc! {"name": "Dan", "reportsTo": "Andrew"}],
        )
        .unwrap();
        let chain: Vec<(String, i64)> = out[0]
            .get_array("chain")
            .unwrap()
            .iter()
            .map(|c| {
                let c = c.as_document().unwrap();
                (
                    c.get_str("name").unwrap().to_string(),
                    c.get_i64("d").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            chain,
            [
                ("Andrew".to_string(), 0),
                ("Eliot".to_string(), 1),
                ("Dev".to_string(), 2)
            ]
        );
        let out = run(
            doc! {"$graphLookup": {"from": "employees", "startWith": "$reportsTo", "connectFromField": "reportsTo",
                "connectToField": "name", "as": "chain", "maxDepth": 1}},
            vec![doc! {"name": "Dan", "reportsTo": "Andrew"}],
        )
        .unwrap();
        assert_eq!(out[0].get_array("chain").unwrap().len(), 2);
    }

    #[test]
    fn searches_downwards_through_many_and_stops_on_cycles() {
        // Everyone below Eliot: the search fans out, and each person appears once.
        let out = run(
            doc! {"$graphLookup": {"from": "employees", "startWith": "$name", "connectFromField": "name",
                "connectToField": "reportsTo", "as": "below", "restrictSearchWithMatch": {"_id": {"$ne": 6}}}},
            vec![doc! {"name": "Eliot"}],
        )
        .unwrap();
        let mut ids: Vec<i32> = out[0]
            .get_array("below")
            .unwrap()
            .iter()
            .map(|c| c.as_document().unwrap().get_i32("_id").unwrap())
            .collect();
        ids.sort();
        assert_eq!(ids, [3, 4, 5]);
    }

    #[test]
    fn bad_specifications_name_the_problem() {
        for (spec, code) in [
            (
                doc! {"from": "e", "startWith": "$a", "connectFromField": "a", "connectToField": "b"},
                40105,
            ),
            (
                doc! {"from": "e", "startWith": "$a", "connectFromField": "a", "connectToField": "b", "as": "x", "maxDepth": -1},
                40101,
            ),
            (
                doc! {"from": "e", "startWith": "$a", "connectFromField": "a", "connectToField": "b", "as": "x", "maxDepth": "1"},
                40100,
            ),
            (
                doc! {"from": "e", "startWith": "$a", "connectFromField": "a", "connectToField": "b", "as": "x", "extra": 1},
                40104,
            ),
            (
                doc! {"from": "e", "startWith": "$a", "connectFromField": "a", "connectToField": "b", "as": "x", "restrictSearchWithMatch": 1},
                40185,
            ),
        ] {
            let err = run(doc! {"$graphLookup": spec.clone()}, vec![]).unwrap_err();
            assert_eq!(err.code.code(), code, "{spec}: {}", err.message);
        }
    }
}
