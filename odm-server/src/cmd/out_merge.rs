//! `$out` and `$merge`: an aggregation's results written into a collection.
//!
//! The stages before them run over the command's snapshot; the results are then written
//! in one write, so a failure (a duplicate key, a result `$merge` may not write) leaves
//! the target as it was. `$out` replaces the target's documents and keeps its indexes
//! and options; `$merge` updates, keeps or inserts each result by its `on` fields. Both
//! give results without `_id` a new ObjectId, and neither runs inside a transaction.

use bson::{Bson, Document, doc, oid::ObjectId};

use super::Ctx;
use super::write_concern::WriteConcern;
use super::writes::{check_storable, write};
use crate::depth::Write;
use crate::engine::agg::output::{Merge, Target, WhenMatched, WhenNotMatched};
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{Query, collect};
use crate::replset::writer::Writer;
use crate::storage::catalog::{self, CollectionMeta};

/// Writes `results` as `$out` into `target`.
pub fn out(
    ctx: &Ctx<'_>,
    wc: WriteConcern,
    target: &Target,
    results: Vec<Document>,
) -> CmdResult<()> {
    let (db, coll) = resolve(ctx, "$out", target)?;
    let results: Vec<Document> = results.into_iter().map(with_id).collect();
    for d in &results {
        check_storable(d, Write::Insert)?;
    }
    write(ctx, wc, |w| {
        let mut meta = w.collection(db, coll)?;
        for stored in everything(w, &meta)? {
            w.delete(&meta, &stored)?;
        }
        for d in &results {
            w.insert(&mut meta, d)?;
        }
        Ok(())
    })
}

/// Writes `results` as `$merge` says.
pub fn merge(
    ctx: &Ctx<'_>,
    wc: WriteConcern,
    spec: &Merge,
    results: Vec<Document>,
) -> CmdResult<()> {
    let (db, coll) = resolve(ctx, "$merge", &spec.into)?;
    let by_id = spec.on == ["_id"];
    write(ctx, wc, |w| {
        let mut meta = catalog::get(w, db, coll)?;
        if !by_id
            && !meta
                .as_ref()
                .is_some_and(|m| has_unique_index_on(m, &spec.on))
        {
            return Err(CommandError::new(
                ErrorCode::Location(51183),
                format!(
                    "Cannot find index to verify that join fields will be unique: no unique index on {:?} in {db}.{coll}",
                    spec.on
                ),
            ));
        }
        for result in &results {
            let result = if by_id {
                with_id(result.clone())
            } else {
                result.clone()
            };
            let on = spec.on_values(&result)?;
            let found = match &meta {
                Some(m) => matching(w, m, &on)?,
                None => None,
            };
            match found {
                Some(stored) => {
                    if matches!(spec.when_matched, WhenMatched::KeepExisting) {
                        continue;
                    }
                    if matches!(spec.when_matched, WhenMatched::Fail) {
                        return Err(CommandError::new(
                            ErrorCode::DuplicateKey,
                            format!(
                                "$merge with whenMatched: fail found an existing document with the same {:?} in {db}.{coll}: {stored}",
                                spec.on
                            ),
                        ));
                    }
                    let after = spec.merged(&stored, &result)?;
                    check_storable(&after, Write::Update)?;
                    let replace = !matches!(spec.when_matched, WhenMatched::Merge);
                    let m = meta.as_mut().expect("a document was found in it");
                    w.update(m, &stored, &after, replace)?;
                }
                None => match spec.when_not_matched {
                    WhenNotMatched::Discard => {}
                    WhenNotMatched::Fail => {
                        return Err(CommandError::new(
                            ErrorCode::Location(13113),
                            "$merge could not find a matching document in the target collection for at least one document in the source collection",
                        ));
                    }
                    WhenNotMatched::Insert => {
                        let result = with_id(result);
                        check_storable(&result, Write::Insert)?;
                        if meta.is_none() {
                            meta = Some(w.collection(db, coll)?);
                        }
                        let m = meta.as_mut().expect("created above");
                        w.insert(m, &result)?;
                    }
                },
            }
        }
        Ok(())
    })
}

/// The target's database and name, checked; neither stage writes in a transaction.
fn resolve<'a>(ctx: &'a Ctx<'_>, stage: &str, target: &'a Target) -> CmdResult<(&'a str, &'a str)> {
    if ctx.txn.is_some() {
        return Err(CommandError::new(
            ErrorCode::OperationNotSupportedInTransaction,
            format!("{stage} cannot be used in a transaction"),
        ));
    }
    let db = target.db.as_deref().unwrap_or(ctx.db);
    catalog::validate_writable(db, &target.coll)?;
    Ok((db, &target.coll))
}

/// The document, with a new ObjectId first when it has no `_id`.
fn with_id(doc: Document) -> Document {
    if doc.contains_key("_id") {
        return doc;
    }
    let mut out = doc! {"_id": ObjectId::new()};
    out.extend(doc);
    out
}

fn everything(w: &mut Writer<'_>, meta: &CollectionMeta) -> CmdResult<Vec<Document>> {
    collect(&*w, meta, &Query::matching(Filter::And(Vec::new())))
}

/// The target document whose `on` fields equal these values, if any (the unique index
/// on them, or `_id`, serves the query).
fn matching(
    w: &mut Writer<'_>,
    meta: &CollectionMeta,
    on: &[(String, Bson)],
) -> CmdResult<Option<Document>> {
    let mut spec = Document::new();
    for (field, value) in on {
        spec.insert(field.clone(), doc! {"$eq": value.clone()});
    }
    let query = Query {
        limit: Some(1),
        ..Query::matching(Filter::parse(&spec)?)
    };
    Ok(collect(&*w, meta, &query)?.into_iter().next())
}

/// Whether a unique index has exactly `fields` as its keys, in any order.
fn has_unique_index_on(meta: &CollectionMeta, fields: &[String]) -> bool {
    meta.indexes.iter().any(|i| {
        let keys: Vec<&str> = i.fields().map(|(path, _)| path).collect();
        i.unique && keys.len() == fields.len() && fields.iter().all(|f| keys.contains(&f.as_str()))
    })
}
