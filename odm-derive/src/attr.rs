//! Parsing of `#[odm(...)]` attributes (and of the `#[serde(...)]` ones that decide
//! field paths), keeping spans. Unknown and duplicate keys are errors with a "did you
//! mean" hint; parsing continues after a mistake so that every error is reported.
//! An `index(...)` is parsed in `index_attr`, its `collation(...)` in `collation_attr`.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};

use crate::Errors;
use crate::case::{RenameRule, did_you_mean};
use crate::index_attr::parse_index;
pub use crate::index_attr::{IndexAttr, IndexKey, KeyKind, UNIQUE};

/// The attribute every key lives under.
pub const ODM: &str = "odm";

// Container keys.
pub const COLLECTION: &str = "collection";
pub const INDEX: &str = "index";
pub const TIMESTAMPS: &str = "timestamps";
/// The model implements `Hooks` itself (else the derive implements it with no hooks).
pub const HOOKS: &str = "hooks";
/// Deletes set `deleted_at` and reads leave those documents out.
pub const SOFT_DELETE: &str = "soft_delete";
/// On a model struct: the polymorphic model (a tagged enum) it is one variant of.
pub const VARIANT_OF: &str = "variant_of";
/// On a polymorphic model: the fields every variant has, which get paths on the parent.
pub const SHARED: &str = "shared";
pub const MODEL: &str = "model";
pub const ORDERED: &str = "ordered";
pub const NUMERIC: &str = "numeric";

// Field keys.
pub const LENGTH: &str = "length";
pub const RANGE: &str = "range";
pub const EMAIL: &str = "email";
pub const URL: &str = "url";
pub const PATTERN: &str = "pattern";
pub const ONE_OF: &str = "one_of";
pub const NON_EMPTY: &str = "non_empty";
pub const CUSTOM: &str = "custom";
/// The model's id: stored as `_id` (written for serde by `#[odm::model]`).
pub const ID: &str = "id";
/// The model's version for optimistic concurrency: an integer `save` checks and bumps.
pub const VERSION: &str = "version";
/// A field's default: read back where a stored document lacks the field, and filled on
/// insert where an `Option` field is `None` (written for serde by `#[odm::model]`).
pub const DEFAULT: &str = "default";
/// Once needed for an embedded type's rules to apply; they always do now, so the key is
/// refused with that explanation rather than silently accepted.
pub const NESTED: &str = "nested";

// Keys inside `length(...)` and `range(...)`.
pub const MIN: &str = "min";
pub const MAX: &str = "max";

pub const MODEL_CONTAINER_KEYS: &[&str] = &[
    COLLECTION,
    INDEX,
    TIMESTAMPS,
    HOOKS,
    SOFT_DELETE,
    VARIANT_OF,
    SHARED,
];
pub const VALUE_CONTAINER_KEYS: &[&str] = &[ORDERED, NUMERIC];
pub const PROJECTION_CONTAINER_KEYS: &[&str] = &[MODEL];
pub const MODEL_FIELD_KEYS: &[&str] = &[
    ID, VERSION, DEFAULT, UNIQUE, INDEX, LENGTH, RANGE, EMAIL, URL, PATTERN, ONE_OF, NON_EMPTY,
    CUSTOM, NESTED,
];
pub const EMBEDDED_FIELD_KEYS: &[&str] = &[
    DEFAULT, LENGTH, RANGE, EMAIL, URL, PATTERN, ONE_OF, NON_EMPTY, CUSTOM, NESTED,
];
pub const BOUND_KEYS: &[&str] = &[MIN, MAX];

