//! `let` variables: their values written into parsed expressions, filters and stages.
//!
//! A command's `let` and a `$lookup`'s `let` define variables (`$$name`) that the
//! expressions under them read. Rather than carry a table of variables through every
//! evaluation (filters, projections and stages evaluate in many places), the values are
//! bound once: each reference becomes the value it names, and the result is an ordinary
//! parsed tree. A `$lookup` binds its sub-pipeline once per input document, with that
//! document's values.
//!
//! An inner `$let`, `$map`, `$filter` or `$reduce` that defines a name of its own hides
//! the outer variable of that name inside its body, so those references are left alone.

use std::collections::HashMap;

use bson::{Bson, Document};

use super::expr::{Expression, Scope, field_path_value};
use crate::engine::matcher::{Cond, ElemMatch, Filter};
use crate::error::{CmdResult, CommandError, ErrorCode};

/// Variables by name, with their values.
pub type Vars = HashMap<String, Bson>;

/// Checks a name given to a user variable: a lowercase ASCII letter or a non-ASCII
/// character first, then letters, digits and `_` (mongod's rule; names with a capital
/// first letter are the system's, such as `ROOT` and `NOW`).
pub fn check_user_name(name: &str) -> CmdResult<()> {
    let Some(first) = name.chars().next() else {
        return Err(CommandError::new(
            ErrorCode::Location(16866),
            "empty variable names are not allowed",
        ));
    };
    if !first.is_ascii_lowercase() && first.is_ascii() {
        return Err(CommandError::new(
            ErrorCode::Location(16867),
            format!("'{name}' starts with an invalid character for a user variable name"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(CommandError::new(
            ErrorCode::Location(16868),
            format!("'{name}' contains an invalid character for a variable name: '{bad}'"),
        ));
    }
    Ok(())
}

/// A command's `let`: each variable's value, evaluated once (it may read `$$NOW`, not a
/// document's fields; a missing value is `null`).
pub fn command_vars(spec: &Document) -> CmdResult<Vars> {
    let empty = Document::new();
    let mut vars = Vars::new();
    for (name, value) in spec {
        check_user_name(name)?;
        let v = super::expr::parse(value)?
            .evaluate(&mut Scope::new(&empty))?
            .unwrap_or(Bson::Null);
        vars.insert(name.clone(), v);
    }
    Ok(vars)
}

/// `vars` without the names in `hidden`: what the body of a construct that defines
/// those names sees of the outer variables.
fn without(vars: &Vars, hidden: &[&str]) -> Option<Vars> {
    if !hidden.iter().any(|h| vars.contains_key(*h)) {
        return None;
    }
    let mut inner = vars.clone();
    for h in hidden {
        inner.remove(*h);
    }
    Some(inner)
}

impl Expression {
    /// Writes the values of `vars` where this expression reads them.
    pub fn bind(&mut self, vars: &Vars) {
        if vars.is_empty() {
            return;
        }
        crate::depth::guard(|| match self {
            Expression::Variable(name, steps) => {
                if let Some(value) = vars.get(name.as_str()) {
                    *self = match field_path_value(value, steps) {
                        Some(v) => Expression::Literal(v),
                        // `$$REMOVE` is missing wherever it is read.
                        None => Expression::Variable("REMOVE".into(), Vec::new()),
                    };
                }
            }
            Expression::Literal(_) | Expression::Path(_) | Expression::Meta(_) => {}
            Expression::Object(fields) => fields.iter_mut().for_each(|(_, e)| e.bind(vars)),
            Expression::Array(items) | Expression::Operator(_, items) => {
                items.iter_mut().for_each(|e| e.bind(vars))
            }
            Expression::Cond(parts) => parts.iter_mut().for_each(|e| e.bind(vars)),
            Expression::Switch { branches, default } => {
                for (case, then) in branches {
                    case.bind(vars);
                    then.bind(vars);
                }
                if let Some(d) = default {
                    d.bind(vars);
                }
            }
            Expression::Let { vars: defs, body } => {
                defs.iter_mut().for_each(|(_, e)| e.bind(vars));
                let names: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
                match without(vars, &names) {
                    Some(inner) => body.bind(&inner),
                    None => body.bind(vars),
                }
            }
            Expression::Map { input, var, body } => {
                input.bind(vars);
                match without(vars, &[var.as_str()]) {
                    Some(inner) => body.bind(&inner),
                    None => body.bind(vars),
                }
            }
            Expression::Filter {
                input,
                var,
                cond,
                limit,
            } => {
                input.bind(vars);
                if let Some(l) = limit {
                    l.bind(vars);
                }
                match without(vars, &[var.as_str()]) {
                    Some(inner) => cond.bind(&inner),
                    None => cond.bind(vars),
                }
            }
            Expression::Reduce {
                input,
                initial,
                body,
            } => {
                input.bind(vars);
                initial.bind(vars);
                match without(vars, &["value", "this"]) {
                    Some(inner) => body.bind(&inner),
                    None => body.bind(vars),
                }
            }
        })
    }
}

impl Filter {
    /// Writes the values of `vars` into the filter's `$expr` parts.
    pub fn bind(&mut self, vars: &Vars) {
        if vars.is_empty() {
            return;
        }
        crate::depth::guard(|| match self {
            Filter::And(parts) | Filter::Or(parts) | Filter::Nor(parts) => {
                parts.iter_mut().for_each(|f| f.bind(vars))
            }
            Filter::Expr(e) => e.bind(vars),
            Filter::Field { cond, .. } => bind_cond(cond, vars),
            Filter::Const(_) | Filter::JsonSchema(_) | Filter::SampleRate(_) | Filter::Text(_) => {}
        })
    }
}

fn bind_cond(cond: &mut Cond, vars: &Vars) {
    match cond {
        Cond::ElemMatch(ElemMatch::Document(f)) => f.bind(vars),
        Cond::ElemMatch(ElemMatch::Value(c)) | Cond::Not(c) => bind_cond(c, vars),
        Cond::All(cs) | Cond::And(cs) => cs.iter_mut().for_each(|c| bind_cond(c, vars)),
        _ => {}
    }
}

impl crate::engine::update::Update {
    /// Writes the values of `vars` into a pipeline update's stages (operator and
    /// replacement updates hold no expressions).
    pub fn bind(&mut self, vars: &Vars) {
        if let crate::engine::update::Update::Pipeline(p) = self {
            p.bind(vars);
        }
    }
}

/// The command's `let`, when it has one (an absent `let` defines nothing).
pub fn command_let(body: &Document) -> CmdResult<Vars> {
    match body.get("let") {
        None => Ok(Vars::new()),
        Some(Bson::Document(spec)) => command_vars(spec),
        Some(other) => Err(CommandError::type_mismatch(format!(
            "BSON field 'let' is the wrong type '{}', expected type 'object'",
            crate::engine::types::type_name(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;
    use crate::engine::agg::expr::{self, Scope};

    fn eval(e: &Expression) -> Option<Bson> {
        e.evaluate(&mut Scope::new(&doc! {"a": 1})).unwrap()
    }

    #[test]
    fn references_become_values_except_where_a_name_is_redefined() {
        let vars: Vars = [("x".to_string(), Bson::Document(doc! {"k": 5}))].into();
        let mut e = expr::parse(&Bson::Document(doc! {"$add": ["$$x.k", "$a"]})).unwrap();
        e.bind(&vars);
        assert_eq!(eval(&e), Some(Bson::Int32(6)));
        let mut missing = expr::parse(&Bson::String("$$x.nope".into())).unwrap();
        missing.bind(&vars);
        assert_eq!(eval(&missing), None);
        // `$map` defines its own `x`: the body reads the element, not the outer value.
        let mut e = expr::parse(&Bson::Document(
            doc! {"$map": {"input": [1, 2], "as": "x", "in": {"$add": ["$$x", 10]}}},
        ))
        .unwrap();
        e.bind(&vars);
        assert_eq!(eval(&e), Some(Bson::Array(vec![11.into(), 12.into()])));
    }

    #[test]
    fn filters_bind_their_expr() {
        let vars: Vars = [("lim".to_string(), Bson::Int32(3))].into();
        let mut f = Filter::parse(&doc! {"$expr": {"$lt": ["$a", "$$lim"]}}).unwrap();
        f.bind(&vars);
        assert!(f.matches(&doc! {"a": 2}));
        assert!(!f.matches(&doc! {"a": 4}));
    }

    #[test]
    fn user_names_follow_mongod_rules() {
        assert!(check_user_name("total_2").is_ok());
        assert!(check_user_name("été").is_ok());
        assert_eq!(check_user_name("").unwrap_err().code.code(), 16866);
        assert_eq!(check_user_name("Total").unwrap_err().code.code(), 16867);
        assert_eq!(check_user_name("a-b").unwrap_err().code.code(), 16868);
    }
}
