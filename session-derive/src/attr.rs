//! Parsing of `#[session(..)]` attributes, on the struct and on its fields.

use crate::errors::Errors;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Error, ExprPath, LitStr, Token, meta::ParseNestedMeta};

/// The keys `#[session(..)]` takes on a struct.
const STRUCT_KEYS: &[&str] = &["namespace"];
/// The keys `#[session(..)]` takes on a field.
const FIELD_KEYS: &[&str] = &["rename", "default"];

/// `#[session(..)]` on the struct.
#[derive(Default)]
pub(crate) struct StructAttrs {
    /// `namespace = "..."`: the prefix of every storage key of this struct.
    pub(crate) namespace: Option<LitStr>,
}

/// How a field gets its value when the stored record has none (or an undecodable one).
pub(crate) enum FieldDefault {
    /// No attribute: take the field from the struct's `Default` impl.
    Struct,
    /// `#[session(default)]`: the field type's `Default` impl.
    FieldType(Span),
    /// `#[session(default = path)]`: call `path()`.
    Path(ExprPath),
}

/// `#[session(..)]` on a field.
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) default: FieldDefault,
}

pub(crate) fn struct_attrs(attrs: &[Attribute], errors: &mut Errors) -> StructAttrs {
    let mut out = StructAttrs::default();
    for attr in session_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("namespace") {
                let value = string_value(&meta)?;
                set_once(&mut out.namespace, value, &meta)
            } else {
                Err(unknown_key(&meta, STRUCT_KEYS, FIELD_KEYS, "struct"))
            }
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    out
}

pub(crate) fn field_attrs(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut rename = None;
    let mut default: Option<FieldDefault> = None;
    for attr in session_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value = string_value(&meta)?;
                set_once(&mut rename, value, &meta)
            } else if meta.path.is_ident("default") {
                let value = if meta.input.peek(Token![=]) {
                    FieldDefault::Path(path_value(&meta)?)
                } else {
                    FieldDefault::FieldType(meta.path.span())
                };
                set_once(&mut default, value, &meta)
            } else {
                Err(unknown_key(&meta, FIELD_KEYS, STRUCT_KEYS, "field"))
            }
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    FieldAttrs {
        rename,
        default: default.unwrap_or(FieldDefault::Struct),
    }
}

fn session_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("session"))
}

fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta) -> syn::Result<()> {
    if slot.is_some() {
        let key = key_name(meta);
        return Err(meta.error(format!("duplicate session attribute `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}

fn string_value(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    let key = key_name(meta);
    let expr: syn::Expr = meta.value()?.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => Ok(lit),
        other => Err(Error::new_spanned(
            other,
            format!("expected a string literal: `{key} = \"...\"`"),
        )),
    }
}

fn path_value(meta: &ParseNestedMeta) -> syn::Result<ExprPath> {
    let expr: syn::Expr = meta.value()?.parse()?;
    match expr {
        syn::Expr::Path(path) => Ok(path),
        // A string holding a path, as serde accepts: `default = "path::to::fn"`.
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => lit.parse(),
        other => Err(Error::new_spanned(
            other,
            "expected a path to a function: `default = path::to::function`",
        )),
    }
}

fn key_name(meta: &ParseNestedMeta) -> String {
    let path = &meta.path;
    quote::quote!(#path).to_string().replace(' ', "")
}

/// "unknown session attribute `defualt`, expected `rename` or `default`", with a suggestion
/// when the key is close to a valid one or belongs on the other kind of item.
fn unknown_key(meta: &ParseNestedMeta, valid: &[&str], other: &[&str], here: &str) -> Error {
    let key = key_name(meta);
    if other.contains(&key.as_str()) {
        let there = if here == "struct" {
            "a field"
        } else {
            "the struct"
        };
        return meta.error(format!(
            "session attribute `{key}` belongs on {there}, not on a {here}"
        ));
    }
    let expected = one_of(valid);
    let mut message = format!("unknown session attribute `{key}`, expected {expected}");
    if let Some(close) = closest(&key, valid) {
        message = format!("unknown session attribute `{key}`, did you mean `{close}`?");
    }
    meta.error(message)
}

fn one_of(keys: &[&str]) -> String {
    match keys {
        [only] => format!("`{only}`"),
        _ => {
            let quoted: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

/// The valid key within edit distance 2 of `key`, if any.
fn closest<'a>(key: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|candidate| (edit_distance(key, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(closest("defualt", FIELD_KEYS), Some("default"));
        assert_eq!(closest("renam", FIELD_KEYS), Some("rename"));
        assert_eq!(closest("colour", FIELD_KEYS), None);
    }
}
