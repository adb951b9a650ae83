//! The plan of a `$text` query: the collection's text index, one range per word.

use bson::{Bson, doc};

use super::{Access, ByteRange, Plan, is_hidden};
use crate::engine::matcher::{Cond, Filter};
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError};
use crate::storage::Direction;
use crate::storage::catalog::CollectionMeta;
use crate::storage::keycodec::{encode_component_collated, prefix_successor};

/// The plan of a query with `$text`: always through the collection's text index (mongod
/// has no other way), one range per word of the query after the prefix fields'
/// equalities. A `$text` inside an `$or` is matched document by document instead.
pub(super) fn text_plan(
    meta: &CollectionMeta,
    filter: &Filter,
    text: &crate::engine::text::TextQuery,
    conds: &[(&str, &Cond)],
    sort: &SortSpec,
) -> CmdResult<Plan> {
    let Some((index, spec)) = meta
        .indexes
        .iter()
        .filter(|i| !is_hidden(i))
        .find_map(|i| i.text.as_ref().map(|t| (i, t.clone())))
    else {
        return Err(CommandError::new(
            crate::error::ErrorCode::IndexNotFound,
            "text index required for $text query",
        ));
    };
    let resolved = text.resolve(spec.clone(), &index.name)?;
    let top_level = match filter {
        Filter::Text(_) => true,
        Filter::And(parts) => parts.iter().any(|p| matches!(p, Filter::Text(_))),
        _ => false,
    };
    if !top_level {
        return Ok(Plan {
            access: Access::CollScan {
                direction: Direction::Forward,
            },
            provides_sort: sort.is_empty(),
        });
    }
    let mut prefix = Vec::new();
    for (path, descending) in &spec.prefix {
        let Some(v) = conds.iter().find_map(|(p, c)| match c {
            Cond::Eq(v) if p == path => Some(v),
            _ => None,
        }) else {
            return Err(CommandError::new(
                crate::error::ErrorCode::Location(291),
                "failed to use text index to satisfy $text query (if text index is compound, are equality predicates given for all prefix fields?)",
            ));
        };
        encode_component_collated(v, *descending, index.collation.as_ref(), &mut prefix);
    }
    let ranges = resolved
        .terms
        .iter()
        .map(|term| {
            let mut start = prefix.clone();
            encode_component_collated(&Bson::String(term.clone()), false, None, &mut start);
            let end = prefix_successor(&start);
            ByteRange { start, end }
        })
        .collect();
    Ok(Plan {
        access: Access::IndexScan {
            ident: index.ident,
            index: index.name.clone(),
            ranges,
            direction: Direction::Forward,
            bounds: doc! {"_fts": resolved.terms.iter().map(|t| Bson::String(format!("[\"{t}\", \"{t}\"]"))).collect::<Vec<_>>()},
            // A document holds an entry per word: scans remove repeats.
            multikey: true,
        },
        provides_sort: sort.is_empty(),
    })
}
