//! An output field's accumulator as parsed from `{$op: argument}`: what each document
//! gives it ([`AccumulatorSpec::input`]) and how a group's accumulator starts
//! ([`AccumulatorSpec::start`]).
//!
//! Most accumulators take one expression. The `N` forms take `{input, n}` (or `{output,
//! n, sortBy}`), `$top`/`$bottom` take `{output, sortBy}`, and `$median`/`$percentile`
//! take `{input, p, method}`; each refuses unknown and missing arguments with mongod's
//! codes. `n` is an expression evaluated once per group against the group's key, so a
//! group keyed `{kind: "a"}` can take a different `n` than one keyed `{kind: "b"}`.

use std::sync::Arc;

use bson::{Bson, Document};

use super::ranked::{Order, Ranked};
use super::statistics::{Method, Samples, parse_ps};
use super::{Accumulator, AccumulatorKind, Input, State};
use crate::engine::agg::bind::Vars;
use crate::engine::agg::expr::{self, Expression, Scope};
use crate::engine::arith;
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};

#[derive(Clone, Debug)]
pub struct AccumulatorSpec {
    pub kind: AccumulatorKind,
    /// The value each document gives (`output` for `$top` and friends).
    input: Expression,
    /// `n` of the `N` forms.
    n: Option<Expression>,
    sort_by: Option<Arc<SortSpec>>,
    /// `p` of `$percentile` (`[0.5]` for `$median`).
    ps: Percentiles,
    method: Method,
}

fn error(code: i32, message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::Location(code), message)
}

impl AccumulatorSpec {
    /// An accumulator of one expression, built by the server itself (`$sortByCount`'s
    /// count, `$bucket`'s default `count`).
    pub fn simple(kind: AccumulatorKind, input: Expression) -> Self {
        AccumulatorSpec {
            kind,
            input,
            n: None,
            sort_by: None,
            ps: Percentiles::Known(Vec::new()),
            method: Method::Approximate,
        }
    }

    /// Parses `{name: arg}`; `None` when `name` is no accumulator.
    pub fn parse(name: &str, arg: &Bson) -> CmdResult<Option<Self>> {
        let Some(kind) = AccumulatorKind::from_name(name) else {
            return Ok(None);
        };
        let spec = match kind {
            AccumulatorKind::Count => {
                if !matches!(arg, Bson::Document(d) if d.is_empty()) {
                    return Err(error(4544702, "$count takes no arguments, i.e. $count:{}"));
                }
                Self::simple(AccumulatorKind::Sum, Expression::Literal(Bson::Int32(1)))
            }
            AccumulatorKind::FirstN
            | AccumulatorKind::LastN
            | AccumulatorKind::MinN
            | AccumulatorKind::MaxN => {
                let not_object = if matches!(kind, AccumulatorKind::FirstN | AccumulatorKind::LastN)
                {
                    5787801
                } else {
                    5787900
                };
                let d = object(arg, not_object)?;
                let mut n = None;
                let mut input = None;
                for (k, v) in d {
                    match k.as_str() {
                        "n" => n = Some(expr::parse(v)?),
                        "input" => input = Some(expr::parse(v)?),
                        other => {
                            return Err(error(
                                5787901,
                                format!("Unknown argument for 'n' operator: {other}"),
                            ));
                        }
                    }
                }
                let n = n.ok_or_else(|| error(5787906, "Missing value for 'n'"))?;
                let input = input.ok_or_else(|| error(5787907, "Missing value for 'input'"))?;
                AccumulatorSpec {
                    n: Some(n),
                    ..Self::simple(kind, input)
                }
            }
            AccumulatorKind::Top
            | AccumulatorKind::Bottom
            | AccumulatorKind::TopN
            | AccumulatorKind::BottomN => {
                let d = object(arg, 5788001)?;
                let single = matches!(kind, AccumulatorKind::Top | AccumulatorKind::Bottom);
                let mut n = None;
                let mut output = None;
                let mut sort_by = None;
                for (k, v) in d {
                    match (k.as_str(), v) {
                        ("n", v) if !single => n = Some(expr::parse(v)?),
                        ("output", v) => output = Some(expr::parse(v)?),
                        ("sortBy", Bson::Document(s)) => sort_by = Some(SortSpec::parse(s)?),
                        ("sortBy", other) => {
                            return Err(CommandError::new(
                                ErrorCode::TypeMismatch,
                                format!("expected 'sortBy' to be an object, found {other}"),
                            ));
                        }
                        (other, _) => {
                            return Err(error(
                                5788002,
                                format!("Unknown argument to {name} '{other}'"),
                            ));
                        }
                    }
                }
                let n = match (single, n) {
                    (true, _) => Expression::Literal(Bson::Int32(1)),
                    (false, Some(n)) => n,
                    (false, None) => return Err(error(5788003, "Missing value for 'n'")),
                };
                let output = output.ok_or_else(|| error(5788004, "Missing value for 'output'"))?;
                let sort_by =
                    sort_by.ok_or_else(|| error(5788005, "Missing value for 'sortBy'"))?;
                AccumulatorSpec {
                    n: Some(n),
                    sort_by: Some(Arc::new(sort_by)),
                    ..Self::simple(kind, output)
                }
            }
            AccumulatorKind::Median | AccumulatorKind::Percentile => {
                let (input, ps, method) = parse_quantile(name, arg)?;
                AccumulatorSpec {
                    ps,
                    method,
                    ..Self::simple(kind, input)
                }
            }
            _ => Self::simple(kind, expr::parse(arg)?),
        };
        Ok(Some(spec))
    }

