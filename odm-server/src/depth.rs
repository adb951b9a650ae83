//! How deep nesting may go, and why recursion over it cannot overflow the stack.
//!
//! Filters, expressions, updates, projections, `$jsonSchema` schemas and BSON values are
//! trees, and the code that parses, evaluates, compares, clones, encodes and decodes them
//! recurses once per level. In a debug build one level of expression parsing takes about
//! 28 KiB of stack, so an `$abs` nested 80 deep overflowed the 2 MiB of a tokio blocking
//! thread and aborted the process: when the server is embedded through `Db::open`, that
//! thread and that process are the user's application. Two things together keep every
//! build profile and every thread size safe.
//!
//! **1. mongod's limits, with mongod's codes and messages**, so nothing is nested deeper
//! than a known bound. The numbers come from mongod's source: `bson/bson_depth.h`,
//! `bson/bson_validate.cpp`, `db/ops/insert.cpp`, `db/update/storage_validation.cpp`,
//! `db/exec/document_value/document.cpp`, `db/pipeline/field_path.h`,
//! `db/matcher/expression_parser.cpp` and `db/pipeline/pipeline.cpp`.
//! - A document of a message nests at most [`MAX_BSON_DEPTH`] (200) levels below its top
//!   (`Overflow`, checked on the raw bytes by `wire::bson_check` before anything decodes
//!   them). That bounds every filter, expression, update, projection, schema and pipeline
//!   a client can send, since each of their levels is at least one level of BSON. It is
//!   also mongod's only bound on them: its matcher had a tree depth limit of its own
//!   (100, `kMaximumTreeDepth`) up to 3.4, and has not since.
//! - A stored document nests at most [`MAX_STORAGE_DEPTH`] (180) levels.
//! - A document an aggregation stage or a find projection produces nests at most
//!   [`MAX_BSON_DEPTH`] levels (mongod's check when it converts results to BSON), and so
//!   does an object or array an expression builds ([`check_value`]).
//! - A field path has at most [`MAX_MATCH_PATH_COMPONENTS`] (180) parts in a filter and
//!   [`MAX_FIELD_PATH_COMPONENTS`] (200) in an expression, a projection or an update; a
//!   pipeline has at most [`MAX_PIPELINE_STAGES`] (1000) stages.
//!
//! **2. [`guard`] at every recursive function**, which runs the function's body on a new
//! stack segment allocated on the heap (the `stacker` crate, which rustc uses for the same
//! purpose) whenever less than [`RED_ZONE`] is left on the current one. Within the limits,
//! the stack one step uses between two guards is bounded: one level of the recursive
//! functions here (about 30 KiB at most in a debug build) plus the `bson` crate's own
//! recursion over a value, which cannot be instrumented. Measured in a debug build, that
//! is about 6.7 KiB a level to decode (a document of a message or of storage: at most 201
//! levels), 3.3 KiB to encode, 3.1 KiB to print and 2.6 KiB to clone (a value the engine
//! holds: at most about 400 levels, an updated or projected document before its depth is
//! checked). [`RED_ZONE`] covers the largest of these, about 1.35 MiB, and is less than
//! what a 2 MiB thread has left when a command reaches the engine (about 1.9 MiB in a
//! debug build), so that ordinary commands never allocate a segment.

use bson::{Bson, Document, RawBsonRef, RawDocument};

use crate::error::{CmdResult, CommandError, ErrorCode};

/// Levels a document of a message may nest below its top level: mongod's `maxBSONDepth`
/// (`BSONDepth::kDefaultMaxAllowableDepth`). Also the depth of any document an
/// aggregation returns (counting the document itself as one level).
pub const MAX_BSON_DEPTH: usize = 200;

/// How deep a stored document may be, the document itself counting as one level and empty
/// documents and arrays as none: `BSONDepth::getMaxDepthForUserStorage()`, mongod's
/// `maxBSONDepth` less the 20 levels it keeps for the oplog entries that embed documents.
pub const MAX_STORAGE_DEPTH: usize = MAX_BSON_DEPTH - 20;

/// Parts of a field path in a filter (mongod checks them against the storage depth:
/// no longer path can name a stored value).
pub const MAX_MATCH_PATH_COMPONENTS: usize = MAX_STORAGE_DEPTH;

/// Parts of a field path in an expression, a projection or an update (mongod's
/// `FieldPath`, bounded by `maxBSONDepth`).
pub const MAX_FIELD_PATH_COMPONENTS: usize = MAX_BSON_DEPTH;

/// Stages in one pipeline (`internalPipelineLengthLimit` of a release mongod).
pub const MAX_PIPELINE_STAGES: usize = 1000;

/// Stack a guarded step may use before the next guard (see the module doc for how it is
/// sized).
pub const RED_ZONE: usize = 1536 * 1024;