/// Container attributes, for every derive (each derive accepts its own keys).
#[derive(Default)]
pub struct ContainerAttrs {
    pub collection: Option<LitStr>,
    pub indexes: Vec<IndexAttr>,
    pub timestamps: Option<Span>,
    /// `#[odm(hooks)]`: the model implements `Hooks` itself.
    pub hooks: Option<Span>,
    /// `#[odm(soft_delete)]`.
    pub soft_delete: Option<Span>,
    pub model: Option<syn::Path>,
    /// `variant_of = Animal`.
    pub variant_of: Option<syn::Path>,
    /// `shared(id, name)`, with the span of `shared`.
    pub shared: Option<(Span, Vec<Ident>)>,
    pub ordered: bool,
    pub numeric: bool,
    pub rename_all: Option<RenameRule>,
    /// `#[serde(transparent)]`: the struct is stored as its one field.
    pub transparent: Option<Span>,
    /// `#[serde(tag = "...")]`: an enum's tag key.
    pub tag: Option<LitStr>,
    /// `#[serde(content = "...")]` or `#[serde(untagged)]`: an enum stored another way
    /// than with its tag beside the variant's fields.
    pub not_internally_tagged: Option<(Span, &'static str)>,
}

/// A numeric bound (`min = 1`, `max = -2.5`), with its tokens for error spans.
#[derive(Clone)]
pub struct Bound {
    pub value: f64,
    pub tokens: Expr,
}

/// A validation rule on a field.
pub enum RuleKind {
    Length {
        min: Option<Bound>,
        max: Option<Bound>,
    },
    Range {
        min: Option<Bound>,
        max: Option<Bound>,
    },
    Email,
    Url,
    Pattern(LitStr),
    OneOf(Vec<Expr>),
    NonEmpty,
    Custom(syn::Path),
}

pub struct Rule {
    pub kind: RuleKind,
    /// The attribute key's span: errors about the rule point there.
    pub span: Span,
}

/// Field attributes.
#[derive(Default)]
pub struct FieldAttrs {
    /// `#[odm(id)]`: this field is the `_id`.
    pub id: Option<Span>,
    /// `#[odm(version)]`: this field is the optimistic-concurrency version.
    pub version: Option<Span>,
    /// `#[odm(default = expr)]`.
    pub default: Option<Expr>,
    /// `#[serde(default ...)]`: a missing stored field reads as a default.
    pub serde_default: bool,
    pub unique: Option<Span>,
    pub index: Option<Span>,
    pub rules: Vec<Rule>,
    // serde
    pub rename: Option<String>,
    pub flatten: bool,
    pub skip: bool,
    /// `#[serde(skip_serializing_if = ...)]`: an absent value may not be written at all.
    pub skip_if: bool,
    /// `#[serde(with = "...")]` or `deserialize_with`: how to read the stored value back.
    pub with: Option<SerdeWith>,
}

/// A custom serde representation of a field.
#[derive(Clone)]
pub enum SerdeWith {
    /// `with = "module"`.
    Module(LitStr),
    /// `deserialize_with = "function"`.
    Deserialize(LitStr),
    /// `serialize_with` alone: the stored form cannot be read back.
    SerializeOnly,
}

pub(crate) fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    let path = &meta.path;
    path.get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| quote::quote!(#path).to_string().replace(' ', ""))
}

/// Consumes whatever follows a key we do not use (`= expr` or `(...)`).
pub(crate) fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

pub(crate) fn unknown(
    meta: &ParseNestedMeta<'_>,
    what: &str,
    known: &[&str],
    errors: &mut Errors,
) -> syn::Result<()> {
    let name = key_name(meta);
    let message = match did_you_mean(&name, known) {
        Some(hint) => format!("unknown {what} `{name}`; did you mean `{hint}`?"),
        None => format!(
            "unknown {what} `{name}`; expected one of: {}",
            known.join(", ")
        ),
    };
    errors.spanned(&meta.path, message);
    skip_value(meta)
}

/// Records a key as seen; false (with an error) when it was already there.
pub(crate) fn first_time(
    meta: &ParseNestedMeta<'_>,
    seen: &mut HashSet<String>,
    errors: &mut Errors,
) -> bool {
    let name = key_name(meta);
    if seen.insert(name.clone()) {
        true
    } else {
        errors.spanned(&meta.path, format!("duplicate odm attribute `{name}`"));
        false
    }
}

fn odm_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident(ODM))
}

/// Which container keys a derive accepts.
#[derive(Clone, Copy)]
pub enum ContainerKind {
    Model,
    Embedded,
    Value,
    Projection,
}

