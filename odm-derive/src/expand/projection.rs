//! `#[derive(Projection)]`: a type to read query results into. Each field must exist in
//! the model with the same type; the checks are written so that the compiler reports a
//! missing field or a type mismatch at the projection's own field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
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
    // Documents are read with the projection's own serde names: they must be the model's.
    // The model publishes each name as an inherent const; a local trait gives every name a
    // fallback so that a field the model lacks is reported once (by the check above), not
    // again here.
    let konsts: Vec<_> = fields
        .iter()
        .map(|f| format_ident!("__ODM_NAME_{}", f.ident))
        .collect();
    let names = fields.iter().zip(&konsts).map(|(f, konst)| {
        let own = &f.name;
        let message = format!(
            "projection field `{}` is stored under another name in the model: copy the model's serde rename",
            f.ident
        );
        quote_spanned! {f.ident.span()=>
            const _: () = {
                let __odm_name = <<#model as #p::Model>::Fields>::#konst;
                ::core::assert!(
                    #p::const_str_eq(__odm_name, #own) || #p::const_str_eq(__odm_name, __ODM_ABSENT),
                    #message
                );
            };
        }
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

            const __ODM_ABSENT: &str = "\0absent";
            #[allow(non_upper_case_globals, non_snake_case)]
            trait __OdmProjectionNames {
                #(const #konsts: &'static str = __ODM_ABSENT;)*
            }
            impl __OdmProjectionNames for <#model as #p::Model>::Fields {}
            #(#names)*

            #[allow(dead_code, clippy::no_effect_underscore_binding)]
            fn __odm_projection_fields_exist(__fields: &'static <#model as #p::Model>::Fields) {
                #(#checks)*
            }
        };
    }
}
