//! `collMod`: changes a collection's validator, whether change streams see its documents
//! before and after each change, or an index's TTL / hidden flag.
//!
//! ```text
//! request  {collMod: "coll", validator?, validationLevel?, validationAction?,
//!           changeStreamPreAndPostImages?: {enabled: bool},
//!           index?: {name | keyPattern, expireAfterSeconds?, hidden?, prepareUnique?,
//!           unique?}, writeConcern?}
//! request  {collMod: "view", viewOn?, pipeline?}   (a view's definition)
//! reply    {ok: 1} (with expireAfterSeconds_old/_new, hidden_old/_new when an index changed)
//! ```
//!
//! The change is logged as mongod logs it, a command entry `{collMod: "coll", ...}`.
//! `changeStreamPreAndPostImages` takes effect from the next write: the oplog keeps the
//! documents before and after each change of the collection from then on (see
//! `replset/oplog.rs`), which `fullDocumentBeforeChange` and `fullDocument:
//! "whenAvailable" | "required"` read.

use bson::{Bson, Document, doc};

use super::Ctx;
use super::create::{pre_and_post_images, validation_options};
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::write;
use crate::engine::arith;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::oplog::Change;
use crate::storage::catalog;

/// The options a `collMod` may change, logged in its oplog entry.
const LOGGED: &[&str] = &[
    "validator",
    "validationLevel",
    "validationAction",
    "changeStreamPreAndPostImages",
    "index",
    "viewOn",
    "pipeline",
];

