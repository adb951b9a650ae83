//! The derive input as the later stages see it: the container, its fields with their
//! parsed attributes and serialized names, spans kept for errors.

use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type, Visibility};

use crate::Errors;
use crate::attr::{self, ContainerAttrs, ContainerKind, FieldAttrs};

/// Which derive is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Model,
    Embedded,
    Value,
    Projection,
}

pub struct Container<'a> {
    pub kind: Kind,
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub attrs: ContainerAttrs,
    /// Named fields of a struct (empty for enums and tuple structs, which only `Value`
    /// and, for enums, a polymorphic `Model` accept).
    pub fields: Vec<Field<'a>>,
    /// A polymorphic model's variants (an enum deriving `Model`); empty otherwise.
    pub variants: Vec<Variant<'a>>,
    /// Whether the input is an enum.
    pub is_enum: bool,
}

/// One variant of a polymorphic model: `Dog(Dog)`.
pub struct Variant<'a> {
    pub ident: &'a Ident,
    /// The tag value documents of this variant are stored with.
    pub name: String,
    /// The model struct the variant holds.
    pub ty: &'a Type,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
    /// The name documents are written with (after `rename` / `rename_all`).
    pub name: String,
}

impl<'a> Field<'a> {
    /// Whether the field is stored at all (`skip` and `skip_serializing` are not).
    pub fn stored(&self) -> bool {
        !self.attrs.skip
    }

    /// `T` when the field's type is written `Option<T>`.
    pub fn option_inner(&self) -> Option<&'a Type> {
        option_inner(self.ty)
    }
}

/// `T` when `ty` is written `Option<T>` (also `std::option::Option<T>`).
pub fn option_inner(ty: &Type) -> Option<&Type> {
    generic_arg(ty, "Option")
}

/// The single generic argument of a type whose last path segment is `name`.
pub fn generic_arg<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(t)) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

/// Whether the type's last path segment is `name` (with any arguments).
pub fn type_named(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

impl<'a> Container<'a> {
    pub fn from_ast(
        input: &'a DeriveInput,
        kind: Kind,
        errors: &mut Errors,
    ) -> Option<Container<'a>> {
        let container_kind = match kind {
            Kind::Model => ContainerKind::Model,
            Kind::Embedded => ContainerKind::Embedded,
            Kind::Value => ContainerKind::Value,
            Kind::Projection => ContainerKind::Projection,
        };
        let attrs = attr::parse_container(&input.attrs, container_kind, errors);
        if !input.generics.params.is_empty() {
            errors.spanned(
                &input.generics,
                format!("#[derive({kind:?})] does not support generic types"),
            );
            return None;
        }
        let mut fields = Vec::new();
        let mut variants = Vec::new();
        match (&input.data, kind) {
            (Data::Struct(s), _) => match &s.fields {
                Fields::Named(named) => {
                    for f in &named.named {
                        let ident = f.ident.as_ref().expect("named fields have names");
                        let field_attrs = attr::parse_field(&f.attrs, container_kind, errors);
                        let rust_name = ident.to_string();
                        let rust_name = rust_name
                            .strip_prefix("r#")
                            .unwrap_or(&rust_name)
                            .to_string();
                        let name = match (&field_attrs.rename, attrs.rename_all) {
                            (Some(n), _) => n.clone(),
                            (None, Some(rule)) => rule.apply_to_field(&rust_name),
                            (None, None) => rust_name,
                        };
                        fields.push(Field {
                            ident,
                            vis: &f.vis,
                            ty: &f.ty,
                            attrs: field_attrs,
                            name,
                        });
                    }
                }
                _ if kind == Kind::Value => {}
                _ => {
                    errors.spanned(
                        input.ident.clone(),
                        format!("#[derive({kind:?})] needs a struct with named fields"),
                    );
                    return None;
                }
            },
            (Data::Enum(_), Kind::Value) => {}
            (Data::Enum(e), Kind::Model) => {
                for v in &e.variants {
                    let ty = match &v.fields {
                        Fields::Unnamed(one) if one.unnamed.len() == 1 => &one.unnamed[0].ty,
                        _ => {
                            errors.spanned(
                                v,
                                format!(
                                    "each variant of a polymorphic model holds one model struct, marked `#[odm(variant_of = {})]`: write `{}({})`",
                                    input.ident, v.ident, v.ident
                                ),
                            );
                            continue;
                        }
                    };
                    let rust_name = v.ident.to_string();
                    let name = match (attr::serde_rename(&v.attrs), attrs.rename_all) {
                        (Some(n), _) => n,
                        (None, Some(rule)) => rule.apply_to_variant(&rust_name),
                        (None, None) => rust_name,
                    };
                    variants.push(Variant {
                        ident: &v.ident,
                        name,
                        ty,
                    });
                }
                if e.variants.is_empty() {
                    errors.spanned(
                        &input.ident,
                        "a polymorphic model needs at least one variant",
                    );
                }
            }
            _ => {
                let what = match kind {
                    Kind::Value => "an enum or a struct",
                    Kind::Model => {
                        "a struct with named fields, or a serde internally tagged enum of model structs"
                    }
                    _ => "a struct with named fields",
                };
                errors.push(syn::Error::new(
                    input.ident.span(),
                    format!("#[derive({kind:?})] needs {what}"),
                ));
                return None;
            }
        }
        Some(Container {
            kind,
            ident: &input.ident,
            vis: &input.vis,
            attrs,
            fields,
            variants,
            is_enum: matches!(input.data, Data::Enum(_)),
        })
    }

    /// Whether this is a polymorphic model: an enum deriving `Model`.
    pub fn is_polymorphic(&self) -> bool {
        self.kind == Kind::Model && self.is_enum
    }

    /// The field stored as `_id`, if any.
    pub fn id_field(&self) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.stored() && !f.attrs.flatten && f.name == "_id")
    }

    /// The `#[odm(version)]` field, if there is one.
    pub fn version_field(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.attrs.version.is_some())
    }

    /// A field by its Rust name.
    pub fn field(&self, rust_name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.ident == rust_name)
    }
}
