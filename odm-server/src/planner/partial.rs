//! Whether a query may use a partial index: every document the query matches must be in
//! the index, so the query's conditions must imply the index's filter.
//!
//! The rules follow mongod's subset check, conservatively: a condition of the index's
//! filter is implied by one condition of the query's top-level conjunction on the same
//! path (an equality or `$in` whose values all satisfy it, a comparison inside its range,
//! anything but a null equality for `$exists: true`); `$and` needs every part implied,
//! `$or` one branch. What cannot be shown is taken as not implied, which costs an index,
//! never a result.

use bson::{Bson, doc};

use crate::engine::collation;
use crate::engine::compare::type_rank;
use crate::engine::matcher::{CmpOp, Cond, Filter, InItem, path_matches};

/// Whether the query's conjunction `conds` implies the index's `filter`.
pub(super) fn implies(conds: &[(&str, &Cond)], filter: &Filter) -> bool {
    crate::depth::guard(|| match filter {
        Filter::And(parts) => parts.iter().all(|p| implies(conds, p)),
        Filter::Or(branches) => branches.iter().any(|b| implies(conds, b)),
        Filter::Field {
            path,
            cond: Cond::And(wanted),
        } => wanted.iter().all(|w| implied_on(conds, path, w)),
        Filter::Field { path, cond } => implied_on(conds, path, cond),
        _ => false,
    })
}

fn implied_on(conds: &[(&str, &Cond)], path: &str, wanted: &Cond) -> bool {
    conds
        .iter()
        .filter(|(p, _)| *p == path)
        .any(|(_, have)| cond_implies(have, wanted))
}

/// Whether every document `have` admits at a path is admitted by `wanted` there.
fn cond_implies(have: &Cond, wanted: &Cond) -> bool {
    match have {
        Cond::Eq(v) => value_satisfies(v, wanted),
        Cond::In(items) => items.iter().all(|i| match i {
            InItem::Value(v) => value_satisfies(v, wanted),
            InItem::Regex(_) => false,
        }),
        Cond::Cmp(op, v) => match wanted {
            // A comparison never matches a missing field unless its operand is null or
            // MinKey/MaxKey (which bound every value, null included).
            Cond::Exists => !matches!(v, Bson::Null | Bson::MinKey | Bson::MaxKey),
            Cond::Cmp(wanted_op, w) => range_within(*op, v, *wanted_op, w),
            _ => false,
        },
        Cond::Exists => matches!(wanted, Cond::Exists),
        _ => false,
    }
}

/// Whether a document holding `v` at the path (alone or in an array) satisfies `wanted`:
/// the same value satisfies it, and conditions hold through arrays element by element.
/// Null and arrays are left out: `{a: null}` also matches a missing `a`, and an array
/// equality matches whole arrays.
fn value_satisfies(v: &Bson, wanted: &Cond) -> bool {
    if matches!(v, Bson::Null | Bson::Undefined | Bson::Array(_)) {
        return false;
    }
    path_matches(&doc! {"v": v.clone()}, "v", wanted)
}

/// Whether `x have_op v` implies `x wanted_op w`.
fn range_within(have_op: CmpOp, v: &Bson, wanted_op: CmpOp, w: &Bson) -> bool {
    let nan = |b: &Bson| crate::engine::compare::Number::from_bson(b).is_some_and(|n| n.is_nan());
    if type_rank(v) != type_rank(w) || nan(v) || nan(w) {
        return false;
    }
    let ord = collation::compare(v, w);
    match (wanted_op, have_op) {
        (CmpOp::Gt, CmpOp::Gt) | (CmpOp::Gte, CmpOp::Gt | CmpOp::Gte) => ord.is_ge(),
        (CmpOp::Gt, CmpOp::Gte) => ord.is_gt(),
        (CmpOp::Lt, CmpOp::Lt) | (CmpOp::Lte, CmpOp::Lt | CmpOp::Lte) => ord.is_le(),
        (CmpOp::Lt, CmpOp::Lte) => ord.is_lt(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::Document;

    fn check(query: Document, partial: Document) -> bool {
        let q = Filter::parse(&query).unwrap();
        let p = Filter::parse(&partial).unwrap();
        let conds = super::super::conjuncts(&q);
        implies(&conds, &p)
    }

    #[test]
    fn implication_follows_mongods_subset_rules() {
        let gt5 = doc! {"qty": {"$gt": 5}};
        assert!(check(doc! {"qty": 7}, gt5.clone()));
        assert!(check(doc! {"qty": {"$gt": 5}}, gt5.clone()));
        assert!(check(doc! {"qty": {"$gte": 6}, "x": 1}, gt5.clone()));
        assert!(check(doc! {"qty": {"$in": [6, 9]}}, gt5.clone()));
        assert!(!check(doc! {"qty": {"$gte": 5}}, gt5.clone()));
        assert!(!check(doc! {"qty": {"$in": [4, 9]}}, gt5.clone()));
        assert!(!check(doc! {"qty": "7"}, gt5.clone()));
        assert!(!check(doc! {}, gt5.clone()));
        assert!(!check(doc! {"$or": [{"qty": 7}, {"qty": 8}]}, gt5.clone()));
        assert!(!check(doc! {"qty": {"$gt": f64::NAN}}, gt5));
        assert!(!check(
            doc! {"email": {"$gt": bson::Bson::MinKey}},
            doc! {"email": {"$exists": true}}
        ));
        let exists = doc! {"email": {"$exists": true}};
        assert!(check(doc! {"email": "a@x"}, exists.clone()));
        assert!(check(doc! {"email": {"$gt": ""}}, exists.clone()));
        assert!(!check(doc! {"email": null}, exists.clone()));
        let both = doc! {"a": {"$exists": true}, "status": "active"};
        assert!(check(doc! {"a": 1, "status": "active"}, both.clone()));
        assert!(!check(doc! {"a": 1}, both));
        let either = doc! {"$or": [{"kind": "a"}, {"kind": "b"}]};
        assert!(check(doc! {"kind": "b"}, either.clone()));
        assert!(!check(doc! {"kind": "c"}, either));
    }
}
