//! Checks that span the whole struct: storage names, accessor names, shapes the runtime cannot
//! hold.

use crate::ast::Input;
use crate::errors::Errors;
use crate::reserved::SESSION_METHODS;
use proc_macro2::Span;
use std::collections::BTreeMap;
use syn::Error;
use syn::ext::IdentExt;

/// The runtime tracks dirty fields in one `u64`.
pub(crate) const MAX_FIELDS: usize = 64;

impl Input<'_> {
    /// Every check that spans several fields or the whole struct; problems go into `errors`.
    pub(crate) fn validate(&self, errors: &mut Errors) {
        let input = self;
        check_generics(input, errors);
        check_namespace(input, errors);
        check_storage_names(input, errors);
        check_accessor_names(input, errors);
        if input.fields.len() > MAX_FIELDS {
            errors.push(Error::new_spanned(
                &input.original.ident,
                format!(
                    "a session struct has at most {MAX_FIELDS} fields; split it into several structs with their own `namespace`"
                ),
            ));
        }
    }
}

fn check_generics(input: &Input, errors: &mut Errors) {
    for lifetime in input.original.generics.lifetimes() {
        errors.push(Error::new_spanned(
            lifetime,
            "a session cannot borrow: its fields are loaded from the store, so use owned types instead of lifetimes",
        ));
    }
    for param in input.original.generics.const_params() {
        errors.push(Error::new_spanned(
            param,
            "a session cannot have const generic parameters; use a type parameter or a field instead",
        ));
    }
}

fn check_namespace(input: &Input, errors: &mut Errors) {
    let (namespace, span) = input.namespace();
    if let Some(problem) = storage_name_problem(&namespace) {
        errors.push(Error::new(
            span,
            format!("invalid session namespace: {problem}"),
        ));
    }
}

fn check_storage_names(input: &Input, errors: &mut Errors) {
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for field in &input.fields {
        let (name, span) = field.storage_name();
        if let Some(problem) = storage_name_problem(&name) {
            errors.push(Error::new(span, format!("invalid storage name: {problem}")));
            continue;
        }
        if seen.insert(name.clone(), span).is_some() {
            errors.push(Error::new(
                span,
                format!(
                    "two fields are stored as `{name}`; give one a different `#[session(rename = \"...\")]`"
                ),
            ));
        }
    }
}

fn check_accessor_names(input: &Input, errors: &mut Errors) {
    let mut methods: BTreeMap<String, String> = BTreeMap::new();
    for field in &input.fields {
        let name = field.ident.unraw().to_string();
        if SESSION_METHODS.contains(&name.as_str()) {
            errors.push(Error::new_spanned(
                field.ident,
                format!(
                    "a field named `{name}` would be hidden by `Session::{name}`; rename the field and keep its storage name with `#[session(rename = \"{name}\")]`"
                ),
            ));
            continue;
        }
        for method in field.accessors.names() {
            if let Some(owner) = methods.insert(method.clone(), name.clone()) {
                errors.push(Error::new_spanned(
                    field.ident,
                    format!("the accessor `{method}` of field `{name}` clashes with an accessor of field `{owner}`; rename one of the fields"),
                ));
            }
        }
    }
}

/// Storage names and namespaces go into keys (`namespace.field`) and store paths, so they are
/// short and plain.
fn storage_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    if name.len() > 64 {
        return Some(format!("`{name}` is longer than 64 bytes"));
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'));
    bad.map(|c| format!("`{name}` contains `{c}`; use ASCII letters, digits, `_` and `-`"))
}
