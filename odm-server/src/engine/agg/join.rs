//! The stages that read other collections: `$lookup` and `$unionWith`.
//!
//! ```text
//! {$lookup: {from, localField, foreignField, as}}                 equality join
//! {$lookup: {from, let?, pipeline, as}}                           correlated sub-pipeline
//! {$lookup: {from, localField, foreignField, let?, pipeline, as}} both: equality, then pipeline
//! {$unionWith: "coll"} | {$unionWith: {coll, pipeline?}}          the input, then another collection
//! ```
//!
//! The engine does not know about storage: the command layer hands a pipeline the
//! [`Collections`] of its snapshot, and these stages ask it for documents by filter, so the
//! planner picks the foreign collection's index for an equality join.
//!
//! An equality join matches foreign documents whose `foreignField` equals any value
//! the input reaches at `localField` (arrays on the way and at the end are looked
//! through; nothing there counts as `null`), as `{foreignField: {$in: values}}` would;
//! regular expressions compare as values, not as patterns. Inputs with the same values
//! share one query, so joining many orders to few customers asks once per customer.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use bson::{Bson, Document, doc};

use super::bind::{Vars, check_user_name};
use super::expr::{self, Expression, Scope};
use super::pipeline::{Pipeline, Stage};
use crate::engine::compare::OrderedBson;
use crate::engine::matcher::Filter;
use crate::engine::types::type_name;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// The collections of the database a pipeline runs in, as of its snapshot.
pub trait Collections {
    /// The documents of `coll` that `filter` matches, in the order the chosen index or
    /// the collection yields them; none when the collection does not exist.
    fn find(&self, coll: &str, filter: &Filter) -> CmdResult<Vec<Document>>;
}

/// For pipelines that cannot read other collections (update pipelines, change streams):
/// their parsers refuse the stages that would ask.
pub struct NoCollections;

impl Collections for NoCollections {
    fn find(&self, coll: &str, _: &Filter) -> CmdResult<Vec<Document>> {
        Err(CommandError::internal(format!(
            "this pipeline cannot read collection '{coll}'"
        )))
    }
}

#[derive(Clone, Debug)]
pub struct Lookup {
    /// `None` when the sub-pipeline makes its own input (`$documents`).
    from: Option<String>,
    as_path: String,
    /// `(localField, foreignField)`.
    join: Option<(String, String)>,
    lets: Vec<(String, Expression)>,
    pipeline: Option<Pipeline>,
}

#[derive(Clone, Debug)]
pub struct UnionWith {
    coll: Option<String>,
    pipeline: Pipeline,
}

fn failed(msg: impl Into<String>) -> CommandError {
    CommandError::failed_to_parse(msg)
}

fn string_arg(name: &str, v: &Bson) -> CmdResult<String> {
    match v {
        Bson::String(s) => Ok(s.clone()),
        other => Err(failed(format!(
            "$lookup argument '{name}: {other}' must be a string, is type {}",
            type_name(other)
        ))),
    }
}

fn sub_pipeline(stage: &str, v: &Bson) -> CmdResult<Pipeline> {
    match v {
        Bson::Array(stages) => Pipeline::parse_sub(stages),
        other => Err(failed(format!(
            "{stage} 'pipeline' must be an array, is type {}",
            type_name(other)
        ))),
    }
}

fn starts_with_documents(p: &Option<Pipeline>) -> bool {
    p.as_ref()
        .is_some_and(|p| matches!(p.stages.first(), Some(Stage::Documents(_))))
}

impl Lookup {
    pub fn parse(arg: &Bson) -> CmdResult<Lookup> {
        let Bson::Document(spec) = arg else {
            return Err(failed("the $lookup stage specification must be an object"));
        };
        let (mut from, mut as_path, mut local, mut foreign) = (None, None, None, None);
        let (mut lets, mut pipeline) = (Vec::new(), None);
        for (name, value) in spec {
            match name.as_str() {
                "from" => {
                    from = Some(match value {
                        Bson::Document(_) => {
                            return Err(failed(
                                "$lookup with syntax {from: {db:<>, coll:<>},..} is not supported by this server",
                            ));
                        }
                        v => string_arg(name, v)?,
                    })
                }
                "as" => as_path = Some(string_arg(name, value)?),
                "localField" => local = Some(string_arg(name, value)?),
                "foreignField" => foreign = Some(string_arg(name, value)?),
                "let" => {
                    let Bson::Document(vars) = value else {
                        return Err(failed(format!(
                            "$lookup argument 'let' must be an object, is type {}",
                            type_name(value)
                        )));
                    };
                    for (var, e) in vars {
                        check_user_name(var)?;
                        lets.push((var.clone(), expr::parse(e)?));
                    }
                }
                "pipeline" => pipeline = Some(sub_pipeline("$lookup", value)?),
                other => return Err(failed(format!("unknown argument to $lookup: {other}"))),
            }
        }
        let Some(as_path) = as_path else {
            return Err(failed("must specify 'as' field for a $lookup"));
        };
        check_path("as", &as_path)?;
        if from.is_none() && !starts_with_documents(&pipeline) {
            return Err(failed("must specify 'from' field for a $lookup"));
        }
        let join = match (local, foreign) {
            (Some(l), Some(f)) => {
                check_path("localField", &l)?;
                check_path("foreignField", &f)?;
                Some((l, f))
            }
            (None, None) if pipeline.is_some() => None,
            (None, None) => {
                return Err(failed(
                    "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified",
                ));
            }
            _ => {
                return Err(failed(
                    "$lookup requires both or neither of 'localField' and 'foreignField' to be specified",
                ));
            }
        };
        Ok(Lookup {
            from,
            as_path,
            join,
            lets,
            pipeline,
        })
    }

