//! Rules across attributes and fields, checked after parsing: everything that can be
//! known without the compiler's type information.

use crate::Errors;
use crate::ast::{Container, Kind, generic_arg, option_inner, type_named};
use crate::attr::{self, IndexKey, KeyKind, RuleKind};
use crate::case::did_you_mean;

pub fn check(c: &Container<'_>, errors: &mut Errors) {
    if c.is_polymorphic() {
        check_polymorphic(c, errors);
        return;
    }
    if c.kind == Kind::Model {
        check_model(c, errors);
    }
    if c.kind == Kind::Embedded {
        check_defaults(c, errors);
    }
    if let Some(span) = c.attrs.transparent {
        errors.push(syn::Error::new(span, "a serde-transparent struct is stored as its field, not as a document: derive `odm::Value` for it instead"));
    }
    for f in &c.fields {
        if c.kind == Kind::Projection && f.attrs.flatten {
            errors.spanned(
                f.ident,
                "a projection cannot flatten a field: list the fields it needs",
            );
        }
        if f.attrs.unique.is_some() && f.option_inner().is_some() && !f.attrs.skip_if {
            errors.spanned(
                f.ident,
                format!("a unique `Option` field must not store its `None`: every null would be a duplicate. Add `#[serde(skip_serializing_if = \"Option::is_none\")]` to `{}`", f.ident),
            );
        }
    }
    if c.kind == Kind::Projection && c.attrs.model.is_none() {
        errors.spanned(
            c.ident,
            "#[derive(Projection)] needs the model it reads from: #[odm(model = User)]",
        );
    }
    for f in &c.fields {
        if !f.stored()
            && (!f.attrs.rules.is_empty() || f.attrs.unique.is_some() || f.attrs.index.is_some())
        {
            errors.spanned(
                f.ident,
                format!(
                    "`{}` is not stored (serde skip), so it cannot have odm rules or indexes",
                    f.ident
                ),
            );
        }
        if f.attrs.flatten && !f.attrs.rules.is_empty() {
            errors.spanned(f.ident, "a flattened field cannot have validation rules; put them on the fields of its type");
        }
        for rule in &f.attrs.rules {
            if let RuleKind::Length {
                min: Some(a),
                max: Some(b),
            }
            | RuleKind::Range {
                min: Some(a),
                max: Some(b),
            } = &rule.kind
                && a.value > b.value
            {
                errors.spanned(
                    &b.tokens,
                    format!("max ({}) is below min ({})", b.value, a.value),
                );
            }
        }
        check_chrono(f, errors);
    }
}

/// `default` is written for serde by `#[odm::model]`: without it a stored document that
/// lacks the field would fail to read, silently against what the attribute promises.
fn check_defaults(c: &Container<'_>, errors: &mut Errors) {
    for f in &c.fields {
        if let Some(expr) = &f.attrs.default
            && !f.attrs.serde_default
        {
            errors.spanned(
                expr,
                "`default` needs `#[odm::model]` above the `#[derive(...)]`: it writes the `#[serde(default = ...)]` that reads the default back",
            );
        }
    }
}

