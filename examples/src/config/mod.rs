//! The demo's configuration, read from the environment: the stores in `store.rs`, the rest
//! here.

mod store;
#[cfg(test)]
use std::path::PathBuf;
pub use store::{RevocationStore, StoreKind};

use std::net::SocketAddr;
use std::time::Duration;
use typed_sessions::dbsc::DeviceBinding;
use typed_sessions::encryption::{Encryption, KeyRing};
use typed_sessions::{Key, OverLimit, SessionLayer};

/// Everything the demo reads from its environment.
#[derive(Debug)]
pub struct DemoConfig {
    /// `SESSION_STORE`: `file` (default, in `SESSION_DIR`, default `./sessions`), `memory`,
    /// `cookie`, `signed-cookie`, `redis`, `redis-cluster`, `redis-sentinel`, `postgres` or
    /// `sqlite`.
    pub store: StoreKind,
    /// `SESSION_REVOCATION_STORE` for the cookie stores: `memory` (the default: this
    /// process's own), `redis` (at `REDIS_URL`) or `postgres` (at `DATABASE_URL`), which
    /// instances share so that "log out everywhere" reaches all of them.
    pub revocations: RevocationStore,
    /// `PORT` (default 3000), always on 127.0.0.1.
    pub addr: SocketAddr,
    /// `SESSION_SECRET`: at least 64 bytes, used as given; or several, separated by commas,
    /// the first the primary (`SESSION_SECRET_FILE`: a file of them, one per line). Unset: a
    /// random key, with a warning, and sessions die with the process.
    pub key: Key,
    /// The secrets after the first: records sealed under them still open (and are sealed
    /// under the first at their next save).
    pub older_keys: Vec<Key>,
    /// `SESSION_ENCRYPT=1`: every record the store holds is sealed
    /// ([`typed_sessions::encryption`]); sealed records still open without it.
    pub encrypt: bool,
    /// Whether `key` was generated because `SESSION_SECRET` was unset.
    pub key_generated: bool,
    /// `SESSION_IDLE_SECS` (default 1800).
    pub idle: Duration,
    /// `SESSION_SECURE=1` adds `Secure` to the cookie. Off by default in the demo, unlike
    /// the library, so that `curl` over plain HTTP keeps sending its cookie.
    pub secure: bool,
    /// `DEMO_CSRF=1`: unsafe methods on the cookie routes require `X-CSRF-Token`.
    pub csrf: bool,
    /// `DEMO_METRICS=1`: the session metrics at `GET /metrics`, in the Prometheus format.
    pub metrics: bool,
    /// `DEMO_REMEMBER_MAX_DAYS` (default 90): the longest `POST /remember?days=N` keeps a
    /// session, whatever N.
    pub remember_max_days: u64,
    /// `DEMO_FRESH_SECS` (default 300): how recently the user must have logged in (or
    /// called `POST /sudo`) for `POST /sensitive`.
    pub fresh: Duration,
    /// `DEMO_MAX_SESSIONS` (default: no limit): a login beyond so many live sessions of its
    /// user ends the user's oldest session.
    pub max_sessions: Option<usize>,
    /// `SESSION_ROTATE_SECS` (default: off): a session whose id is older moves to a new id
    /// on its next request.
    pub rotate: Option<Duration>,
    /// `SESSION_ROTATE_GRACE_MS` (default 10000): how long the old id still leads to the
    /// session; sent after that, it ends the session under every id.
    pub rotate_grace: Duration,
    /// `DEMO_DBSC=1`: sessions bind to their device (DBSC, `typed_sessions::dbsc`): a login
    /// offers registration at `/dbsc/start`, refreshed at `/dbsc/refresh`; the bound cookie
    /// is `__Host-bound` (`bound` without `SESSION_SECURE=1`) and lives `DEMO_BOUND_SECS`
    /// (default 600). `None`: off.
    pub dbsc: Option<Duration>,
    /// `SESSION_IMPORT=tower-sessions` (default: off): a request with a tower-sessions
    /// cookie (`id`, unsigned) whose record is in tower-sessions' store at the same
    /// `REDIS_URL`, `DATABASE_URL` or `SQLITE_URL` gets that session.
    pub import: bool,
}

