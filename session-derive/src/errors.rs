//! The error collector: every problem in the input is reported at once, like serde's `Ctxt`.

use syn::Error;

/// Errors found so far, combined into one `syn::Error` that reports each at its own span.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `Ok` when nothing was found.
    pub(crate) fn finish(self) -> Result<(), Error> {
        self.0.map_or(Ok(()), Err)
    }

    /// `error`, after everything found before it.
    pub(crate) fn finish_with(self, error: Error) -> Error {
        match self.0 {
            Some(mut first) => {
                first.combine(error);
                first
            }
            None => error,
        }
    }
}