pub fn parse_container(
    attrs: &[Attribute],
    kind: ContainerKind,
    errors: &mut Errors,
) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    let mut seen = HashSet::new();
    let known: &[&str] = match kind {
        ContainerKind::Model => MODEL_CONTAINER_KEYS,
        ContainerKind::Embedded => &[],
        ContainerKind::Value => VALUE_CONTAINER_KEYS,
        ContainerKind::Projection => PROJECTION_CONTAINER_KEYS,
    };
    for attr in odm_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let name = key_name(&meta);
            if !known.contains(&name.as_str()) {
                return unknown(&meta, "odm container attribute", known, errors);
            }
            // `index` may repeat; everything else once.
            if name != INDEX && !first_time(&meta, &mut seen, errors) {
                return skip_value(&meta);
            }
            match name.as_str() {
                COLLECTION => {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.collection = Some(lit);
                }
                INDEX => {
                    if let Some(index) = parse_index(&meta, errors)? {
                        out.indexes.push(index);
                    }
                }
                TIMESTAMPS => out.timestamps = Some(meta.path.span()),
                HOOKS => out.hooks = Some(meta.path.span()),
                SOFT_DELETE => out.soft_delete = Some(meta.path.span()),
                MODEL => out.model = Some(meta.value()?.parse()?),
                VARIANT_OF => out.variant_of = Some(meta.value()?.parse()?),
                SHARED => {
                    let span = meta.path.span();
                    let mut names = Vec::new();
                    meta.parse_nested_meta(|inner| {
                        match inner.path.get_ident() {
                            Some(ident) => names.push(ident.clone()),
                            None => errors.spanned(&inner.path, "`shared(...)` lists field names"),
                        }
                        Ok(())
                    })?;
                    out.shared = Some((span, names));
                }
                ORDERED => out.ordered = true,
                NUMERIC => out.numeric = true,
                _ => unreachable!("checked against the known keys"),
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    parse_serde_container(attrs, &mut out, errors);
    out
}

pub(crate) fn int_value(e: &Expr) -> Option<i64> {
    number_value(e)
        .filter(|v| v.fract() == 0.0)
        .map(|v| v as i64)
}

/// The value of a numeric literal, possibly negated.
fn number_value(e: &Expr) -> Option<f64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => number_value(expr).map(|v| -v),
        Expr::Group(g) => number_value(&g.expr),
        Expr::Paren(p) => number_value(&p.expr),
        _ => None,
    }
}

fn parse_bounds(
    meta: &ParseNestedMeta<'_>,
    what: &str,
    errors: &mut Errors,
) -> syn::Result<(Option<Bound>, Option<Bound>)> {
    let (mut min, mut max) = (None, None);
    let mut seen = HashSet::new();
    meta.parse_nested_meta(|inner| {
        let name = key_name(&inner);
        if !BOUND_KEYS.contains(&name.as_str()) {
            return unknown(&inner, &format!("`{what}` bound"), BOUND_KEYS, errors);
        }
        if !first_time(&inner, &mut seen, errors) {
            return skip_value(&inner);
        }
        let tokens: Expr = inner.value()?.parse()?;
        let Some(value) = number_value(&tokens) else {
            errors.spanned(&tokens, format!("`{what}({name} = ...)` needs a number"));
            return Ok(());
        };
        let bound = Some(Bound { value, tokens });
        if name == MIN {
            min = bound
        } else {
            max = bound
        }
        Ok(())
    })?;
    if min.is_none() && max.is_none() {
        errors.spanned(
            &meta.path,
            format!("`{what}` needs `min`, `max` or both: `{what}(min = 1, max = 10)`"),
        );
    }
    Ok((min, max))
}

/// Which field keys a derive accepts.
pub fn parse_field(attrs: &[Attribute], kind: ContainerKind, errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    let mut seen = HashSet::new();
    let known: &[&str] = match kind {
        ContainerKind::Model => MODEL_FIELD_KEYS,
        ContainerKind::Embedded => EMBEDDED_FIELD_KEYS,
        ContainerKind::Value | ContainerKind::Projection => &[],
    };
    for attr in odm_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let name = key_name(&meta);
            if !known.contains(&name.as_str()) {
                return unknown(&meta, "odm field attribute", known, errors);
            }
            if !first_time(&meta, &mut seen, errors) {
                return skip_value(&meta);
            }
            let span = meta.path.span();
            let rule = |kind| Rule { kind, span };
            match name.as_str() {
                ID => out.id = Some(span),
                VERSION => out.version = Some(span),
                DEFAULT => out.default = Some(meta.value()?.parse()?),
                UNIQUE => out.unique = Some(span),
                INDEX => out.index = Some(span),
                NESTED => errors.spanned(
                    &meta.path,
                    "`nested` is not needed: the rules of an embedded type are always checked; remove it",
                ),
                LENGTH => {
                    let (min, max) = parse_bounds(&meta, LENGTH, errors)?;
                    for b in min.iter().chain(max.iter()) {
                        if b.value < 0.0 || b.value.fract() != 0.0 {
                            errors.spanned(
                                &b.tokens,
                                "`length` bounds must be whole numbers, 0 or more",
                            );
                        }
                    }
                    out.rules.push(rule(RuleKind::Length { min, max }));
                }
                RANGE => {
                    let (min, max) = parse_bounds(&meta, RANGE, errors)?;
                    out.rules.push(rule(RuleKind::Range { min, max }));
                }
                EMAIL => out.rules.push(rule(RuleKind::Email)),
                URL => out.rules.push(rule(RuleKind::Url)),
                NON_EMPTY => out.rules.push(rule(RuleKind::NonEmpty)),
                PATTERN => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if let Err(e) = regex::Regex::new(&lit.value()) {
                        errors.spanned(&lit, format!("invalid pattern: {e}"));
                    } else {
                        out.rules.push(rule(RuleKind::Pattern(lit)));
                    }
                }
                ONE_OF => {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let values = content.parse_terminated(Expr::parse, Token![,])?;
                    if values.is_empty() {
                        errors.spanned(
                            &meta.path,
                            "`one_of` needs at least one value: `one_of(\"a\", \"b\")`",
                        );
                    }
                    out.rules
                        .push(rule(RuleKind::OneOf(values.into_iter().collect())));
                }
                CUSTOM => {
                    let path: syn::Path = meta.value()?.parse()?;
                    out.rules.push(rule(RuleKind::Custom(path)));
                }
                _ => unreachable!("checked against the known keys"),
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    parse_serde_field(attrs, &mut out, errors);
    out
}

