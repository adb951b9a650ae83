//! Aggregation pipelines: stages parsed once, then run over the documents of a
//! collection.
//!
//! Stages run one after another over an in-memory list. The `aggregate` command hands a
//! leading `$match` (and `$sort`) to the planner so that indexes narrow the input before
//! the pipeline sees it; what remains runs here.

use bson::{Bson, Document, doc};

use super::accumulate::{AccumulatorKind, AccumulatorSpec};
use super::bind::Vars;
use super::bucket::{Bucket, BucketAuto};
use super::densify::Densify;
use super::expr::{self, Expression, Scope};
use super::fill::Fill;
use super::geo_near::GeoNear;
use super::graph::GraphLookup;
use super::grouping::{Group, parse_group, run_group};
use super::join::{Collections, Lookup, NoCollections, UnionWith};
use super::metadata;
use super::output::{Merge, Target, parse_out};
use super::reshape::{Unwind, at_path, parse_unwind, redact, run_unwind};
use super::window::SetWindowFields;
use crate::engine::matcher::Filter;
use crate::engine::projection::Projection;
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// One parsed stage.
#[derive(Clone, Debug)]
pub enum Stage {
    Match(Filter),
    Sort(SortSpec),
    Skip(u64),
    Limit(u64),
    Project(Projection),
    AddFields(Vec<(String, Expression)>),
    Unset(Vec<String>),
    Group(Group),
    Count(String),
    Unwind(Unwind),
    ReplaceRoot(Expression),
    Lookup(Box<Lookup>),
    GraphLookup(Box<GraphLookup>),
    UnionWith(Box<UnionWith>),
    /// Named sub-pipelines over the same input, gathered into one document.
    Facet(Vec<(String, Pipeline)>),
    Bucket(Box<Bucket>),
    BucketAuto(Box<BucketAuto>),
    /// `$sample`: so many documents chosen at random.
    Sample(u64),
    /// `$documents`: the input is these documents (an expression evaluated once).
    Documents(Expression),
    /// `$redact`: each level of each document kept, pruned or descended into.
    Redact(Expression),
    SetWindowFields(Box<SetWindowFields>),
    Fill(Box<Fill>),
    Densify(Box<Densify>),
    /// `$collStats` and `$indexStats`, always first: the command makes their documents
    /// from the catalog and the storage, and the stages after them run over those.
    CollStats(Document),
    IndexStats,
    /// `$geoNear`, always first: the command runs it as a query through a geo index.
    GeoNear(Box<GeoNear>),
    /// `$currentOp`'s options (`idleCursors`, ...): read by the aggregate command.
    CurrentOp(Document),
    ListLocalSessions,
    /// `$out` and `$merge`, always last: the command writes what the stages before
    /// them produce.
    Out(Box<Target>),
    Merge(Box<Merge>),
}

/// `$count`'s output field, checked as mongod checks it, in its order. A NUL would make
/// a field name no document can hold (found by the `aggregate` fuzzer).
fn parse_count_field(arg: &Bson) -> CmdResult<String> {
    let Bson::String(s) = arg else {
        return Err(stage_error(
            40156,
            "the count field must be a non-empty string",
        ));
    };
    let refusal = match s {
        _ if s.is_empty() => Some((40157, "the count field must be a non-empty string")),
        _ if s.starts_with('$') => Some((40158, "the count field cannot be a $-prefixed path")),
        _ if s.contains('\0') => Some((40159, "the count field cannot contain a null byte")),
        _ if s.contains('.') => Some((40160, "the count field cannot contain '.'")),
        _ if s == "_id" => Some((9039800, "the count field cannot be '_id'")),
        _ => None,
    };
    match refusal {
        Some((code, message)) => Err(stage_error(code, message)),
        None => Ok(s.clone()),
    }
}

/// An error with one of mongod's numbered locations, as the stages report them.
pub(super) fn stage_error(code: i32, msg: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::Location(code), msg)
}

/// A parsed pipeline.
#[derive(Clone, Debug, Default)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
}

impl Pipeline {
    /// Parses a command's pipeline.
    pub fn parse(stages: &[Bson]) -> CmdResult<Pipeline> {
        Self::parse_in(stages, Nesting::Top)
    }

    /// Parses the pipeline of a `$lookup` or `$unionWith`.
    pub fn parse_sub(stages: &[Bson]) -> CmdResult<Pipeline> {
        Self::parse_in(stages, Nesting::Sub)
    }

