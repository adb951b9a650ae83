//! `#[derive(Model)]` on a serde internally tagged enum of model structs (a polymorphic
//! model), and what a variant struct (`#[odm(variant_of = ..)]`) adds for it.
//!
//! The parent cannot see its variants' fields, only their types. Each variant struct
//! therefore names the types of its fields with hidden aliases beside it
//! (`__odm_field_Dog_name`), through which the parent's paths of its `shared(...)`
//! fields are typed; the parent then checks, for every other variant, that the field
//! exists with the same type and stored name. Everything else (the `_id`, version,
//! timestamps, rules, hooks) is delegated to the variant a value is, and the variants
//! are checked to agree where the parent needs one answer.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Type};

use super::fields::path_fields;
use super::model::{declared_indexes, field_type_impl};
use super::private;
use crate::ast::{Container, Variant};
use crate::attr::IndexKey;
use crate::case::collection_name;

/// The hidden alias naming the type of `field` in the variant struct `variant`.
fn alias_ident(variant: &Ident, field: &Ident) -> Ident {
    format_ident!("__odm_field_{}_{}", variant, field)
}

/// On a variant struct: one alias per field with a path, beside the struct, for its
/// parent's shared paths.
pub fn field_type_aliases(c: &Container<'_>) -> TokenStream {
    let vis = c.vis;
    let aliases = path_fields(c).filter(|f| !f.attrs.flatten).map(|f| {
        let alias = alias_ident(c.ident, f.ident);
        let fty = f.ty;
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            #vis type #alias = #fty;
        }
    });
    quote!(#(#aliases)*)
}

