//! Change streams: the `$changeStream` stage, turning oplog entries into the change
//! events drivers expect.
//!
//! ```text
//! {aggregate: "coll" | 1, pipeline: [{$changeStream: {fullDocument?, fullDocumentBeforeChange?,
//!   resumeAfter?, startAfter?, startAtOperationTime?, allChangesForCluster?,
//!   showExpandedEvents?}}, ...$match/$project/$addFields/...], cursor: {batchSize?}}
//! reply {cursor: {firstBatch: [events], postBatchResumeToken: {_data}, id, ns}}
//! getMore waits up to maxTimeMS (1 s by default) for events before an empty batch
//! ```
//!
//! A stream reads the oplog from its position, one entry (or one operation of a
//! committed transaction's `applyOps`) at a time, in cluster-time order; so a
//! transaction's events appear together when it commits, and a stream resumes from a
//! token after a restart since the oplog is durable. Tokens are `{_data: hex}` of
//! (cluster time, operation index within the entry, kind), which sort as the stream
//! reads; a token older than the oldest entry the oplog still has is
//! `ChangeStreamHistoryLost` (286).

use std::ops::{Bound, ControlFlow};
use std::time::Instant;

use bson::{Bson, DateTime, Document, Timestamp, doc};

use crate::engine::agg::pipeline::Pipeline;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::diff::update_description;
use crate::replset::oplog::{self, Stored};
use crate::replset::{ReplState, clock};
use crate::storage::{Direction, ReadTxn, keycodec};

/// What a stream watches.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    Collection { db: String, coll: String },
    Database { db: String },
    Cluster,
}

/// `fullDocument` / `fullDocumentBeforeChange`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Image {
    Off,
    UpdateLookup,
    WhenAvailable,
    Required,
}

/// A position in the stream: after the operation `index` of the entry at `ts`
/// (`index == u32::MAX`: after the whole entry, a high-water mark).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    ts: u64,
    index: u32,
}

const TOKEN_EVENT: u8 = 1;
const TOKEN_HIGH_WATER: u8 = 0;
const TOKEN_INVALIDATE: u8 = 2;

fn token(pos: Position, kind: u8) -> Document {
    let mut bytes = Vec::with_capacity(13);
    bytes.extend_from_slice(&pos.ts.to_be_bytes());
    bytes.extend_from_slice(&pos.index.to_be_bytes());
    bytes.push(kind);
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    doc! {"_data": hex}
}

fn parse_token(value: &Bson) -> CmdResult<(Position, u8)> {
    let bad = || {
        CommandError::new(
            ErrorCode::InvalidResumeToken,
            format!("invalid resume token: {value}"),
        )
    };
    let hex = value
        .as_document()
        .and_then(|d| d.get_str("_data").ok())
        .ok_or_else(bad)?;
    if hex.len() != 26 || !hex.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..13)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let ts = u64::from_be_bytes(bytes[..8].try_into().map_err(|_| bad())?);
    let index = u32::from_be_bytes(bytes[8..12].try_into().map_err(|_| bad())?);
    Ok((Position { ts, index }, bytes[12]))
}

/// The stages a change stream's pipeline may have after `$changeStream`.
const ALLOWED_STAGES: &[&str] = &[
    "$match",
    "$project",
    "$addFields",
    "$set",
    "$unset",
    "$replaceRoot",
    "$replaceWith",
    "$redact",
];

/// An open change stream: what it watches, how, and where it is.
#[derive(Debug)]
pub struct ChangeStream {
    scope: Scope,
    full_document: Image,
    before_change: Image,
    expanded: bool,
    /// Read from here on (exclusive).
    position: Position,
    rest: Pipeline,
    /// The stream met an invalidating event: it ends after returning it.
    finished: bool,
}

fn image(value: Option<&Bson>, field: &str, lookup_allowed: bool) -> CmdResult<Image> {
    match value {
        None => Ok(Image::Off),
        Some(Bson::String(s)) => match s.as_str() {
            "default" | "off" => Ok(Image::Off),
            "updateLookup" if lookup_allowed => Ok(Image::UpdateLookup),
            "whenAvailable" => Ok(Image::WhenAvailable),
            "required" => Ok(Image::Required),
            other => Err(CommandError::bad_value(format!(
                "unrecognized value for {field}: '{other}'"
            ))),
        },
        Some(other) => Err(CommandError::type_mismatch(format!(
            "{field} must be a string, not {other}"
        ))),
    }
}

