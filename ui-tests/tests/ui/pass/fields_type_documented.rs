//! The accessors live on a generated `<Struct>Fields` type with the struct's visibility, so
//! they show in the user's own docs and can be named.
#![deny(missing_docs)]

use typed_sessions::Session;

/// A visit counter.
#[derive(Session, Default)]
pub struct Visit {
    count: u64,
}

/// Reads through the generated type.
pub fn count(fields: &VisitFields) -> u64 {
    fields.count()
}

fn main() {}