    fn parse_in(stages: &[Bson], nesting: Nesting) -> CmdResult<Pipeline> {
        crate::depth::check_pipeline_length(stages.len())?;
        let mut out = Vec::with_capacity(stages.len());
        for (i, stage) in stages.iter().enumerate() {
            let Bson::Document(d) = stage else {
                return Err(CommandError::type_mismatch(
                    "Each element of the 'pipeline' array must be an object",
                ));
            };
            if d.len() != 1 {
                return Err(stage_error(
                    40323,
                    "A pipeline stage specification object must contain exactly one field.",
                ));
            }
            let (name, arg) = d.iter().next().expect("one field");
            if nesting == Nesting::Facet
                && matches!(name.as_str(), "$facet" | "$out" | "$merge" | "$documents")
            {
                return Err(stage_error(
                    40600,
                    format!("{name} is not allowed to be used within a $facet stage"),
                ));
            }
            if matches!(
                name.as_str(),
                "$collStats" | "$indexStats" | "$currentOp" | "$listLocalSessions" | "$geoNear"
            ) && i != 0
            {
                return Err(stage_error(
                    40602,
                    format!("{name} is only valid as the first stage in a pipeline"),
                ));
            }
            if matches!(name.as_str(), "$out" | "$merge") {
                if nesting == Nesting::Sub {
                    return Err(stage_error(
                        51047,
                        format!(
                            "{name} is not allowed within a $lookup's or $unionWith's sub-pipeline"
                        ),
                    ));
                }
                if i + 1 != stages.len() {
                    return Err(stage_error(
                        40601,
                        format!("{name} can only be the final stage in the pipeline"),
                    ));
                }
            }
            let parsed = parse_stage(name, arg)?;
            // `$text` needs the collection's text index: only the first stage reads it.
            if i != 0
                && parsed
                    .iter()
                    .any(|s| matches!(s, Stage::Match(f) if f.text().is_some()))
            {
                return Err(stage_error(
                    17313,
                    "$match with $text is only allowed as the first pipeline stage",
                ));
            }
            out.extend(parsed);
        }
        Ok(Pipeline { stages: out })
    }

    /// Runs every stage over `docs`, for a pipeline that reads no other collection.
    pub fn run(&self, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        self.run_with(docs, &NoCollections)
    }

    /// Runs every stage over `docs`; `$lookup` and `$unionWith` read `source`. What a
    /// stage computes may nest deeper than its input: its documents are held to the depth
    /// mongod can return (a `$project` checks its own).
    pub fn run_with(
        &self,
        docs: Vec<Document>,
        source: &dyn Collections,
    ) -> CmdResult<Vec<Document>> {
        let mut out = self.stages.iter().try_fold(docs, |docs, stage| {
            let out = run_stage(stage, docs, source)?;
            if matches!(
                stage,
                Stage::AddFields(_)
                    | Stage::Group(_)
                    | Stage::ReplaceRoot(_)
                    | Stage::Lookup(_)
                    | Stage::GraphLookup(_)
                    | Stage::Facet(_)
                    | Stage::Bucket(_)
                    | Stage::BucketAuto(_)
                    | Stage::SetWindowFields(_)
                    | Stage::Fill(_)
                    | Stage::Densify(_)
            ) {
                out.iter().try_for_each(crate::depth::check_output)?;
            }
            CmdResult::Ok(out)
        })?;
        out.iter_mut().for_each(metadata::strip);
        Ok(out)
    }

