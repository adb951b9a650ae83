//! `$group`: documents folded into one per key, with the accumulators of each output
//! field. `$bucket`, `$bucketAuto` and `$sortByCount` build on the same pieces.

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};

use super::accumulate::{Accumulator, AccumulatorSpec};
use super::expr::{self, Expression, Scope};
use super::pipeline::stage_error;
use crate::engine::compare::OrderedBson;
use crate::error::CmdResult;

#[derive(Clone, Debug)]
pub struct Group {
    pub(super) id: Expression,
    pub(super) fields: Vec<(String, AccumulatorSpec)>,
}

pub(super) fn parse_group(spec: &Document) -> CmdResult<Group> {
    let id = match spec.get("_id") {
        Some(v) => expr::parse(v)?,
        None => {
            return Err(stage_error(
                15955,
                "a group specification must include an _id",
            ));
        }
    };
    Ok(Group {
        id,
        fields: parse_accumulators(spec, "_id")?,
    })
}

/// The output fields of `$group` (or `$bucket`): each one accumulator over an
/// expression; `except` names the field that is not one.
pub(super) fn parse_accumulators(
    spec: &Document,
    except: &str,
) -> CmdResult<Vec<(String, AccumulatorSpec)>> {
    let mut fields = Vec::new();
    for (name, value) in spec {
        if name == except {
            continue;
        }
        if name.contains('.') {
            return Err(stage_error(
                40235,
                format!("The field name '{name}' cannot contain '.'"),
            ));
        }
        let Bson::Document(acc) = value else {
            return Err(stage_error(
                40234,
                format!("The field '{name}' must be an accumulator object"),
            ));
        };
        if acc.len() != 1 {
            return Err(stage_error(
                40238,
                format!("The field '{name}' must specify one accumulator"),
            ));
        }
        let Some((op, arg)) = acc.iter().next() else {
            continue;
        };
        if op == "$accumulator" {
            return Err(expr::no_javascript());
        }
        let Some(spec) = AccumulatorSpec::parse(op, arg)? else {
            return Err(stage_error(15952, format!("unknown group operator '{op}'")));
        };
        fields.push((name.clone(), spec));
    }
    Ok(fields)
}

/// Output fields of a `$group` or `$bucket`: a fresh accumulator for each.
pub(super) type OutputFields = [(String, AccumulatorSpec)];

/// Fresh accumulators for the group keyed `key`.
pub(super) fn new_accumulators(fields: &OutputFields, key: &Bson) -> CmdResult<Vec<Accumulator>> {
    fields.iter().map(|(_, spec)| spec.start(key)).collect()
}

/// Adds one document to the accumulators of `fields` (evaluated in `scope`).
pub(super) fn accumulate(
    fields: &OutputFields,
    accs: &mut [Accumulator],
    scope: &mut Scope<'_>,
) -> CmdResult<()> {
    for ((_, spec), acc) in fields.iter().zip(accs.iter_mut()) {
        acc.add_input(spec.input(scope)?)?;
    }
    Ok(())
}

/// A group's result: `{_id, field: accumulated, ...}`.
pub(super) fn group_result(id: Bson, fields: &OutputFields, accs: Vec<Accumulator>) -> Document {
    let mut out = doc! {"_id": id};
    for ((name, _), acc) in fields.iter().zip(accs) {
        out.insert(name.clone(), acc.finish());
    }
    out
}

pub(super) fn run_group(group: &Group, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
    // Groups in order of first appearance; keys compare as values (1 == 1.0).
    let mut positions: BTreeMap<OrderedBson, usize> = BTreeMap::new();
    let mut groups: Vec<(Bson, Vec<Accumulator>)> = Vec::new();
    for d in &docs {
        let mut scope = Scope::new(d);
        let key = group.id.evaluate(&mut scope)?.unwrap_or(Bson::Null);
        let i = match positions.get(&OrderedBson(key.clone())) {
            Some(i) => *i,
            None => {
                let accs = new_accumulators(&group.fields, &key)?;
                positions.insert(OrderedBson(key.clone()), groups.len());
                groups.push((key, accs));
                groups.len() - 1
            }
        };
        accumulate(&group.fields, &mut groups[i].1, &mut scope)?;
    }
    Ok(groups
        .into_iter()
        .map(|(key, accs)| group_result(key, &group.fields, accs))
        .collect())
}
