//! The name of a SQL store's table, checked once so that it can be quoted into SQL.

/// A table name checked to be a plain SQL identifier, so it can be quoted into SQL.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub(crate) schema: Option<String>,
    pub(crate) name: String,
}

/// Why a schema or table name was refused.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "sqlite"))))]
#[error(
    "`{0}` is not a plain SQL identifier: use ASCII letters, digits and `_`, not starting with a digit, at most 63 bytes"
)]
pub struct InvalidTableNameError(pub String);

impl Table {
    pub(crate) fn new(schema: Option<&str>, name: &str) -> Result<Self, InvalidTableNameError> {
        for part in schema.into_iter().chain([name]) {
            let plain = !part.is_empty()
                && part.len() <= 63
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !plain {
                return Err(InvalidTableNameError(part.to_owned()));
            }
        }
        Ok(Self {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    pub(crate) fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }
}
