//! The `Validate` impl: every rule of every field, and the check of values an update
//! stores. Rule calls carry the span of their attribute, so a rule on a field type it
//! does not fit (`range` on a `String`) is reported at `range`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::ast::{Container, Field};
use crate::attr::{Bound, Rule, RuleKind};

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

/// The check of one rule on `__v` (a reference to the value), reported at `__at`.
fn rule(rule: &Rule, p: &TokenStream) -> TokenStream {
    let span = rule.span;
    match &rule.kind {
        RuleKind::Length { min, max } => {
            let (min, max) = (usize_bound(min), usize_bound(max));
            quote_spanned!(span=> #p::check_length(__v, #min, #max, &__at, errors);)
        }
        RuleKind::Range { min, max } => {
            let (min, max) = (f64_bound(min), f64_bound(max));
            quote_spanned!(span=> #p::check_range(__v, #min, #max, &__at, errors);)
        }
        RuleKind::Email => quote_spanned!(span=> #p::check_email(__v, &__at, errors);),
        RuleKind::Url => quote_spanned!(span=> #p::check_url(__v, &__at, errors);),
        RuleKind::NonEmpty => quote_spanned!(span=> #p::check_non_empty(__v, &__at, errors);),
        RuleKind::Pattern(lit) => quote_spanned! {span=>
            {
                static __RE: #p::OnceLock<#p::Regex> = #p::OnceLock::new();
                let __re = __RE.get_or_init(|| #p::Regex::new(#lit).expect("the derive checked this pattern"));
                #p::check_pattern(__v, __re, &__at, errors);
            }
        },
        RuleKind::OneOf(values) => {
            quote_spanned!(span=> #p::check_one_of(__v, &[#(#values),*], &__at, errors);)
        }
        RuleKind::Custom(path) => {
            quote_spanned!(span=> #p::check_custom(__v, #path, &__at, errors);)
        }
    }
}

/// The rules of a field applied to `__value` (the field's whole value, by reference):
/// for an `Option`, only when present.
fn field_rules(f: &Field<'_>, p: &TokenStream) -> TokenStream {
    if f.attrs.rules.is_empty() {
        return TokenStream::new();
    }
    let rules = f.attrs.rules.iter().map(|r| rule(r, p));
    if f.option_inner().is_some() {
        quote! {
            if let ::core::option::Option::Some(__v) = __value {
                #(#rules)*
            }
        }
    } else {
        quote! {
            let __v = __value;
            #(#rules)*
        }
    }
}

pub fn validate_impl(c: &Container<'_>, p: &TokenStream) -> TokenStream {
    let ty = c.ident;
    let mut checks = Vec::new();
    let mut arms = Vec::new();
    let mut flattened = Vec::new();
    for f in c.fields.iter().filter(|f| f.stored()) {
        let nested = f.attrs.nested.is_some();
        if f.attrs.rules.is_empty() && !nested {
            continue;
        }
        let (ident, fty, name) = (f.ident, f.ty, &f.name);
        let rules = field_rules(f, p);
        let nested_span = f.attrs.nested.unwrap_or_else(|| f.span());
        let nested_check = if nested {
            quote_spanned!(nested_span=> #p::Nested::validate_nested(__value, &__at, errors);)
        } else {
            TokenStream::new()
        };
        if f.attrs.flatten {
            // A flattened document's fields sit at this level.
            checks.push(quote! {{
                let __at = at.to_string();
                let __value = &self.#ident;
                #nested_check
            }});
            if nested {
                flattened.push(quote_spanned!(nested_span=> <#fty as #p::Nested>::validate_nested_path(path, value, at, errors);));
            }
            continue;
        }
        checks.push(quote! {{
            let __at = #p::join(at, #name);
            let __value = &self.#ident;
            #rules
            #nested_check
        }});
        // Values stored by updates: the whole field, or (nested) a path inside it.
        let whole = if f.attrs.with {
            // A custom serde representation cannot be read back as the Rust type here.
            TokenStream::new()
        } else {
            quote! {
                if let ::core::option::Option::Some(__stored) = #p::stored_value::<#fty>(value, &__at, errors) {
                    let __value = &__stored;
                    #rules
                    #nested_check
                }
            }
        };
        let inside = if nested {
            quote_spanned!(nested_span=> <#fty as #p::Nested>::validate_nested_path(__rest, value, &__at, errors);)
        } else {
            quote!(let _ = __rest;)
        };
        arms.push(quote! {
            #name => {
                let __at = #p::join(at, #name);
                match __rest {
                    ::core::option::Option::None => { #whole }
                    ::core::option::Option::Some(__rest) => { #inside }
                }
            }
        });
    }
    quote! {
        #[automatically_derived]
        impl #p::Validate for #ty {
            #[allow(unused_variables)]
            fn validate_at(&self, at: &str, errors: &mut #p::ValidationErrors) {
                #(#checks)*
            }

            #[allow(unused_variables)]
            fn validate_stored_value(path: &str, value: &#p::Bson, at: &str, errors: &mut #p::ValidationErrors) {
                let (__head, __rest) = #p::split_path(path);
                match __head {
                    #(#arms)*
                    _ => { #(#flattened)* }
                }
            }
        }
    }
}
