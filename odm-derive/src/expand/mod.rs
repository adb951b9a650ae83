//! Code generation: one module per derive, sharing the pieces models and embedded
//! documents have in common (paths, validation).

mod fields;
mod model;
mod polymorphic;
mod projection;
mod schema;
mod validate;
mod value;

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::Ident;

use crate::ast::{Container, Kind};

/// `::odm::__private`, or the same under the name the crate was renamed to.
pub fn private() -> TokenStream {
    private_at(Span::call_site())
}

/// [`private`] with every token carrying `span`, for code whose errors must point at the
/// user's attribute.
pub fn private_at(span: Span) -> TokenStream {
    let root = match crate_name("odm") {
        Ok(FoundCrate::Name(name)) => {
            let ident = Ident::new(&name, span);
            quote_spanned!(span=> ::#ident)
        }
        Ok(FoundCrate::Itself) | Err(_) => quote_spanned!(span=> ::odm),
    };
    quote_spanned!(span=> #root::__private)
}

pub fn expand(c: &Container<'_>) -> TokenStream {
    match c.kind {
        Kind::Model if c.is_polymorphic() => polymorphic::expand(c),
        Kind::Model => model::expand_model(c),
        Kind::Embedded => model::expand_embedded(c),
        Kind::Value => value::expand(c),
        Kind::Projection => projection::expand(c),
    }
}
