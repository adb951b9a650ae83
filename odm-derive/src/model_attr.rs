//! `#[odm::model]`: the attribute that writes a model's id declaration for serde.
//!
//! A derive cannot change the item it is given, and serde reads its own attributes, so
//! storing a field as `_id` (and leaving an `Option` id out while it is `None`, for the
//! server to assign one) took three serde attributes on every model. This attribute runs
//! before the derives: on the field marked `#[odm(id)]` it adds
//! `#[serde(rename = "_id")]`, and for an `Option` also `default` and
//! `skip_serializing_if`. Everything else is left as written; `#[derive(Model)]` checks
//! that an `#[odm(id)]` field is stored as `_id`, so forgetting this attribute is a
//! compile error, not a silent `id` field.
//!
//! A field with `#[odm(default = expr)]` gets a function returning the default (`expr`,
//! or `Some(expr)` for an `Option` field) and `#[serde(default = "that function")]`, so
//! that a document stored before the field existed reads back with it. The function
//! holds the expression with its own span: a default of the wrong type is reported
//! there.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Fields, ItemStruct, Meta, Token, parse_quote};

use crate::Errors;
use crate::attr::{DEFAULT, ID, ODM};

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    if !args.is_empty() {
        errors.spanned(
            &args,
            "`#[odm::model]` takes no arguments: model options go in `#[odm(...)]`",
        );
    }
    let mut item: ItemStruct = match syn::parse2(input) {
        Ok(item) => item,
        Err(e) => return e.to_compile_error(),
    };
    let mut default_fns = Vec::new();
    let struct_name = item.ident.clone();
    if let Fields::Named(fields) = &mut item.fields {
        for field in fields.named.iter_mut() {
            if let (Some(expr), Some(ident)) = (default_of(&field.attrs), &field.ident)
                && !serde_says(&field.attrs, "default")
            {
                let name = format_ident!("__odm_default_{}_{}", struct_name, ident);
                let ty = &field.ty;
                let value = if is_option(ty) {
                    quote_spanned!(expr.span()=> ::core::option::Option::Some(#expr))
                } else {
                    quote_spanned!(expr.span()=> #expr)
                };
                default_fns.push(quote! {
                    #[doc(hidden)]
                    #[allow(non_snake_case)]
                    fn #name() -> #ty {
                        #value
                    }
                });
                let path = name.to_string();
                field.attrs.push(parse_quote!(#[serde(default = #path)]));
            }
            if !marks_id(&field.attrs) {
                continue;
            }
            if serde_says(&field.attrs, "rename") {
                // The derive reports a rename to anything but `_id`.
                continue;
            }
            field.attrs.push(parse_quote!(#[serde(rename = "_id")]));
            if is_option(&field.ty)
                && !serde_says(&field.attrs, "default")
                && !serde_says(&field.attrs, "skip_serializing_if")
            {
                field.attrs.push(parse_quote!(
                    #[serde(default, skip_serializing_if = "::core::option::Option::is_none")]
                ));
            }
        }
    } else {
        errors.spanned(
            &item.ident,
            "`#[odm::model]` is for structs with named fields",
        );
    }
    let compile_errors = errors.to_compile_errors();
    quote!(#compile_errors #item #(#default_fns)*)
}

/// The expression of the field's `#[odm(default = expr)]`, if it has one.
fn default_of(attrs: &[Attribute]) -> Option<Expr> {
    odm_keys(attrs).find_map(|m| match m {
        Meta::NameValue(nv) if nv.path.is_ident(DEFAULT) => Some(nv.value),
        _ => None,
    })
}

/// The keys of the field's `#[odm(...)]` lists.
fn odm_keys(attrs: &[Attribute]) -> impl Iterator<Item = Meta> + '_ {
    attrs
        .iter()
        .filter(|a| a.path().is_ident(ODM))
        .filter_map(|a| {
            a.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()
        })
        .flat_map(|metas| metas.into_iter())
}

/// Whether one of the field's `#[odm(...)]` lists holds the bare key `id`.
fn marks_id(attrs: &[Attribute]) -> bool {
    odm_keys(attrs).any(|m| matches!(m, Meta::Path(p) if p.is_ident(ID)))
}

/// Whether a `#[serde(...)]` attribute of the field names `key`.
fn serde_says(attrs: &[Attribute], key: &str) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .filter_map(|a| {
            a.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()
        })
        .any(|metas| metas.iter().any(|m| m.path().is_ident(key)))
}

/// Whether a type is written `Option<..>` (the attribute sees syntax, not types).
pub fn is_option(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}
