//! Typed expressions for `$addFields` / `$set`: [`Expr<M, T>`] computes a value of type
//! `T` from a document of type `M`. Small on purpose: field references, literals,
//! arithmetic on numbers (`+ - * /`), `concat` on strings, `size` of arrays and
//! conversions between numbers; [`Pipeline::raw_stage_as`] covers the rest.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Add, Div, Mul, Sub};

use bson::{Bson, Document, doc};

use super::{ArrayValue, Pipeline, reference, same_type, settable};
use crate::error::{BuildError, Result};
use crate::field::{AsField, FieldType, Numeric, Text};

/// Types arithmetic takes: numbers (checked on the value type, so `Option<i32>` counts).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a number: `+`, `-`, `*` and `/` on expressions need numbers",
    label = "not a numeric expression"
)]
pub trait Arithmetic {}

impl<T: Numeric> Arithmetic for T {}

/// Types `concat` takes: strings.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a string: `concat` needs string expressions",
    label = "not a string expression"
)]
pub trait Concatenable {}

impl<T: Text> Concatenable for T {}

same_type! {
    /// An expression's type (`Self`) is the type of the field it sets (`T`).
    #[diagnostic::on_unimplemented(
        message = "this expression gives `{Self}`, and the field it sets is `{T}`",
        label = "expression of type `{Self}`"
    )]
    Computes
}

/// A value of type `T` computed from a document of type `M`.
///
/// ```
/// # use odm::pipeline::Expr;
/// # use odm::prelude::*;
/// # #[odm::model]
/// # #[derive(Model, Serialize, Deserialize)]
/// # struct Line { #[odm(id)] id: Option<ObjectId>, price: f64, qty: u32, sku: String, tags: Vec<String> }
/// let l = Line::fields();
/// let total = Expr::field(l.price) * Expr::field(l.qty).to_f64() + Expr::lit(2.5);
/// assert_eq!(
///     total.to_bson()?,
///     bson::bson!({"$add": [{"$multiply": ["$price", {"$toDouble": "$qty"}]}, {"$literal": 2.5}]}),
/// );
/// let label = Expr::field(l.sku).concat(Expr::text(" x")).concat(Expr::size(l.tags).to_text());
/// # Ok::<(), odm::Error>(())
/// ```
pub struct Expr<M, T> {
    value: std::result::Result<Bson, String>,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Expr<M, T> {
    fn clone(&self) -> Self {
        Expr {
            value: self.value.clone(),
            _types: PhantomData,
        }
    }
}

impl<M, T> fmt::Debug for Expr<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Ok(v) => write!(f, "Expr({v})"),
            Err(e) => write!(f, "Expr(error: {e})"),
        }
    }
}

impl<M, T> Expr<M, T> {
    fn from_value(value: std::result::Result<Bson, String>) -> Self {
        Expr {
            value,
            _types: PhantomData,
        }
    }

    /// `{op: [args...]}`, an expression of type `U`; the first argument's error wins.
    fn apply<U>(op: &str, args: Vec<std::result::Result<Bson, String>>) -> Expr<M, U> {
        let args: std::result::Result<Vec<Bson>, String> = args.into_iter().collect();
        Expr::from_value(args.map(|args| Bson::Document(doc! {op: args})))
    }

    /// `{op: arg}`, an expression of type `U` with one argument.
    fn apply_one<U>(op: &str, arg: std::result::Result<Bson, String>) -> Expr<M, U> {
        Expr::from_value(arg.map(|arg| Bson::Document(doc! {op: arg})))
    }

    /// The value at a path of the document (`"$price"`).
    pub fn field<P: AsField<M, Type = T>>(path: P) -> Self {
        Self::from_value(reference(path.as_field()))
    }

    /// A constant (`{$literal: value}`, so that a string starting with `$` stays text).
    pub fn lit(value: T) -> Self
    where
        T: FieldType,
    {
        let value = T::to_bson(&value).map_err(|e| e.to_string());
        Self::from_value(value.map(|v| Bson::Document(doc! {"$literal": v})))
    }

    /// The expression MongoDB receives, or the error of a path or value that could not
    /// be used.
    pub fn to_bson(&self) -> Result<Bson> {
        self.value
            .clone()
            .map_err(|reason| BuildError::Expression { reason }.into())
    }
}

impl<M> Expr<M, String> {
    /// A constant string.
    pub fn text(value: &str) -> Self {
        Self::from_value(Ok(Bson::Document(doc! {"$literal": value})))
    }
}

impl<M> Expr<M, i32> {
    /// `$size`: the number of elements of an array field (the field must be an array in
    /// every document: MongoDB fails the stage on a missing one).
    pub fn size<P>(array: P) -> Self
    where
        P: AsField<M>,
        P::Type: ArrayValue,
    {
        Self::apply_one("$size", reference(array.as_field()))
    }
}

impl<M, T> Expr<M, T>
where
    T: FieldType,
    T::Scalar: Arithmetic,
{
    /// `$toDouble`: the number as an `f64`, for arithmetic with one.
    pub fn to_f64(self) -> Expr<M, f64> {
        Self::apply_one("$toDouble", self.value)
    }

    /// `$toLong`: the number as an `i64` (a double is truncated).
    pub fn to_i64(self) -> Expr<M, i64> {
        Self::apply_one("$toLong", self.value)
    }

    /// `$toString`: the number as text, for `concat`.
    pub fn to_text(self) -> Expr<M, String> {
        Self::apply_one("$toString", self.value)
    }
}

