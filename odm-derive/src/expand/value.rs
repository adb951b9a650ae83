//! `#[derive(Value)]`: an enum or newtype stored as one value.

use proc_macro2::TokenStream;
use quote::quote;

use super::private;
use crate::ast::Container;

pub fn expand(c: &Container<'_>) -> TokenStream {
    let p = private();
    let ty = c.ident;
    let ordered = c
        .attrs
        .ordered
        .then(|| quote!(#[automatically_derived] impl #p::Ordered for #ty {}));
    let numeric = c
        .attrs
        .numeric
        .then(|| quote!(#[automatically_derived] impl #p::Numeric for #ty {}));
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #p::FieldType for #ty {
                type Scalar = #ty;
                type Item = #ty;
                type Paths<OdmRoot: 'static> = #p::Field<OdmRoot, #ty>;
                fn to_bson(value: &Self) -> ::core::result::Result<#p::Bson, #p::bson::error::Error> {
                    #p::serialize(value)
                }
            }

            #ordered
            #numeric
        };
    }
}