    /// Runs over borrowed documents: the leading `$match` stages choose before anything
    /// is copied (a `$lookup` runs its pipeline over the same foreign documents for every
    /// input document).
    pub fn run_over(
        &self,
        docs: &[Document],
        source: &dyn Collections,
    ) -> CmdResult<Vec<Document>> {
        let leading = self
            .stages
            .iter()
            .take_while(|s| matches!(s, Stage::Match(_)))
            .count();
        let mut chosen = Vec::new();
        'docs: for d in docs {
            for stage in &self.stages[..leading] {
                if let Stage::Match(f) = stage
                    && !f.matches_checked(d)?
                {
                    continue 'docs;
                }
            }
            chosen.push(d.clone());
        }
        let rest = Pipeline {
            stages: self.stages[leading..].to_vec(),
        };
        rest.run_with(chosen, source)
    }

    /// Writes the values of `vars` where the stages read them (see [`super::bind`]).
    pub fn bind(&mut self, vars: &Vars) {
        if vars.is_empty() {
            return;
        }
        for stage in &mut self.stages {
            match stage {
                Stage::Match(f) => f.bind(vars),
                Stage::Project(p) => p.bind(vars),
                Stage::AddFields(fields) => fields.iter_mut().for_each(|(_, e)| e.bind(vars)),
                Stage::Group(g) => {
                    g.id.bind(vars);
                    g.fields.iter_mut().for_each(|(_, spec)| spec.bind(vars));
                }
                Stage::ReplaceRoot(e) | Stage::Documents(e) | Stage::Redact(e) => e.bind(vars),
                Stage::Lookup(l) => l.bind(vars),
                Stage::GraphLookup(g) => g.bind(vars),
                Stage::UnionWith(u) => u.bind(vars),
                Stage::Facet(facets) => facets.iter_mut().for_each(|(_, p)| p.bind(vars)),
                Stage::Bucket(b) => b.bind(vars),
                Stage::BucketAuto(b) => b.bind(vars),
                Stage::SetWindowFields(w) => w.bind(vars),
                Stage::Fill(f) => f.bind(vars),
                Stage::Merge(m) => m.bind(vars),
                Stage::Out(_) | Stage::Densify(_) => {}
                Stage::Sort(_)
                | Stage::Skip(_)
                | Stage::Limit(_)
                | Stage::Unset(_)
                | Stage::Count(_)
                | Stage::Unwind(_)
                | Stage::Sample(_)
                | Stage::CollStats(_)
                | Stage::IndexStats
                | Stage::GeoNear(_)
                | Stage::CurrentOp(_)
                | Stage::ListLocalSessions => {}
            }
        }
    }

    /// The collections its stages read besides the input (for the command to check
    /// their names).
    pub fn foreign_collections(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for stage in &self.stages {
            match stage {
                Stage::Lookup(l) => out.extend(l.from()),
                Stage::GraphLookup(g) => out.push(g.from()),
                Stage::UnionWith(u) => out.extend(u.from()),
                Stage::Facet(facets) => facets
                    .iter()
                    .for_each(|(_, p)| out.extend(p.foreign_collections())),
                _ => {}
            }
        }
        out
    }
}

/// Where a pipeline is parsed: some stages are refused inside others.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nesting {
    Top,
    Sub,
    Facet,
}

fn as_document<'a>(stage: &str, arg: &'a Bson) -> CmdResult<&'a Document> {
    match arg {
        Bson::Document(d) => Ok(d),
        _ => Err(stage_error(
            15955,
            format!("the {stage} stage specification must be an object"),
        )),
    }
}

fn non_negative(stage: &str, arg: &Bson) -> CmdResult<u64> {
    match crate::engine::arith::to_i64_exact(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(stage_error(
            15956,
            format!(
                "invalid argument to {stage} stage: Expected a non-negative number in: {stage}: {arg}"
            ),
        )),
    }
}