impl DemoConfig {
    /// Reads the configuration through `var` (`std::env::var` in the binary).
    ///
    /// # Errors
    /// A message naming the variable that is wrong.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let store = StoreKind::from_vars(&var)?;
        let revocations = RevocationStore::from_vars(&var)?;
        let port = parse(&var, "PORT", 3000u16)?;
        let (mut keys, key_generated) = match secrets(&var)? {
            Some(keys) => (keys, false),
            None => (vec![Key::generate()], true),
        };
        let key = keys.remove(0);
        Ok(Self {
            store,
            revocations,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            key,
            older_keys: keys,
            key_generated,
            encrypt: match var("SESSION_ENCRYPT").as_deref() {
                None | Some("" | "0") => false,
                Some("1") => true,
                Some(other) => return Err(format!("SESSION_ENCRYPT={other:?}: expected 1 or 0")),
            },
            idle: Duration::from_secs(parse(&var, "SESSION_IDLE_SECS", 1800u64)?),
            secure: var("SESSION_SECURE").as_deref() == Some("1"),
            csrf: var("DEMO_CSRF").as_deref() == Some("1"),
            metrics: var("DEMO_METRICS").as_deref() == Some("1"),
            remember_max_days: parse(&var, "DEMO_REMEMBER_MAX_DAYS", 90u64)?.min(400),
            fresh: Duration::from_secs(parse(&var, "DEMO_FRESH_SECS", 300u64)?),
            rotate: optional(&var, "SESSION_ROTATE_SECS")?.map(Duration::from_secs),
            rotate_grace: Duration::from_millis(parse(&var, "SESSION_ROTATE_GRACE_MS", 10_000u64)?),
            import: match var("SESSION_IMPORT").as_deref() {
                None | Some("") => false,
                Some("tower-sessions") => true,
                Some(other) => {
                    return Err(format!(
                        "SESSION_IMPORT={other:?}: expected `tower-sessions`"
                    ));
                }
            },
            dbsc: dbsc(&var)?,
            max_sessions: match optional(&var, "DEMO_MAX_SESSIONS")? {
                Some(0) => {
                    return Err(
                        "DEMO_MAX_SESSIONS=0 lets no one log in: unset it for no limit".into(),
                    );
                }
                max => max,
            },
        })
    }

    /// The session layer this configuration describes, with its store connected and its
    /// table created.
    ///
    /// # Errors
    /// A message naming the store that could not be opened.
    pub async fn layer(&self) -> Result<SessionLayer, String> {
        let layer = self.store.layer(&self.key, &self.revocations).await?;
        let remember_limit = Duration::from_secs(self.remember_max_days * 24 * 60 * 60);
        let layer = match self.max_sessions {
            Some(max) => layer.with_session_limit(max, OverLimit::EndOldest),
            None => layer,
        };
        let layer = match self.rotate {
            Some(interval) => layer.with_rotation_interval(interval),
            None => layer,
        };
        let layer = match self.import {
            true => layer.with_tower_sessions_import(self.store.tower_sessions().await?),
            false => layer,
        };
        // Cookies made under an older secret still work, re-issued under the first. A random
        // key (no SESSION_SECRET) is for development, with the warning `demo` prints.
        let layer = layer
            .with_previous_keys(&self.older_keys)
            .with_random_key_allowed(self.key_generated);
        let layer = match self.encrypt {
            true => layer.with_encryption(Encryption::on(self.ring()?)),
            false => layer.with_encryption(Encryption::off(self.ring()?)),
        };
        let layer = layer.with_secure(self.secure);
        let layer = match self.dbsc {
            Some(lifetime) => layer.with_device_binding(
                DeviceBinding::new()
                    .with_bound_cookie(if self.secure { "__Host-bound" } else { "bound" })
                    .with_bound_cookie_lifetime(lifetime),
            ),
            None => layer,
        };
        Ok(layer
            .with_idle_timeout(self.idle)
            .with_secure(self.secure)
            .with_remember_limit(remember_limit)
            .with_freshness(self.fresh)
            .with_rotation_grace(self.rotate_grace))
    }

    /// The key ring of `SESSION_SECRET`'s secrets, the first the primary.
    ///
    /// # Errors
    /// A secret given twice.
    pub fn ring(&self) -> Result<KeyRing, String> {
        let mut keys = vec![self.key.clone()];
        keys.extend(self.older_keys.iter().cloned());
        ring_of(&keys)
    }

    /// The demo's options this configuration turns on.
    #[must_use]
    pub fn options(&self) -> crate::Options {
        crate::Options {
            csrf: self.csrf,
            dbsc: self.dbsc.is_some(),
        }
    }

    /// How the store is named in logs.
    #[must_use]
    pub fn store_name(&self) -> String {
        self.store.name()
    }
}

/// `DEMO_DBSC` and `DEMO_BOUND_SECS`: the bound cookie's lifetime, when DBSC is on.
fn dbsc(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Duration>, String> {
    let on = match var("DEMO_DBSC").as_deref() {
        None | Some("" | "0") => false,
        Some("1") => true,
        Some(other) => return Err(format!("DEMO_DBSC={other:?}: expected 1 or 0")),
    };
    match parse(var, "DEMO_BOUND_SECS", 600u64)? {
        0 => Err("DEMO_BOUND_SECS=0: a bound cookie must live at least a second".into()),
        secs => Ok(on.then(|| Duration::from_secs(secs))),
    }
}

/// `name`'s number, if it is set.
fn optional<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>, String> {
    var(name)
        .map(|text| {
            text.parse()
                .map_err(|_| format!("{name}={text:?} is not a valid number"))
        })
        .transpose()
}

pub(super) fn parse<T: std::str::FromStr>(
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
mod tests;

/// The key ring of `keys`, the first the primary (`KeyRing::of_keys`).
///
/// # Errors
/// A secret given twice, named as `SESSION_SECRET`'s.
pub fn ring_of(keys: &[Key]) -> Result<KeyRing, String> {
    KeyRing::of_keys(keys).map_err(|e| format!("SESSION_SECRET: {e}"))
}

/// The keys of `SESSION_SECRET` (several, separated by commas) or `SESSION_SECRET_FILE` (one
/// per line), first the primary; `None` when neither is set.
///
/// # Errors
/// A secret under 64 bytes (named by its place), none, both variables set, or a file that
/// cannot be read.
pub fn secrets(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Vec<Key>>, String> {
    let (name, text, separator) = match (var("SESSION_SECRET"), var("SESSION_SECRET_FILE")) {
        (Some(_), Some(_)) => {
            return Err("SESSION_SECRET and SESSION_SECRET_FILE: set one of them".to_owned());
        }
        (Some(text), None) => ("SESSION_SECRET", text, ','),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("SESSION_SECRET_FILE={path:?}: {e}"))?;
            ("SESSION_SECRET_FILE", text, '\n')
        }
        (None, None) => return Ok(None),
    };
    // Each secret as given (a single one as before, whatever it holds); a file's lines
    // without their line ends.
    typed_sessions::encryption::parse_secrets(&text, separator, name)
        .map(Some)
        .map_err(|error| error.to_string())
}
