//! `create`: creates a collection explicitly (inserts create them implicitly).
//!
//! ```text
//! request  {create: "coll", validator?, validationLevel?: "strict" | "moderate" | "off",
//!           validationAction?: "error" | "warn", changeStreamPreAndPostImages?: {enabled},
//!           collation?, writeConcern?}   (a collation becomes the collection's default)
//! reply    {ok: 1}
//! ```
//!
//! With `viewOn` (and `pipeline`) it creates a view ([`super::views`]).
//! `NamespaceExists` (48) if the name is taken. `capped: true` with `size` (and `max`)
//! makes a capped collection (`storage::capped`); `timeseries` a time-series one and
//! `clusteredIndex` a clustered one, either with `expireAfterSeconds`
//! ([`super::collection_kinds`]).

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::write;
use crate::engine::collation;
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::oplog::Change;
use crate::replset::writer::Writer;
use crate::storage::catalog;

/// Checks `validator`, `validationLevel` and `validationAction`, copying them into
/// `options`.
pub fn validation_options(f: &Fields<'_>, options: &mut Document) -> CmdResult<()> {
    if let Some(v) = f.document("validator")? {
        // A validator sees one document at a time: `$text` needs the collection's index.
        if Filter::parse(v)?.text().is_some() {
            return Err(CommandError::new(
                ErrorCode::QueryFeatureNotAllowed,
                "$text is not allowed in this context",
            ));
        }
        options.insert("validator", v.clone());
    }
    if let Some(level) = f.string("validationLevel")? {
        if !matches!(level, "off" | "strict" | "moderate") {
            return Err(CommandError::bad_value(format!(
                "Enumeration value '{level}' for field 'validationLevel' is not a valid value."
            )));
        }
        options.insert("validationLevel", level);
    }
    if let Some(action) = f.string("validationAction")? {
        if !matches!(action, "error" | "warn") {
            return Err(CommandError::bad_value(format!(
                "Enumeration value '{action}' for field 'validationAction' is not a valid value."
            )));
        }
        options.insert("validationAction", action);
    }
    Ok(())
}

/// `changeStreamPreAndPostImages: {enabled: bool}` (`create`, `collMod`), checked as
/// mongod's parser checks it: `enabled` is required and a boolean, nothing else is
/// allowed.
pub fn pre_and_post_images(f: &Fields<'_>) -> CmdResult<Option<bool>> {
    const FIELD: &str = "changeStreamPreAndPostImages";
    let Some(spec) = f.document(FIELD)? else {
        return Ok(None);
    };
    let command = format!("{}.{FIELD}", f.command);
    let inner = Fields {
        command: &command,
        doc: spec,
    };
    if let Some(unknown) = spec.keys().find(|k| *k != "enabled") {
        return Err(CommandError::new(
            ErrorCode::Location(40415),
            format!("BSON field '{command}.{unknown}' is an unknown field."),
        ));
    }
    match spec.get("enabled") {
        Some(Bson::Boolean(on)) => Ok(Some(*on)),
        Some(other) => Err(inner.wrong_type("enabled", other, "bool")),
        None => Err(inner.missing("enabled")),
    }
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    if ctx.body.contains_key("viewOn") || ctx.body.contains_key("pipeline") {
        return create_view(ctx, &f, coll);
    }
    let capped = capped_options(&f)?;
    let kinds = super::collection_kinds::parse(&f, capped.is_some())?;
    let mut options = capped.unwrap_or_default();
    options.extend(kinds);
    validation_options(&f, &mut options)?;
    // The simple collation is never stored: it is what no collation means.
    if let Some(c) = f.document("collation")?
        && let Some(collator) = collation::parse(c)?
    {
        options.insert("collation", collator.spec().to_document());
    }
    let wc = WriteConcern::parse(&f)?;
    if pre_and_post_images(&f)? == Some(true) {
        options.insert("changeStreamPreAndPostImages", doc! {"enabled": true});
    }
    write(ctx, wc, |w| {
        create_recorded(w, ctx.db, coll, options.clone())
    })?;
    Ok(doc! {})
}

/// `capped: true` with `size` (bytes, rounded up as mongod rounds it) and an optional
/// `max` (documents): the options a capped collection stores.
fn capped_options(f: &Fields<'_>) -> CmdResult<Option<Document>> {
    if !f.bool("capped")?.unwrap_or(false) {
        return Ok(None);
    }
    let number = |field: &str| -> CmdResult<Option<i64>> {
        match f.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(v) if crate::engine::arith::is_number(v) => {
                Ok(crate::engine::arith::to_f64(v).map(|n| n as i64))
            }
            Some(other) => Err(f.wrong_type(field, other, "number")),
        }
    };
    let Some(size) = number("size")? else {
        return Err(CommandError::new(
            ErrorCode::InvalidOptions,
            "the 'size' field is required when 'capped' is true",
        ));
    };
    if size < 0 {
        return Err(CommandError::bad_value("size has to be >= 0"));
    }
    const ONE_PB: i64 = 1 << 50;
    if size > ONE_PB {
        return Err(CommandError::bad_value(
            "Capped collection size must be less than 1 PB",
        ));
    }
    let mut options = doc! {"capped": true, "size": crate::storage::capped::rounded_size(size)};
    if let Some(max) = number("max")?.filter(|m| *m > 0) {
        options.insert("max", max);
    }
    Ok(Some(options))
}

/// Creates the catalog record and logs the `create` with its options, as mongod does.
fn create_recorded(w: &mut Writer<'_>, db: &str, name: &str, options: Document) -> CmdResult<()> {
    let meta = catalog::create(w, db, name, options.clone())?;
    let mut o = doc! {"create": name};
    o.extend(options);
    w.record(Change::Command {
        db: db.to_owned(),
        uuid: Some(meta.uuid.clone()),
        o,
    });
    Ok(())
}

/// `create` with `viewOn` (and `pipeline`): a view's catalog record.
fn create_view(ctx: &Ctx<'_>, f: &Fields<'_>, name: &str) -> CmdResult<Document> {
    const COLLECTION_ONLY: [&str; 12] = [
        "validator",
        "validationLevel",
        "validationAction",
        "capped",
        "size",
        "max",
        "timeseries",
        "clusteredIndex",
        "changeStreamPreAndPostImages",
        "expireAfterSeconds",
        "storageEngine",
        "indexOptionDefaults",
    ];
    if let Some(other) = COLLECTION_ONLY.iter().find(|o| ctx.body.contains_key(**o)) {
        return Err(CommandError::new(
            ErrorCode::InvalidOptions,
            format!("option not supported on a view: {other}"),
        ));
    }
    if let Some(c) = f.document("collation")?
        && collation::parse(c)?.is_some()
    {
        return Err(CommandError::bad_value(format!(
            "a view with a collation ({c}) is not supported by this server yet: views compare with the simple collation"
        )));
    }
    let wc = WriteConcern::parse(f)?;
    write(ctx, wc, |w| {
        let options = super::views::check_definition(&*w, ctx.db, name, ctx.body)?;
        create_recorded(w, ctx.db, name, options)
    })?;
    Ok(doc! {})
}
