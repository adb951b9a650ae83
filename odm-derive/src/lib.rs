//! The derives of odm: `Model`, `Embedded`, `Value` and `Projection`.
//!
//! Each runs in three stages, as serde_derive does:
//!
//! 1. **parse** ([`ast`], [`attr`]): the item and every `#[odm(...)]` and `#[serde(...)]`
//!    attribute, keeping spans; a mistake is recorded and parsing goes on;
//! 2. **check** ([`check`]): rules across attributes and fields (an `_id` field exists,
//!    index keys name fields, `min <= max`, patterns compile);
//! 3. **generate** ([`expand`]): the typed paths, validation, indexes and trait impls.
//!
//! Every error is reported with its span, all at once. When there are errors the
//! generated code is still emitted without the parts that failed, beside the
//! `compile_error!`s, so that one mistake gives one error rather than a cascade.
//! Generated code refers to the runtime only through `::odm::__private` (or the name the
//! crate was renamed to) inside `const _: () = { ... }`.

mod ast;
mod attr;
mod case;
mod check;
mod collation_attr;
mod expand;
mod index_attr;
mod model_attr;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use syn::{DeriveInput, parse_macro_input};

/// Collects errors across all stages.
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    fn new() -> Self {
        Errors { errors: Vec::new() }
    }

    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub(crate) fn len(&self) -> usize {
        self.errors.len()
    }

    pub(crate) fn spanned(
        &mut self,
        tokens: impl quote::ToTokens,
        message: impl std::fmt::Display,
    ) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    fn to_compile_errors(&self) -> TokenStream2 {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

fn derive(input: DeriveInput, kind: ast::Kind) -> TokenStream {
    let mut errors = Errors::new();
    let container = ast::Container::from_ast(&input, kind, &mut errors);
    let generated = match &container {
        Some(c) => {
            check::check(c, &mut errors);
            expand::expand(c)
        }
        None => TokenStream2::new(),
    };
    let compile_errors = errors.to_compile_errors();
    quote::quote!(#compile_errors #generated).into()
}

/// A collection's document type: typed field paths (`User::fields()`), validation,
/// indexes, the `_id` and timestamps. See the `odm` crate for the attributes.
#[proc_macro_derive(Model, attributes(odm))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    derive(parse_macro_input!(input as DeriveInput), ast::Kind::Model)
}

/// A struct stored as a sub-document of a model: nested paths (`f.address.city`), and
/// its fields' rules checked wherever it is used (in `Option`, `Vec`, `Box` and maps too).
#[proc_macro_derive(Embedded, attributes(odm))]
pub fn derive_embedded(input: TokenStream) -> TokenStream {
    derive(
        parse_macro_input!(input as DeriveInput),
        ast::Kind::Embedded,
    )
}

/// An enum or newtype stored as one value, usable as a field type
/// (`#[odm(ordered)]` allows comparisons, `#[odm(numeric)]` `inc`/`mul`).
#[proc_macro_derive(Value, attributes(odm))]
pub fn derive_value(input: TokenStream) -> TokenStream {
    derive(parse_macro_input!(input as DeriveInput), ast::Kind::Value)
}

/// A type to read query results into: `#[odm(model = User)]`, each field named and typed
/// as in the model.
#[proc_macro_derive(Projection, attributes(odm))]
pub fn derive_projection(input: TokenStream) -> TokenStream {
    derive(
        parse_macro_input!(input as DeriveInput),
        ast::Kind::Projection,
    )
}

/// Put above a model's `#[derive(...)]`: stores the field marked `#[odm(id)]` as `_id`,
/// and an `Option` id is left out while `None` (the ODM gives it an ObjectId on insert):
///
/// ```text
/// #[odm::model]
/// #[derive(Model, Serialize, Deserialize)]
/// struct User {
///     #[odm(id)]
///     id: Option<ObjectId>,
/// }
/// ```
#[proc_macro_attribute]
pub fn model(args: TokenStream, input: TokenStream) -> TokenStream {
    model_attr::expand(args.into(), input.into()).into()
}
