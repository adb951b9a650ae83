//! `update`: modifies documents matching filters, one statement after another.
//!
//! ```text
//! request  {update: "coll", updates: [{q: filter, u: update, upsert?: false, multi?: false,
//!           arrayFilters?, hint?, collation?}, ...], ordered?: true, writeConcern?,
//!           bypassDocumentValidation?}
//! reply    {n: <matched + upserted>, nModified, upserted?: [{index, _id}],
//!           writeErrors?: [{index, code, errmsg}], ok: 1}
//! ```
//!
//! `u` is a replacement document or update operators. `sort` (MongoDB 8.0) chooses which
//! document a single update changes when several match. The matching documents are read
//! first and then changed, so a multi-update never sees its own writes. With `upsert`
//! and no match, the new document starts from the filter's equality fields (and `_id`),
//! then the update applies with `$setOnInsert`.

use std::sync::atomic::Ordering;

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::insert::check_batch_size;
use super::write_concern::WriteConcern;
use super::writes::{Validator, check_storable, run_batch, with_write_errors, write_reply};
use crate::depth::Write;
use crate::engine::agg::bind::command_let;
use crate::engine::collation::{self, Collator};
use crate::engine::matcher::Filter;
use crate::engine::sort::SortSpec;
use crate::engine::update::{
    ApplyContext, ArrayFilters, Update, ensure_id_first, identical, upsert_seed,
};
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{Query, collect};
use crate::planner::Hint;
use crate::replset::writer::Writer;
use crate::storage::catalog;
use crate::storage::catalog::CollectionMeta;

/// One parsed update statement.
pub struct Statement {
    pub filter: Filter,
    pub update: Update,
    pub upsert: bool,
    pub multi: bool,
    pub hint: Option<Hint>,
    pub sort: SortSpec,
    pub array_filters: ArrayFilters,
    /// The statement's collation (`None`: the collection's default).
    pub collation: Option<Option<Collator>>,
}

impl Statement {
    /// Parses `{q, u, upsert, multi, arrayFilters, hint, collation}`.
    pub fn parse(spec: &Document) -> CmdResult<Statement> {
        let f = Fields {
            command: "update.updates",
            doc: spec,
        };
        let filter = Filter::parse(f.document("q")?.ok_or_else(|| f.missing("q"))?)?;
        let update = parse_update(spec.get("u").ok_or_else(|| f.missing("u"))?)?;
        let multi = f.bool("multi")?.unwrap_or(false);
        if multi && update.is_replacement() {
            return Err(CommandError::failed_to_parse(
                "multi update is not supported for replacement-style update",
            ));
        }
        let array_filters = parse_array_filters(&f, &update, &spec["u"])?;
        let collation = f.collation()?;
        let sort = SortSpec::parse(f.document("sort")?.unwrap_or(&Document::new()))?;
        // MongoDB 8.0's `sort` picks the one document an updateOne or replaceOne changes.
        if multi && !sort.is_empty() {
            return Err(CommandError::new(
                ErrorCode::InvalidOptions,
                "Cannot specify sort with multi=true",
            ));
        }
        Ok(Statement {
            filter,
            update,
            upsert: f.bool("upsert")?.unwrap_or(false),
            multi,
            hint: spec.get("hint").map(Hint::parse).transpose()?.flatten(),
            sort,
            array_filters,
            collation,
        })
    }
}

/// Parses `u`: update operators, a replacement document, or a pipeline (an array).
pub fn parse_update(u: &Bson) -> CmdResult<Update> {
    match u {
        Bson::Document(d) => Update::parse(d),
        Bson::Array(stages) => Update::parse_pipeline(stages),
        other => Err(CommandError::failed_to_parse(format!(
            "Update argument must be either an object or an array, not {other}"
        ))),
    }
}

/// Parses `arrayFilters` and checks them against the update's `$[<identifier>]` steps.
pub fn parse_array_filters(f: &Fields<'_>, update: &Update, raw: &Bson) -> CmdResult<ArrayFilters> {
    let filters = ArrayFilters::parse(f.array("arrayFilters")?.map(Vec::as_slice).unwrap_or(&[]))?;
    filters.check_against(update, raw)?;
    Ok(filters)
}

/// What one statement did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub matched: usize,
    pub modified: usize,
    pub upserted: Option<Bson>,
    /// For one-document updates: the document before and after.
    pub before: Option<Document>,
    pub after: Option<Document>,
}

/// Runs one statement inside a write transaction.
pub fn apply(
    ctx: &Ctx<'_>,
    txn: &mut Writer<'_>,
    meta: &mut CollectionMeta,
    st: &Statement,
    validator: &Validator,
) -> CmdResult<Outcome> {
    let collation = collation::effective(st.collation.clone(), Some(&meta.options))?;
    collation::with_collation(collation.as_ref(), || {
        apply_collated(ctx, txn, meta, st, validator)
    })
}

