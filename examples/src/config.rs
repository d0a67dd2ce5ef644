//! The demo's configuration, read from the environment.

use session::{CookieStore, FileStore, Key, MemoryStore, SessionLayer, SignedCookieStore};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the demo keeps sessions (`SESSION_STORE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `file` (the default): one file per session under `SESSION_DIR`.
    File(PathBuf),
    /// `memory`: gone when the process ends.
    Memory,
    /// `cookie`: sealed in the cookie (XChaCha20-Poly1305); no server-side storage.
    Cookie,
    /// `signed-cookie`: signed in the cookie (HMAC-SHA256), readable by the client.
    SignedCookie,
}

/// Everything the demo reads from its environment.
#[derive(Debug)]
pub struct DemoConfig {
    /// `SESSION_STORE` (`file`, `memory`, `cookie` or `signed-cookie`) and `SESSION_DIR`
    /// (default `./sessions`).
    pub store: StoreKind,
    /// `PORT` (default 3000), always on 127.0.0.1.
    pub addr: SocketAddr,
    /// `SESSION_SECRET`: at least 64 bytes, used as given. Unset: a random key, with a
    /// warning, and sessions die with the process.
    pub key: Key,
    /// Whether `key` was generated because `SESSION_SECRET` was unset.
    pub key_generated: bool,
    /// `SESSION_IDLE_SECS` (default 1800).
    pub idle: Duration,
    /// `SESSION_SECURE=1` adds `Secure` to the cookie.
    pub secure: bool,
}

impl DemoConfig {
    /// Reads the configuration through `var` (`std::env::var` in the binary).
    ///
    /// # Errors
    /// A message naming the variable that is wrong.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let dir = var("SESSION_DIR").map_or_else(|| PathBuf::from("sessions"), PathBuf::from);
        let store = match var("SESSION_STORE").as_deref() {
            None | Some("file") => StoreKind::File(dir),
            Some("memory") => StoreKind::Memory,
            Some(other) => {
                return Err(format!(
                    "SESSION_STORE={other:?}: expected `file` or `memory`"
                ));
            }
        };
        let port = parse(&var, "PORT", 3000u16)?;
        let (key, key_generated) = match var("SESSION_SECRET") {
            Some(secret) => (
                Key::from_secret(secret.as_bytes()).map_err(|e| format!("SESSION_SECRET: {e}"))?,
                false,
            ),
            None => (Key::generate(), true),
        };
        Ok(Self {
            store,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            key,
            key_generated,
            idle: Duration::from_secs(parse(&var, "SESSION_IDLE_SECS", 1800u64)?),
            secure: var("SESSION_SECURE").as_deref() == Some("1"),
        })
    }

    /// The session layer this configuration describes.
    ///
    /// # Errors
    /// When the session directory cannot be created.
    pub fn layer(&self) -> std::io::Result<SessionLayer> {
        let layer = match &self.store {
            StoreKind::File(dir) => SessionLayer::new(FileStore::new(dir)?, &self.key),
            StoreKind::Memory => SessionLayer::new(MemoryStore::new(), &self.key),
            StoreKind::Cookie => SessionLayer::new(CookieStore::new(), &self.key),
            StoreKind::SignedCookie => SessionLayer::new(SignedCookieStore::new(), &self.key),
        };
        Ok(layer.with_idle_timeout(self.idle).with_secure(self.secure))
    }
}

fn parse<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| format!("{name}={text:?} is not a valid number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<DemoConfig, String> {
        DemoConfig::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_are_a_file_store_on_port_3000() {
        let config = config(&[]).unwrap();
        assert_eq!(config.store, StoreKind::File(PathBuf::from("sessions")));
        assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 3000)));
        assert!(config.key_generated);
        assert_eq!(config.idle, Duration::from_secs(1800));
        assert!(!config.secure);
    }

    #[test]
    fn every_variable_is_read_and_bad_values_are_named() {
        let secret = "s".repeat(64);
        let vars = [
            ("SESSION_STORE", "memory"),
            ("PORT", "4000"),
            ("SESSION_SECRET", secret.as_str()),
            ("SESSION_IDLE_SECS", "60"),
            ("SESSION_SECURE", "1"),
        ];
        let config = config(&vars).unwrap();
        assert_eq!(
            (config.store, config.addr.port(), config.key_generated),
            (StoreKind::Memory, 4000, false)
        );
        assert_eq!(
            (config.idle, config.secure),
            (Duration::from_secs(60), true)
        );
        assert!(
            self::config(&[("SESSION_STORE", "floppy")])
                .unwrap_err()
                .contains("SESSION_STORE")
        );
        assert!(
            self::config(&[("SESSION_SECRET", "short")])
                .unwrap_err()
                .contains("SESSION_SECRET")
        );
        assert!(
            self::config(&[("PORT", "http")])
                .unwrap_err()
                .contains("PORT")
        );
    }
}
