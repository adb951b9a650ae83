//! Sort specifications (`{age: -1, name: 1}`) and the keys documents sort by.
//!
//! A field's sort key is the value it holds, except that an array sorts by its smallest
//! element ascending and its largest descending (as mongod does), an empty array sorts
//! before `null`, and a missing field sorts as `null`. Strings order under the command's
//! collation (`engine::collation`).

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::arith;
use super::collation;
use super::compare::compare;
use super::path::index_values;
use super::text;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// A parsed sort: paths with their direction (`true` for descending).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SortSpec {
    pub fields: Vec<(String, bool)>,
}

/// The sort path standing for `{$meta: "textScore"}` (no field path starts with `$`).
pub const TEXT_SCORE: &str = "$textScore";

impl SortSpec {
    /// A `find`'s sort, which may also order by `{$meta: "textScore"}` (highest first).
    pub fn parse_find(spec: &Document) -> CmdResult<SortSpec> {
        let mut plain = Document::new();
        let mut order = Vec::with_capacity(spec.len());
        for (path, dir) in spec {
            match dir {
                Bson::Document(d)
                    if d.len() == 1 && d.get_str("$meta").is_ok_and(|m| m == "textScore") =>
                {
                    order.push((TEXT_SCORE.to_owned(), true));
                }
                other => {
                    plain.insert(path.clone(), other.clone());
                    order.push((path.clone(), false));
                }
            }
        }
        let parsed = SortSpec::parse(&plain)?;
        let mut parsed_fields = parsed.fields.into_iter();
        let fields = order
            .into_iter()
            .map(|(path, _)| {
                if path == TEXT_SCORE {
                    (path, true)
                } else {
                    parsed_fields
                        .next()
                        .expect("one parsed field per plain field")
                }
            })
            .collect();
        Ok(SortSpec { fields })
    }