    /// The collection it reads, for the command to check.
    pub fn from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// For `explain`: the stage as given, and the filter its equality asks of the
    /// foreign collection (with a stand-in value: the plan depends on the field).
    pub fn explain(&self) -> CmdResult<(Document, Option<Filter>)> {
        let mut d = doc! {"as": &self.as_path};
        if let Some(from) = &self.from {
            d.insert("from", from);
        }
        let mut filter = None;
        if let Some((local, foreign)) = &self.join {
            d.insert("localField", local);
            d.insert("foreignField", foreign);
            filter = Some(join_filter(foreign, vec![Bson::Int32(0)])?);
        }
        Ok((d, filter))
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.lets.iter_mut().for_each(|(_, e)| e.bind(vars));
        if let Some(p) = &mut self.pipeline {
            // The stage's own `let` names hide the command's inside its pipeline; they
            // are bound per input document.
            let mut outer = vars.clone();
            for (name, _) in &self.lets {
                outer.remove(name);
            }
            p.bind(&outer);
        }
    }

    pub fn run(&self, docs: Vec<Document>, source: &dyn Collections) -> CmdResult<Vec<Document>> {
        // Foreign documents by the input values they answer (equality form), or all of
        // them (pipeline form): read once for the whole input.
        let mut by_values: BTreeMap<Vec<OrderedBson>, Vec<Document>> = BTreeMap::new();
        let mut everything: Option<Vec<Document>> = None;
        let mut out = Vec::with_capacity(docs.len());
        for mut d in docs {
            let candidates: &[Document] = match (&self.join, &self.from) {
                (Some((local, foreign)), Some(from)) => {
                    let values = local_values(&d, local);
                    let key: Vec<OrderedBson> = values.iter().cloned().map(OrderedBson).collect();
                    match by_values.entry(key) {
                        Entry::Occupied(known) => known.into_mut(),
                        Entry::Vacant(new) => {
                            new.insert(source.find(from, &join_filter(foreign, values)?)?)
                        }
                    }
                }
                (None, Some(from)) => {
                    if everything.is_none() {
                        everything = Some(source.find(from, &Filter::And(Vec::new()))?);
                    }
                    everything.as_deref().unwrap_or_default()
                }
                (_, None) => &[],
            };
            let joined = match &self.pipeline {
                None => candidates.to_vec(),
                Some(p) => {
                    let mut vars = Vars::new();
                    let mut scope = Scope::new(&d);
                    for (name, e) in &self.lets {
                        if let Some(v) = e.evaluate(&mut scope)? {
                            vars.insert(name.clone(), v);
                        } else {
                            vars.insert(name.clone(), Bson::Null);
                        }
                    }
                    let mut p = p.clone();
                    p.bind(&vars);
                    p.run_over(candidates, source)?
                }
            };
            set_overwriting(
                &mut d,
                &self.as_path,
                Bson::Array(joined.into_iter().map(Bson::Document).collect()),
            );
            out.push(d);
        }
        Ok(out)
    }
}