/// A path beside the variant's type: `Dog` → `<prefix>__odm_field_Dog_name` or
/// `DogFields`, so that variants in other modules work.
fn beside(variant: &Variant<'_>, make: impl Fn(&Ident) -> Ident) -> Option<TokenStream> {
    let Type::Path(path) = variant.ty else {
        return None;
    };
    let mut path = path.clone();
    let last = path.path.segments.last_mut()?;
    last.ident = make(&last.ident);
    last.arguments = syn::PathArguments::None;
    Some(quote!(#path))
}

pub fn expand(c: &Container<'_>) -> TokenStream {
    let Some(first) = c.variants.first() else {
        return TokenStream::new();
    };
    let p = private();
    let ty = c.ident;
    let vis = c.vis;
    let tag = c
        .attrs
        .tag
        .as_ref()
        .map_or_else(|| "kind".to_string(), syn::LitStr::value);
    let collection = match &c.attrs.collection {
        Some(lit) => lit.value(),
        None => collection_name(&ty.to_string()),
    };
    let idents: Vec<&Ident> = c.variants.iter().map(|v| v.ident).collect();
    let types: Vec<&Type> = c.variants.iter().map(|v| v.ty).collect();
    let names: Vec<&str> = c.variants.iter().map(|v| v.name.as_str()).collect();
    let first_ty = first.ty;
    let fields_name = format_ident!("{}Fields", ty);
    let paths_of = |v: &Variant<'_>| beside(v, |last| format_ident!("{}Fields", last));

    // The shared paths, typed by the first variant's aliases.
    let shared: Vec<&Ident> = c
        .attrs
        .shared
        .as_ref()
        .map(|(_, names)| names.iter().collect())
        .unwrap_or_default();
    let mut members = Vec::new();
    let mut inits = Vec::new();
    let mut checks = Vec::new();
    let first_paths = paths_of(first);
    for field in &shared {
        let Some(alias) = beside(first, |last| alias_ident(last, field)) else {
            continue;
        };
        let stored = format_ident!("__ODM_NAME_{}", field);
        let doc = format!("`{field}`, which every variant has.");
        members.push(quote!(#[doc = #doc] #vis #field: <#alias as #p::FieldType>::Paths<#ty>));
        inits.push(quote!(#field: <<#alias as #p::FieldType>::Paths<#ty> as #p::Paths>::at(#first_paths::#stored, false)));
        for (i, v) in c.variants.iter().enumerate().skip(1) {
            let (vty, vpaths) = (v.ty, paths_of(v));
            let check = format_ident!("__odm_shared_{}_{}", i, field);
            let message = format!(
                "`{field}` is a shared field of `{ty}`: `{}` stores it under another name than `{}`",
                v.ident, first.ident
            );
            checks.push(quote_spanned! {field.span()=>
                #[allow(dead_code, non_snake_case)]
                fn #check(__odm_variant: &#vty) -> &#alias {
                    &__odm_variant.#field
                }
                const _: () = ::core::assert!(
                    #p::const_str_eq(#first_paths::#stored, #vpaths::#stored),
                    #message
                );
            });
        }
    }

    // The variants agree on what the parent delegates, and each declares its parent.
    for v in &c.variants {
        let (vty, vname, vident) = (v.ty, &v.name, v.ident);
        let message = format!(
            "`{vident}` holds a variant of the polymorphic model `{ty}`: mark its struct `#[odm(variant_of = {ty})]`"
        );
        checks.push(quote_spanned! {vident.span()=>
            const _: () = ::core::assert!(
                #p::is_variant(<#vty as #p::Model>::VARIANT, #tag, #vname),
                #message
            );
        });
    }
    for (i, v) in c.variants.iter().enumerate().skip(1) {
        let (vty, vident) = (v.ty, v.ident);
        let check = format_ident!("__odm_same_id_{}", i);
        checks.push(quote_spanned! {vident.span()=>
            #[allow(dead_code)]
            fn #check(__odm_id: <#vty as #p::Model>::Id) -> <#first_ty as #p::Model>::Id {
                __odm_id
            }
        });
        for konst in ["VERSION", "CREATED_AT", "UPDATED_AT", "SOFT_DELETE"] {
            let konst = format_ident!("{}", konst);
            let message = format!(
                "the variants of `{ty}` must agree on `{konst}`: `{vident}` differs from `{}`",
                first.ident
            );
            checks.push(quote_spanned! {vident.span()=>
                const _: () = ::core::assert!(
                    #p::same_path(<#vty as #p::Model>::#konst, <#first_ty as #p::Model>::#konst),
                    #message
                );
            });
        }
    }

    let own_indexes = declared_indexes(c, &p, |key| match key {
        IndexKey::Field(ident) => {
            let stored = format_ident!("__ODM_NAME_{}", ident);
            let first_paths = paths_of(first)?;
            Some(quote!(#first_paths::#stored))
        }
        IndexKey::Path(lit) => Some(quote!(#lit)),
    });
    // The last arm only matters when a variant was refused (its error is reported): the
    // rest of the impl still compiles, so that one mistake gives one error.
    let each = |call: TokenStream| {
        quote! {
            match self {
                #(Self::#idents(__odm_v) => #call,)*
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            }
        }
    };
    let id = each(quote!(#p::Model::id(__odm_v)));
    let set_id = each(quote!(#p::Model::set_id(__odm_v, __odm_id)));
    let set_timestamps = each(quote!(#p::Model::set_timestamps(
        __odm_v,
        __odm_now,
        __odm_inserting
    )));
    let version = each(quote!(#p::Model::version(__odm_v)));
    let set_version = each(quote!(#p::Model::set_version(__odm_v, __odm_version)));
    let fill_defaults = each(quote!(#p::Model::fill_defaults(__odm_v)));
    let validate_at = each(quote!(#p::Validate::validate_at(
        __odm_v,
        __odm_at,
        __odm_errors
    )));

    // Hooks on a document run those of the variant it is; the filter-typed ones are the
    // parent's own (`#[odm(hooks)]`).
    let hooks = match c.attrs.hooks {
        Some(_) => TokenStream::new(),
        None => {
            let hook = |name: &str, receiver: TokenStream| {
                let name = format_ident!("{}", name);
                let call = each(quote!(#p::Hooks::#name(__odm_v, __odm_cx).await));
                quote! {
                    fn #name(#receiver, __odm_cx: &#p::HookContext) -> impl ::core::future::Future<Output = #p::Result<()>> + ::core::marker::Send {
                        async move { #call }
                    }
                }
            };
            let document_hooks = [
                hook("before_validate", quote!(&mut self)),
                hook("before_insert", quote!(&mut self)),
                hook("after_insert", quote!(&self)),
                hook("before_save", quote!(&mut self)),
                hook("after_save", quote!(&self)),
            ];
            quote! {
                #[automatically_derived]
                impl #p::Hooks for #ty {
                    #(#document_hooks)*
                }
            }
        }
    };

    let schema = quote! {
        fn json_schema() -> #p::Document {
            #p::schema_of_variants(#tag, ::std::vec![
                #((#names, <#types as #p::FieldType>::json_schema()),)*
            ])
        }
    };
    let field_type = field_type_impl(c, &p, quote!(#p::Field<OdmRoot, #ty>), schema);
    let doc =
        format!("Typed paths of the fields every variant of [`{ty}`] has, from `{ty}::fields()`.");
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #fields_name {
            #(#members,)*
        }

        const _: () = {
            #(#checks)*
            #field_type
            #hooks

            #[automatically_derived]
            impl #p::Polymorphic for #ty {
                const TAG: &'static str = #tag;
                const VARIANTS: &'static [&'static str] = &[#(#names),*];
            }

            #(
                #[automatically_derived]
                impl #p::VariantOf<#ty> for #types {
                    const NAME: &'static str = #names;
                }

                #[automatically_derived]
                impl ::core::convert::From<#types> for #ty {
                    fn from(__odm_v: #types) -> Self {
                        Self::#idents(__odm_v)
                    }
                }

                #[automatically_derived]
                impl ::core::convert::TryFrom<#ty> for #types {
                    type Error = #ty;
                    fn try_from(__odm_v: #ty) -> ::core::result::Result<Self, #ty> {
                        match __odm_v {
                            #ty::#idents(__odm_v) => ::core::result::Result::Ok(__odm_v),
                            #[allow(unreachable_patterns)]
                            __odm_other => ::core::result::Result::Err(__odm_other),
                        }
                    }
                }
            )*

            #[automatically_derived]
            impl #p::Validate for #ty {
                fn validate_at(&self, __odm_at: &str, __odm_errors: &mut #p::ValidationErrors) {
                    #validate_at
                }

                // An update through the parent stores a value every variant may hold:
                // each variant's rules for that path apply.
                fn validate_stored_value(
                    __odm_path: &str,
                    __odm_value: &#p::Bson,
                    __odm_at: &str,
                    __odm_errors: &mut #p::ValidationErrors,
                ) {
                    #(<#types as #p::Validate>::validate_stored_value(__odm_path, __odm_value, __odm_at, __odm_errors);)*
                }
            }

            #[automatically_derived]
            impl #p::Model for #ty {
                type Fields = #fields_name;
                type Id = <#first_ty as #p::Model>::Id;
                const COLLECTION: &'static str = #collection;
                const CREATED_AT: ::core::option::Option<&'static str> = <#first_ty as #p::Model>::CREATED_AT;
                const UPDATED_AT: ::core::option::Option<&'static str> = <#first_ty as #p::Model>::UPDATED_AT;
                const VERSION: ::core::option::Option<&'static str> = <#first_ty as #p::Model>::VERSION;
                const SOFT_DELETE: ::core::option::Option<&'static str> = <#first_ty as #p::Model>::SOFT_DELETE;

                fn fields() -> &'static #fields_name {
                    static __FIELDS: #p::OnceLock<#fields_name> = #p::OnceLock::new();
                    __FIELDS.get_or_init(|| #fields_name { #(#inits,)* })
                }

                fn indexes() -> ::std::vec::Vec<#p::IndexSpec> {
                    #p::merge_variant_indexes(
                        ::std::vec![#(#own_indexes),*],
                        ::std::vec![#(<#types as #p::Model>::variant_indexes()),*],
                    )
                }

                fn json_schema() -> #p::Document {
                    <Self as #p::FieldType>::json_schema()
                }

                fn id(&self) -> &Self::Id {
                    #id
                }

                fn set_id(&mut self, __odm_id: #p::Bson) -> ::core::result::Result<(), #p::bson::error::Error> {
                    #set_id
                }

                fn set_timestamps(&mut self, __odm_now: #p::DateTime, __odm_inserting: bool) {
                    #set_timestamps
                }

                fn version(&self) -> ::core::option::Option<i64> {
                    #version
                }

                fn set_version(&mut self, __odm_version: i64) {
                    #set_version
                }

                fn fill_defaults(&mut self) {
                    #fill_defaults
                }
            }
        };
    }
}