fn parse_stage(name: &str, arg: &Bson) -> CmdResult<Vec<Stage>> {
    Ok(vec![match name {
        "$match" => {
            let filter = Filter::parse(as_document(name, arg)?)?;
            if crate::planner::has_near(&filter) {
                return Err(stage_error(
                    5626500,
                    "$geoNear, $near, and $nearSphere are not allowed in this context, as these operators require sorting geospatial data. If you do not need sort, consider using $geoWithin instead.",
                ));
            }
            Stage::Match(filter)
        }
        "$sort" => {
            // `{score: {$meta: "textScore"}}` sorts by the score a `$text` match attached.
            let spec = SortSpec::parse_find(as_document(name, arg)?)?;
            if spec.is_empty() {
                return Err(stage_error(15976, "$sort stage must have at least one sort key"));
            }
            Stage::Sort(spec)
        }
        "$skip" => Stage::Skip(non_negative(name, arg)?),
        "$limit" => match non_negative(name, arg)? {
            0 => return Err(stage_error(15958, "the limit must be positive")),
            n => Stage::Limit(n),
        },
        "$project" => match Projection::parse_for_pipeline(as_document(name, arg)?)? {
            Some(p) => Stage::Project(p),
            None => return Err(stage_error(51272, "$project requires at least one output field")),
        },
        "$addFields" | "$set" => {
            let mut flat = Vec::new();
            // `$addFields: {a: {b: 1}}` adds `a.b`, as `{"a.b": 1}` does.
            crate::engine::projection::flatten_spec("", as_document(name, arg)?, &mut flat);
            let fields = flat
                .into_iter()
                .map(|(path, v)| {
                    crate::depth::check_field_path(&path)?;
                    Ok((path, expr::parse(v)?))
                })
                .collect::<CmdResult<Vec<_>>>()?;
            Stage::AddFields(fields)
        }
        "$unset" => Stage::Unset(match arg {
            Bson::String(s) => vec![s.clone()],
            Bson::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or_else(|| stage_error(31120, "$unset specification must be a string or an array containing only string values")))
                .collect::<CmdResult<_>>()?,
            _ => return Err(stage_error(31002, "$unset specification must be a string or an array")),
        }),
        "$group" => Stage::Group(parse_group(as_document(name, arg)?)?),
        "$count" => Stage::Count(parse_count_field(arg)?),
        "$unwind" => Stage::Unwind(parse_unwind(arg)?),
        "$replaceRoot" => {
            let spec = as_document(name, arg)?;
            match spec.get("newRoot") {
                Some(root) if spec.len() == 1 => Stage::ReplaceRoot(expr::parse(root)?),
                _ => return Err(stage_error(40231, "no newRoot specified for the $replaceRoot stage")),
            }
        }
        "$replaceWith" => Stage::ReplaceRoot(expr::parse(arg)?),
        "$sortByCount" => {
            let group = Group { id: expr::parse(arg)?, fields: vec![("count".into(), AccumulatorSpec::simple(AccumulatorKind::Sum, Expression::Literal(Bson::Int32(1))))] };
            return Ok(vec![Stage::Group(group), Stage::Sort(SortSpec { fields: vec![("count".into(), true)] })]);
        }
        "$lookup" => Stage::Lookup(Box::new(Lookup::parse(arg)?)),
        "$graphLookup" => Stage::GraphLookup(Box::new(GraphLookup::parse(arg)?)),
        "$unionWith" => Stage::UnionWith(Box::new(UnionWith::parse(arg)?)),
        "$facet" => Stage::Facet(parse_facet(arg)?),
        "$bucket" => Stage::Bucket(Box::new(Bucket::parse(arg)?)),
        "$bucketAuto" => Stage::BucketAuto(Box::new(BucketAuto::parse(arg)?)),
        "$sample" => Stage::Sample(parse_sample(arg)?),
        "$documents" => Stage::Documents(expr::parse(arg)?),
        "$redact" => Stage::Redact(expr::parse(arg)?),
        "$setWindowFields" => Stage::SetWindowFields(Box::new(SetWindowFields::parse(arg)?)),
        "$fill" => Stage::Fill(Box::new(Fill::parse(arg)?)),
        "$collStats" => Stage::CollStats(parse_coll_stats(arg)?),
        "$currentOp" => Stage::CurrentOp(parse_current_op(arg)?),
        "$listLocalSessions" => match arg {
            Bson::Document(d) if d.keys().all(|k| matches!(k.as_str(), "allUsers" | "users")) => {
                Stage::ListLocalSessions
            }
            _ => {
                return Err(stage_error(
                    40415,
                    "$listLocalSessions takes {}, {allUsers: true} or {users: [...]}",
                ));
            }
        },
        "$indexStats" => match arg {
            Bson::Document(d) if d.is_empty() => Stage::IndexStats,
            _ => return Err(stage_error(28803, "The $indexStats stage specification must be an empty object")),
        },
        "$out" => Stage::Out(Box::new(parse_out(arg)?)),
        "$merge" => Stage::Merge(Box::new(Merge::parse(arg)?)),
        "$densify" => Stage::Densify(Box::new(Densify::parse(arg)?)),
        "$geoNear" => Stage::GeoNear(Box::new(GeoNear::parse(arg)?)),
        other => {
            return Err(CommandError::new(ErrorCode::Location(40324), format!("Unrecognized pipeline stage name: '{other}'")));
        }
    }])
}

fn parse_facet(arg: &Bson) -> CmdResult<Vec<(String, Pipeline)>> {
    let spec = match arg {
        Bson::Document(d) if !d.is_empty() => d,
        other => {
            return Err(stage_error(
                40169,
                format!(
                    "the $facet specification must be a non-empty object, but found: $facet: {other}"
                ),
            ));
        }
    };
    let mut facets = Vec::with_capacity(spec.len());
    for (name, value) in spec {
        crate::depth::check_field_path(name)?;
        if name.starts_with('$') || name.contains('.') {
            return Err(stage_error(
                40352,
                format!(
                    "$facet pipeline names must follow the naming rules of field path expressions: '{name}'"
                ),
            ));
        }
        let Bson::Array(stages) = value else {
            return Err(stage_error(
                40170,
                format!(
                    "arguments to $facet must be arrays, {name} is type {}",
                    crate::engine::types::type_name(value)
                ),
            ));
        };
        if let Some(bad) = stages
            .iter()
            .find(|s| !matches!(s, Bson::Document(d) if !d.is_empty()))
        {
            return Err(stage_error(
                40171,
                format!(
                    "elements of arrays in $facet spec must be non-empty objects, {name} argument contained an element of type {}: {bad}",
                    crate::engine::types::type_name(bad)
                ),
            ));
        }
        facets.push((name.clone(), Pipeline::parse_in(stages, Nesting::Facet)?));
    }
    Ok(facets)
}

