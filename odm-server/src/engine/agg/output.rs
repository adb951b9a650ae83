//! The stages that write a pipeline's results into a collection: `$out` and `$merge`,
//! parsed and checked here; the `aggregate` command does the writing.
//!
//! ```text
//! {$out: "coll"} | {$out: {db, coll}}
//! {$merge: "coll"} | {$merge: {into: "coll" | {db, coll}, on?: field | [fields],
//!           let?: {...}, whenMatched?: "replace" | "keepExisting" | "merge" | "fail" | [stages],
//!           whenNotMatched?: "insert" | "discard" | "fail"}}
//! ```
//!
//! Either must be the last stage. `$out` replaces the target's documents with the
//! results (its indexes stay); `$merge` matches each result to a target document by the
//! `on` fields (`_id` by default; other fields need a unique index on exactly them).

use bson::{Bson, Document, doc};

use super::bind::{Vars, check_user_name};
use super::expr::{self, Expression, Scope};
use super::pipeline::{Pipeline, Stage};
use crate::engine::types::type_name;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// Where results go: a collection, in the command's database unless `db` names another.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub db: Option<String>,
    pub coll: String,
}

#[derive(Clone, Debug)]
pub enum WhenMatched {
    Replace,
    KeepExisting,
    Merge,
    Fail,
    /// An update pipeline over the target document; `$$new` is the result.
    Pipeline(Pipeline),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenNotMatched {
    Insert,
    Discard,
    Fail,
}

#[derive(Clone, Debug)]
pub struct Merge {
    pub into: Target,
    pub on: Vec<String>,
    pub when_matched: WhenMatched,
    pub when_not_matched: WhenNotMatched,
    lets: Vec<(String, Expression)>,
}

fn unknown_field(stage: &str, name: &str) -> CommandError {
    CommandError::new(
        ErrorCode::Location(40415),
        format!("BSON field '{stage}.{name}' is an unknown field."),
    )
}

fn wrong_type(field: &str, v: &Bson, expected: &str) -> CommandError {
    CommandError::type_mismatch(format!(
        "BSON field '{field}' is the wrong type '{}', expected type '{expected}'",
        type_name(v)
    ))
}

/// `"coll"` or `{db, coll}`.
fn parse_target(stage: &str, field: &str, v: &Bson) -> CmdResult<Target> {
    match v {
        Bson::String(coll) => Ok(Target {
            db: None,
            coll: coll.clone(),
        }),
        Bson::Document(d) => {
            let (mut db, mut coll) = (None, None);
            for (name, value) in d {
                match (name.as_str(), value) {
                    ("db", Bson::String(s)) => db = Some(s.clone()),
                    ("coll", Bson::String(s)) => coll = Some(s.clone()),
                    ("db" | "coll", other) => {
                        return Err(wrong_type(&format!("{field}.{name}"), other, "string"));
                    }
                    ("timeseries", _) => {
                        return Err(CommandError::bad_value(format!(
                            "{stage} into a time-series collection is not supported by this server yet"
                        )));
                    }
                    (other, _) => return Err(unknown_field(field, other)),
                }
            }
            match coll {
                Some(coll) => Ok(Target { db, coll }),
                None => Err(CommandError::new(
                    ErrorCode::Location(40414),
                    format!("BSON field '{field}.coll' is missing but a required field"),
                )),
            }
        }
        other => Err(CommandError::new(
            ErrorCode::Location(if stage == "$out" { 16990 } else { 51178 }),
            format!(
                "{stage} only supports a string or object argument, not {}",
                type_name(other)
            ),
        )),
    }
}

pub fn parse_out(arg: &Bson) -> CmdResult<Target> {
    parse_target("$out", "$out", arg)
}

impl Merge {
    pub fn parse(arg: &Bson) -> CmdResult<Merge> {
        let spec = match arg {
            Bson::String(_) => doc! {"into": arg.clone()},
            Bson::Document(d) => d.clone(),
            other => {
                return Err(CommandError::new(
                    ErrorCode::Location(51182),
                    format!(
                        "$merge only supports a string or object argument, not {}",
                        type_name(other)
                    ),
                ));
            }
        };
        let (mut into, mut on, mut lets) = (None, None, None);
        let (mut when_matched, mut when_not_matched) = (WhenMatched::Merge, WhenNotMatched::Insert);
        for (name, value) in &spec {
            match name.as_str() {
                "into" => into = Some(parse_target("$merge", "$merge.into", value)?),
                "on" => on = Some(parse_on(value)?),
                "let" => {
                    let Bson::Document(vars) = value else {
                        return Err(wrong_type("$merge.let", value, "object"));
                    };
                    let mut parsed = Vec::new();
                    for (var, e) in vars {
                        check_user_name(var)?;
                        parsed.push((var.clone(), expr::parse(e)?));
                    }
                    lets = Some(parsed);
                }
                "whenMatched" => {
                    when_matched = match value {
                        Bson::String(s) => match s.as_str() {
                            "replace" => WhenMatched::Replace,
                            "keepExisting" => WhenMatched::KeepExisting,
                            "merge" => WhenMatched::Merge,
                            "fail" => WhenMatched::Fail,
                            other => return Err(bad_enum("whenMatched", other)),
                        },
                        Bson::Array(stages) => {
                            WhenMatched::Pipeline(parse_update_pipeline(stages)?)
                        }
                        other => return Err(wrong_type("$merge.whenMatched", other, "string")),
                    }
                }
                "whenNotMatched" => {
                    when_not_matched = match value {
                        Bson::String(s) => match s.as_str() {
                            "insert" => WhenNotMatched::Insert,
                            "discard" => WhenNotMatched::Discard,
                            "fail" => WhenNotMatched::Fail,
                            other => return Err(bad_enum("whenNotMatched", other)),
                        },
                        other => return Err(wrong_type("$merge.whenNotMatched", other, "string")),
                    }
                }
                other => return Err(unknown_field("$merge", other)),
            }
        }
        let Some(into) = into else {
            return Err(CommandError::new(
                ErrorCode::Location(40414),
                "BSON field '$merge.into' is missing but a required field",
            ));
        };
        if lets.is_some() && !matches!(when_matched, WhenMatched::Pipeline(_)) {
            return Err(CommandError::new(
                ErrorCode::Location(51199),
                "Cannot use 'let' variables with a 'whenMatched' mode other than a pipeline",
            ));
        }
        Ok(Merge {
            into,
            on: on.unwrap_or_else(|| vec!["_id".to_string()]),
            when_matched,
            when_not_matched,
            lets: lets.unwrap_or_default(),
        })
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.lets.iter_mut().for_each(|(_, e)| e.bind(vars));
        if let WhenMatched::Pipeline(p) = &mut self.when_matched {
            let mut outer = vars.clone();
            for (name, _) in &self.lets {
                outer.remove(name);
            }
            outer.remove("new");
            p.bind(&outer);
        }
    }

