//! One line for an error and its causes.

use std::fmt;

/// Displays an error with its sources: "session store failed: ...: connection refused".
/// A source whose message the line already holds is left out: many errors (`redis`,
/// `sqlx`) print their source in their own message and return it from `source()` too,
/// which would state the cause twice.
pub(crate) struct ErrorChain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut source = self.0.source();
        while let Some(error) = source {
            let message = error.to_string();
            if !line.contains(&message) {
                line.push_str(": ");
                line.push_str(&message);
            }
            source = error.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(std::io::Error, &'static str);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}{}", self.1, self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_stated_once() {
        let refused = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let repeats = Wrapper(refused(), "");
        assert_eq!(ErrorChain(&repeats).to_string(), "refused");
        let adds = Wrapper(refused(), "connecting: ");
        assert_eq!(ErrorChain(&adds).to_string(), "connecting: refused");
    }
}
