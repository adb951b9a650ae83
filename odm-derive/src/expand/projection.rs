//! `#[derive(Projection)]`: a type to read query results into. Each field must exist in
//! the model with the same type; the checks are written so that the compiler reports a
//! missing field or a type mismatch at the projection's own field.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::private;
use crate::ast::Container;

pub fn expand(c: &Container<'_>) -> TokenStream {
    let Some(model) = &c.attrs.model else {
        return TokenStream::new();
    };
    let p = private();
    let ty = c.ident;
    let fields: Vec<_> = c.fields.iter().filter(|f| f.stored()).collect();
    let has_id = fields.iter().any(|f| f.name == "_id");
    let inserts = fields.iter().map(|f| {
        let ident = f.ident;
        // The model's own path for the field (after its renames).
        quote_spanned!(ident.span()=> __doc.insert(<#model as #p::Model>::fields().#ident.path(), 1i32);)
    });
    let checks = fields.iter().map(|f| {
        let (ident, fty) = (f.ident, f.ty);
        let access = quote_spanned!(ident.span()=> __fields.#ident);
        quote_spanned!(fty.span()=> let _: ::core::marker::PhantomData<#fty> = #access.__type();)
    });
    let no_id = (!has_id).then(|| quote!(__doc.insert("_id", 0i32);));
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #p::Projection<#model> for #ty {
                fn projection() -> #p::Document {
                    let mut __doc = #p::Document::new();
                    #(#inserts)*
                    #no_id
                    __doc
                }
            }

            #[allow(dead_code, clippy::no_effect_underscore_binding)]
            fn __odm_projection_fields_exist(__fields: &'static <#model as #p::Model>::Fields) {
                #(#checks)*
            }
        };
    }
}