/// The stack a command starts with: [`RED_ZONE`] plus room for the frames between the
/// start of a command and the engine's first guard (under 200 KiB in a debug build), so
/// that the guards a command meets per document do not each move to a new segment. A
/// 2 MiB thread has about 2030 KiB left when a command starts: only a smaller thread
/// starts commands on a new segment.
pub const COMMAND_RED_ZONE: usize = RED_ZONE + 384 * 1024;

/// The size of each stack segment [`guard`] allocates. Deep recursion moves to a new
/// segment every `STACK_SEGMENT - RED_ZONE` bytes, so a 200-level expression (about
/// 5.6 MiB in a debug build) needs one or two.
pub const STACK_SEGMENT: usize = 8 * 1024 * 1024;

/// Runs `f` with at least [`RED_ZONE`] of stack, moving to a new segment on the heap when
/// the current one has less left. Every recursive function of the server calls it once
/// per level, and so do the places that hand a whole document to the `bson` crate.
#[inline]
pub fn guard<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// Runs a command with at least [`COMMAND_RED_ZONE`] of stack.
pub fn guard_command<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(COMMAND_RED_ZONE, STACK_SEGMENT, f)
}

/// Visits the containers in `v` with their depth (`v` itself, when a container, is at
/// `depth`), without recursion; stops early when `visit` returns `true`.
fn any_container(v: &Bson, depth: usize, visit: &mut dyn FnMut(&Bson, usize) -> bool) -> bool {
    let mut stack = vec![(v, depth)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Bson>> = match v {
            Bson::Document(d) => Box::new(d.values()),
            Bson::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        if visit(v, depth) {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

/// How many levels a value nests: 0 for a scalar, 1 for a document or array holding only
/// scalars, one more for each level of documents or arrays inside.
pub fn value_depth(v: &Bson) -> usize {
    let mut max = 0;
    any_container(v, 1, &mut |_, depth| {
        max = max.max(depth);
        false
    });
    max
}

/// How many levels a document nests, itself included (1 for a flat document).
pub fn document_depth(doc: &Document) -> usize {
    1 + doc.values().map(value_depth).max().unwrap_or(0)
}

/// Whether a value nests more than `limit` levels (stops as soon as it knows).
pub fn deeper_than(v: &Bson, limit: usize) -> bool {
    any_container(v, 1, &mut |_, depth| depth > limit)
}

/// Whether a document, itself counting as one level, nests more than `limit` levels.
pub fn document_deeper_than(doc: &Document, limit: usize) -> bool {
    limit == 0
        || doc
            .values()
            .any(|v| deeper_than(v, limit.saturating_sub(1)))
}

/// The depth mongod holds a stored document to: like [`document_depth`], but an empty
/// document or array adds no level.
pub fn storage_depth(doc: &Document) -> usize {
    let mut max = 0;
    for v in doc.values() {
        any_container(v, 1, &mut |c, depth| {
            let empty = match c {
                Bson::Document(d) => d.is_empty(),
                Bson::Array(items) => items.is_empty(),
                _ => true,
            };
            if !empty {
                max = max.max(depth);
            }
            false
        });
    }
    1 + max
}

/// Which write stores a document: mongod words the storage limit differently for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Insert,
    Update,
}

/// [`storage_depth`] of a document as bytes. The recursion is bounded: the document
/// came through the wire check, which refuses nesting past [`MAX_BSON_DEPTH`].
pub fn raw_storage_depth(doc: &RawDocument) -> usize {
    fn container(value: RawBsonRef<'_>, depth: usize) -> usize {
        match value {
            RawBsonRef::Document(d) => {
                deepest(d.iter().filter_map(|e| e.ok().map(|(_, v)| v)), depth)
            }
            RawBsonRef::Array(a) => deepest(a.into_iter().filter_map(Result::ok), depth),
            _ => 0,
        }
    }
    // A non-empty container at `depth`, or the deepest one inside it; 0 when empty.
    fn deepest<'a>(values: impl Iterator<Item = RawBsonRef<'a>>, depth: usize) -> usize {
        values
            .map(|v| container(v, depth + 1).max(depth))
            .max()
            .unwrap_or(0)
    }
    1 + doc
        .iter()
        .filter_map(|e| e.ok().map(|(_, v)| container(v, 1)))
        .max()
        .unwrap_or(0)
}

/// Refuses a document deeper than [`MAX_STORAGE_DEPTH`] (`Overflow`, mongod's messages).
pub fn check_storage_depth(doc: &Document, write: Write) -> CmdResult<()> {
    refuse_storage_depth(storage_depth(doc), write)
}

/// [`check_storage_depth`] for a document as bytes.
pub fn check_raw_storage_depth(doc: &RawDocument, write: Write) -> CmdResult<()> {
    // Each level of a non-empty container takes at least 7 bytes (type, empty name,
    // length, terminator), so a document shorter than this cannot be too deep: most
    // documents are, and need no walk.
    if doc.as_bytes().len() < MAX_STORAGE_DEPTH * 7 {
        return Ok(());
    }
    refuse_storage_depth(raw_storage_depth(doc), write)
}

fn refuse_storage_depth(depth: usize, write: Write) -> CmdResult<()> {
    if depth <= MAX_STORAGE_DEPTH {
        return Ok(());
    }
    Err(CommandError::new(
        ErrorCode::Overflow,
        match write {
            Write::Insert => format!(
                "cannot insert document because it exceeds {MAX_STORAGE_DEPTH} levels of nesting"
            ),
            Write::Update => {
                format!("Document exceeds maximum nesting depth of {MAX_STORAGE_DEPTH}")
            }
        },
    ))
}

/// mongod's refusal of a result deeper than [`MAX_BSON_DEPTH`] when it converts it to BSON.
fn too_deep_to_convert() -> CommandError {
    CommandError::new(
        ErrorCode::Overflow,
        format!(
            "cannot convert document to BSON because it exceeds the limit of {MAX_BSON_DEPTH} levels of nesting"
        ),
    )
}

/// Refuses a document a stage or a projection produced that nests deeper than
/// [`MAX_BSON_DEPTH`] levels (itself included), as mongod does when it converts it.
pub fn check_output(doc: &Document) -> CmdResult<()> {
    if document_deeper_than(doc, MAX_BSON_DEPTH) {
        return Err(too_deep_to_convert());
    }
    Ok(())
}

/// Refuses an object or array an expression built that nests deeper than
/// [`MAX_BSON_DEPTH`] levels. mongod refuses such a value when the result is converted to
/// BSON, with this code and message; refusing it where it is built keeps every value the
/// engine holds within a known depth (see the module doc), and bounds what a `$reduce`
/// can accumulate level by level (mongod lets an accumulator reach 400 levels, then
/// refuses it as "$reduce accumulated value exceeded max allowable BSON depth").
pub fn check_value(v: &Bson) -> CmdResult<()> {
    if deeper_than(v, MAX_BSON_DEPTH) {
        return Err(too_deep_to_convert());
    }
    Ok(())
}

fn components(path: &str) -> usize {
    path.bytes().filter(|&b| b == b'.').count() + 1
}

/// Refuses a filter's field path with more than [`MAX_MATCH_PATH_COMPONENTS`] parts
/// (mongod's `5729100`).
pub fn check_match_path(path: &str) -> CmdResult<()> {
    if components(path) > MAX_MATCH_PATH_COMPONENTS {
        return Err(CommandError::new(
            ErrorCode::Location(5729100),
            "FieldPath is too long",
        ));
    }
    Ok(())
}

/// Refuses a field path of `parts` parts longer than [`MAX_FIELD_PATH_COMPONENTS`]
/// (`Overflow`, as mongod's `FieldPath`).
pub fn check_field_path_parts(parts: usize) -> CmdResult<()> {
    if parts > MAX_FIELD_PATH_COMPONENTS {
        return Err(CommandError::new(
            ErrorCode::Overflow,
            "FieldPath is too long",
        ));
    }
    Ok(())
}

/// [`check_field_path_parts`] for a dotted path.
pub fn check_field_path(path: &str) -> CmdResult<()> {
    check_field_path_parts(components(path))
}

/// Refuses a pipeline of more than [`MAX_PIPELINE_STAGES`] stages (mongod's `7749501`,
/// checked before any stage is parsed).
pub fn check_pipeline_length(stages: usize) -> CmdResult<()> {
    if stages > MAX_PIPELINE_STAGES {
        return Err(CommandError::new(
            ErrorCode::Location(7749501),
            format!("Pipeline length must be no longer than {MAX_PIPELINE_STAGES} stages."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    /// `{x: {x: ... {leaf: 1}}}`, `levels` documents in all.
    fn nested(levels: usize) -> Document {
        let mut d = doc! {"leaf": 1};
        for _ in 1..levels {
            d = doc! {"x": d};
        }
        d
    }

    #[test]
    fn depths_count_containers() {
        assert_eq!(value_depth(&Bson::Int32(1)), 0);
        assert_eq!(value_depth(&Bson::Array(vec![])), 1);
        assert_eq!(document_depth(&doc! {}), 1);
        assert_eq!(document_depth(&doc! {"a": {"b": [1]}}), 3);
        assert_eq!(document_depth(&nested(250)), 250);
        assert!(document_deeper_than(&nested(201), 200));
        assert!(!document_deeper_than(&nested(200), 200));
        assert!(deeper_than(&Bson::Document(nested(3)), 2));
        assert!(!deeper_than(&Bson::Document(nested(3)), 3));
    }

    #[test]
    fn empty_containers_do_not_count_for_storage() {
        assert_eq!(storage_depth(&doc! {"a": {}}), 1);
        assert_eq!(storage_depth(&doc! {"a": {"b": []}}), 2);
        assert_eq!(storage_depth(&doc! {"a": [[1]]}), 3);
        let at_limit = nested(MAX_STORAGE_DEPTH);
        assert!(check_storage_depth(&at_limit, Write::Insert).is_ok());
        // An empty document one level further down does not count.
        let mut with_empty = doc! {"leaf": {}};
        for _ in 1..MAX_STORAGE_DEPTH {
            with_empty = doc! {"x": with_empty};
        }
        assert_eq!(document_depth(&with_empty), MAX_STORAGE_DEPTH + 1);
        assert!(check_storage_depth(&with_empty, Write::Insert).is_ok());
        let past = doc! {"x": at_limit};
        let err = check_storage_depth(&past, Write::Insert).unwrap_err();
        assert_eq!(err.code, ErrorCode::Overflow);
        assert_eq!(
            err.message,
            "cannot insert document because it exceeds 180 levels of nesting"
        );
        let err = check_storage_depth(&past, Write::Update).unwrap_err();
        assert_eq!(err.message, "Document exceeds maximum nesting depth of 180");
    }

    #[test]
    fn the_raw_storage_depth_agrees() {
        let mut with_empty = doc! {"leaf": {}, "list": []};
        for _ in 0..10 {
            with_empty = doc! {"x": with_empty, "y": [[], {}]};
        }
        for d in [
            doc! {},
            doc! {"a": 1},
            doc! {"a": {}},
            doc! {"a": {"b": []}},
            doc! {"a": [[1]], "b": {"c": {"d": 1}}},
            doc! {"a": [{"b": [{"c": 1}]}], "z": 2},
            nested(MAX_STORAGE_DEPTH),
            nested(MAX_STORAGE_DEPTH + 1),
            with_empty,
        ] {
            let raw = bson::RawDocumentBuf::try_from(&d).unwrap();
            assert_eq!(raw_storage_depth(&raw), storage_depth(&d), "{d}");
        }
        let past = bson::RawDocumentBuf::try_from(&nested(MAX_STORAGE_DEPTH + 1)).unwrap();
        let err = check_raw_storage_depth(&past, Write::Insert).unwrap_err();
        assert_eq!(err.code, ErrorCode::Overflow);
        // The smallest document that is too deep (empty names, a null at the bottom) is
        // past the length below which the walk is skipped.
        let mut smallest = doc! {"": Bson::Null};
        for _ in 0..MAX_STORAGE_DEPTH {
            smallest = doc! {"": smallest};
        }
        let smallest = bson::RawDocumentBuf::try_from(&smallest).unwrap();
        assert_eq!(raw_storage_depth(&smallest), MAX_STORAGE_DEPTH + 1);
        assert!(smallest.as_bytes().len() >= MAX_STORAGE_DEPTH * 7);
        assert!(check_raw_storage_depth(&smallest, Write::Insert).is_err());
    }

    #[test]
    fn outputs_values_and_paths_are_bounded() {
        assert!(check_output(&nested(200)).is_ok());
        let err = check_output(&nested(201)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Overflow);
        assert!(err.message.contains("limit of 200 levels"));
        assert!(check_value(&Bson::Document(nested(200))).is_ok());
        assert!(check_value(&Bson::Document(nested(201))).is_err());
        assert!(check_match_path(&vec!["a"; 180].join(".")).is_ok());
        let err = check_match_path(&vec!["a"; 181].join(".")).unwrap_err();
        assert_eq!(err.code, ErrorCode::Location(5729100));
        assert!(check_field_path(&vec!["a"; 200].join(".")).is_ok());
        assert_eq!(
            check_field_path(&vec!["a"; 201].join("."))
                .unwrap_err()
                .code,
            ErrorCode::Overflow
        );
        assert!(check_pipeline_length(1000).is_ok());
        assert_eq!(
            check_pipeline_length(1001).unwrap_err().code,
            ErrorCode::Location(7749501)
        );
    }

    /// The guard keeps recursion far deeper than a small thread's stack alive: 10,000
    /// levels of a function with a 4 KiB frame need 40 MiB.
    #[test]
    fn guarded_recursion_outgrows_a_small_thread() {
        fn down(n: usize) -> usize {
            guard(|| {
                let frame = std::hint::black_box([n as u8; 4096]);
                if n == 0 {
                    frame[0] as usize
                } else {
                    down(n - 1) + frame[1] as usize % 2
                }
            })
        }
        let h = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| down(10_000))
            .unwrap();
        assert_eq!(h.join().unwrap(), 5_000);
    }
}