impl ChangeStream {
    /// Opens a stream from `$changeStream`'s specification and the stages after it.
    pub fn open(
        repl: &ReplState,
        oplog_view: &dyn ReadTxn,
        scope: Scope,
        spec: &Document,
        rest: &[Bson],
    ) -> CmdResult<ChangeStream> {
        for stage in rest {
            let name = stage
                .as_document()
                .and_then(|d| d.keys().next())
                .map(String::as_str)
                .unwrap_or("");
            if name == "$changeStream" {
                return Err(CommandError::new(
                    ErrorCode::Location(40602),
                    "$changeStream is only valid as the first stage in a pipeline.",
                ));
            }
            if !ALLOWED_STAGES.contains(&name) {
                return Err(CommandError::new(
                    ErrorCode::IllegalOperation,
                    format!("{name} is not permitted in a $changeStream pipeline"),
                ));
            }
        }
        let rest = Pipeline::parse(rest)?;
        let mut start = None;
        for (k, v) in spec {
            match k.as_str() {
                "fullDocument"
                | "fullDocumentBeforeChange"
                | "allChangesForCluster"
                | "showExpandedEvents" => {}
                "resumeAfter" | "startAfter" => {
                    if start.is_some() {
                        return Err(CommandError::bad_value(
                            "Only one type of resume option is allowed, but multiple were found.",
                        ));
                    }
                    let (pos, kind) = parse_token(v)?;
                    if kind == TOKEN_INVALIDATE && k == "resumeAfter" {
                        return Err(CommandError::new(
                            ErrorCode::InvalidResumeToken,
                            "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.",
                        ));
                    }
                    start = Some((pos, true));
                }
                "startAtOperationTime" => {
                    if start.is_some() {
                        return Err(CommandError::bad_value(
                            "Only one type of resume option is allowed, but multiple were found.",
                        ));
                    }
                    let Bson::Timestamp(ts) = v else {
                        return Err(CommandError::type_mismatch(
                            "startAtOperationTime must be a Timestamp",
                        ));
                    };
                    // At the time means after everything before it.
                    let at = clock::to_u64(*ts);
                    let pos = match at.checked_sub(1) {
                        Some(before) => Position {
                            ts: before,
                            index: u32::MAX,
                        },
                        None => Position { ts: 0, index: 0 },
                    };
                    start = Some((pos, true));
                }
                other => {
                    return Err(CommandError::failed_to_parse(format!(
                        "unrecognized $changeStream option '{other}'"
                    )));
                }
            }
        }
        let position = match start {
            Some((pos, _)) => {
                if let Some((first, _)) = oplog::bounds(oplog_view)?
                    && pos.ts < clock::to_u64(first)
                {
                    return Err(CommandError::new(
                        ErrorCode::ChangeStreamHistoryLost,
                        "Resume of change stream was not possible, as the resume point may no longer be in the oplog.",
                    ));
                }
                pos
            }
            None => Position {
                ts: clock::to_u64(repl.cluster_time()),
                index: u32::MAX,
            },
        };
        Ok(ChangeStream {
            scope,
            full_document: image(spec.get("fullDocument"), "fullDocument", true)?,
            before_change: image(
                spec.get("fullDocumentBeforeChange"),
                "fullDocumentBeforeChange",
                false,
            )?,
            expanded: spec.get_bool("showExpandedEvents").unwrap_or(false),
            position,
            rest,
            finished: false,
        })
    }

    /// Whether the stream has ended (after an invalidate event).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The token to resume after everything returned so far.
    pub fn resume_token(&self) -> Document {
        let kind = if self.position.index == u32::MAX {
            TOKEN_HIGH_WATER
        } else if self.finished {
            TOKEN_INVALIDATE
        } else {
            TOKEN_EVENT
        };
        token(self.position, kind)
    }

    /// The next events, at most `limit`, waiting until `deadline` for the first one.
    /// Each pass reads the latest snapshot (which `updateLookup` looks documents up in).
    pub fn next_batch(
        &mut self,
        repl: &ReplState,
        limit: usize,
        deadline: Option<Instant>,
    ) -> CmdResult<Vec<Document>> {
        loop {
            let published = repl.snapshot();
            let batch = self.scan(&*published.snapshot, limit)?;
            if !batch.is_empty() || self.finished {
                return Ok(batch);
            }
            // Nothing new up to this snapshot: what is read from now on is after it.
            let seen = clock::to_u64(published.ts);
            if seen > self.position.ts {
                self.position = Position {
                    ts: seen,
                    index: u32::MAX,
                };
            }
            match deadline {
                Some(d) if repl.wait_for_commit_after(published.ts, d) => continue,
                _ => return Ok(batch),
            }
        }
    }