/// An enum deriving `Model`: internally tagged, with the model-wide options that its
/// variants hold rather than it.
fn check_polymorphic(c: &Container<'_>, errors: &mut Errors) {
    match (&c.attrs.tag, c.attrs.not_internally_tagged) {
        (_, Some((span, what))) => errors.push(syn::Error::new(
            span,
            format!("a polymorphic model stores its tag beside each variant's fields: {what} enums cannot be models; use `#[serde(tag = \"kind\")]` alone"),
        )),
        (None, None) => errors.spanned(
            c.ident,
            "a polymorphic model is a serde internally tagged enum: add `#[serde(tag = \"kind\")]`, the key each document stores its variant's name under",
        ),
        (Some(_), None) => {}
    }
    for v in &c.variants {
        if !matches!(v.ty, syn::Type::Path(_)) {
            errors.spanned(
                v.ty,
                format!(
                    "`{}` must hold a model struct, named by its path (`{}({})`)",
                    v.ident, v.ident, v.ident
                ),
            );
        }
    }
    let on_variants = [
        (c.attrs.timestamps, attr::TIMESTAMPS),
        (c.attrs.soft_delete, attr::SOFT_DELETE),
    ];
    for (span, key) in on_variants {
        if let Some(span) = span {
            errors.push(syn::Error::new(span, format!("`{key}` belongs on the variant structs: a polymorphic model delegates it to the variant a document is")));
        }
    }
    if let Some(parent) = &c.attrs.variant_of {
        errors.spanned(
            parent,
            "`variant_of` marks a model struct; a polymorphic model is not itself a variant",
        );
    }
    let shared: Vec<String> = match &c.attrs.shared {
        Some((_, names)) => names.iter().map(ToString::to_string).collect(),
        None => Vec::new(),
    };
    for index in &c.attrs.indexes {
        for (key, _) in &index.keys {
            if let IndexKey::Field(ident) = key
                && !shared.contains(&ident.to_string())
            {
                errors.spanned(ident, format!("`{ident}` is not a shared field of `{}`: index a field listed in `shared(...)` here, or a variant's own field on the variant", c.ident));
            }
        }
    }
}

fn check_model(c: &Container<'_>, errors: &mut Errors) {
    check_defaults(c, errors);
    if let Some((span, _)) = &c.attrs.shared {
        errors.push(syn::Error::new(*span, "`shared` lists the fields every variant of a polymorphic model has: it belongs on the enum"));
    }
    if let (Some(_), Some(lit)) = (&c.attrs.variant_of, &c.attrs.collection) {
        errors.spanned(
            lit,
            "a variant is stored in its parent's collection: remove `collection` here",
        );
    }
    let marked: Vec<_> = c.fields.iter().filter(|f| f.attrs.id.is_some()).collect();
    for f in &marked {
        if f.name != "_id" {
            errors.spanned(
                f.ident,
                format!(
                    "`#[odm(id)]` stores this field as `_id`, but serde stores it as `{}`: put `#[odm::model]` above the `#[derive(...)]` (it writes the serde attributes), and no other `rename`",
                    f.name
                ),
            );
        }
    }
    if marked.len() > 1 {
        errors.spanned(marked[1].ident, "a model has one `#[odm(id)]` field");
    }
    let versions: Vec<_> = c
        .fields
        .iter()
        .filter(|f| f.attrs.version.is_some())
        .collect();
    if versions.len() > 1 {
        errors.spanned(versions[1].ident, "a model has one `#[odm(version)]` field");
    }
    for f in &versions {
        if !f.stored() || f.attrs.flatten {
            errors.spanned(
                f.ident,
                "the `#[odm(version)]` field must be stored: it cannot be skipped or flattened",
            );
        } else if f.attrs.id.is_some() {
            errors.spanned(f.ident, "the `#[odm(id)]` field cannot also be the version");
        }
    }
    if c.id_field().is_none() && marked.is_empty() {
        errors.spanned(
            c.ident,
            "a Model needs an `_id` field: mark one `#[odm(id)]` with `#[odm::model]` above the derives (`#[odm(id)] id: Option<ObjectId>`), or write `#[serde(rename = \"_id\")]` yourself",
        );
    }
    if let Some(lit) = &c.attrs.collection {
        let name = lit.value();
        if name.is_empty()
            || name.contains('$')
            || name.contains('\0')
            || name.starts_with("system.")
        {
            errors.spanned(lit, format!("invalid collection name `{name}`: it must be non-empty, without `$` or NUL, and not start with `system.`"));
        }
    }
    if let Some(span) = c.attrs.soft_delete
        && !c.field("deleted_at").is_some_and(|f| f.stored())
    {
        errors.push(syn::Error::new(
            span,
            "`soft_delete` needs a stored field `deleted_at: Option<bson::DateTime>`: deletes set it, reads leave out the documents that have it",
        ));
    }
    if let Some(span) = c.attrs.timestamps {
        let stored = |name: &str| c.field(name).is_some_and(|f| f.stored());
        if !stored("created_at") && !stored("updated_at") {
            errors.push(syn::Error::new(span, "`timestamps` needs a stored field named `created_at` or `updated_at` (or both): bson::DateTime or Option<bson::DateTime>"));
        }
    }
    let mut names = std::collections::HashMap::new();
    let declared = c
        .attrs
        .indexes
        .iter()
        .map(|i| {
            (
                i.name
                    .clone()
                    .unwrap_or_else(|| default_index_name(c, &i.keys)),
                i.name_span,
            )
        })
        .chain(
            c.fields
                .iter()
                .filter(|f| f.attrs.unique.is_some() || f.attrs.index.is_some())
                .map(|f| (format!("{}_1", f.name), f.ident.span())),
        );
    for (name, span) in declared {
        if names.insert(name.clone(), span).is_some() {
            errors.push(syn::Error::new(
                span,
                format!("two indexes are named `{name}`: give one of them another `name = \"...\"` (or declare it once)"),
            ));
        }
    }
    let field_names: Vec<String> = c
        .fields
        .iter()
        .filter(|f| f.stored())
        .map(|f| f.ident.to_string())
        .collect();
    let known: Vec<&str> = field_names.iter().map(String::as_str).collect();
    for index in &c.attrs.indexes {
        let weighted = index.weights.iter().map(|(key, _)| key);
        for key in index.keys.iter().map(|(key, _)| key).chain(weighted) {
            match key {
                IndexKey::Field(ident) => {
                    if c.field(&ident.to_string()).is_some_and(|f| f.attrs.flatten) {
                        errors.spanned(ident, format!("`{ident}` is flattened: it has no path of its own; index one of its fields with \"path\" = 1"));
                    } else if !known.contains(&ident.to_string().as_str()) {
                        let message = match did_you_mean(&ident.to_string(), &known) {
                            Some(hint) => format!(
                                "no field `{ident}` in `{}`; did you mean `{hint}`?",
                                c.ident
                            ),
                            None => format!("no field `{ident}` in `{}`", c.ident),
                        };
                        errors.spanned(ident, message);
                    }
                }
                IndexKey::Path(lit) => {
                    let path = lit.value();
                    // `"$**" = "text"` (every string), `"$**" = 1` or `"a.$**" = 1` (a
                    // wildcard index): the server checks what follows the prefix.
                    if path == "$**" || path.ends_with(".$**") {
                        continue;
                    }
                    if path.is_empty()
                        || path.split('.').any(str::is_empty)
                        || path.starts_with('$')
                    {
                        errors.spanned(lit, format!("`{path}` is not a valid index path"));
                    }
                }
            }
        }
    }
}

