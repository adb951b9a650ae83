//! `createIndexes`: declares indexes and fills them from the stored documents.
//!
//! ```text
//! request  {createIndexes: "coll", indexes: [{key: {a: 1, b: -1}, name, unique?, sparse?,
//!           expireAfterSeconds?, hidden?, collation?}, ...], writeConcern?, commitQuorum?}
//! reply    {createdCollectionAutomatically, numIndexesBefore, numIndexesAfter,
//!           note?: "all indexes already exist", ok: 1}
//! ```
//!
//! Asking again for an index that exists is a no-op. The same name with another key is
//! `IndexKeySpecsConflict` (86); the same key under another name, or the same name with
//! other options, is `IndexOptionsConflict` (85); an index is its key and its collation,
//! so one key may be indexed under two collations by two names. An index without a
//! collation takes the collection's default; the stored spec has every field of it. A
//! unique index over documents that already share a value (under its collation) fails
//! with `DuplicateKey` (11000) and nothing is created. Besides ascending and descending
//! keys: `hashed` (one field per index, never unique: 31303, 16764), `text`
//! (`engine::text`), wildcard `$**` (`storage::wildcard`), and the geospatial `2dsphere`
//! and `2d` (`storage::geo`); other types are refused with `CannotCreateIndex` (67). A partial index (`partialFilterExpression`) holds only the
//! documents its filter matches; the filter may use what mongod allows there.

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::write;
use crate::engine::arith;
use crate::engine::collation::{self, Collator};
use crate::engine::matcher::Filter;
use crate::engine::text;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::oplog::Change;
use crate::storage::catalog::{self, CollectionMeta, ID_INDEX_NAME, IndexMeta};
use crate::storage::collection;
use crate::storage::geo;

/// mongod's limit of indexes per collection, `_id` included.
const MAX_INDEXES: usize = 64;

/// An index as requested.
#[derive(Clone)]
struct Requested {
    name: String,
    key: Document,
    unique: bool,
    sparse: bool,
    options: Document,
    /// The collation asked for: `Some(None)` is the simple one, `None` means the
    /// collection's default.
    collation: Option<Option<Collator>>,
}

fn cannot_create(msg: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::CannotCreateIndex, msg)
}

/// The name mongod and the drivers generate: `a_1_b_-1`.
pub fn default_name(key: &Document) -> String {
    key.iter()
        .map(|(k, v)| format!("{k}_{}", display_direction(v)))
        .collect::<Vec<_>>()
        .join("_")
}

fn display_direction(v: &Bson) -> String {
    match v {
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Double(d) if d.fract() == 0.0 => format!("{}", *d as i64),
        Bson::String(kind) => kind.clone(),
        other => other.to_string(),
    }
}

fn check_key(key: &Document) -> CmdResult<()> {
    if key.is_empty() {
        return Err(cannot_create("Index keys cannot be an empty field."));
    }
    for (path, dir) in key {
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(cannot_create(format!(
                "Index key contains an illegal field name: '{path}'"
            )));
        }
        let wildcard =
            path == "$**" || (path.ends_with(".$**") && !path[..path.len() - 4].contains("$**"));
        if !wildcard && (path.contains("$**") || path.starts_with('$')) {
            return Err(cannot_create(format!(
                "wildcard and '$' index keys are not supported by this server yet: '{path}'"
            )));
        }
        match dir {
            Bson::String(kind)
                if matches!(kind.as_str(), "hashed" | "text" | "2dsphere" | "2d") => {}
            Bson::String(kind) => {
                return Err(cannot_create(format!("Unknown index plugin '{kind}'")));
            }
            n if arith::is_number(n) => {
                if arith::to_f64(n) == Some(0.0) {
                    return Err(cannot_create(format!(
                        "Values in the index key pattern can't be 0: {path}"
                    )));
                }
            }
            other => {
                return Err(cannot_create(format!(
                    "Values in v:2 index key pattern cannot be of type {other}. Only numbers > 0, numbers < 0, and strings are allowed."
                )));
            }
        }
    }
    let hashed = key
        .values()
        .filter(|d| *d == &Bson::String("hashed".into()))
        .count();
    if hashed > 1 {
        return Err(CommandError::new(
            ErrorCode::Location(31303),
            format!(
                "A maximum of one index field is allowed to be hashed but found {hashed} for 'key' {key}"
            ),
        ));
    }
    Ok(())
}