    fn scan(&mut self, view: &dyn ReadTxn, limit: usize) -> CmdResult<Vec<Document>> {
        let mut out = Vec::new();
        let start = self.position;
        let from = Bound::Included(clock::from_u64(start.ts));
        let mut events = Vec::new();
        // The last entry read before any event: the stream has moved past it.
        let mut passed = None;
        oplog::scan(view, from, Direction::Forward, &mut |stored| {
            let ts = clock::to_u64(stored.ts);
            for (index, event) in self.events_of(&stored, view)? {
                let pos = Position { ts, index };
                if pos > start {
                    events.push((pos, event));
                }
            }
            if events.is_empty() {
                passed = Some(ts);
            }
            Ok(if events.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })?;
        if let Some(ts) = passed
            && ts > self.position.ts
        {
            self.position = Position {
                ts,
                index: u32::MAX,
            };
        }
        for (pos, event) in events {
            if out.len() >= limit {
                break;
            }
            let invalidates = event.get_str("operationType").ok() == Some("invalidate");
            self.position = pos;
            for shown in self.rest.run(vec![event])? {
                if shown.get("_id")
                    != Some(&Bson::Document(token(
                        pos,
                        if invalidates {
                            TOKEN_INVALIDATE
                        } else {
                            TOKEN_EVENT
                        },
                    )))
                {
                    return Err(CommandError::new(
                        ErrorCode::ChangeStreamFatalError,
                        "Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that point. Only transformations that retain the unmodified _id field are allowed.",
                    ));
                }
                out.push(shown);
            }
            if invalidates {
                self.finished = true;
                break;
            }
        }
        Ok(out)
    }

    fn watches(&self, db: &str, coll: Option<&str>) -> bool {
        // System collections (system.profile, ...) are not watched, as in mongod; else
        // a stream whose getMores are profiled would wake itself forever.
        if coll.is_some_and(|c| c.starts_with("system.")) {
            return false;
        }
        match &self.scope {
            Scope::Cluster => !matches!(db, "admin" | "config" | "local"),
            Scope::Database { db: d } => d == db,
            Scope::Collection { db: d, coll: c } => d == db && coll.is_none_or(|x| x == c),
        }
    }

    /// The events an oplog entry makes for this stream, with their operation index.
    fn events_of(&self, stored: &Stored, view: &dyn ReadTxn) -> CmdResult<Vec<(u32, Document)>> {
        let e = &stored.entry;
        let wall = e
            .get_datetime("wall")
            .copied()
            .unwrap_or_else(|_| DateTime::now());
        let ts = stored.ts;
        let mut out = Vec::new();
        let apply_ops = e
            .get_document("o")
            .and_then(|o| o.get_array("applyOps"))
            .ok()
            .filter(|_| e.get_str("op").ok() == Some("c"));
        if let Some(ops) = apply_ops {
            let txn = (e.get("lsid").cloned(), e.get("txnNumber").cloned());
            for (i, op) in ops.iter().enumerate() {
                let Some(op) = op.as_document() else { continue };
                let img = stored.images.get(i).and_then(Bson::as_document);
                for mut event in self.event(op, img, ts, wall, i as u32, view)? {
                    if let (Some(lsid), Some(n)) = &txn {
                        event.1.insert("lsid", lsid.clone());
                        event.1.insert("txnNumber", n.clone());
                    }
                    out.push(event);
                }
            }
        } else {
            let img = stored.images.first().and_then(Bson::as_document);
            out = self.event(e, img, ts, wall, 0, view)?;
        }
        Ok(out)
    }

    fn event(
        &self,
        op: &Document,
        img: Option<&Document>,
        ts: Timestamp,
        wall: DateTime,
        index: u32,
        view: &dyn ReadTxn,
    ) -> CmdResult<Vec<(u32, Document)>> {
        let ns = op.get_str("ns").unwrap_or("");
        let (db, coll) = ns.split_once('.').unwrap_or((ns, ""));
        let kind = op.get_str("op").unwrap_or("");
        let o = op.get_document("o").cloned().unwrap_or_default();
        let pos = Position {
            ts: clock::to_u64(ts),
            index,
        };
        let head = |operation: &str| {
            doc! {
                "_id": token(pos, TOKEN_EVENT),
                "operationType": operation,
                "clusterTime": ts,
                "wallTime": wall,
            }
        };
        let ns_doc = doc! {"db": db, "coll": coll};
        let key = op
            .get_document("o2")
            .cloned()
            .unwrap_or_else(|_| doc! {"_id": o.get("_id").cloned().unwrap_or(Bson::Null)});
        let pre = img.and_then(|i| i.get_document("pre").ok()).cloned();
        let post = img.and_then(|i| i.get_document("post").ok()).cloned();
        let mut event = match kind {
            "i" | "u" | "d" if !self.watches(db, Some(coll)) => return Ok(Vec::new()),
            "i" => {
                let mut ev = head("insert");
                ev.insert("fullDocument", o);
                ev.insert("ns", ns_doc);
                ev.insert("documentKey", key);
                ev
            }
            "u" => {
                let replace = !o.contains_key("$v");
                let mut ev = head(if replace { "replace" } else { "update" });
                if replace {
                    ev.insert("fullDocument", o.clone());
                }
                ev.insert("ns", ns_doc);
                ev.insert("documentKey", key.clone());
                if !replace {
                    let diff = o.get_document("diff").cloned().unwrap_or_default();
                    ev.insert("updateDescription", update_description(&diff));
                    match self.full_document {
                        Image::Off => {}
                        Image::UpdateLookup => {
                            let current = lookup(view, db, coll, &key)?;
                            ev.insert(
                                "fullDocument",
                                current.map(Bson::Document).unwrap_or(Bson::Null),
                            );
                        }
                        Image::WhenAvailable | Image::Required => {
                            ev.insert(
                                "fullDocument",
                                Self::image_field(post, self.full_document, "post")?,
                            );
                        }
                    }
                }
                if self.before_change != Image::Off {
                    ev.insert(
                        "fullDocumentBeforeChange",
                        Self::image_field(pre, self.before_change, "pre")?,
                    );
                }
                ev
            }
            "d" => {
                let mut ev = head("delete");
                ev.insert("ns", ns_doc);
                ev.insert("documentKey", key);
                if self.before_change != Image::Off {
                    ev.insert(
                        "fullDocumentBeforeChange",
                        Self::image_field(pre, self.before_change, "pre")?,
                    );
                }
                ev
            }
            "c" => return Ok(self.command_events(&o, db, head, pos)),
            _ => return Ok(Vec::new()),
        };
        if self.expanded
            && let Some(ui) = op.get("ui")
        {
            event.insert("collectionUUID", ui.clone());
        }
        Ok(vec![(index, event)])
    }

    /// A pre- or post-image for an event: the document, or null when the collection keeps
    /// none, unless `mode` is `required`.
    fn image_field(image: Option<Document>, mode: Image, which: &str) -> CmdResult<Bson> {
        match (image, mode) {
            (Some(d), _) => Ok(Bson::Document(d)),
            (None, Image::Required) => Err(CommandError::new(
                ErrorCode::NoMatchingDocument,
                format!(
                    "Change stream was configured to require a {which}-image for all update, delete and replace events, but the {which}-image was not found (enable changeStreamPreAndPostImages on the collection)"
                ),
            )),
            (None, _) => Ok(Bson::Null),
        }
    }

    /// Events of a command entry: drop, rename, dropDatabase, and the invalidate that
    /// ends a stream whose collection or database went away.
    fn command_events(
        &self,
        o: &Document,
        db: &str,
        head: impl Fn(&str) -> Document,
        pos: Position,
    ) -> Vec<(u32, Document)> {
        let invalidate = |index: u32| {
            let mut ev = head("invalidate");
            ev.insert(
                "_id",
                token(Position { ts: pos.ts, index }, TOKEN_INVALIDATE),
            );
            (index, ev)
        };
        if let Ok(coll) = o.get_str("drop") {
            if !self.watches(db, Some(coll)) {
                return Vec::new();
            }
            let mut ev = head("drop");
            ev.insert("ns", doc! {"db": db, "coll": coll});
            let mut out = vec![(pos.index, ev)];
            if matches!(self.scope, Scope::Collection { .. }) {
                out.push(invalidate(pos.index + 1));
            }
            return out;
        }
        if let (Ok(from), Ok(to)) = (o.get_str("renameCollection"), o.get_str("to")) {
            let (from_db, from_coll) = from.split_once('.').unwrap_or((from, ""));
            let (to_db, to_coll) = to.split_once('.').unwrap_or((to, ""));
            if !self.watches(from_db, Some(from_coll)) && !self.watches(to_db, Some(to_coll)) {
                return Vec::new();
            }
            let mut ev = head("rename");
            ev.insert("ns", doc! {"db": from_db, "coll": from_coll});
            ev.insert("to", doc! {"db": to_db, "coll": to_coll});
            let mut out = vec![(pos.index, ev)];
            if matches!(self.scope, Scope::Collection { .. }) {
                out.push(invalidate(pos.index + 1));
            }
            return out;
        }
        if o.contains_key("dropDatabase") && self.watches(db, None) {
            let mut ev = head("dropDatabase");
            ev.insert("ns", doc! {"db": db});
            let mut out = vec![(pos.index, ev)];
            if matches!(self.scope, Scope::Database { .. }) {
                out.push(invalidate(pos.index + 1));
            }
            return out;
        }
        Vec::new()
    }
}

/// The current version of a document, for `fullDocument: "updateLookup"`.
fn lookup(view: &dyn ReadTxn, db: &str, coll: &str, key: &Document) -> CmdResult<Option<Document>> {
    let Some(meta) = crate::storage::catalog::get(view, db, coll)? else {
        return Ok(None);
    };
    let Some(id) = key.get("_id") else {
        return Ok(None);
    };
    crate::storage::collection::get_by_key(view, &meta, &keycodec::encode(id))
}