impl UnionWith {
    pub fn parse(arg: &Bson) -> CmdResult<UnionWith> {
        match arg {
            Bson::String(coll) => Ok(UnionWith {
                coll: Some(coll.clone()),
                pipeline: Pipeline::default(),
            }),
            Bson::Document(spec) => {
                let (mut coll, mut pipeline) = (None, None);
                for (name, value) in spec {
                    match (name.as_str(), value) {
                        ("coll", Bson::String(s)) => coll = Some(s.clone()),
                        ("pipeline", v) => pipeline = Some(sub_pipeline("$unionWith", v)?),
                        ("coll", other) => {
                            return Err(CommandError::type_mismatch(format!(
                                "BSON field '$unionWith.coll' is the wrong type '{}', expected type 'string'",
                                type_name(other)
                            )));
                        }
                        (other, _) => {
                            return Err(CommandError::new(
                                ErrorCode::Location(40415),
                                format!("BSON field '$unionWith.{other}' is an unknown field."),
                            ));
                        }
                    }
                }
                if coll.is_none() && !starts_with_documents(&pipeline) {
                    return Err(CommandError::new(
                        ErrorCode::Location(40414),
                        "BSON field '$unionWith.coll' is missing but a required field",
                    ));
                }
                Ok(UnionWith {
                    coll,
                    pipeline: pipeline.unwrap_or_default(),
                })
            }
            other => Err(failed(format!(
                "the $unionWith stage specification must be an object or string, but found {}",
                type_name(other)
            ))),
        }
    }

    pub fn from(&self) -> Option<&str> {
        self.coll.as_deref()
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.pipeline.bind(vars);
    }

    pub fn run(
        &self,
        mut docs: Vec<Document>,
        source: &dyn Collections,
    ) -> CmdResult<Vec<Document>> {
        let other = match &self.coll {
            Some(coll) => source.find(coll, &Filter::And(Vec::new()))?,
            None => Vec::new(),
        };
        docs.extend(self.pipeline.run_with(other, source)?);
        Ok(docs)
    }
}

pub(super) fn check_path(what: &str, path: &str) -> CmdResult<()> {
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(CommandError::new(
            ErrorCode::Location(40352),
            format!("FieldPath cannot be constructed with empty string ({what})"),
        ));
    }
    if path.starts_with('$') {
        return Err(CommandError::new(
            ErrorCode::Location(16410),
            format!(
                "FieldPath field names may not start with '$'. Consider using $getField or $setField. ({what}: {path})"
            ),
        ));
    }
    crate::depth::check_field_path(path)
}

/// Every value `path` reaches in `doc`, arrays looked through (on the way and at the
/// end); `[null]` when it reaches none.
pub(super) fn local_values(doc: &Document, path: &str) -> Vec<Bson> {
    fn visit(value: &Bson, steps: &[&str], out: &mut Vec<Bson>) {
        crate::depth::guard(|| match (steps.split_first(), value) {
            (None, Bson::Array(items)) => out.extend(items.iter().cloned()),
            (None, v) => out.push(v.clone()),
            (Some((first, rest)), Bson::Document(d)) => {
                if let Some(child) = d.get(*first) {
                    visit(child, rest, out)
                }
            }
            (Some(_), Bson::Array(items)) => items.iter().for_each(|i| {
                if matches!(i, Bson::Document(_)) {
                    visit(i, steps, out)
                }
            }),
            (Some(_), _) => {}
        })
    }
    let steps: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    if let Some(first) = doc.get(steps[0]) {
        visit(first, &steps[1..], &mut out);
    }
    if out.is_empty() {
        out.push(Bson::Null);
    }
    out
}

/// `{foreign: {$eq: v}}` for one value, `{foreign: {$in: values}}` for several; with a
/// regular expression among them, an `$or` of `$eq`s (inside `$in` a regex would match as
/// a pattern).
fn join_filter(foreign: &str, values: Vec<Bson>) -> CmdResult<Filter> {
    let spec = if values.len() == 1 {
        doc! {foreign: {"$eq": values.into_iter().next().expect("one value")}}
    } else if values
        .iter()
        .any(|v| matches!(v, Bson::RegularExpression(_)))
    {
        doc! {"$or": values.into_iter().map(|v| Bson::Document(doc! {foreign: {"$eq": v}})).collect::<Vec<_>>()}
    } else {
        doc! {foreign: {"$in": values}}
    };
    Filter::parse(&spec)
}