fn serde_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("serde"))
}

/// `rename = "x"` or `rename(serialize = "x", ...)`: the name documents are written with.
fn serialized_name(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<String>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse::<LitStr>()?.value()));
    }
    let mut name = None;
    meta.parse_nested_meta(|inner| {
        let value = inner.value()?.parse::<LitStr>()?.value();
        if inner.path.is_ident("serialize") {
            name = Some(value);
        }
        Ok(())
    })?;
    Ok(name)
}

fn parse_serde_container(attrs: &[Attribute], out: &mut ContainerAttrs, errors: &mut Errors) {
    for attr in serde_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("rename_all") {
                if let Some(name) = serialized_name(&meta)? {
                    match RenameRule::from_name(&name) {
                        Some(r) => out.rename_all = Some(r),
                        None => errors.push(syn::Error::new(
                            span,
                            format!("unknown serde rename_all rule `{name}`"),
                        )),
                    }
                }
                return Ok(());
            }
            if meta.path.is_ident("tag") {
                out.tag = Some(meta.value()?.parse()?);
                return Ok(());
            }
            if meta.path.is_ident("transparent") {
                out.transparent = Some(span);
            } else if meta.path.is_ident("content") {
                out.not_internally_tagged = Some((span, "adjacently tagged (`content`)"));
            } else if meta.path.is_ident("untagged") {
                out.not_internally_tagged = Some((span, "untagged"));
            }
            skip_value(&meta)
        });
        // serde reports malformed serde attributes itself.
        drop(result);
    }
}

/// A variant's `#[serde(rename = "...")]`, if any.
pub fn serde_rename(attrs: &[Attribute]) -> Option<String> {
    let mut name = None;
    for attr in serde_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                name = serialized_name(&meta)?.or(name.take());
                return Ok(());
            }
            skip_value(&meta)
        });
        drop(result);
    }
    name
}

fn parse_serde_field(attrs: &[Attribute], out: &mut FieldAttrs, _errors: &mut Errors) {
    for attr in serde_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let name = key_name(&meta);
            match name.as_str() {
                "rename" => out.rename = serialized_name(&meta)?.or(out.rename.take()),
                "flatten" => out.flatten = true,
                "default" => {
                    out.serde_default = true;
                    skip_value(&meta)?;
                }
                "skip" | "skip_serializing" => {
                    out.skip = true;
                    skip_value(&meta)?;
                }
                "skip_serializing_if" => {
                    out.skip_if = true;
                    skip_value(&meta)?;
                }
                "with" => out.with = Some(SerdeWith::Module(meta.value()?.parse()?)),
                "deserialize_with" => {
                    out.with = Some(SerdeWith::Deserialize(meta.value()?.parse()?))
                }
                "serialize_with" => {
                    if out.with.is_none() {
                        out.with = Some(SerdeWith::SerializeOnly);
                    }
                    skip_value(&meta)?;
                }
                _ => skip_value(&meta)?,
            }
            Ok(())
        });
        drop(result);
    }
}
