//! The `#[derive(Session)]` macro. Use it through the `typed-sessions` crate, which re-exports it and
//! documents it; this crate only holds the expansion.

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod reserved;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `typed_sessions::SessionData` for a struct with named fields. Documented on the
/// re-export, `typed_sessions::Session`.
#[proc_macro_derive(Session, attributes(session))]
pub fn derive_session(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
