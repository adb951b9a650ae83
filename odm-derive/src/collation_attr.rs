//! `collation(...)` inside an `index(...)`: the collation an index's strings compare
//! under, checked here (known keys, a locale, strength 1 to 5, the values each option
//! takes) so that a typo fails to compile instead of failing at `createIndexes`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{LitBool, LitInt, LitStr};

use crate::Errors;
use crate::attr::{first_time, key_name, unknown};

pub const LOCALE: &str = "locale";
pub const STRENGTH: &str = "strength";
pub const CASE_LEVEL: &str = "case_level";
pub const CASE_FIRST: &str = "case_first";
pub const NUMERIC_ORDERING: &str = "numeric_ordering";
pub const ALTERNATE: &str = "alternate";
pub const MAX_VARIABLE: &str = "max_variable";
pub const NORMALIZATION: &str = "normalization";
pub const BACKWARDS: &str = "backwards";

pub const COLLATION_KEYS: &[&str] = &[
    LOCALE,
    STRENGTH,
    CASE_LEVEL,
    CASE_FIRST,
    NUMERIC_ORDERING,
    ALTERNATE,
    MAX_VARIABLE,
    NORMALIZATION,
    BACKWARDS,
];

/// The string options and the values MongoDB accepts for each, with the driver's enum
/// variant each becomes.
const CASE_FIRST_VALUES: &[(&str, &str)] =
    &[("upper", "Upper"), ("lower", "Lower"), ("off", "Off")];
const ALTERNATE_VALUES: &[(&str, &str)] =
    &[("shifted", "Shifted"), ("non-ignorable", "NonIgnorable")];
const MAX_VARIABLE_VALUES: &[(&str, &str)] = &[("punct", "Punct"), ("space", "Space")];
const STRENGTHS: &[&str] = &[
    "Primary",
    "Secondary",
    "Tertiary",
    "Quaternary",
    "Identical",
];

/// A parsed `collation(...)`.
#[derive(Default)]
pub struct CollationAttr {
    locale: Option<String>,
    /// The driver's `CollationStrength` variant.
    strength: Option<&'static str>,
    case_first: Option<&'static str>,
    alternate: Option<&'static str>,
    max_variable: Option<&'static str>,
    /// `case_level`, `numeric_ordering`, `normalization`, `backwards`: the driver's
    /// builder method and the value.
    flags: Vec<(&'static str, bool)>,
}

fn enum_value(
    lit: &LitStr,
    key: &str,
    values: &[(&str, &'static str)],
    errors: &mut Errors,
) -> Option<&'static str> {
    let given = lit.value();
    match values.iter().find(|(v, _)| *v == given) {
        Some((_, variant)) => Some(variant),
        None => {
            let names: Vec<String> = values.iter().map(|(v, _)| format!("\"{v}\"")).collect();
            errors.spanned(
                lit,
                format!("collation {key} must be one of {}", names.join(", ")),
            );
            None
        }
    }
}

/// Parses `collation(locale = "en", strength = 2, ...)`; `None` after an error.
pub fn parse_collation(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<CollationAttr>> {
    let span: Span = meta.path.span();
    let mut attr = CollationAttr::default();
    let mut seen = std::collections::HashSet::new();
    let before = errors.len();
    meta.parse_nested_meta(|inner| {
        let name = key_name(&inner);
        if !COLLATION_KEYS.contains(&name.as_str()) {
            return unknown(&inner, "collation option", COLLATION_KEYS, errors);
        }
        if !first_time(&inner, &mut seen, errors) {
            inner.value()?.parse::<syn::Expr>()?;
            return Ok(());
        }
        match name.as_str() {
            LOCALE => {
                let lit: LitStr = inner.value()?.parse()?;
                if lit.value().is_empty() {
                    errors.spanned(&lit, "collation locale cannot be empty");
                }
                attr.locale = Some(lit.value());
            }
            STRENGTH => {
                let lit: LitInt = inner.value()?.parse()?;
                match lit.base10_parse::<usize>() {
                    Ok(n @ 1..=5) => attr.strength = Some(STRENGTHS[n - 1]),
                    _ => errors.spanned(&lit, "collation strength must be 1, 2, 3, 4 or 5"),
                }
            }
            CASE_FIRST => {
                let lit: LitStr = inner.value()?.parse()?;
                attr.case_first = enum_value(&lit, CASE_FIRST, CASE_FIRST_VALUES, errors);
            }
            ALTERNATE => {
                let lit: LitStr = inner.value()?.parse()?;
                attr.alternate = enum_value(&lit, ALTERNATE, ALTERNATE_VALUES, errors);
            }
            MAX_VARIABLE => {
                let lit: LitStr = inner.value()?.parse()?;
                attr.max_variable = enum_value(&lit, MAX_VARIABLE, MAX_VARIABLE_VALUES, errors);
            }
            CASE_LEVEL | NUMERIC_ORDERING | NORMALIZATION | BACKWARDS => {
                let lit: LitBool = inner.value()?.parse()?;
                let method = COLLATION_KEYS
                    .iter()
                    .find(|k| **k == name)
                    .expect("a known key");
                attr.flags.push((method, lit.value));
            }
            _ => unreachable!("checked against the known keys"),
        }
        Ok(())
    })?;
    if attr.locale.is_none() {
        errors.push(syn::Error::new(
            span,
            "a collation needs a `locale` (for example `collation(locale = \"en\", strength = 2)`)",
        ));
    }
    Ok((errors.len() == before).then_some(attr))
}

impl CollationAttr {
    /// An expression of type `Option<Collation>` (the driver's, through `odm::index`).
    pub fn to_tokens(&self, p: &TokenStream) -> TokenStream {
        let locale = self.locale.as_deref().unwrap_or_default();
        let mut calls = Vec::new();
        let variant = |ty: &str, v: &str| {
            let ty = syn::Ident::new(ty, Span::call_site());
            let v = syn::Ident::new(v, Span::call_site());
            quote!(#p::index::#ty::#v)
        };
        if let Some(s) = self.strength {
            let v = variant("CollationStrength", s);
            calls.push(quote!(.strength(#v)));
        }
        if let Some(c) = self.case_first {
            let v = variant("CollationCaseFirst", c);
            calls.push(quote!(.case_first(#v)));
        }
        if let Some(a) = self.alternate {
            let v = variant("CollationAlternate", a);
            calls.push(quote!(.alternate(#v)));
        }
        if let Some(m) = self.max_variable {
            let v = variant("CollationMaxVariable", m);
            calls.push(quote!(.max_variable(#v)));
        }
        for (method, value) in &self.flags {
            let method = syn::Ident::new(method, Span::call_site());
            calls.push(quote!(.#method(#value)));
        }
        quote! {
            ::core::option::Option::Some(
                #p::index::Collation::builder()
                    .locale(::std::string::String::from(#locale))
                    #(#calls)*
                    .build()
            )
        }
    }
}