/// `$collStats: {latencyStats?, storageStats?, count?, queryExecStats?}`.
fn parse_coll_stats(arg: &Bson) -> CmdResult<Document> {
    let Bson::Document(spec) = arg else {
        return Err(stage_error(
            5447000,
            format!("$collStats must take a nested object but found: $collStats: {arg}"),
        ));
    };
    if let Some(other) = spec.keys().find(|k| {
        !matches!(
            k.as_str(),
            "latencyStats" | "storageStats" | "count" | "queryExecStats"
        )
    }) {
        return Err(stage_error(
            40415,
            format!("BSON field '$collStats.{other}' is an unknown field."),
        ));
    }
    if let Some((k, v)) = spec.iter().find(|(_, v)| !matches!(v, Bson::Document(_))) {
        return Err(CommandError::type_mismatch(format!(
            "BSON field '$collStats.{k}' is the wrong type '{}', expected type 'object'",
            crate::engine::types::type_name(v)
        )));
    }
    Ok(spec.clone())
}

fn parse_sample(arg: &Bson) -> CmdResult<u64> {
    let Bson::Document(spec) = arg else {
        return Err(stage_error(
            28745,
            "the $sample stage specification must be an object",
        ));
    };
    let mut size = None;
    for (name, value) in spec {
        match name.as_str() {
            "size" => match crate::engine::arith::to_i64_exact(value) {
                Some(n) if n >= 0 => size = Some(n as u64),
                Some(_) => {
                    return Err(stage_error(
                        28747,
                        "size argument to $sample must not be negative",
                    ));
                }
                None => {
                    return Err(stage_error(
                        28746,
                        "size argument to $sample must be a number",
                    ));
                }
            },
            other => {
                return Err(stage_error(
                    28748,
                    format!("unrecognized option to $sample: {other}"),
                ));
            }
        }
    }
    size.ok_or_else(|| stage_error(28749, "$sample stage must specify a size"))
}

