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

/// The doc line of a paths member: the name the field is stored under.
fn member_doc(f: &Field<'_>) -> String {
    if f.attrs.flatten {
        "(flattened)".to_string()
    } else {
        format!("`{}`", f.name)
    }
}

/// The struct of a model's paths and the expression that builds it.
pub fn model_paths(c: &Container<'_>, p: &TokenStream) -> (TokenStream, TokenStream) {
    let model = c.ident;
    let vis = c.vis;
    let name = fields_ident(c);
    let doc = format!("Typed paths of [`{model}`]'s fields, from `{model}::fields()`.");
    let members = path_fields(c).map(|f| {
        let (ident, ty, fvis) = (f.ident, f.ty, f.vis);
        let doc = member_doc(f);
        quote!(#[doc = #doc] #fvis #ident: <#ty as #p::FieldType>::Paths<#model>)
    });
    let inits = path_fields(c).map(|f| {
        let (ident, ty) = (f.ident, f.ty);
        let path = if f.attrs.flatten {
            String::new()
        } else {
            f.name.clone()
        };
        quote!(#ident: <<#ty as #p::FieldType>::Paths<#model> as #p::Paths>::at(#path, false))
    });
    // The stored name of each field, for projections to check theirs against.
    let names = path_fields(c).filter(|f| !f.attrs.flatten).map(|f| {
        let konst = format_ident!("__ODM_NAME_{}", f.ident);
        let n = &f.name;
        quote!(#[doc(hidden)] pub const #konst: &'static str = #n;)
    });
    let def = quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {
            #(#members,)*
        }

        #[allow(non_upper_case_globals)]
        impl #name {
            #(#names)*
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
        let doc = member_doc(f);
        quote!(#[doc = #doc] #fvis #ident: <#fty as #p::FieldType>::Paths<OdmRoot>)
    });
    let inits = path_fields(c).map(|f| {
        let (ident, fty) = (f.ident, f.ty);
        let at = if f.attrs.flatten {
            quote!(__odm_path)
        } else {
            let n = &f.name;
            quote!(#p::join_path(__odm_path, #n))
        };
        quote!(#ident: <<#fty as #p::FieldType>::Paths<OdmRoot> as #p::Paths>::at(#at, __odm_in_array))
    });
    let def = quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name<OdmRoot: 'static, OdmSelf: 'static = #ty> {
            #[doc(hidden)]
            pub __odm_this: #p::Field<OdmRoot, OdmSelf>,
            #(#members,)*
        }
    };
    let impls = quote! {
        #[automatically_derived]
        impl<OdmRoot: 'static, OdmSelf: 'static> ::core::ops::Deref for #name<OdmRoot, OdmSelf> {
            type Target = #p::Field<OdmRoot, OdmSelf>;
            fn deref(&self) -> &#p::Field<OdmRoot, OdmSelf> {
                &self.__odm_this
            }
        }

        #[automatically_derived]
        impl<OdmRoot: 'static, OdmSelf: 'static> ::core::clone::Clone for #name<OdmRoot, OdmSelf> {
            fn clone(&self) -> Self {
                *self
            }
        }

        #[automatically_derived]
        impl<OdmRoot: 'static, OdmSelf: 'static> ::core::marker::Copy for #name<OdmRoot, OdmSelf> {}

        #[automatically_derived]
        impl<OdmRoot: 'static, OdmSelf: 'static> #p::AsField<OdmRoot> for #name<OdmRoot, OdmSelf> {
            type Type = OdmSelf;
            fn as_field(&self) -> #p::Field<OdmRoot, OdmSelf> {
                self.__odm_this
            }
        }

        #[automatically_derived]
        impl<OdmRoot: 'static, OdmSelf: 'static> #p::Paths for #name<OdmRoot, OdmSelf> {
            type Optional = #name<OdmRoot, ::core::option::Option<OdmSelf>>;
            fn at(__odm_path: &'static str, __odm_in_array: bool) -> Self {
                #name { __odm_this: <#p::Field<OdmRoot, OdmSelf> as #p::Paths>::at(__odm_path, __odm_in_array), #(#inits,)* }
            }
        }
    };
    (def, impls)
}
