//! The `Validate` impl: every rule of every field, and the check of values an update
//! stores. Rule calls carry the span of their attribute, so a rule on a field type it
//! does not fit (`range` on a `String`) is reported at `range`.
//!
//! Identifiers the generated functions introduce start with `__odm_`, so that user
//! expressions pasted into them (`one_of(...)`, `custom = ...`) cannot capture them.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::fields::path_fields;
use super::private_at;
use crate::ast::{Container, Field};
use crate::attr::{Bound, Rule, RuleKind, SerdeWith};

fn usize_bound(b: &Option<Bound>) -> TokenStream {
    match b {
        Some(b) => {
            let v = b.value as usize;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn f64_bound(b: &Option<Bound>) -> TokenStream {
    match b {
        Some(b) => {
            let v = b.value;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// The check of one rule on `__odm_v` (a reference to the value), reported at `__odm_at`.
fn rule(rule: &Rule) -> TokenStream {
    let span = rule.span;
    // The runtime's path carries the rule's span too, so that every part of an error about
    // the rule points at the attribute.
    let p = private_at(span);
    match &rule.kind {
        RuleKind::Length { min, max } => {
            let (min, max) = (usize_bound(min), usize_bound(max));
            quote_spanned!(span=> #p::check_length(__odm_v, #min, #max, &__odm_at, __odm_errors);)
        }
        RuleKind::Range { min, max } => {
            let (min, max) = (f64_bound(min), f64_bound(max));
            quote_spanned!(span=> #p::check_range(__odm_v, #min, #max, &__odm_at, __odm_errors);)
        }
        RuleKind::Email => {
            quote_spanned!(span=> #p::check_email(__odm_v, &__odm_at, __odm_errors);)
        }
        RuleKind::Url => quote_spanned!(span=> #p::check_url(__odm_v, &__odm_at, __odm_errors);),
        RuleKind::NonEmpty => {
            quote_spanned!(span=> #p::check_non_empty(__odm_v, &__odm_at, __odm_errors);)
        }
        RuleKind::Pattern(lit) => quote_spanned! {span=>
            {
                static __ODM_RE: #p::OnceLock<#p::Regex> = #p::OnceLock::new();
                let __odm_re = __ODM_RE.get_or_init(|| #p::Regex::new(#lit).expect("the derive checked this pattern"));
                #p::check_pattern(__odm_v, __odm_re, &__odm_at, __odm_errors);
            }
        },
        RuleKind::OneOf(values) => {
            quote_spanned!(span=> #p::check_one_of(__odm_v, &[#(#values),*], &__odm_at, __odm_errors);)
        }
        RuleKind::Custom(path) => {
            quote_spanned!(span=> #p::check_custom(__odm_v, #path, &__odm_at, __odm_errors);)
        }
    }
}

/// The rules of a field applied to `__odm_value` (the field's whole value, by reference):
/// for an `Option`, only when present.
fn field_rules(f: &Field<'_>) -> TokenStream {
    if f.attrs.rules.is_empty() {
        return TokenStream::new();
    }
    let rules = f.attrs.rules.iter().map(rule);
    if f.option_inner().is_some() {
        quote! {
            if let ::core::option::Option::Some(__odm_v) = __odm_value {
                #(#rules)*
            }
        }
    } else {
        quote! {
            let __odm_v = __odm_value;
            #(#rules)*
        }
    }
}

/// Reads a value an update stores back as the field's type, honouring `serde(with)`.
fn read_back(f: &Field<'_>, p: &TokenStream) -> Option<TokenStream> {
    let fty = f.ty;
    let serde_crate = format!("{}::serde", p.to_string().replace(' ', ""));
    let field_attr = match &f.attrs.with {
        None => {
            return Some(
                quote!(#p::stored_value::<#fty>(__odm_new_value, &__odm_at, __odm_errors)),
            );
        }
        Some(SerdeWith::Module(m)) => quote!(#[serde(with = #m)]),
        Some(SerdeWith::Deserialize(d)) => quote!(#[serde(deserialize_with = #d)]),
        Some(SerdeWith::SerializeOnly) => return None,
    };
    Some(quote! {{
        #[derive(#p::serde::Deserialize)]
        #[serde(crate = #serde_crate)]
        struct __OdmStored(#field_attr #fty);
        #p::stored_value::<__OdmStored>(__odm_new_value, &__odm_at, __odm_errors).map(|__odm_w| __odm_w.0)
    }})
}

pub fn validate_impl(c: &Container<'_>, p: &TokenStream) -> TokenStream {
    let ty = c.ident;
    let mut checks = Vec::new();
    let mut arms = Vec::new();
    let mut flattened = Vec::new();
    // Every field with paths is also checked inside (`FieldType::validate_inner`): the
    // rules of an embedded type apply wherever it is used, with nothing to remember on
    // the field. For plain values that call does nothing and is optimised away.
    for f in path_fields(c) {
        let (ident, fty, name) = (f.ident, f.ty, &f.name);
        let rules = field_rules(f);
        let inner_check =
            quote!(<#fty as #p::FieldType>::validate_inner(__odm_value, &__odm_at, __odm_errors););
        if f.attrs.flatten {
            // A flattened document's fields sit at this level.
            checks.push(quote! {{
                let __odm_at = ::std::string::ToString::to_string(__odm_prefix);
                let __odm_value = &self.#ident;
                #inner_check
            }});
            flattened.push(quote!(<#fty as #p::FieldType>::validate_inner_stored(::core::option::Option::Some(__odm_path), __odm_new_value, __odm_prefix, __odm_errors);));
            continue;
        }
        checks.push(quote! {{
            let __odm_at = #p::join(__odm_prefix, #name);
            let __odm_value = &self.#ident;
            #rules
            #inner_check
        }});
        // Values stored by updates: the whole field, or a path inside it.
        let whole = match read_back(f, p) {
            Some(read) => quote! {
                if let ::core::option::Option::Some(__odm_stored) = #read {
                    let __odm_value = &__odm_stored;
                    #rules
                    #inner_check
                }
            },
            // `serialize_with` alone: there is no way to read the stored form back.
            None => TokenStream::new(),
        };
        arms.push(quote! {
            #name => {
                let __odm_at = #p::join(__odm_prefix, #name);
                match __odm_rest {
                    ::core::option::Option::None => { #whole }
                    ::core::option::Option::Some(__odm_rest) => {
                        <#fty as #p::FieldType>::validate_inner_stored(::core::option::Option::Some(__odm_rest), __odm_new_value, &__odm_at, __odm_errors);
                    }
                }
            }
        });
    }
    quote! {
        #[automatically_derived]
        impl #p::Validate for #ty {
            #[allow(unused_variables)]
            fn validate_at(&self, __odm_prefix: &str, __odm_errors: &mut #p::ValidationErrors) {
                #(#checks)*
            }

            #[allow(unused_variables)]
            fn validate_stored_value(__odm_path: &str, __odm_new_value: &#p::Bson, __odm_prefix: &str, __odm_errors: &mut #p::ValidationErrors) {
                let (__odm_head, __odm_rest) = #p::split_path(__odm_path);
                match __odm_head {
                    #(#arms)*
                    _ => { #(#flattened)* }
                }
            }
        }
    }
}