/// [`apply`] under the statement's collation: matching, `$pull`, `$addToSet` and the
/// upserted document's equalities compare strings under it.
fn apply_collated(
    ctx: &Ctx<'_>,
    txn: &mut Writer<'_>,
    meta: &mut CollectionMeta,
    st: &Statement,
    validator: &Validator,
) -> CmdResult<Outcome> {
    let query = Query {
        sort: st.sort.clone(),
        limit: if st.multi { None } else { Some(1) },
        hint: st.hint.clone(),
        ..Query::matching(st.filter.clone())
    };
    let targets = collect(txn, meta, &query)?;
    let mut outcome = Outcome::default();
    if targets.is_empty() {
        if st.upsert {
            let seed = match &st.update {
                Update::Replacement(_) => {
                    // A replacement keeps only the filter's _id, if it names one.
                    let mut d = Document::new();
                    if let Some((_, id)) = st
                        .filter
                        .equalities()
                        .into_iter()
                        .find(|(p, _)| *p == "_id")
                    {
                        d.insert("_id", id.clone());
                    }
                    d
                }
                Update::Operators(_) | Update::Pipeline(_) => upsert_seed(&st.filter)?,
            };
            // The _id comes from the filter, the update, or a new ObjectId; it goes first.
            let cx = ApplyContext {
                position: None,
                array_filters: Some(&st.array_filters),
            };
            let doc = ensure_id_first(st.update.apply_in(&seed, true, cx)?);
            check_storable(&doc, Write::Update)?;
            validator.check(ctx, &doc, None)?;
            txn.insert(meta, &doc)?;
            outcome.upserted = doc.get("_id").cloned();
            outcome.after = Some(doc);
        }
        return Ok(outcome);
    }
    for old in targets {
        outcome.matched += 1;
        let cx = ApplyContext {
            position: st.filter.array_position(&old),
            array_filters: Some(&st.array_filters),
        };
        let new = st.update.apply_in(&old, false, cx)?;
        if identical(&old, &new) {
            outcome.before = Some(old.clone());
            outcome.after = Some(new);
            continue;
        }
        check_storable(&new, Write::Update)?;
        validator.check(ctx, &new, Some(&old))?;
        let replace = matches!(st.update, Update::Replacement(_));
        txn.update(meta, &old, &new, replace)?;
        outcome.modified += 1;
        outcome.before = Some(old);
        outcome.after = Some(new);
    }
    Ok(outcome)
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let vars = command_let(ctx.body)?;
    let coll = f.collection()?;
    let specs = f.documents("updates")?;
    check_batch_size(specs.len())?;
    let ordered = f.bool("ordered")?.unwrap_or(true);
    let bypass = f.bool("bypassDocumentValidation")?.unwrap_or(false);
    let wc = WriteConcern::parse(&f)?;
    catalog::validate_writable(ctx.db, coll)?;

    let reply = write_reply(ctx, wc, |w| {
        let mut meta: Option<CollectionMeta> = catalog::get_collection(w, ctx.db, coll)?;
        let (outcomes, errors) = run_batch(specs.iter().enumerate(), ordered, |(i, spec)| {
            let mut st = Statement::parse(spec)?;
            st.filter.bind(&vars);
            st.update.bind(&vars);
            // A collection comes into being only when an upsert inserts.
            let m = match (&mut meta, st.upsert) {
                (Some(m), _) => m,
                (None, true) => meta.insert(w.collection(ctx.db, coll)?),
                (None, false) => return Ok((i, Outcome::default())),
            };
            let validator = Validator::of(m, bypass)?;
            Ok((i, apply(ctx, w, m, &st, &validator)?))
        })?;
        let matched: usize = outcomes.iter().map(|(_, o)| o.matched).sum();
        let modified: usize = outcomes.iter().map(|(_, o)| o.modified).sum();
        let upserted: Vec<Document> = outcomes
            .into_iter()
            .filter_map(|(i, o)| o.upserted.map(|id| doc! {"index": i as i32, "_id": id}))
            .collect();
        let n = matched + upserted.len();
        let mut reply = doc! {"n": n as i32, "nModified": modified as i32};
        if !upserted.is_empty() {
            reply.insert("upserted", upserted);
        }
        Ok(with_write_errors(reply, errors))
    })?;
    ctx.state
        .counters
        .update
        .fetch_add(reply.get_i32("n").unwrap_or(0) as u64, Ordering::Relaxed);
    Ok(reply)
}
