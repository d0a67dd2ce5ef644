//! The trait `#[derive(Session)]` implements.

use crate::Error;
use crate::record::{Changes, Record};
use crate::typed::Fields;

/// A struct that can be a typed session. Implemented by `#[derive(Session)]`; the items are
/// the derive's business and hidden from the docs.
pub trait SessionData: Sized + Send + Sync + 'static {
    /// Storage key of each field, in declaration order: `namespace.field`.
    #[doc(hidden)]
    const KEYS: &'static [&'static str];

    /// The generated type that holds the field accessors.
    #[doc(hidden)]
    type Handle: Send + Sync + 'static;

    /// The struct from a record; absent or undecodable fields get their defaults.
    #[doc(hidden)]
    fn decode(record: &Record) -> Self;

    /// Encodes the fields whose bit is set in `dirty`.
    #[doc(hidden)]
    fn encode_dirty(&self, dirty: u64, out: &mut Changes<Self>) -> Result<(), Error>;

    /// Wraps the request's shared field state in the accessor type.
    #[doc(hidden)]
    fn wrap(fields: Fields<Self>) -> Self::Handle;
}
