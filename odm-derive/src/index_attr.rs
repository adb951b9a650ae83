//! `index(...)` on a model: the keys (fields or paths, with a direction or a kind:
//! `1`, `-1`, `"hashed"`, `"text"`, `"2dsphere"`, `"2d"`) and the options of one index,
//! checked here so that a mistake fails to compile instead of failing at
//! `createIndexes`.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Token};

use crate::Errors;
use crate::attr::{first_time, int_value, key_name, skip_value, unknown};
use crate::collation_attr::{CollationAttr, parse_collation};

// Keys inside `index(...)`.
pub const KEYS: &str = "keys";
pub const UNIQUE: &str = "unique";
pub const SPARSE: &str = "sparse";
pub const NAME: &str = "name";
pub const EXPIRE_AFTER_SECS: &str = "expire_after_secs";
pub const COLLATION: &str = "collation";
pub const WEIGHTS: &str = "weights";
pub const DEFAULT_LANGUAGE: &str = "default_language";
pub const LANGUAGE_OVERRIDE: &str = "language_override";
/// `partial = path::to::fn`: a `fn() -> Filter<Self>` choosing the documents indexed.
pub const PARTIAL: &str = "partial";

/// The languages of MongoDB's text indexes, by name and code.
const TEXT_LANGUAGES: &[&str] = &[
    "danish",
    "da",
    "dutch",
    "nl",
    "english",
    "en",
    "finnish",
    "fi",
    "french",
    "fr",
    "german",
    "de",
    "hungarian",
    "hu",
    "italian",
    "it",
    "norwegian",
    "nb",
    "portuguese",
    "pt",
    "romanian",
    "ro",
    "russian",
    "ru",
    "spanish",
    "es",
    "swedish",
    "sv",
    "turkish",
    "tr",
    "none",
];

pub const INDEX_KEYS: &[&str] = &[
    KEYS,
    UNIQUE,
    SPARSE,
    NAME,
    EXPIRE_AFTER_SECS,
    COLLATION,
    WEIGHTS,
    DEFAULT_LANGUAGE,
    LANGUAGE_OVERRIDE,
    PARTIAL,
];

/// One key of an `index(keys(...))`: a field of the model or a dotted path.
#[derive(Clone)]
pub enum IndexKey {
    Field(Ident),
    Path(LitStr),
}

/// How an index holds one key: in ascending or descending order, by its hash, by its
/// words, or by where it lies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ascending,
    Descending,
    Hashed,
    /// A word of a text index.
    Text,
    /// A GeoJSON geometry (or coordinate pair) on the sphere: `"2dsphere"`.
    Sphere2d,
    /// A coordinate pair on a flat plane: `"2d"`.
    Flat2d,
}

impl KeyKind {
    /// The kinds MongoDB handles with an index plugin of their own: one per index.
    fn special(self) -> bool {
        !matches!(self, KeyKind::Ascending | KeyKind::Descending)
    }
}

/// As MongoDB writes it in an index name: `1`, `-1`, `hashed`, `2dsphere`.
impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyKind::Ascending => "1",
            KeyKind::Descending => "-1",
            KeyKind::Hashed => "hashed",
            KeyKind::Text => "text",
            KeyKind::Sphere2d => "2dsphere",
            KeyKind::Flat2d => "2d",
        })
    }
}

/// The key pattern's value: `1`, `-1`, `"hashed"`, `"text"`, `"2dsphere"` or `"2d"`.
impl quote::ToTokens for KeyKind {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            KeyKind::Ascending => quote::quote!(1i32),
            KeyKind::Descending => quote::quote!(-1i32),
            KeyKind::Hashed => quote::quote!("hashed"),
            KeyKind::Text => quote::quote!("text"),
            KeyKind::Sphere2d => quote::quote!("2dsphere"),
            KeyKind::Flat2d => quote::quote!("2d"),
        });
    }
}

/// An `index(...)` declaration.
pub struct IndexAttr {
    /// Where to report a problem with the whole index (its `name`, or `index`).
    pub name_span: Span,
    pub keys: Vec<(IndexKey, KeyKind)>,
    pub unique: bool,
    pub sparse: bool,
    pub name: Option<String>,
    pub expire_after_secs: Option<u64>,
    pub collation: Option<CollationAttr>,
    /// A text index's `weights(field = n, ...)`.
    pub weights: Vec<(IndexKey, u32)>,
    pub default_language: Option<String>,
    pub language_override: Option<String>,
    /// A partial index's filter: a function returning `Filter<Self>`.
    pub partial: Option<syn::Path>,
}

/// `(ident | "path") = 1 | -1`.
struct KeyEntry {
    key: IndexKey,
    direction: Expr,
}

impl Parse for KeyEntry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = if input.peek(LitStr) {
            IndexKey::Path(input.parse()?)
        } else {
            IndexKey::Field(input.parse()?)
        };
        input.parse::<Token![=]>()?;
        Ok(KeyEntry {
            key,
            direction: input.parse()?,
        })
    }
}