fn parse_spec(spec: &Document) -> CmdResult<Requested> {
    let f = Fields {
        command: "createIndexes.indexes",
        doc: spec,
    };
    let key = f.document("key")?.ok_or_else(|| f.missing("key"))?.clone();
    check_key(&key)?;
    let name = match f.string("name")? {
        Some("") => return Err(cannot_create("The index name cannot be empty")),
        Some(n) => n.to_string(),
        None => default_name(&key),
    };
    let mut options = Document::new();
    let mut unique = false;
    let mut sparse = false;
    let mut collation = None;
    for (k, v) in spec {
        match k.as_str() {
            "key" | "name" | "v" | "ns" | "background" => {}
            "unique" => {
                unique = f.bool("unique")?.unwrap_or(false);
                if unique {
                    options.insert("unique", true);
                }
            }
            "sparse" => {
                sparse = f.bool("sparse")?.unwrap_or(false);
                if sparse {
                    options.insert("sparse", true);
                }
            }
            "expireAfterSeconds" => match arith::to_i64_exact(v) {
                Some(n) if (0..=i64::from(i32::MAX)).contains(&n) => {
                    options.insert("expireAfterSeconds", n as i32);
                }
                _ => {
                    return Err(cannot_create(format!(
                        "TTL index 'expireAfterSeconds' option must be within an acceptable range, try a lower number, got {v}"
                    )));
                }
            },
            "wildcardProjection" => {
                options.insert(k.clone(), v.clone());
            }
            "2dsphereIndexVersion" | "bits" | "min" | "max"
                if geo::GeoSpec::from_index(&key, &Document::new()).is_some() =>
            {
                options.insert(k.clone(), v.clone());
            }
            "weights" | "default_language" | "language_override" | "textIndexVersion"
                if text::spec::is_text_key(&key) =>
            {
                options.insert(k.clone(), v.clone());
            }
            "hidden" => {
                if f.bool("hidden")?.unwrap_or(false) {
                    options.insert("hidden", true);
                }
            }
            "collation" => {
                let Bson::Document(c) = v else {
                    return Err(cannot_create(
                        "\"collation\" for an index must be a document",
                    ));
                };
                collation = Some(collation::parse(c).map_err(|e| {
                    CommandError::new(
                        e.code,
                        format!(
                            "failed to add collation information to index spec for index creation: {spec} :: caused by :: {}",
                            e.message
                        ),
                    )
                })?);
            }
            "partialFilterExpression" => {
                let Bson::Document(filter) = v else {
                    return Err(CommandError::type_mismatch(format!(
                        "The field 'partialFilterExpression' must be an object, but got {}",
                        crate::engine::types::type_name(v)
                    )));
                };
                check_partial_filter(filter, 0)?;
                Filter::parse(filter)?;
                options.insert("partialFilterExpression", filter.clone());
            }
            other => {
                return Err(CommandError::new(
                    ErrorCode::InvalidIndexSpecificationOption,
                    format!(
                        "The field '{other}' is not valid for an index specification. Specification: {spec}"
                    ),
                ));
            }
        }
    }
    if !text::spec::is_text_key(&key) {
        crate::storage::wildcard::WildcardSpec::check(&key, &options)?;
    }
    geo::GeoSpec::check(&key, &options)?;
    if key.values().any(|d| d == &Bson::String("2dsphere".into()))
        && !options.contains_key("2dsphereIndexVersion")
    {
        options.insert("2dsphereIndexVersion", geo::SPHERE_INDEX_VERSION);
    }
    // A text index's key and options as mongod stores them (`_fts`, `_ftsx`, weights...).
    let key = if text::spec::is_text_key(&key) {
        text::spec::normalize(&key, &mut options)?
    } else {
        key
    };
    if unique && key.values().any(|d| d == &Bson::String("hashed".into())) {
        return Err(CommandError::new(
            ErrorCode::Location(16764),
            "Currently hashed indexes cannot guarantee uniqueness. Use a regular index.",
        ));
    }
    if sparse && options.contains_key("partialFilterExpression") {
        return Err(cannot_create(
            "cannot mix \"partialFilterExpression\" and \"sparse\" options",
        ));
    }
    if key == doc! {"_id": 1} && options.contains_key("partialFilterExpression") {
        return Err(cannot_create(
            "The _id index cannot be a partial index (\"partialFilterExpression\")",
        ));
    }
    if name == ID_INDEX_NAME && key != doc! {"_id": 1} {
        return Err(cannot_create(
            "The index name '_id_' is reserved for the _id index, which must have key pattern {_id: 1}",
        ));
    }
    Ok(Requested {
        name,
        key,
        unique,
        sparse,
        options,
        collation,
    })
}