/// Sets `path`, replacing whatever is in the way (arrays and scalars included) by
/// documents, as `$lookup`'s `as` does.
pub(super) fn set_overwriting(doc: &mut Document, path: &str, value: Bson) {
    match path.split_once('.') {
        None => {
            doc.insert(path, value);
        }
        Some((first, rest)) => {
            if !matches!(doc.get(first), Some(Bson::Document(_))) {
                doc.insert(first, Document::new());
            }
            if let Some(Bson::Document(child)) = doc.get_mut(first) {
                set_overwriting(child, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::HashMap;

    use super::*;

    /// Collections held in memory, counting the queries asked of them.
    struct Memory {
        colls: HashMap<&'static str, Vec<Document>>,
        asked: Cell<usize>,
    }

    impl Collections for Memory {
        fn find(&self, coll: &str, filter: &Filter) -> CmdResult<Vec<Document>> {
            self.asked.set(self.asked.get() + 1);
            Ok(self
                .colls
                .get(coll)
                .map(|docs| docs.iter().filter(|d| filter.matches(d)).cloned().collect())
                .unwrap_or_default())
        }
    }

    fn shop() -> Memory {
        Memory {
            colls: [(
                "customers",
                vec![
                    doc! {"_id": 1, "name": "Ada", "tier": "gold"},
                    doc! {"_id": 2, "name": "Bob", "tier": "basic"},
                    doc! {"_id": 3, "name": "Cy"},
                ],
            )]
            .into(),
            asked: Cell::new(0),
        }
    }

    fn run(stage: Document, docs: Vec<Document>, source: &Memory) -> CmdResult<Vec<Document>> {
        Pipeline::parse(&[Bson::Document(stage)])?.run_with(docs, source)
    }

    #[test]
    fn equality_join_asks_once_per_distinct_value() {
        let source = shop();
        let orders = vec![
            doc! {"_id": 10, "customer": 1},
            doc! {"_id": 11, "customer": 2.0},
            doc! {"_id": 12, "customer": 1},
            doc! {"_id": 13, "customer": [1, 2]},
            doc! {"_id": 14},
        ];
        let out = run(
            doc! {"$lookup": {"from": "customers", "localField": "customer", "foreignField": "_id", "as": "c"}},
            orders,
            &source,
        )
        .unwrap();
        let names = |d: &Document| {
            d.get_array("c")
                .unwrap()
                .iter()
                .map(|c| {
                    c.as_document()
                        .unwrap()
                        .get_str("name")
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&out[0]), ["Ada"]);
        assert_eq!(names(&out[1]), ["Bob"]);
        assert_eq!(names(&out[3]), ["Ada", "Bob"]);
        // A missing local field joins documents whose foreign field is null or missing.
        assert!(names(&out[4]).is_empty());
        // 1, 2.0, [1, 2] and missing: four queries for five orders.
        assert_eq!(source.asked.get(), 4);
    }

    #[test]
    fn pipeline_form_with_let_and_combined_form() {
        let source = shop();
        let out = run(
            doc! {"$lookup": {"from": "customers", "let": {"want": "$tier"}, "pipeline": [
                {"$match": {"$expr": {"$eq": ["$tier", "$$want"]}}},
                {"$project": {"_id": 0, "name": 1}},
            ], "as": "same"}},
            vec![doc! {"tier": "gold"}, doc! {"tier": "none"}],
            &source,
        )
        .unwrap();
        assert_eq!(
            out[0].get_array("same").unwrap(),
            &vec![Bson::Document(doc! {"name": "Ada"})]
        );
        assert!(out[1].get_array("same").unwrap().is_empty());
        let out = run(
            doc! {"$lookup": {"from": "customers", "localField": "c", "foreignField": "_id",
            "pipeline": [{"$project": {"_id": 0, "name": 1}}], "as": "x.y"}},
            vec![doc! {"c": 3, "x": 5}],
            &source,
        )
        .unwrap();
        assert_eq!(out[0], doc! {"c": 3, "x": {"y": [{"name": "Cy"}]}});
    }

    #[test]
    fn union_with_appends_another_collection_through_its_pipeline() {
        let source = shop();
        let out = run(
            doc! {"$unionWith": {"coll": "customers", "pipeline": [{"$match": {"tier": "gold"}}]}},
            vec![doc! {"_id": "mine"}],
            &source,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                doc! {"_id": "mine"},
                doc! {"_id": 1, "name": "Ada", "tier": "gold"}
            ]
        );
    }

    #[test]
    fn bad_specifications_name_the_problem() {
        let source = shop();
        for (spec, code) in [
            (doc! {"$lookup": {"from": "c", "as": "x"}}, 9),
            (
                doc! {"$lookup": {"from": "c", "localField": "a", "as": "x"}},
                9,
            ),
            (
                doc! {"$lookup": {"from": "c", "localField": "a", "foreignField": "b"}},
                9,
            ),
            (
                doc! {"$lookup": {"from": "c", "localField": "a", "foreignField": "b", "as": "x", "bogus": 1}},
                9,
            ),
            (
                doc! {"$lookup": {"from": 1, "localField": "a", "foreignField": "b", "as": "x"}},
                9,
            ),
            (
                doc! {"$lookup": {"from": "c", "let": {"Bad": 1}, "pipeline": [], "as": "x"}},
                16867,
            ),
            (doc! {"$unionWith": {"pipeline": []}}, 40414),
            (doc! {"$unionWith": {"coll": "c", "extra": 1}}, 40415),
        ] {
            let err = run(spec.clone(), vec![], &source).unwrap_err();
            assert_eq!(err.code.code(), code, "{spec}: {}", err.message);
        }
    }
}
