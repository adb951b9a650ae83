//! The `json_schema()` of a model or embedded type: each stored field's type schema
//! (from its `FieldType`) with its rules as JSON Schema keywords, and `required` for the
//! fields that are neither `Option` nor defaulted (see the `odm` crate's `schema`
//! module).

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Container;
use crate::attr::{Bound, RuleKind};

/// A bound as BSON: an integer when it is one, so that `{minimum: 0}` reads as written.
fn number(b: &Bound) -> TokenStream {
    let v = b.value;
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        let i = v as i64;
        quote!(#i)
    } else {
        quote!(#v)
    }
}

pub fn json_schema_fn(c: &Container<'_>, p: &TokenStream) -> TokenStream {
    let fields = c
        .fields
        .iter()
        .filter(|f| f.stored() && !f.attrs.flatten)
        .map(|f| {
            let (fty, name) = (f.ty, &f.name);
            let length = quote!(<#fty as #p::FieldType>::LENGTH_KEYWORDS);
            let rules = f.attrs.rules.iter().map(|r| match &r.kind {
                RuleKind::Length { min, max } => {
                    let min = min.as_ref().map(|b| {
                        let n = number(b);
                        quote!(__odm_s.insert(#length.0, #n);)
                    });
                    let max = max.as_ref().map(|b| {
                        let n = number(b);
                        quote!(__odm_s.insert(#length.1, #n);)
                    });
                    quote!(#min #max)
                }
                RuleKind::NonEmpty => quote!(__odm_s.insert(#length.0, 1_i64);),
                RuleKind::Range { min, max } => {
                    let min = min.as_ref().map(|b| {
                        let n = number(b);
                        quote!(__odm_s.insert("minimum", #n);)
                    });
                    let max = max.as_ref().map(|b| {
                        let n = number(b);
                        quote!(__odm_s.insert("maximum", #n);)
                    });
                    quote!(#min #max)
                }
                RuleKind::Pattern(lit) => quote!(__odm_s.insert("pattern", #lit);),
                RuleKind::OneOf(values) => quote! {
                    let mut __odm_enum: ::std::vec::Vec<#p::Bson> = ::std::vec![
                        #(#p::serialize(&(#values)).unwrap_or(#p::Bson::Null)),*
                    ];
                    if <#fty as #p::FieldType>::OPTIONAL {
                        __odm_enum.push(#p::Bson::Null);
                    }
                    __odm_s.insert("enum", __odm_enum);
                },
                // No JSON Schema form: the model checks these itself.
                RuleKind::Email | RuleKind::Url | RuleKind::Custom(_) => TokenStream::new(),
            });
            let defaulted = f.attrs.serde_default;
            let is_id = f.name == "_id";
            quote! {
                {
                    let mut __odm_s = <#fty as #p::FieldType>::json_schema();
                    #(#rules)*
                    __odm_props.insert(#name, __odm_s);
                    if !<#fty as #p::FieldType>::OPTIONAL && !#defaulted && !#is_id {
                        __odm_required.push(#name);
                    }
                }
            }
        });
    quote! {
        fn json_schema() -> #p::Document {
            let ::core::option::Option::Some(__odm_depth) = #p::DepthGuard::enter() else {
                return #p::doc! {"bsonType": "object"};
            };
            let mut __odm_props = #p::Document::new();
            let mut __odm_required: ::std::vec::Vec<&'static str> = ::std::vec::Vec::new();
            #(#fields)*
            ::core::mem::drop(__odm_depth);
            #p::schema_object(__odm_props, __odm_required)
        }
    }
}