    pub fn parse(spec: &Document) -> CmdResult<SortSpec> {
        let mut fields = Vec::with_capacity(spec.len());
        for (path, dir) in spec {
            if path.is_empty() || path.split('.').any(str::is_empty) || path.starts_with('$') {
                return Err(CommandError::bad_value(format!(
                    "Invalid sort path: '{path}'"
                )));
            }
            let descending = match dir {
                // Any number equal to 1 or -1, compared exactly (a decimal
                // 1.0000000000000000001 is no direction).
                n if arith::is_number(n) && compare(n, &Bson::Int32(1)).is_eq() => false,
                n if arith::is_number(n) && compare(n, &Bson::Int32(-1)).is_eq() => true,
                Bson::Document(d) if d.contains_key("$meta") => {
                    return Err(CommandError::bad_value(
                        "$meta sort keys are not supported by this server",
                    ));
                }
                Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                    return Err(CommandError::new(
                        ErrorCode::Location(15975),
                        "$sort key ordering must be 1 (for ascending) or -1 (for descending)",
                    ));
                }
                other => {
                    return Err(CommandError::new(
                        ErrorCode::Location(15974),
                        format!("Illegal key in $sort specification: {path}: {other}"),
                    ));
                }
            };
            fields.push((path.clone(), descending));
        }
        Ok(SortSpec { fields })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The key a document sorts by: one value per sort field.
    pub fn key(&self, doc: &Document) -> Vec<Bson> {
        self.fields
            .iter()
            .map(|(path, descending)| {
                if path == TEXT_SCORE {
                    return Bson::Double(text::current_score().unwrap_or(0.0));
                }
                let values = index_values(doc, path).values;
                let pick = if *descending {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                values
                    .into_iter()
                    .reduce(|best, v| {
                        if collation::compare(&v, &best) == pick {
                            v
                        } else {
                            best
                        }
                    })
                    .unwrap_or(Bson::Null)
            })
            .collect()
    }

    /// Compares two keys made by [`SortSpec::key`].
    pub fn compare_keys(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        for ((x, y), (_, descending)) in a.iter().zip(b).zip(&self.fields) {
            let ord = collation::compare(x, y);
            let ord = if *descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    /// Compares two documents by this order.
    pub fn compare(&self, a: &Document, b: &Document) -> Ordering {
        self.compare_keys(&self.key(a), &self.key(b))
    }

    /// Sorts documents in place (stable: equal keys keep their order).
    pub fn sort(&self, docs: &mut Vec<Document>) {
        self.sort_scored(docs, &|_| None);
    }

    /// [`SortSpec::sort`], each document's `{$meta: "textScore"}` given by `score`.
    pub fn sort_scored(&self, docs: &mut Vec<Document>, score: &dyn Fn(&Document) -> Option<f64>) {
        if self.is_empty() {
            return;
        }
        let mut keyed: Vec<(Vec<Bson>, Document)> = docs
            .drain(..)
            .map(|d| (text::with_score(score(&d), || self.key(&d)), d))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| self.compare_keys(a, b));
        docs.extend(keyed.into_iter().map(|(_, d)| d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn sorted(spec: Document, docs: Vec<Document>) -> Vec<Bson> {
        let spec = SortSpec::parse(&spec).unwrap();
        let mut docs = docs;
        spec.sort(&mut docs);
        docs.into_iter()
            .map(|d| d.get("_id").cloned().unwrap())
            .collect()
    }

    #[test]
    fn arrays_sort_by_min_ascending_and_max_descending() {
        let docs = vec![
            doc! {"_id": 1, "a": [1, 10]},
            doc! {"_id": 2, "a": 5},
            doc! {"_id": 3, "a": [3, 4]},
        ];
        assert_eq!(
            sorted(doc! {"a": 1}, docs.clone()),
            vec![Bson::Int32(1), Bson::Int32(3), Bson::Int32(2)]
        );
        assert_eq!(
            sorted(doc! {"a": -1}, docs),
            vec![Bson::Int32(1), Bson::Int32(2), Bson::Int32(3)]
        );
    }

    #[test]
    fn mixed_types_missing_and_empty_arrays() {
        let docs = vec![
            doc! {"_id": 1, "a": "s"},
            doc! {"_id": 2},
            doc! {"_id": 3, "a": 2},
            doc! {"_id": 4, "a": []},
            doc! {"_id": 5, "a": null},
        ];
        assert_eq!(
            sorted(doc! {"a": 1, "_id": 1}, docs),
            vec![
                Bson::Int32(4),
                Bson::Int32(2),
                Bson::Int32(5),
                Bson::Int32(3),
                Bson::Int32(1)
            ]
        );
    }

    #[test]
    fn several_keys_and_dotted_paths() {
        let docs = vec![
            doc! {"_id": 1, "x": {"y": 1}, "z": 1},
            doc! {"_id": 2, "x": {"y": 1}, "z": 2},
            doc! {"_id": 3, "x": {"y": 0}, "z": 3},
        ];
        assert_eq!(
            sorted(doc! {"x.y": -1, "z": -1}, docs),
            vec![Bson::Int32(2), Bson::Int32(1), Bson::Int32(3)]
        );
    }

    #[test]
    fn decimal_one_is_a_direction() {
        let dec = |s: &str| Bson::Decimal128(s.parse().unwrap());
        assert!(SortSpec::parse(&doc! {"a": dec("1.0")}).is_ok());
        assert!(SortSpec::parse(&doc! {"a": dec("-1")}).is_ok());
        assert_eq!(
            SortSpec::parse(&doc! {"a": dec("1.0000000000000000001")})
                .unwrap_err()
                .code
                .code(),
            15975
        );
    }

    #[test]
    fn bad_directions_are_refused() {
        assert_eq!(
            SortSpec::parse(&doc! {"a": 2}).unwrap_err().code.code(),
            15975
        );
        // Not a number at all is another error.
        assert_eq!(
            SortSpec::parse(&doc! {"a": "asc"}).unwrap_err().code.code(),
            15974
        );
    }
}