/// chrono dates serialize as strings unless told otherwise; stored as strings they
/// would never compare with the dates queries send.
fn check_chrono(f: &crate::ast::Field<'_>, errors: &mut Errors) {
    if !f.stored() || f.attrs.with.is_some() {
        return;
    }
    let (ty, helper) = match option_inner(f.ty) {
        Some(inner) => (inner, "odm::chrono_datetime::option"),
        None => (f.ty, "odm::chrono_datetime"),
    };
    let is_chrono = type_named(ty, "DateTime") && generic_arg(ty, "DateTime").is_some();
    if is_chrono {
        errors.spanned(ty, format!("chrono dates must be stored as BSON dates: add `#[serde(with = \"{helper}\")]` to `{}`", f.ident));
    }
}

/// The name MongoDB gives an index by default, from the fields' stored names.
fn default_index_name(c: &Container<'_>, keys: &[(IndexKey, KeyKind)]) -> String {
    keys.iter()
        .map(|(key, dir)| {
            let path = match key {
                IndexKey::Field(ident) => c
                    .field(&ident.to_string())
                    .map(|f| f.name.clone())
                    .unwrap_or_else(|| ident.to_string()),
                IndexKey::Path(lit) => lit.value(),
            };
            format!("{path}_{dir}")
        })
        .collect::<Vec<_>>()
        .join("_")
}