pub(crate) fn parse_index(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<IndexAttr>> {
    let span = meta.path.span();
    let mut index = IndexAttr {
        name_span: span,
        keys: Vec::new(),
        unique: false,
        sparse: false,
        name: None,
        expire_after_secs: None,
        collation: None,
        weights: Vec::new(),
        default_language: None,
        language_override: None,
        partial: None,
    };
    let mut seen = HashSet::new();
    meta.parse_nested_meta(|inner| {
        let name = key_name(&inner);
        if !INDEX_KEYS.contains(&name.as_str()) {
            return unknown(&inner, "index attribute", INDEX_KEYS, errors);
        }
        if !first_time(&inner, &mut seen, errors) {
            return skip_value(&inner);
        }
        match name.as_str() {
            KEYS => {
                let content;
                syn::parenthesized!(content in inner.input);
                let entries = content.parse_terminated(KeyEntry::parse, Token![,])?;
                for entry in entries {
                    let kind = match &entry.direction {
                        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => match s.value().as_str() {
                            "hashed" => Some(KeyKind::Hashed),
                            "text" => Some(KeyKind::Text),
                            "2dsphere" => Some(KeyKind::Sphere2d),
                            "2d" => Some(KeyKind::Flat2d),
                            _ => None,
                        },
                        other => match int_value(other) {
                            Some(1) => Some(KeyKind::Ascending),
                            Some(-1) => Some(KeyKind::Descending),
                            _ => None,
                        },
                    };
                    match kind {
                        Some(kind) => index.keys.push((entry.key, kind)),
                        None => errors.spanned(
                            &entry.direction,
                            "index key direction must be 1 (ascending), -1 (descending), \"hashed\", \"text\", \"2dsphere\" or \"2d\"",
                        ),
                    }
                }
            }
            UNIQUE => index.unique = true,
            SPARSE => index.sparse = true,
            NAME => {
                let lit = inner.value()?.parse::<LitStr>()?;
                index.name_span = lit.span();
                index.name = Some(lit.value());
            }
            EXPIRE_AFTER_SECS => {
                let lit: LitInt = inner.value()?.parse()?;
                match lit.base10_parse::<u64>() {
                    Ok(n) if n <= i32::MAX as u64 => index.expire_after_secs = Some(n),
                    _ => errors.spanned(
                        &lit,
                        "expire_after_secs must be a whole number of seconds up to 2147483647",
                    ),
                }
            }
            COLLATION => index.collation = parse_collation(&inner, errors)?,
            WEIGHTS => {
                let content;
                syn::parenthesized!(content in inner.input);
                let entries = content.parse_terminated(KeyEntry::parse, Token![,])?;
                for entry in entries {
                    match int_value(&entry.direction) {
                        Some(w @ 1..=99_999) => index.weights.push((entry.key, w as u32)),
                        _ => errors.spanned(
                            &entry.direction,
                            "a text weight must be a whole number from 1 to 99999",
                        ),
                    }
                }
            }
            PARTIAL => index.partial = Some(inner.value()?.parse::<syn::Path>()?),
            DEFAULT_LANGUAGE | LANGUAGE_OVERRIDE => {
                let lit: LitStr = inner.value()?.parse()?;
                if name == DEFAULT_LANGUAGE {
                    if !TEXT_LANGUAGES.contains(&lit.value().to_lowercase().as_str()) {
                        errors.spanned(
                            &lit,
                            format!(
                                "unknown text language `{}`; expected one of: {}",
                                lit.value(),
                                TEXT_LANGUAGES.join(", ")
                            ),
                        );
                    }
                    index.default_language = Some(lit.value());
                } else {
                    let v = lit.value();
                    if v.is_empty() || v.starts_with('$') || v.contains('.') {
                        errors.spanned(&lit, "language_override must name a top-level field");
                    }
                    index.language_override = Some(v);
                }
            }
            _ => unreachable!("checked against the known keys"),
        }
        Ok(())
    })?;
    if index.keys.is_empty() {
        // A `keys(...)` whose every entry was wrong is reported at those entries.
        if !seen.contains(KEYS) {
            errors.push(syn::Error::new(
                span,
                "an index needs `keys(field = 1, ...)`",
            ));
        }
        return Ok(None);
    }
    let hashed = index
        .keys
        .iter()
        .filter(|(_, k)| matches!(k, KeyKind::Hashed))
        .count();
    if hashed > 1 {
        errors.push(syn::Error::new(
            span,
            "an index may hash one key only (MongoDB refuses more)",
        ));
    }
    // mongod gives an index one access method: keys of two special kinds (text and
    // 2dsphere, hashed and 2d...) in one index are refused.
    let mut special = index.keys.iter().map(|(_, k)| *k).filter(|k| k.special());
    if let Some(first) = special.next()
        && let Some(other) = special.find(|k| *k != first)
    {
        errors.push(syn::Error::new(
            span,
            format!("an index holds one kind of special key: \"{first}\" and \"{other}\" cannot be mixed (MongoDB refuses them in one index): declare two indexes"),
        ));
    }
    let flat = index.keys.iter().position(|(_, k)| *k == KeyKind::Flat2d);
    let flat_count = index
        .keys
        .iter()
        .filter(|(_, k)| *k == KeyKind::Flat2d)
        .count();
    if flat_count > 1 {
        errors.push(syn::Error::new(
            span,
            "a \"2d\" index has one location key (MongoDB refuses more)",
        ));
    } else if flat.is_some_and(|i| i > 0) {
        errors.push(syn::Error::new(
            span,
            "the \"2d\" key must come first in its index (MongoDB refuses it after another key)",
        ));
    }
    let text = index.keys.iter().any(|(_, k)| matches!(k, KeyKind::Text));
    if !text
        && (!index.weights.is_empty()
            || index.default_language.is_some()
            || index.language_override.is_some())
    {
        errors.push(syn::Error::new(
            span,
            "`weights`, `default_language` and `language_override` are for text indexes (a key = \"text\")",
        ));
    }
    if index.partial.is_some() && index.sparse {
        errors.push(syn::Error::new(
            span,
            "an index is either `sparse` or `partial` (MongoDB refuses both)",
        ));
    }
    if hashed > 0 && index.unique {
        errors.push(syn::Error::new(
            span,
            "a hashed index cannot be unique (MongoDB cannot guarantee it): use an ascending key",
        ));
    }
    Ok(Some(index))
}
