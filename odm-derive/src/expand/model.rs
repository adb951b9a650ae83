//! `#[derive(Model)]` and `#[derive(Embedded)]`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use super::fields::{embedded_paths, fields_ident, model_paths};
use super::validate::validate_impl;
use super::{private, private_at};
use crate::ast::Container;
use crate::attr::{IndexKey, KeyKind};
use crate::case::collection_name;

/// The `index(...)` declarations of a container, with `key_path` giving a key's path (a
/// string literal or an expression of type `&str`).
pub fn declared_indexes(
    c: &Container<'_>,
    p: &TokenStream,
    key_path: impl Fn(&IndexKey) -> Option<TokenStream>,
) -> Vec<TokenStream> {
    c.attrs
        .indexes
        .iter()
        .map(|index| {
            let keys = index.keys.iter().filter_map(|(key, dir)| {
                let path = key_path(key)?;
                Some(quote!(__keys.insert(#path, #dir);))
            });
            // A "2dsphere" key on a field of the model: the field holds GeoJSON (its type
            // is `Spatial`), checked at the key. A path is the server's to check, as is a
            // field stored through serde `with` (its stored form is not its type's).
            let spatial = index.keys.iter().filter_map(|(key, dir)| match (key, dir) {
                (IndexKey::Field(ident), KeyKind::Sphere2d) => {
                    let f = c
                        .field(&ident.to_string())
                        .filter(|f| f.attrs.with.is_none())?;
                    let span = ident.span();
                    let (fty, at) = (respanned(f.ty.to_token_stream(), span), private_at(span));
                    Some(quote_spanned! {span=> {
                        fn __odm_spatial<T: #at::Spatial>() {}
                        __odm_spatial::<#fty>();
                    }})
                }
                _ => None,
            });
            let name = match &index.name {
                Some(n) => quote!(::core::option::Option::Some(::std::string::String::from(#n))),
                None => quote!(::core::option::Option::None),
            };
            let (unique, sparse) = (index.unique, index.sparse);
            let ttl = match index.expire_after_secs {
                Some(n) => quote!(::core::option::Option::Some(#n)),
                None => quote!(::core::option::Option::None),
            };
            let collation = match &index.collation {
                Some(c) => c.to_tokens(p),
                None => quote!(::core::option::Option::None),
            };
            let weights = if index.weights.is_empty() {
                quote!(::core::option::Option::None)
            } else {
                let entries = index.weights.iter().filter_map(|(key, w)| {
                    let path = key_path(key)?;
                    let w = *w as i32;
                    Some(quote!(__weights.insert(#path, #w);))
                });
                quote!({
                    let mut __weights = #p::Document::new();
                    #(#entries)*
                    ::core::option::Option::Some(__weights)
                })
            };
            let text_option = |v: &Option<String>| match v {
                Some(s) => quote!(::core::option::Option::Some(::std::string::String::from(#s))),
                None => quote!(::core::option::Option::None),
            };
            let index_name = index.name.clone().unwrap_or_default();
            let partial = match &index.partial {
                // A declared filter is the model's own code: a value in it that cannot be
                // BSON is a bug to report where the indexes are read, with the index named.
                Some(path) => quote!(::core::option::Option::Some(
                    #p::Filter::<Self>::to_document(&#path()).unwrap_or_else(|e| {
                        ::core::panic!("the partial filter of index `{}` cannot be BSON: {}", #index_name, e)
                    })
                )),
                None => quote!(::core::option::Option::None),
            };
            let (default_language, language_override) = (
                text_option(&index.default_language),
                text_option(&index.language_override),
            );
            quote! {{
                #(#spatial)*
                let mut __keys = #p::Document::new();
                #(#keys)*
                #p::IndexSpec { keys: __keys, name: #name, unique: #unique, sparse: #sparse, expire_after_secs: #ttl, collation: #collation, weights: #weights, default_language: #default_language, language_override: #language_override, partial_filter: #partial }
            }}
        })
        .collect()
}

/// `tokens` with every span (inside groups too) set to `span`, so that an error about
/// them points there.
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(g) = &tree {
                tree = TokenTree::Group(Group::new(g.delimiter(), respanned(g.stream(), span)));
            }
            tree.set_span(span);
            tree
        })
        .collect()
}

fn indexes(c: &Container<'_>, p: &TokenStream) -> TokenStream {
    let mut specs = declared_indexes(c, p, |key| match key {
        IndexKey::Field(ident) => {
            let name = &c.field(&ident.to_string())?.name;
            Some(quote!(#name))
        }
        IndexKey::Path(lit) => Some(quote!(#lit)),
    });
    for f in c.fields.iter().filter(|f| f.stored()) {
        let name = &f.name;
        if f.attrs.unique.is_some() {
            // An absent optional value would collide with every other absent one (all index
            // as null): a unique optional field gets a sparse index.
            let sparse = f.option_inner().is_some();
            specs.push(quote!(#p::IndexSpec { unique: true, sparse: #sparse, ..#p::IndexSpec::new(#p::doc! {#name: 1}) }));
        }
        if f.attrs.index.is_some() {
            specs.push(quote!(#p::IndexSpec::new(#p::doc! {#name: 1})));
        }
    }
    quote!(::std::vec![#(#specs),*])
}

/// `FieldType` for a derived struct, with `paths` as its paths inside another document.
pub fn field_type_impl(
    c: &Container<'_>,
    p: &TokenStream,
    paths: TokenStream,
    json_schema: TokenStream,
) -> TokenStream {
    let ty = c.ident;
    quote! {
        #[automatically_derived]
        impl #p::FieldType for #ty {
            type Scalar = #ty;
            type Item = #ty;
            type Paths<OdmRoot: 'static> = #paths;
            fn to_bson(value: &Self) -> ::core::result::Result<#p::Bson, #p::bson::error::Error> {
                #p::serialize(value)
            }
            #json_schema
            fn validate_inner(&self, __odm_prefix: &str, __odm_errors: &mut #p::ValidationErrors) {
                #p::Validate::validate_at(self, __odm_prefix, __odm_errors)
            }
            fn validate_inner_stored(
                __odm_path: ::core::option::Option<&str>,
                __odm_value: &#p::Bson,
                __odm_prefix: &str,
                __odm_errors: &mut #p::ValidationErrors,
            ) {
                match __odm_path {
                    ::core::option::Option::Some(__odm_path) => {
                        <Self as #p::Validate>::validate_stored_value(__odm_path, __odm_value, __odm_prefix, __odm_errors)
                    }
                    ::core::option::Option::None => {
                        if let ::core::option::Option::Some(__odm_v) = #p::stored_value::<Self>(__odm_value, __odm_prefix, __odm_errors) {
                            #p::Validate::validate_at(&__odm_v, __odm_prefix, __odm_errors)
                        }
                    }
                }
            }
        }
    }
}

pub fn expand_model(c: &Container<'_>) -> TokenStream {
    let p = private();
    let ty = c.ident;
    let fields_name = fields_ident(c);
    let (fields_def, fields_build) = model_paths(c, &p);
    let collection = match &c.attrs.collection {
        Some(lit) => lit.value(),
        None => collection_name(&ty.to_string()),
    };
    let mut collection = quote!(#collection);
    let mut indexes = indexes(c, &p);
    let mut model_schema = quote!(<Self as #p::FieldType>::json_schema());
    // `#[odm(variant_of = Animal)]`: stored in the parent's collection with its tag; the
    // collection's indexes and schema are the parent's, which gathers this variant's.
    let (variant, aliases) = match &c.attrs.variant_of {
        Some(parent) => {
            collection = quote!(<#parent as #p::Model>::COLLECTION);
            let own = std::mem::replace(&mut indexes, quote!(<#parent as #p::Model>::indexes()));
            model_schema = quote!(<#parent as #p::Model>::json_schema());
            (
                quote! {
                    const VARIANT: ::core::option::Option<(&'static str, &'static str)> =
                        ::core::option::Option::Some((
                            <#parent as #p::Polymorphic>::TAG,
                            <Self as #p::VariantOf<#parent>>::NAME,
                        ));
                    fn variant_indexes() -> ::std::vec::Vec<#p::IndexSpec> {
                        #own
                    }
                },
                super::polymorphic::field_type_aliases(c),
            )
        }
        None => (TokenStream::new(), TokenStream::new()),
    };
    let (id_type, id_get, id_set) = match c.id_field() {
        Some(f) => {
            let (ident, fty) = (f.ident, f.ty);
            (
                quote!(#fty),
                quote!(&self.#ident),
                quote! {
                    self.#ident = #p::bson::deserialize_from_bson(__odm_id)?;
                    ::core::result::Result::Ok(())
                },
            )
        }
        // Reported by the check stage; a stand-in keeps the rest of the impl valid.
        None => (
            quote!(#p::Bson),
            quote! {{
                static __NONE: #p::Bson = #p::Bson::Null;
                &__NONE
            }},
            quote!(let _ = __odm_id; ::core::result::Result::Ok(())),
        ),
    };
    // Either field alone is fine: `created_at` is set on insert, `updated_at` on every
    // write.
    let timestamp = |name: &str| c.attrs.timestamps.and(c.field(name)).filter(|f| f.stored());
    let (created, updated) = (timestamp("created_at"), timestamp("updated_at"));
    let path_of = |f: Option<&crate::ast::Field<'_>>| match f {
        Some(f) => {
            let name = &f.name;
            quote!(::core::option::Option::Some(#name))
        }
        None => quote!(::core::option::Option::None),
    };
    let set = |f: Option<&crate::ast::Field<'_>>| match f {
        Some(f) => {
            let ident = f.ident;
            quote_spanned!(f.ty.span()=> self.#ident = <_ as #p::Timestamp>::from_now(__odm_now);)
        }
        None => TokenStream::new(),
    };
    let timestamps = if created.is_some() || updated.is_some() {
        let (cn, un) = (path_of(created), path_of(updated));
        let (set_created, set_updated) = (set(created), set(updated));
        quote! {
            const CREATED_AT: ::core::option::Option<&'static str> = #cn;
            const UPDATED_AT: ::core::option::Option<&'static str> = #un;
            fn set_timestamps(&mut self, __odm_now: #p::DateTime, __odm_inserting: bool) {
                if __odm_inserting {
                    #set_created
                }
                #set_updated
            }
        }
    } else {
        TokenStream::new()
    };
    // `#[odm(version)]`: read and written through `Version`, whose bound on the field's
    // type is what reports a version that is not an integer, at the type.
    let version = match c.version_field() {
        Some(f) => {
            let (ident, fty, name) = (f.ident, f.ty, &f.name);
            let get = quote_spanned!(fty.span()=> <#fty as #p::Version>::get(&self.#ident));
            let set = quote_spanned!(fty.span()=> <#fty as #p::Version>::from_count(__odm_version));
            quote! {
                const VERSION: ::core::option::Option<&'static str> = ::core::option::Option::Some(#name);
                fn version(&self) -> ::core::option::Option<i64> {
                    ::core::option::Option::Some(#get)
                }
                fn set_version(&mut self, __odm_version: i64) {
                    self.#ident = #set;
                }
            }
        }
        None => TokenStream::new(),
    };
    // `#[odm(soft_delete)]`: the deletion date's path, its type checked at the type.
    let (soft_delete, soft_delete_check) = match c
        .attrs
        .soft_delete
        .and(c.field("deleted_at"))
        .filter(|f| f.stored())
    {
        Some(f) => {
            let (name, fty) = (&f.name, f.ty);
            let check = quote_spanned!(fty.span()=> __odm_deleted_at::<#fty>(););
            (
                quote! {
                    const SOFT_DELETE: ::core::option::Option<&'static str> = ::core::option::Option::Some(#name);
                },
                quote! {
                    #[allow(dead_code)]
                    fn __odm_soft_delete_check() {
                        fn __odm_deleted_at<T: #p::DeletedAt>() {}
                        #check
                    }
                },
            )
        }
        None => (TokenStream::new(), TokenStream::new()),
    };
    // `#[odm(default = ..)]` on an `Option` field: `None` on insert takes the default.
    let fills: Vec<TokenStream> = c
        .fields
        .iter()
        .filter(|f| {
            f.attrs.default.is_some() && f.attrs.serde_default && crate::model_attr::is_option(f.ty)
        })
        .map(|f| {
            let ident = f.ident;
            let function = quote::format_ident!("__odm_default_{}_{}", ty, ident);
            quote! {
                if self.#ident.is_none() {
                    self.#ident = #function();
                }
            }
        })
        .collect();
    let fill_defaults = if fills.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            fn fill_defaults(&mut self) {
                #(#fills)*
            }
        }
    };
    // A model is also a value another document may hold: the documents a pipeline's
    // `lookup` joins in (`Vec<Customer>` in its output type), or a copy kept inside
    // another model. It is one value there, without nested paths.
    let field_type = field_type_impl(
        c,
        &p,
        quote!(#p::Field<OdmRoot, #ty>),
        super::schema::json_schema_fn(c, &p),
    );
    let validate = validate_impl(c, &p);
    // `#[odm(hooks)]`: the user's `impl Hooks`; else none.
    let hooks = match c.attrs.hooks {
        Some(_) => TokenStream::new(),
        None => quote! {
            #[automatically_derived]
            impl #p::Hooks for #ty {}
        },
    };
    quote! {
        #fields_def
        #aliases

        const _: () = {
            #field_type
            #hooks
            #soft_delete_check

            #[automatically_derived]
            impl #p::Model for #ty {
                type Fields = #fields_name;
                type Id = #id_type;
                const COLLECTION: &'static str = #collection;
                #timestamps
                #version
                #fill_defaults
                #soft_delete
                #variant

                fn json_schema() -> #p::Document {
                    #model_schema
                }

                fn fields() -> &'static #fields_name {
                    static __FIELDS: #p::OnceLock<#fields_name> = #p::OnceLock::new();
                    __FIELDS.get_or_init(|| #fields_build)
                }

                fn indexes() -> ::std::vec::Vec<#p::IndexSpec> {
                    #indexes
                }

                fn id(&self) -> &Self::Id {
                    #id_get
                }

                fn set_id(&mut self, __odm_id: #p::Bson) -> ::core::result::Result<(), #p::bson::error::Error> {
                    #id_set
                }
            }

            #validate
        };
    }
}

pub fn expand_embedded(c: &Container<'_>) -> TokenStream {
    let p = private();
    let ty = c.ident;
    let fields_name = fields_ident(c);
    let (fields_def, paths_impls) = embedded_paths(c, &p);
    let json_schema = super::schema::json_schema_fn(c, &p);
    let field_type = field_type_impl(c, &p, quote!(#fields_name<OdmRoot, #ty>), json_schema);
    let validate = validate_impl(c, &p);
    quote! {
        #fields_def

        const _: () = {
            #paths_impls

            #field_type

            #[automatically_derived]
            impl #p::Embedded for #ty {}

            #validate
        };
    }
}