    /// What one document (the scope's root) gives this accumulator.
    pub fn input(&self, scope: &mut Scope<'_>) -> CmdResult<Input> {
        let value = self.input.evaluate(scope)?;
        Ok(match &self.sort_by {
            Some(spec) => Input::Keyed(spec.key(scope.root), value),
            None => Input::Value(value),
        })
    }

    /// A fresh accumulator for the group keyed `key` (against which `n` is evaluated).
    pub fn start(&self, key: &Bson) -> CmdResult<Accumulator> {
        let state = match self.kind {
            AccumulatorKind::FirstN
            | AccumulatorKind::LastN
            | AccumulatorKind::MinN
            | AccumulatorKind::MaxN
            | AccumulatorKind::Top
            | AccumulatorKind::Bottom
            | AccumulatorKind::TopN
            | AccumulatorKind::BottomN => {
                let n = self.n_for(key)?;
                let order = match (self.kind, &self.sort_by) {
                    (AccumulatorKind::FirstN, _) => Order::Arrival { last: false },
                    (AccumulatorKind::LastN, _) => Order::Arrival { last: true },
                    (AccumulatorKind::MinN, _) => Order::Values { descending: false },
                    (AccumulatorKind::MaxN, _) => Order::Values { descending: true },
                    (_, Some(spec)) => Order::Sorted(spec.clone()),
                    (_, None) => Order::Arrival { last: false },
                };
                let bottom = matches!(
                    self.kind,
                    AccumulatorKind::Bottom | AccumulatorKind::BottomN
                );
                let single = matches!(self.kind, AccumulatorKind::Top | AccumulatorKind::Bottom);
                State::Ranked(Ranked::new(n, order, bottom, single))
            }
            AccumulatorKind::Median | AccumulatorKind::Percentile => {
                State::Samples(Samples::new(self.ps.values()?, self.method))
            }
            kind => return Ok(Accumulator::new(kind)),
        };
        Ok(Accumulator::with_state(self.kind, state))
    }

    /// Replaces the command's variables (`let`) by their values.
    pub fn bind(&mut self, vars: &Vars) {
        self.input.bind(vars);
        if let Some(n) = &mut self.n {
            n.bind(vars);
        }
        if let Percentiles::Pending(p) = &mut self.ps {
            p.bind(vars);
        }
    }

    fn n_for(&self, key: &Bson) -> CmdResult<usize> {
        let Some(n) = &self.n else {
            return Ok(1);
        };
        let root = match key {
            Bson::Document(d) => d.clone(),
            _ => Document::new(),
        };
        let value = n.evaluate(&mut Scope::new(&root))?.unwrap_or(Bson::Null);
        validate_n(&value)
    }
}

/// mongod's checks on `n`: an integral number above zero.
fn validate_n(value: &Bson) -> CmdResult<usize> {
    if !arith::is_number(value) {
        return Err(error(
            5787902,
            format!("Value for 'n' must be of integral type, but found {value}"),
        ));
    }
    let Some(n) = arith::to_i64_exact(value) else {
        return Err(error(
            5787903,
            format!("Value for 'n' must be of integral type, but found {value}"),
        ));
    };
    if n <= 0 {
        return Err(error(
            5787908,
            format!("'n' must be greater than 0, found {n}"),
        ));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn object(arg: &Bson, code: i32) -> CmdResult<&Document> {
    match arg {
        Bson::Document(d) => Ok(d),
        other => Err(error(
            code,
            format!("specification must be an object; found {other}"),
        )),
    }
}

/// The `p` of a `$percentile`.
#[derive(Clone, Debug)]
pub enum Percentiles {
    Known(Vec<f64>),
    /// An expression that reads the command's variables, known once they are bound.
    Pending(Expression),
}

impl Percentiles {
    fn parse(value: &Bson) -> CmdResult<Percentiles> {
        let p = expr::parse(value)?;
        // Without a document to read, an expression that fails can only be waiting for
        // the command's variables.
        match p.evaluate(&mut Scope::new(&Document::new())) {
            Ok(v) => Ok(Percentiles::Known(parse_ps(&v.unwrap_or(Bson::Null))?)),
            Err(_) => Ok(Percentiles::Pending(p)),
        }
    }

    pub fn values(&self) -> CmdResult<Vec<f64>> {
        match self {
            Percentiles::Known(ps) => Ok(ps.clone()),
            Percentiles::Pending(p) => {
                let v = p.evaluate(&mut Scope::new(&Document::new()))?;
                parse_ps(&v.unwrap_or(Bson::Null))
            }
        }
    }
}

/// `{input, p, method}` of `$percentile` (`{input, method}` of `$median`, whose `p` is
/// 0.5), as both the accumulator and the expression take it.
pub fn parse_quantile(name: &str, arg: &Bson) -> CmdResult<(Expression, Percentiles, Method)> {
    let median = name == "$median";
    let d = object(arg, if median { 7436100 } else { 7429703 })?;
    let field = |f: &str| format!("BSON field '{name}.{f}'");
    let mut input = None;
    let mut ps = median.then(|| Percentiles::Known(vec![0.5]));
    let mut method = None;
    for (k, v) in d {
        match k.as_str() {
            "input" => input = Some(expr::parse(v)?),
            // `p` is known before any document: it reads no field, only constants and
            // the command's variables.
            "p" if !median => ps = Some(Percentiles::parse(v)?),
            "method" => method = Some(Method::parse(v)?),
            other => {
                return Err(error(
                    40415,
                    format!("{} is an unknown field.", field(other)),
                ));
            }
        }
    }
    let missing = |f: &str| {
        error(
            40414,
            format!("{} is missing but a required field", field(f)),
        )
    };
    Ok((
        input.ok_or_else(|| missing("input"))?,
        ps.ok_or_else(|| missing("p"))?,
        method.ok_or_else(|| missing("method"))?,
    ))
}
