//! `$fill`: null and missing fields filled in.
//!
//! ```text
//! {$fill: {partitionBy?: <expression> | partitionByFields?: [field, ...], sortBy?: {...},
//!          output: {field: {value: <expression>} | {method: "locf" | "linear"}, ...}}}
//! ```
//!
//! A `value` output sets the field, where it is null or missing, to the expression
//! evaluated on that document. `method` outputs are window functions over each
//! partition in `sortBy` order (`$locf`, `$linearFill`: see [`super::window`]), so with
//! one the documents come out in that order.

use bson::{Bson, Document};

use super::bind::Vars;
use super::expr::{self, Expression, Scope};
use super::join::set_overwriting;
use super::pipeline::stage_error as error;
use super::window::SetWindowFields;
use crate::engine::sort::SortSpec;
use crate::engine::types::type_name;
use crate::error::{CmdResult, CommandError};

#[derive(Clone, Debug)]
pub struct Fill {
    /// `(field, value)`: set where the field is null or missing.
    values: Vec<(String, Expression)>,
    /// The window stage for the `method` outputs, if any.
    methods: Option<SetWindowFields>,
}

impl Fill {
    pub fn parse(arg: &Bson) -> CmdResult<Fill> {
        let Bson::Document(spec) = arg else {
            return Err(CommandError::type_mismatch(format!(
                "the $fill stage specification must be an object, found {}",
                type_name(arg)
            )));
        };
        let (mut partition_by, mut partition_fields, mut sort_by, mut output) =
            (None, None, None, None);
        for (name, value) in spec {
            match name.as_str() {
                "partitionBy" => partition_by = Some(expr::parse(value)?),
                "partitionByFields" => {
                    let Bson::Array(items) = value else {
                        return Err(CommandError::type_mismatch(
                            "BSON field '$fill.partitionByFields' must be an array of strings",
                        ));
                    };
                    let mut fields = Vec::with_capacity(items.len());
                    for i in items {
                        match i {
                            Bson::String(s) if !s.starts_with('$') => fields.push(s.clone()),
                            other => {
                                return Err(error(
                                    6050203,
                                    format!(
                                        "partitionByFields field must not begin with '$' and be a string: {other}"
                                    ),
                                ));
                            }
                        }
                    }
                    partition_fields = Some(fields);
                }
                "sortBy" => {
                    let Bson::Document(s) = value else {
                        return Err(CommandError::type_mismatch(
                            "BSON field '$fill.sortBy' must be an object",
                        ));
                    };
                    sort_by = Some(SortSpec::parse(s)?);
                }
                "output" => {
                    let Bson::Document(o) = value else {
                        return Err(CommandError::type_mismatch(
                            "BSON field '$fill.output' must be an object",
                        ));
                    };
                    output = Some(o.clone());
                }
                other => {
                    return Err(error(
                        40415,
                        format!("BSON field '$fill.{other}' is an unknown field."),
                    ));
                }
            }
        }
        if partition_by.is_some() && partition_fields.is_some() {
            return Err(error(
                6050204,
                "Maximum one of 'partitionBy' and 'partitionByFields' can be specified in '$fill'",
            ));
        }
        let Some(output) = output else {
            return Err(error(
                40414,
                "BSON field '$fill.output' is missing but a required field",
            ));
        };
        let partition = partition_by.or_else(|| {
            partition_fields.map(|fields| {
                Expression::Object(
                    fields
                        .iter()
                        .map(|f| {
                            let path = f.split('.').map(str::to_string).collect();
                            (f.clone(), Expression::Path(path))
                        })
                        .collect(),
                )
            })
        });
        let (mut values, mut methods) = (Vec::new(), Vec::new());
        for (field, how) in &output {
            crate::depth::check_field_path(field)?;
            let Bson::Document(how) = how else {
                return Err(error(
                    6050200,
                    format!("Each fill output specification must be an object: {field}"),
                ));
            };
            match (how.get("value"), how.get("method"), how.len()) {
                (Some(v), None, 1) => values.push((field.clone(), expr::parse(v)?)),
                (None, Some(Bson::String(m)), 1) if m == "locf" || m == "linear" => {
                    methods.push((field.clone(), m == "linear"))
                }
                (None, Some(m), 1) => {
                    return Err(error(
                        6050202,
                        format!("Method must be either 'locf' or 'linear', found {m}"),
                    ));
                }
                _ => {
                    return Err(error(
                        6050201,
                        format!(
                            "Exactly one of 'value' and 'method' must be specified for output field '{field}'"
                        ),
                    ));
                }
            }
        }
        let methods = if methods.is_empty() {
            None
        } else {
            Some(SetWindowFields::filling(partition, sort_by, &methods)?)
        };
        Ok(Fill { values, methods })
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.values.iter_mut().for_each(|(_, e)| e.bind(vars));
        if let Some(m) = &mut self.methods {
            m.bind(vars);
        }
    }

    pub fn run(&self, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        let mut docs = match &self.methods {
            Some(m) => m.run(docs)?,
            None => docs,
        };
        for d in &mut docs {
            for (field, e) in &self.values {
                let present = crate::engine::path::get_path(d, field)
                    .is_some_and(|v| !matches!(v, Bson::Null));
                if !present {
                    let v = e.evaluate(&mut Scope::new(d))?.unwrap_or(Bson::Null);
                    set_overwriting(d, field, v);
                }
            }
        }
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;
    use crate::engine::agg::pipeline::Pipeline;

    fn run(spec: Document, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        Pipeline::parse(&[Bson::Document(doc! {"$fill": spec})])?.run(docs)
    }

    #[test]
    fn values_locf_and_linear() {
        let docs = vec![
            doc! {"_id": 1, "t": 1, "price": 10, "note": "a"},
            doc! {"_id": 2, "t": 2},
            doc! {"_id": 3, "t": 3, "price": 30, "note": null},
        ];
        let out = run(
            doc! {"sortBy": {"t": 1}, "output": {"price": {"method": "linear"}, "note": {"value": "none"}}},
            docs.clone(),
        )
        .unwrap();
        assert_eq!(
            out[1],
            doc! {"_id": 2, "t": 2, "price": 20.0, "note": "none"}
        );
        assert_eq!(out[2].get_str("note").unwrap(), "none");
        let out = run(
            doc! {"sortBy": {"t": 1}, "output": {"price": {"method": "locf"}}},
            docs,
        )
        .unwrap();
        assert_eq!(out[1].get_i32("price").unwrap(), 10);
    }

    #[test]
    fn bad_specifications_name_the_problem() {
        for (spec, code) in [
            (doc! {"sortBy": {"t": 1}}, 40414),
            (
                doc! {"output": {"a": {"value": 1, "method": "locf"}}},
                6050201,
            ),
            (
                doc! {"sortBy": {"t": 1}, "output": {"a": {"method": "nearest"}}},
                6050202,
            ),
            (
                doc! {"partitionBy": "$a", "partitionByFields": ["a"], "output": {"a": {"value": 1}}},
                6050204,
            ),
            (doc! {"output": {"a": {"method": "linear"}}}, 605001),
        ] {
            assert_eq!(
                run(spec.clone(), vec![]).unwrap_err().code.code(),
                code,
                "{spec}"
            );
        }
    }
}
