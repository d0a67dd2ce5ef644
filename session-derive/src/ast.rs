//! The parsed input: a struct with named fields and its `#[session(..)]` attributes, each node
//! keeping its syn original for spans.

use crate::attr::{self, Errors, FieldAttrs, StructAttrs};
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Error, Fields, Ident, Type, Visibility};

pub(crate) struct Input<'a> {
    pub(crate) original: &'a DeriveInput,
    pub(crate) attrs: StructAttrs,
    pub(crate) fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl<'a> Input<'a> {
    /// Parses the struct; every problem found is in `errors`.
    pub(crate) fn from_syn(node: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let attrs = attr::struct_attrs(&node.attrs, errors);
        let named = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(fields) => {
                    errors.push(Error::new_spanned(
                        fields,
                        "a session must be a struct with named fields; tuple structs have no field names to store",
                    ));
                    return None;
                }
                Fields::Unit => {
                    errors.push(Error::new_spanned(
                        &node.ident,
                        "a session must be a struct with named fields; a unit struct has nothing to store",
                    ));
                    return None;
                }
            },
            Data::Enum(data) => {
                errors.push(Error::new_spanned(
                    data.enum_token,
                    "a session must be a struct with named fields, not an enum; wrap the enum in a field",
                ));
                return None;
            }
            Data::Union(data) => {
                errors.push(Error::new_spanned(
                    data.union_token,
                    "a session must be a struct with named fields, not a union",
                ));
                return None;
            }
        };
        let fields = named
            .named
            .iter()
            .map(|field| Field {
                ident: field.ident.as_ref().expect("named fields have idents"),
                vis: &field.vis,
                ty: &field.ty,
                attrs: attr::field_attrs(&field.attrs, errors),
            })
            .collect();
        Some(Input {
            original: node,
            attrs,
            fields,
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

impl Field<'_> {
    /// The stable name this field is stored under: `rename`, or the field's name without `r#`.
    pub(crate) fn storage_name(&self) -> (String, Span) {
        match &self.attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => (self.ident.unraw().to_string(), self.ident.span()),
        }
    }
}
