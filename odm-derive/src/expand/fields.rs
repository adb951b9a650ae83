//! The typed paths struct: `UserFields` for a model, `AddressFields<M, S>` for an
//! embedded document (generic over the root model `M` and over `S`, the embedded type
//! itself or `Option` of it).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::{Container, Field, type_named};

/// Fields that get paths: stored ones, except flattened maps (their keys are data).
pub fn path_fields<'c, 'a>(c: &'c Container<'a>) -> impl Iterator<Item = &'c Field<'a>> {
    c.fields.iter().filter(|f| {
        f.stored()
            && !(f.attrs.flatten && (type_named(f.ty, "HashMap") || type_named(f.ty, "BTreeMap")))
    })
}

pub fn fields_ident(c: &Container<'_>) -> syn::Ident {
    format_ident!("{}Fields", c.ident)
}

/// The struct of a model's paths and the expression that builds it.
pub fn model_paths(c: &Container<'_>, p: &TokenStream) -> (TokenStream, TokenStream) {
    let model = c.ident;
    let vis = c.vis;
    let name = fields_ident(c);
    let doc = format!("Typed paths of [`{model}`]'s fields, from `{model}::fields()`.");
    let members = path_fields(c).map(|f| {
        let (ident, ty, fvis) = (f.ident, f.ty, f.vis);
        let doc = format!(
            "`{}`",
            if f.attrs.flatten {
                "(flattened)".to_string()
            } else {
                f.name.clone()
            }
        );
        quote!(#[doc = #doc] #fvis #ident: <#ty as #p::FieldType>::Paths<#model>)
    });
    let inits = path_fields(c).map(|f| {
        let (ident, ty) = (f.ident, f.ty);
        let path = if f.attrs.flatten {
            String::new()
        } else {
            f.name.clone()
        };
        quote!(#ident: <<#ty as #p::FieldType>::Paths<#model> as #p::Paths>::at(#path))
    });
    let def = quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {
            #(#members,)*
        }
    };
    let build = quote!(#name { #(#inits,)* });
    (def, build)
}

/// The generic paths struct of an embedded document, with its `Deref` and `Paths` impls.
pub fn embedded_paths(c: &Container<'_>, p: &TokenStream) -> (TokenStream, TokenStream) {
    let ty = c.ident;
    let vis = c.vis;
    let name = fields_ident(c);
    let doc =
        format!("Typed paths of [`{ty}`]'s fields, nested under the path of a field of that type.");
    let members = path_fields(c).map(|f| {
        let (ident, fty, fvis) = (f.ident, f.ty, f.vis);
        let doc = format!(
            "`{}`",
            if f.attrs.flatten {
                "(flattened)".to_string()
            } else {
                f.name.clone()
            }
        );
        quote!(#[doc = #doc] #fvis #ident: <#fty as #p::FieldType>::Paths<M>)
    });
    let inits = path_fields(c).map(|f| {
        let (ident, fty) = (f.ident, f.ty);
        let at = if f.attrs.flatten {
            quote!(path)
        } else {
            let n = &f.name;
            quote!(#p::join_path(path, #n))
        };
        quote!(#ident: <<#fty as #p::FieldType>::Paths<M> as #p::Paths>::at(#at))
    });
    let def = quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name<M: 'static, S: 'static = #ty> {
            #[doc(hidden)]
            pub __this: #p::Field<M, S>,
            #(#members,)*
        }
    };
    let impls = quote! {
        #[automatically_derived]
        impl<M: 'static, S: 'static> ::core::ops::Deref for #name<M, S> {
            type Target = #p::Field<M, S>;
            fn deref(&self) -> &#p::Field<M, S> {
                &self.__this
            }
        }

        #[automatically_derived]
        impl<M: 'static, S: 'static> ::core::clone::Clone for #name<M, S> {
            fn clone(&self) -> Self {
                *self
            }
        }

        #[automatically_derived]
        impl<M: 'static, S: 'static> ::core::marker::Copy for #name<M, S> {}

        #[automatically_derived]
        impl<M: 'static, S: 'static> #p::AsField<M> for #name<M, S> {
            type Type = S;
            fn as_field(&self) -> #p::Field<M, S> {
                self.__this
            }
        }

        #[automatically_derived]
        impl<M: 'static, S: 'static> #p::Paths for #name<M, S> {
            type Optional = #name<M, ::core::option::Option<S>>;
            fn at(path: &'static str) -> Self {
                #name { __this: #p::Field::new(path), #(#inits,)* }
            }
        }
    };
    (def, impls)
}