    /// The values of the `on` fields of a result, which must all be present, not null
    /// and not arrays.
    pub fn on_values(&self, doc: &Document) -> CmdResult<Vec<(String, Bson)>> {
        self.on
            .iter()
            .map(|field| match crate::engine::path::get_path(doc, field) {
                Some(v) if !matches!(v, Bson::Null | Bson::Undefined | Bson::Array(_)) => {
                    Ok((field.clone(), v.clone()))
                }
                _ => Err(CommandError::new(
                    ErrorCode::Location(51132),
                    format!(
                        "$merge write error: 'on' field '{field}' cannot be missing, null, undefined or an array"
                    ),
                )),
            })
            .collect()
    }

    /// The target document after a matched result, by `whenMatched` (not `fail` or
    /// `keepExisting`, which the command handles).
    pub fn merged(&self, target: &Document, result: &Document) -> CmdResult<Document> {
        match &self.when_matched {
            WhenMatched::Replace => {
                let mut out = result.clone();
                if let Some(id) = target.get("_id") {
                    keep_id(&mut out, id)?;
                }
                Ok(out)
            }
            WhenMatched::Merge => {
                let mut out = target.clone();
                for (k, v) in result {
                    if k == "_id" {
                        keep_id(&mut out, v)?;
                    } else {
                        out.insert(k.clone(), v.clone());
                    }
                }
                Ok(out)
            }
            WhenMatched::Pipeline(p) => {
                let mut vars = Vars::new();
                let mut scope = Scope::new(result);
                for (name, e) in &self.lets {
                    vars.insert(name.clone(), e.evaluate(&mut scope)?.unwrap_or(Bson::Null));
                }
                if self.lets.is_empty() {
                    vars.insert("new".into(), Bson::Document(result.clone()));
                }
                let mut p = p.clone();
                p.bind(&vars);
                let mut out = p.run(vec![target.clone()])?;
                let mut updated = out.pop().unwrap_or_default();
                if let Some(id) = target.get("_id") {
                    keep_id(&mut updated, id)?;
                }
                Ok(updated)
            }
            WhenMatched::KeepExisting | WhenMatched::Fail => Ok(target.clone()),
        }
    }
}

/// `_id` cannot change: a result whose `_id` differs from the target's is refused; one
/// without `_id` takes the target's, first.
fn keep_id(doc: &mut Document, id: &Bson) -> CmdResult<()> {
    match doc.get("_id") {
        Some(v) if crate::engine::compare::compare(v, id) != std::cmp::Ordering::Equal => {
            Err(CommandError::new(
                ErrorCode::ImmutableField,
                format!(
                    "$merge failed to update the matching document, did you attempt to modify the _id or the shard key? :: caused by :: Performing an update on the path '_id' would modify the immutable field '_id' (from {id} to {v})"
                ),
            ))
        }
        Some(_) => Ok(()),
        None => {
            let mut with_id = doc! {"_id": id.clone()};
            with_id.extend(std::mem::take(doc));
            *doc = with_id;
            Ok(())
        }
    }
}

fn bad_enum(field: &str, value: &str) -> CommandError {
    CommandError::bad_value(format!(
        "Enumeration value '{value}' for field '$merge.{field}' is not a valid value."
    ))
}

fn parse_on(v: &Bson) -> CmdResult<Vec<String>> {
    let fields: Vec<String> = match v {
        Bson::String(s) => vec![s.clone()],
        Bson::Array(items) => items
            .iter()
            .map(|i| match i {
                Bson::String(s) => Ok(s.clone()),
                other => Err(CommandError::new(
                    ErrorCode::Location(51134),
                    format!(
                        "Array elements of the 'on' field of the $merge stage must be strings, but found {}",
                        type_name(other)
                    ),
                )),
            })
            .collect::<CmdResult<_>>()?,
        other => {
            return Err(CommandError::new(
                ErrorCode::Location(51186),
                format!(
                    "The 'on' field of the $merge stage must be either a string or an array of strings, but found {}",
                    type_name(other)
                ),
            ));
        }
    };
    if fields.is_empty() {
        return Err(CommandError::new(
            ErrorCode::Location(51187),
            "If explicitly specifying $merge 'on', must include at least one field",
        ));
    }
    Ok(fields)
}

/// `whenMatched` as a pipeline: only the stages that reshape one document.
fn parse_update_pipeline(stages: &[Bson]) -> CmdResult<Pipeline> {
    let p = Pipeline::parse_sub(stages)?;
    let reshapes_one = |s: &Stage| {
        matches!(
            s,
            Stage::AddFields(_) | Stage::Unset(_) | Stage::Project(_) | Stage::ReplaceRoot(_)
        )
    };
    if !p.stages.iter().all(reshapes_one) {
        return Err(CommandError::new(
            ErrorCode::Location(51198),
            "$merge 'whenMatched' pipeline may only hold $addFields, $set, $project, $unset, $replaceRoot and $replaceWith",
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_modes_combine_target_and_result() {
        let target = doc! {"_id": 1, "a": 1, "b": 1};
        let result = doc! {"_id": 1, "b": 2, "c": 3};
        let parse = |spec: Document| Merge::parse(&Bson::Document(spec)).unwrap();
        let m = parse(doc! {"into": "t"});
        assert_eq!(
            m.merged(&target, &result).unwrap(),
            doc! {"_id": 1, "a": 1, "b": 2, "c": 3}
        );
        let m = parse(doc! {"into": "t", "whenMatched": "replace"});
        assert_eq!(m.merged(&target, &result).unwrap(), result);
        let m = parse(
            doc! {"into": "t", "whenMatched": [{"$set": {"b": {"$add": ["$b", "$$new.b"]}}}]},
        );
        assert_eq!(
            m.merged(&target, &result).unwrap(),
            doc! {"_id": 1, "a": 1, "b": 3}
        );
        let m = parse(
            doc! {"into": "t", "let": {"inc": "$c"}, "whenMatched": [{"$set": {"a": "$$inc"}}]},
        );
        assert_eq!(
            m.merged(&target, &result).unwrap(),
            doc! {"_id": 1, "a": 3, "b": 1}
        );
        let moved = doc! {"_id": 2, "b": 2};
        let m = parse(doc! {"into": "t", "on": "b", "whenMatched": "replace"});
        assert_eq!(
            m.merged(&target, &moved).unwrap_err().code,
            ErrorCode::ImmutableField
        );
    }

    #[test]
    fn on_fields_must_be_present_scalars() {
        let m = Merge::parse(&Bson::Document(doc! {"into": "t", "on": ["a", "b"]})).unwrap();
        assert_eq!(
            m.on_values(&doc! {"a": 1, "b": "x"}).unwrap(),
            vec![
                ("a".into(), Bson::Int32(1)),
                ("b".into(), Bson::String("x".into()))
            ]
        );
        for bad in [
            doc! {"a": 1},
            doc! {"a": 1, "b": null},
            doc! {"a": 1, "b": [1]},
        ] {
            assert_eq!(m.on_values(&bad).unwrap_err().code.code(), 51132);
        }
    }

    #[test]
    fn bad_specifications_name_the_problem() {
        for (spec, code) in [
            (Bson::Int32(1), 51182),
            (Bson::Document(doc! {"on": "_id"}), 40414),
            (Bson::Document(doc! {"into": "t", "x": 1}), 40415),
            (
                Bson::Document(doc! {"into": "t", "whenMatched": "upsert"}),
                2,
            ),
            (Bson::Document(doc! {"into": "t", "on": []}), 51187),
            (Bson::Document(doc! {"into": "t", "let": {"v": 1}}), 51199),
            (
                Bson::Document(doc! {"into": "t", "whenMatched": [{"$match": {}}]}),
                51198,
            ),
        ] {
            assert_eq!(Merge::parse(&spec).unwrap_err().code.code(), code, "{spec}");
        }
        assert_eq!(parse_out(&Bson::Int32(1)).unwrap_err().code.code(), 16990);
    }
}