/// Settles the request's collation against the collection's default: an index without
/// one takes the default, and the `_id` index must have the default.
fn resolve_collation(meta: &CollectionMeta, req: &mut Requested) -> CmdResult<()> {
    let default = collation::stored(&meta.options)?;
    let resolved = match req.collation.clone() {
        Some(c) => c,
        None => default.clone(),
    };
    if let Some(c) = &resolved
        && req.key.contains_key("_fts")
    {
        return Err(cannot_create(format!(
            "Index type 'text' does not support collation: {}",
            c.spec().to_document()
        )));
    }
    if req.key == doc! {"_id": 1} && resolved != default {
        let show = |c: &Option<Collator>| {
            c.as_ref()
                .map_or(doc! {"locale": "simple"}, |c| c.spec().to_document())
        };
        return Err(CommandError::bad_value(format!(
            "The _id index must have the same collation as the collection. Index collation: {}, collection collation: {}",
            show(&resolved),
            show(&default)
        )));
    }
    match &resolved {
        Some(c) => {
            req.options.insert("collation", c.spec().to_document());
        }
        None => {
            req.options.remove("collation");
        }
    }
    Ok(())
}

/// What a partial index's filter may use, as in mongod: equalities, `$exists: true`,
/// comparisons, `$type`, `$in`, and `$and`/`$or` of those (an `$or` only at the top
/// level or directly under an `$and` there).
fn check_partial_filter(filter: &Document, depth: usize) -> CmdResult<()> {
    let unsupported = |what: String| {
        cannot_create(format!(
            "Error in specification {{ partialFilterExpression: {filter} }} :: caused by :: Expression not supported in partial index: {what}"
        ))
    };
    for (key, value) in filter {
        match key.as_str() {
            "$and" | "$or" if depth < 2 => {
                let Bson::Array(parts) = value else {
                    return Err(unsupported(format!("{key}: {value}")));
                };
                for part in parts {
                    match part {
                        Bson::Document(d) => check_partial_filter(d, depth + 1)?,
                        other => return Err(unsupported(format!("{key}: {other}"))),
                    }
                }
            }
            k if k.starts_with('$') => return Err(unsupported(format!("{k}: {value}"))),
            path => {
                let Bson::Document(ops) = value else { continue };
                if !ops.keys().next().is_some_and(|k| k.starts_with('$')) {
                    continue; // an equality to a document
                }
                for (op, operand) in ops {
                    let allowed = match op.as_str() {
                        "$eq" | "$gt" | "$gte" | "$lt" | "$lte" | "$type" | "$in" => true,
                        "$exists" => crate::engine::agg::expr::truthy(Some(operand)),
                        _ => false,
                    };
                    if !allowed {
                        return Err(unsupported(format!("{path} {op} {operand}")));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether the request is already satisfied, or conflicts with an existing index.
fn existing(meta: &CollectionMeta, req: &Requested) -> CmdResult<bool> {
    if req.key == doc! {"_id": 1} {
        if req.name != ID_INDEX_NAME {
            return Err(CommandError::new(
                ErrorCode::IndexOptionsConflict,
                format!("Index already exists with a different name: {ID_INDEX_NAME}"),
            ));
        }
        return Ok(true);
    }
    for index in &meta.indexes {
        // An index is its key pattern and its collation: the same key under another
        // collation (and another name) is another index.
        let same_key =
            index.key == req.key && index.options.get("collation") == req.options.get("collation");
        let same_options = index.unique == req.unique
            && index.sparse == req.sparse
            && index.options == req.options;
        match (index.name == req.name, same_key, same_options) {
            (true, true, true) => return Ok(true),
            (true, false, _) => {
                return Err(CommandError::new(
                    ErrorCode::IndexKeySpecsConflict,
                    format!(
                        "An existing index has the same name as the requested index. Requested index: {}, existing index: {}",
                        spec_of(req),
                        index.spec()
                    ),
                ));
            }
            (true, true, false) => {
                return Err(CommandError::new(
                    ErrorCode::IndexOptionsConflict,
                    format!(
                        "An equivalent index already exists with the same name but different options. Requested index: {}, existing index: {}",
                        spec_of(req),
                        index.spec()
                    ),
                ));
            }
            (false, true, _) => {
                return Err(CommandError::new(
                    ErrorCode::IndexOptionsConflict,
                    format!("Index already exists with a different name: {}", index.name),
                ));
            }
            (false, false, _) => {}
        }
    }
    Ok(false)
}

fn spec_of(req: &Requested) -> Document {
    let mut spec = doc! {"v": 2, "key": req.key.clone(), "name": &req.name};
    spec.extend(req.options.clone());
    spec
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let specs = f.documents("indexes")?;
    if specs.is_empty() {
        return Err(CommandError::bad_value(
            "Must specify at least one index to create",
        ));
    }
    let requested = specs
        .iter()
        .map(|s| parse_spec(s))
        .collect::<CmdResult<Vec<_>>>()?;
    let wc = WriteConcern::parse(&f)?;
    catalog::validate_collection_name(ctx.db, coll)?;
    let (created_collection, before, after) = write(ctx, wc, |txn| {
        let existed = catalog::get_collection(txn, ctx.db, coll)?.is_some();
        let mut meta = txn.collection(ctx.db, coll)?;
        let created = !existed;
        let before = meta.indexes.len() + 1;
        for mut req in requested.iter().cloned() {
            resolve_collation(&meta, &mut req)?;
            if existing(&meta, &req)? {
                continue;
            }
            if req.key.contains_key("_fts")
                && let Some(other) = meta.indexes.iter().find(|i| i.text.is_some())
            {
                return Err(cannot_create(format!(
                    "only one text index per collection allowed, found existing text index \"{}\"",
                    other.name
                )));
            }
            if meta.indexes.len() + 1 >= MAX_INDEXES {
                return Err(cannot_create(format!(
                    "add index fails, too many indexes for {} key:{}",
                    meta.ns(),
                    req.key
                )));
            }
            let index = IndexMeta::new(req.name, req.key, catalog::next_ident(txn)?, req.options)?;
            meta.indexes.push(index);
            let position = meta.indexes.len() - 1;
            collection::build_index(txn, &mut meta, position)?;
            let mut o = doc! {"createIndexes": coll};
            o.extend(meta.indexes[position].spec());
            txn.record(Change::Command {
                db: ctx.db.to_owned(),
                uuid: Some(meta.uuid.clone()),
                o,
            });
        }
        let after = meta.indexes.len() + 1;
        catalog::put(txn, &meta)?;
        Ok((created, before, after))
    })?;
    let mut reply = doc! {
        "createdCollectionAutomatically": created_collection,
        "numIndexesBefore": before as i32,
        "numIndexesAfter": after as i32,
    };
    if before == after {
        reply.insert("note", "all indexes already exist");
    }
    Ok(reply)
}