fn run_stage(
    stage: &Stage,
    docs: Vec<Document>,
    source: &dyn Collections,
) -> CmdResult<Vec<Document>> {
    Ok(match stage {
        Stage::Lookup(l) => l.run(docs, source)?,
        Stage::GraphLookup(g) => g.run(docs, source)?,
        Stage::UnionWith(u) => u.run(docs, source)?,
        Stage::Facet(facets) => {
            let mut out = Document::new();
            for (name, p) in facets {
                let results = p.run_over(&docs, source)?;
                out.insert(
                    name.clone(),
                    Bson::Array(results.into_iter().map(Bson::Document).collect()),
                );
            }
            vec![out]
        }
        Stage::Redact(e) => {
            let mut out = Vec::with_capacity(docs.len());
            for d in docs {
                out.extend(redact(e, d)?);
            }
            out
        }
        Stage::Bucket(b) => b.run(docs)?,
        Stage::BucketAuto(b) => b.run(docs)?,
        Stage::SetWindowFields(w) => w.run(docs)?,
        Stage::Fill(f) => f.run(docs)?,
        Stage::Densify(d) => d.run(docs)?,
        Stage::Out(_)
        | Stage::Merge(_)
        | Stage::CollStats(_)
        | Stage::IndexStats
        | Stage::CurrentOp(_)
        | Stage::ListLocalSessions => {
            return Err(CommandError::internal(
                "$out, $merge, $collStats, $indexStats, $currentOp and $listLocalSessions are the aggregate command's, not run as stages",
            ));
        }
        Stage::GeoNear(_) => {
            return Err(stage_error(
                40602,
                "$geoNear is only valid as the first stage of a pipeline on a collection",
            ));
        }
        Stage::Sample(n) => {
            use rand::seq::SliceRandom;
            let mut docs = docs;
            docs.shuffle(&mut rand::rng());
            docs.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
            docs
        }
        Stage::Documents(e) => match e.evaluate(&mut Scope::new(&Document::new()))? {
            Some(Bson::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Bson::Document(d) => Ok(d),
                    other => Err(stage_error(
                        40228,
                        format!("$documents must evaluate to an array of objects, found: {other}"),
                    )),
                })
                .collect::<CmdResult<_>>()?,
            other => {
                return Err(stage_error(
                    5858203,
                    format!(
                        "error during $documents evaluation: an array is expected, found: {}",
                        other.map_or_else(|| "missing".to_string(), |v| v.to_string())
                    ),
                ));
            }
        },
        Stage::Match(filter) => {
            let mut out = Vec::with_capacity(docs.len());
            for d in docs {
                if filter.matches_checked(&d)? {
                    out.push(d);
                }
            }
            out
        }
        Stage::Sort(spec) => {
            let mut docs = docs;
            spec.sort_scored(&mut docs, &metadata::text_score);
            docs
        }
        Stage::Skip(n) => docs.into_iter().skip(*n as usize).collect(),
        Stage::Limit(n) => docs.into_iter().take(*n as usize).collect(),
        Stage::Project(p) => docs
            .iter()
            .map(|d| {
                let mut out = p.apply(d)?;
                metadata::carry(d, &mut out);
                Ok(out)
            })
            .collect::<CmdResult<_>>()?,
        Stage::AddFields(fields) => {
            let mut out = Vec::with_capacity(docs.len());
            for d in docs {
                // Every expression sees the document as it came in.
                let mut values = Vec::with_capacity(fields.len());
                {
                    let mut scope = Scope::new(&d);
                    for (name, e) in fields {
                        values.push((name, e.evaluate(&mut scope)?));
                    }
                }
                let mut d = d;
                for (name, v) in values {
                    let steps: Vec<&str> = name.split('.').collect();
                    match v {
                        Some(v) => at_path(&mut d, &steps, true, &mut |parent, last| {
                            parent.insert(last, v.clone());
                        }),
                        None => at_path(&mut d, &steps, false, &mut |parent, last| {
                            parent.remove(last);
                        }),
                    }
                }
                out.push(d);
            }
            out
        }
        Stage::Unset(paths) => docs
            .into_iter()
            .map(|mut d| {
                for p in paths {
                    let steps: Vec<&str> = p.split('.').collect();
                    at_path(&mut d, &steps, false, &mut |parent, last| {
                        parent.remove(last);
                    });
                }
                d
            })
            .collect(),
        Stage::Group(group) => run_group(group, docs)?,
        Stage::Count(name) => match docs.len() {
            0 => Vec::new(),
            n => vec![
                doc! {name.clone(): i32::try_from(n).map(Bson::Int32).unwrap_or(Bson::Int64(n as i64))},
            ],
        },
        Stage::Unwind(u) => run_unwind(u, docs),
        Stage::ReplaceRoot(e) => {
            let mut out = Vec::with_capacity(docs.len());
            for d in &docs {
                match e.evaluate(&mut Scope::new(d))? {
                    Some(Bson::Document(new_root)) => out.push(new_root),
                    other => {
                        return Err(stage_error(
                            40228,
                            format!(
                                "'replacement document' must evaluate to an object, but resulting value was: {}",
                                other
                                    .map(|v| v.to_string())
                                    .unwrap_or_else(|| "MISSING".into())
                            ),
                        ));
                    }
                }
            }
            out
        }
    })
}

/// `$currentOp`'s options: every one mongod takes is accepted (this server has no users
/// to filter by, and one node: `localOps` changes nothing); `idleCursors` adds the open
/// cursors.
fn parse_current_op(arg: &Bson) -> CmdResult<Document> {
    let Bson::Document(d) = arg else {
        return Err(CommandError::failed_to_parse(format!(
            "$currentOp options must be specified in an object, but found: {arg}"
        )));
    };
    for (k, v) in d {
        match k.as_str() {
            "allUsers" | "idleConnections" | "idleCursors" | "idleSessions" | "localOps"
            | "backtrace" | "truncateOps" | "targetAllNodes" => {
                if !matches!(v, Bson::Boolean(_)) {
                    return Err(CommandError::failed_to_parse(format!(
                        "The '{k}' parameter of the $currentOp stage must be a boolean value, but found: {v}"
                    )));
                }
            }
            other => {
                return Err(CommandError::failed_to_parse(format!(
                    "Unrecognized option '{other}' in $currentOp stage."
                )));
            }
        }
    }
    Ok(d.clone())
}

#[cfg(test)]
mod tests;
