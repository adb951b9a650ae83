//! What `explain`, the profiler and the slow-query log show of a plan: its stages as
//! mongod writes them, and the one-line summary (`IXSCAN { a: 1 }`).

use bson::{Document, doc};

use super::{Access, Plan, geo};
use crate::storage::Direction;
use crate::storage::catalog::{CollectionMeta, ID_INDEX_NAME};

impl Plan {
    /// The stage tree `explain` shows, in mongod's vocabulary.
    pub fn explain(
        &self,
        meta: &CollectionMeta,
        filter: &Document,
        blocking_sort: Option<&Document>,
    ) -> Document {
        let direction_name = |d: &Direction| match d {
            Direction::Forward => "forward",
            Direction::Reverse => "backward",
        };
        let mut stage = match &self.access {
            Access::CollScan { direction } | Access::NaturalScan { direction } => {
                doc! {"stage": "COLLSCAN", "filter": filter.clone(), "direction": direction_name(direction)}
            }
            Access::IdLookup { keys } => {
                doc! {"stage": "IDHACK", "keysExamined": keys.len() as i64}
            }
            Access::IdScan {
                direction, bounds, ..
            } => doc! {
                "stage": "FETCH",
                "filter": filter.clone(),
                "inputStage": {
                    "stage": "IXSCAN",
                    "keyPattern": {"_id": 1},
                    "indexName": ID_INDEX_NAME,
                    "isMultiKey": false,
                    "isUnique": true,
                    "direction": direction_name(direction),
                    "indexBounds": bounds.clone(),
                },
            },
            Access::IndexScan {
                index,
                direction,
                bounds,
                multikey,
                ..
            } => {
                let meta_index = meta.index(index);
                let mut stage = doc! {
                    "stage": "FETCH",
                    "filter": filter.clone(),
                    "inputStage": {
                        "stage": "IXSCAN",
                        "keyPattern": meta_index.map(|i| i.key.clone()).unwrap_or_default(),
                        "indexName": index.clone(),
                        "isMultiKey": *multikey,
                        "isUnique": meta_index.is_some_and(|i| i.unique),
                        "isSparse": meta_index.is_some_and(|i| i.sparse),
                        "isPartial": meta_index.is_some_and(|i| i.partial.is_some()),
                        "direction": direction_name(direction),
                        "indexBounds": bounds.clone(),
                    },
                };
                // mongod shows the index's collation on its scan.
                if let Some(c) = meta_index.and_then(|i| i.collation.as_ref())
                    && let Ok(scan) = stage.get_document_mut("inputStage")
                {
                    scan.insert("collation", c.spec().to_document());
                }
                if meta_index.is_some_and(|i| i.text.is_some()) {
                    stage = doc! {
                        "stage": "TEXT_MATCH",
                        "indexName": index.clone(),
                        "textIndexVersion": crate::engine::text::spec::TEXT_INDEX_VERSION,
                        "inputStage": stage,
                    };
                }
                stage
            }
            Access::GeoNear(scan) => geo::near_stage(scan, meta, filter),
        };
        if let Some(sort) = blocking_sort {
            stage = doc! {"stage": "SORT", "sortPattern": sort.clone(), "inputStage": stage};
        }
        stage
    }
}

impl Plan {
    /// The plan in one line, as mongod's profiler and slow-query log show it:
    /// `COLLSCAN`, `IDHACK`, `IXSCAN { a: 1, b: -1 }`.
    pub fn summary(&self, meta: &CollectionMeta) -> String {
        let ixscan = |key: &Document| {
            let fields: Vec<String> = key.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("IXSCAN {{ {} }}", fields.join(", "))
        };
        match &self.access {
            Access::CollScan { .. } | Access::NaturalScan { .. } => "COLLSCAN".to_owned(),
            Access::IdLookup { .. } => "IDHACK".to_owned(),
            Access::IdScan { .. } => ixscan(&doc! {"_id": 1}),
            Access::IndexScan { index, .. } => match meta.index(index) {
                Some(i) => ixscan(&i.key),
                None => format!("IXSCAN {index}"),
            },
            Access::GeoNear(scan) => {
                let key = meta
                    .index(&scan.index)
                    .map(|i| i.key.clone())
                    .unwrap_or_default();
                ixscan(&key).replacen("IXSCAN", geo::stage_name(&scan.kind), 1)
            }
        }
    }

    /// The name of the index used, if any.
    pub fn index_name(&self) -> Option<&str> {
        match &self.access {
            Access::CollScan { .. } | Access::NaturalScan { .. } => None,
            Access::IdLookup { .. } | Access::IdScan { .. } => Some(ID_INDEX_NAME),
            Access::IndexScan { index, .. } => Some(index),
            Access::GeoNear(scan) => Some(&scan.index),
        }
    }
}