const KNOWN: &[&str] = &[
    "collMod",
    "viewOn",
    "pipeline",
    "validator",
    "validationLevel",
    "validationAction",
    "changeStreamPreAndPostImages",
    "index",
    "writeConcern",
    "comment",
    "$db",
    "lsid",
    "$clusterTime",
    "$readPreference",
    "apiVersion",
    "apiStrict",
    "apiDeprecationErrors",
];

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    if let Some(unknown) = ctx.body.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(CommandError::new(
            ErrorCode::InvalidOptions,
            format!("collMod option '{unknown}' is not supported by this server"),
        ));
    }
    let mut validation = Document::new();
    validation_options(&f, &mut validation)?;
    let images = pre_and_post_images(&f)?;
    let index_change = f.document("index")?;
    let wc = WriteConcern::parse(&f)?;
    write(ctx, wc, |txn| {
        let mut meta = catalog::get(txn, ctx.db, coll)?.ok_or_else(|| {
            CommandError::new(
                ErrorCode::NamespaceNotFound,
                format!("ns does not exist: {}.{coll}", ctx.db),
            )
        })?;
        let redefines = ctx.body.contains_key("viewOn") || ctx.body.contains_key("pipeline");
        match (meta.view(), redefines) {
            (Some((on, pipeline)), _) => {
                if !validation.is_empty() || images.is_some() || index_change.is_some() {
                    return Err(CommandError::new(
                        ErrorCode::InvalidOptions,
                        "a view can only change its 'viewOn' and 'pipeline'",
                    ));
                }
                // What is not given stays as it was.
                let mut definition = doc! {"viewOn": on, "pipeline": pipeline.to_vec()};
                for field in ["viewOn", "pipeline"] {
                    if let Some(v) = ctx.body.get(field) {
                        definition.insert(field, v.clone());
                    }
                }
                meta.options = super::views::check_definition(&*txn, ctx.db, coll, &definition)?;
            }
            (None, true) => {
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    format!("{}.{coll} is a collection, not a view: 'viewOn' and 'pipeline' do not apply", ctx.db),
                ));
            }
            (None, false) => {}
        }
        for (k, v) in &validation {
            meta.options.insert(k.clone(), v.clone());
        }
        match images {
            Some(true) => {
                meta.options
                    .insert("changeStreamPreAndPostImages", doc! {"enabled": true});
            }
            Some(false) => {
                meta.options.remove("changeStreamPreAndPostImages");
            }
            None => {}
        }
        let mut reply = Document::new();
        if let Some(change) = index_change {
            let cf = Fields {
                command: "collMod.index",
                doc: change,
            };
            let position = match (cf.string("name")?, cf.document("keyPattern")?) {
                (Some(name), None) => meta.indexes.iter().position(|i| i.name == name),
                (None, Some(key)) => meta.indexes.iter().position(|i| i.key == *key),
                _ => {
                    return Err(CommandError::new(
                        ErrorCode::InvalidOptions,
                        "collMod index needs exactly one of 'name' or 'keyPattern'",
                    ));
                }
            }
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::IndexNotFound,
                    format!("cannot find index {change} for ns {}", meta.ns()),
                )
            })?;
            let index = &mut meta.indexes[position];
            if let Some(ttl) = change.get("expireAfterSeconds") {
                let n = arith::to_i64_exact(ttl)
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        CommandError::bad_value("expireAfterSeconds must be a non-negative number")
                    })?;
                let old = index.options.get("expireAfterSeconds").cloned();
                index.options.insert("expireAfterSeconds", n as i32);
                reply.insert("expireAfterSeconds_old", old.unwrap_or(Bson::Null));
                reply.insert("expireAfterSeconds_new", n as i32);
            }
            let converts = change.contains_key("prepareUnique") || change.contains_key("unique");
            if converts
                && (index.text.is_some() || index.wildcard.is_some() || index.hashed_field().is_some())
            {
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    format!(
                        "index '{}' cannot be made unique: only ascending and descending indexes can",
                        index.name
                    ),
                ));
            }
            if let Some(prepare) = cf.bool("prepareUnique")? {
                let old = index.options.get_bool("prepareUnique").unwrap_or(false);
                if prepare {
                    index.options.insert("prepareUnique", true);
                } else {
                    index.options.remove("prepareUnique");
                }
                reply.insert("prepareUnique_old", old);
                reply.insert("prepareUnique_new", prepare);
            }
            if let Some(unique) = cf.bool("unique")? {
                if !unique {
                    return Err(CommandError::bad_value(
                        "collMod index 'unique' may only be set to true by this server",
                    ));
                }
                if !index.unique {
                    if !index.options.get_bool("prepareUnique").unwrap_or(false) {
                        return Err(CommandError::new(
                            ErrorCode::InvalidOptions,
                            "Cannot make index unique with 'prepareUnique' not set: set 'prepareUnique' to true first",
                        ));
                    }
                    let conflicts = crate::storage::collection::duplicates(&*txn, &meta, &meta.indexes[position], 100)?;
                    if !conflicts.is_empty() {
                        let violations: Vec<Bson> = conflicts
                            .into_iter()
                            .map(|ids| Bson::Document(doc! {"ids": ids}))
                            .collect();
                        return Err(CommandError::new(
                            ErrorCode::CannotConvertIndexToUnique,
                            "Cannot convert the index to unique. Please resolve conflicting documents before running collMod again.",
                        )
                        .with_info(doc! {"violations": violations}));
                    }
                    let index = &mut meta.indexes[position];
                    index.options.remove("prepareUnique");
                    index.options.insert("unique", true);
                    index.unique = true;
                    reply.insert("unique_new", true);
                }
            }
            let index = &mut meta.indexes[position];
            if let Some(hidden) = cf.bool("hidden")? {
                let old = index.options.get_bool("hidden").unwrap_or(false);
                if hidden {
                    index.options.insert("hidden", true);
                } else {
                    index.options.remove("hidden");
                }
                reply.insert("hidden_old", old);
                reply.insert("hidden_new", hidden);
            }
        }
        catalog::put(txn, &meta)?;
        let mut o = doc! {"collMod": coll};
        for field in LOGGED {
            if let Some(v) = ctx.body.get(*field) {
                o.insert(*field, v.clone());
            }
        }
        txn.record(Change::Command {
            db: ctx.db.to_owned(),
            uuid: Some(meta.uuid.clone()),
            o,
        });
        Ok(reply)
    })
    .map(|reply| {
        if reply.is_empty() {
            doc! {}
        } else {
            reply
        }
    })
}
