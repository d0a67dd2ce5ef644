//! The parsed input: a struct with named fields and its `#[session(..)]` attributes, each node
//! keeping its syn original for spans, and the names the expansion will generate, computed
//! once here for both the checks and the expansion.

use crate::attr::{self, FieldAttrs, StructAttrs};
use crate::errors::Errors;
use proc_macro2::Span;
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Error, Fields, FieldsNamed, Ident, Type, Visibility};

pub(crate) struct Input<'a> {
    pub(crate) original: &'a DeriveInput,
    pub(crate) attrs: StructAttrs,
    pub(crate) fields: Vec<Field<'a>>,
    /// The generated type holding the accessors: `<Struct>Fields`.
    pub(crate) fields_type: Ident,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
    pub(crate) accessors: Accessors,
}

/// The four methods generated for a field `name`.
pub(crate) struct Accessors {
    /// `name()`: the field's own identifier, `r#` kept.
    pub(crate) get: Ident,
    pub(crate) set: Ident,
    pub(crate) update: Ident,
    pub(crate) view: Ident,
}

impl Accessors {
    fn of(ident: &Ident) -> Self {
        let bare = ident.unraw();
        Self {
            get: ident.clone(),
            set: format_ident!("set_{}", bare, span = ident.span()),
            update: format_ident!("update_{}", bare, span = ident.span()),
            view: format_ident!("view_{}", bare, span = ident.span()),
        }
    }

    /// The method names as written in a call, without `r#`.
    pub(crate) fn names(&self) -> [String; 4] {
        [&self.get, &self.set, &self.update, &self.view].map(|ident| ident.unraw().to_string())
    }
}

impl<'a> Input<'a> {
    /// Parses the struct. `Err`: its shape is not one a session can have (that error comes
    /// last, after the attribute errors in `errors`); attribute errors go into `errors`.
    pub(crate) fn from_syn(node: &'a DeriveInput, errors: &mut Errors) -> Result<Self, Error> {
        let attrs = attr::struct_attrs(&node.attrs, errors);
        let named = named_fields(node)?;
        let fields = named
            .named
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                Some(Field {
                    ident,
                    vis: &field.vis,
                    ty: &field.ty,
                    attrs: attr::field_attrs(&field.attrs, errors),
                    accessors: Accessors::of(ident),
                })
            })
            .collect();
        Ok(Input {
            original: node,
            attrs,
            fields,
            fields_type: format_ident!("{}Fields", node.ident.unraw()),
        })
    }

    /// The storage namespace: `#[session(namespace = "..")]`, or the struct's name.
    pub(crate) fn namespace(&self) -> (String, Span) {
        match &self.attrs.namespace {
            Some(lit) => (lit.value(), lit.span()),
            None => (
                self.original.ident.unraw().to_string(),
                self.original.ident.span(),
            ),
        }
    }
}

fn named_fields(node: &DeriveInput) -> Result<&FieldsNamed, Error> {
    match &node.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Ok(named),
            Fields::Unnamed(fields) => Err(Error::new_spanned(
                fields,
                "a session must be a struct with named fields; tuple structs have no field names to store",
            )),
            Fields::Unit => Err(Error::new_spanned(
                &node.ident,
                "a session must be a struct with named fields; a unit struct has nothing to store",
            )),
        },
        Data::Enum(data) => Err(Error::new_spanned(
            data.enum_token,
            "a session must be a struct with named fields, not an enum; wrap the enum in a field",
        )),
        Data::Union(data) => Err(Error::new_spanned(
            data.union_token,
            "a session must be a struct with named fields, not a union",
        )),
    }
}

impl Field<'_> {
    /// The stable name this field is stored under: `rename`, or the field's name without `r#`.
    pub(crate) fn storage_name(&self) -> (String, Span) {
        match &self.attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => (self.ident.unraw().to_string(), self.ident.span()),
        }
    }
}
