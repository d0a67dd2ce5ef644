//! Where a key ring's keys come from: [`KeySource`], with the environment ([`EnvKeys`]) and
//! a file ([`FileKeys`]) built in, and a key management service behind the trait.

use super::{KeyRing, KeyRingError};
use crate::crypto::{InvalidKeyError, Key};
use crate::store::BoxFuture;
use std::path::PathBuf;

/// The keys of a [`KeyRing`], newest first: the first becomes the primary
/// ([`KeyRing::load`]). Implement it to fetch keys from a key management service.
///
/// ```
/// use typed_sessions::Key;
/// use typed_sessions::encryption::{KeySource, KeySourceError};
/// use typed_sessions::store::BoxFuture;
///
/// /// Keys a service hands out (here, made up).
/// struct Service;
///
/// impl KeySource for Service {
///     fn keys(&self) -> BoxFuture<'_, Result<Vec<Key>, KeySourceError>> {
///         Box::pin(async {
///             let secret = [7; 64]; // what the service answered
///             let key = Key::from_secret(&secret).map_err(KeySourceError::service)?;
///             Ok(vec![key])
///         })
///     }
/// }
/// ```
pub trait KeySource: Send + Sync {
    /// The keys, newest (the primary) first.
    fn keys(&self) -> BoxFuture<'_, Result<Vec<Key>, KeySourceError>>;
}

/// Why a [`KeySource`] gave no keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySourceError {
    /// The environment variable is not set.
    #[error("{0} is not set: give it the secrets, newest first, separated by commas")]
    Unset(String),
    /// The file cannot be read.
    #[error("cannot read the key file {path}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// It holds no secret.
    #[error("{0} holds no secret")]
    Empty(String),
    /// A secret is refused (too short).
    #[error("{origin}, secret {position}: {error}")]
    Invalid {
        /// The variable or file.
        origin: String,
        /// Its place, from 1.
        position: usize,
        /// Why.
        #[source]
        error: InvalidKeyError,
    },
    /// The keys do not make a ring (one given twice).
    #[error(transparent)]
    Ring(#[from] KeyRingError),
    /// A key management service failed.
    #[error("the key service failed")]
    Service(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl KeySourceError {
    /// Wraps a key management service's own error.
    pub fn service(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Service(error.into())
    }
}

/// The secrets in `text`, split at `separator`, each used as given (a file's lines without
/// their `\r`), newest first; `origin` names them in errors.
///
/// # Errors
/// A secret under 64 bytes, or none.
pub fn parse_secrets(
    text: &str,
    separator: char,
    origin: &str,
) -> Result<Vec<Key>, KeySourceError> {
    let secrets = text
        .split(separator)
        .map(|secret| secret.trim_end_matches('\r'))
        .filter(|secret| !secret.is_empty());
    let keys = secrets
        .enumerate()
        .map(|(at, secret)| {
            Key::from_secret(secret.as_bytes()).map_err(|error| KeySourceError::Invalid {
                origin: origin.to_owned(),
                position: at + 1,
                error,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(KeySourceError::Empty(origin.to_owned()));
    }
    Ok(keys)
}

/// Secrets in an environment variable, newest first, separated by commas (one secret alone
/// is used as given, whatever it holds).
#[derive(Clone, Debug)]
pub struct EnvKeys {
    name: String,
}

impl EnvKeys {
    /// The secrets in the variable `name` (for example `SESSION_SECRET`).
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

impl KeySource for EnvKeys {
    fn keys(&self) -> BoxFuture<'_, Result<Vec<Key>, KeySourceError>> {
        Box::pin(async move {
            let text =
                std::env::var(&self.name).map_err(|_| KeySourceError::Unset(self.name.clone()))?;
            parse_secrets(&text, ',', &self.name)
        })
    }
}

/// Secrets in a file, one per line, newest first.
#[derive(Clone, Debug)]
pub struct FileKeys {
    path: PathBuf,
}

impl FileKeys {
    /// The secrets in the file at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl KeySource for FileKeys {
    fn keys(&self) -> BoxFuture<'_, Result<Vec<Key>, KeySourceError>> {
        Box::pin(async move {
            let text = std::fs::read_to_string(&self.path).map_err(|error| {
                KeySourceError::Unreadable {
                    path: self.path.clone(),
                    error,
                }
            })?;
            parse_secrets(&text, '\n', &self.path.display().to_string())
        })
    }
}

impl KeyRing {
    /// The ring of `source`'s keys ([`KeyRing::of_keys`]: the first the primary, ids
    /// derived from the keys).
    ///
    /// ```
    /// use typed_sessions::encryption::{FileKeys, KeyRing};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("secrets");
    /// std::fs::write(&path, format!("{}\n{}\n", "n".repeat(64), "o".repeat(64)))?;
    /// let ring = KeyRing::load(&FileKeys::new(&path)).await?;
    /// assert_eq!(ring.ids().count(), 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// What the source answered, or a key given twice.
    pub async fn load(source: &dyn KeySource) -> Result<Self, KeySourceError> {
        let keys = source.keys().await?;
        Ok(Self::of_keys(&keys)?)
    }
}