impl<M, T> Expr<M, T>
where
    T: FieldType,
    T::Scalar: Concatenable,
{
    /// `$concat`: this string followed by `other` (null when either is). A chain
    /// (`a.concat(b).concat(c)`) is one `$concat` of every part.
    pub fn concat(self, other: Expr<M, T>) -> Self {
        let mut parts = match self.value {
            Ok(Bson::Document(d)) if d.len() == 1 => match d.get_array("$concat") {
                Ok(parts) => parts.iter().cloned().map(Ok).collect(),
                Err(_) => vec![Ok(Bson::Document(d))],
            },
            first => vec![first],
        };
        parts.push(other.value);
        Self::apply("$concat", parts)
    }
}

/// `a + b`, `a - b`, `a * b` on numeric expressions of one type (`$add`, `$subtract`,
/// `$multiply`); convert first (`to_f64`) to mix types.
macro_rules! arithmetic {
    ($($trait:ident $method:ident $op:literal),*) => {$(
        impl<M, T> $trait for Expr<M, T>
        where
            T: FieldType,
            T::Scalar: Arithmetic,
        {
            type Output = Expr<M, T>;
            fn $method(self, rhs: Self) -> Self {
                Self::apply($op, vec![self.value, rhs.value])
            }
        }
    )*};
}

arithmetic!(Add add "$add", Sub sub "$subtract", Mul mul "$multiply");

/// `a / b` (`$divide`): an `f64`, as MongoDB divides integers too (it divides
/// `Decimal128`s into a decimal: convert those with `to_f64` first).
impl<M, T> Div for Expr<M, T>
where
    T: FieldType,
    T::Scalar: Arithmetic,
{
    type Output = Expr<M, f64>;
    fn div(self, rhs: Self) -> Expr<M, f64> {
        Self::apply("$divide", vec![self.value, rhs.value])
    }
}

/// The fields an `$addFields` / `$set` stage computes, each a path of the output type
/// (`Out`) set to an expression over the input documents (`Cur`) of the same type.
/// Built by the closure given to [`Pipeline::add_fields`].
pub struct AddFields<Cur, Out> {
    fields: Document,
    error: Option<String>,
    _types: PhantomData<fn() -> (Cur, Out)>,
}

impl<Cur, Out> AddFields<Cur, Out> {
    fn new() -> Self {
        AddFields {
            fields: Document::new(),
            error: None,
            _types: PhantomData,
        }
    }

    /// Sets `field` to `value`.
    pub fn set<F, T>(mut self, field: F, value: Expr<Cur, T>) -> Self
    where
        F: AsField<Out>,
        T: Computes<F::Type>,
    {
        let set = settable(field.as_field()).and_then(|path| {
            if self.fields.contains_key(path) {
                return Err(format!("`{path}` is set twice"));
            }
            value.value.map(|v| (path, v))
        });
        match set {
            Ok((path, value)) => {
                self.fields.insert(path, value);
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    fn into_stage(self, op: &str) -> std::result::Result<Document, String> {
        match self.error {
            Some(e) => Err(e),
            None if self.fields.is_empty() => Err("no field is set".into()),
            None => Ok(doc! {op: self.fields}),
        }
    }
}

impl<In, Cur> Pipeline<In, Cur> {
    /// `$addFields`: the documents with fields computed from them, read as `Out` (whose
    /// other fields are the documents' own, passed through unchecked).
    ///
    /// ```
    /// # use odm::pipeline::{Expr, Pipeline, fields};
    /// # use odm::prelude::*;
    /// # #[odm::model]
    /// # #[derive(Model, Serialize, Deserialize)]
    /// # struct Line { #[odm(id)] id: Option<ObjectId>, price: f64, qty: u32 }
    /// #[derive(Embedded, Serialize, Deserialize)]
    /// struct Priced {
    ///     price: f64,
    ///     total: f64,
    /// }
    ///
    /// let (l, p) = (Line::fields(), fields::<Priced>());
    /// let priced = Pipeline::new().add_fields(|s| {
    ///     s.set(p.total, Expr::field(l.price) * Expr::field(l.qty).to_f64())
    /// });
    /// assert_eq!(
    ///     priced.to_documents()?,
    ///     vec![doc! {"$addFields": {"total": {"$multiply": ["$price", {"$toDouble": "$qty"}]}}}],
    /// );
    /// # Ok::<(), odm::Error>(())
    /// ```
    pub fn add_fields<Out>(
        self,
        fields: impl FnOnce(AddFields<Cur, Out>) -> AddFields<Cur, Out>,
    ) -> Pipeline<In, Out> {
        let stage = fields(AddFields::new()).into_stage("$addFields");
        self.then("$addFields", stage)
    }

    /// `$set`: the same stage as [`add_fields`](Self::add_fields), by its other name.
    pub fn set<Out>(
        self,
        fields: impl FnOnce(AddFields<Cur, Out>) -> AddFields<Cur, Out>,
    ) -> Pipeline<In, Out> {
        let stage = fields(AddFields::new()).into_stage("$set");
        self.then("$set", stage)
    }
}
