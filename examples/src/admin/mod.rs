//! `session-admin`: the operator's command line. It reads the same environment as the demo
//! (`SESSION_STORE`, `REDIS_URL`, `DATABASE_URL`, `SQLITE_URL`, `SESSION_DIR`,
//! `SESSION_SECRET`, and the Redis Cluster and Sentinel variables), or the same settings as
//! flags, which win.
//!
//! | command | does | `--json` prints |
//! |---|---|---|
//! | `count` | counts the live sessions | `{"live": N}` |
//! | `list-owner USER` | lists a user's sessions | `[{"id", "created_ms", "last_seen_ms", "expires_ms", "label"}]` |
//! | `revoke-owner USER` | ends every session of a user, on every instance | `{"revoked": N}` |
//! | `purge-expired` | removes expired records now (Redis expires its own: 0) | `{"purged": N}` |
//! | `migrate --to URL` | copies every live session to another store | `{"migrated": N}` |
//! | `re-key [--owner USER] [--dry-run]` | seals every record (or a user's) under the primary key of `SESSION_SECRET`'s ring | `{"rekeyed", "sealed", "current", "unopened", "raced", "dry_run"}` |
//!
//! Bad arguments and a store that cannot be reached print one line on stderr and exit 2.

mod migrate;
mod rekey;
mod target;

use crate::config::StoreKind;
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use typed_sessions::admin::RekeyedPage;
use typed_sessions::encryption::{Encryption, KeyRing};
use typed_sessions::{Key, Owner, SessionLayer, Store};

/// Counts, lists, revokes, purges and migrates the sessions of a typed-sessions store.
#[derive(Parser, Debug)]
#[command(
    name = "session-admin",
    version,
    about = "Counts, lists, revokes, purges and migrates the sessions of a typed-sessions store"
)]
pub struct Cli {
    /// Print one line of JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The store: `file`, `redis`, `redis-cluster`, `redis-sentinel`, `postgres` or
    /// `sqlite` (as the demo's `SESSION_STORE`; default `file`).
    #[arg(long, env = "SESSION_STORE", global = true)]
    pub store: Option<String>,
    /// For `redis`.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// For `postgres`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// For `sqlite`.
    #[arg(long, env = "SQLITE_URL", global = true)]
    pub sqlite_url: Option<String>,
    /// For `file` (default `./sessions`).
    #[arg(long, env = "SESSION_DIR", global = true)]
    pub session_dir: Option<PathBuf>,
    /// The application's secret (at least 64 bytes), or several separated by commas, the
    /// first the primary: what opens records sealed at rest. `re-key` needs it.
    #[arg(long, env = "SESSION_SECRET", global = true, hide_env_values = true)]
    pub secret: Option<String>,
    /// A file of secrets, one per line, the first the primary (instead of `--secret`).
    #[arg(long, env = "SESSION_SECRET_FILE", global = true)]
    pub secret_file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Count the live sessions.
    Count,
    /// List a user's live sessions, oldest first.
    ListOwner {
        /// The user (the owner the application bound the sessions to).
        user: String,
    },
    /// End every session of a user, on every instance sharing the store.
    RevokeOwner {
        /// The user.
        user: String,
    },
    /// Remove the expired records now (they are never served anyway).
    PurgeExpired,
    /// Copy every live session to another store, with its remaining lifetime and its owner.
    Migrate {
        /// The target: `redis://host:port/db`, `postgres://...`, `sqlite://path` or
        /// `file:///dir`.
        #[arg(long)]
        to: String,
        /// Records per page: how much is held in memory at once.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Keep the position here after each page; a run that finds the file goes on from
        /// it, and removes it when done.
        #[arg(long)]
        resume: Option<PathBuf>,
    },
    /// Seal every record under the primary key of the secrets' ring: records sealed under an
    /// older key move to it, plain ones are sealed (bound to their session at its next
    /// save). Sessions the application saves meanwhile are left to it.
    #[command(name = "re-key")]
    ReKey {
        /// Only this user's sessions.
        #[arg(long)]
        owner: Option<String>,
        /// Count what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Records per page: how much is held in memory at once.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Keep the position here after each page, as `migrate` does.
        #[arg(long)]
        resume: Option<PathBuf>,
    },
}

/// What a command prints.
#[derive(Debug)]
pub enum Output {
    /// `{"live": N}`.
    Live(u64),
    /// The user's sessions.
    Sessions(Vec<Listed>),
    /// `{"revoked": N}`.
    Revoked(u64),
    /// `{"purged": N}`.
    Purged(u64),
    /// `{"migrated": N}`.
    Migrated(u64),
    /// What `re-key` did, or would do on a dry run.
    Rekeyed {
        /// The counts.
        page: RekeyedPage,
        /// Nothing was written.
        dry_run: bool,
    },
}

/// One session of `list-owner`.
#[derive(Serialize, Debug)]
pub struct Listed {
    /// The session's fingerprint.
    pub id: String,
    /// When it began, Unix ms.
    pub created_ms: u64,
    /// When it was last used, Unix ms.
    pub last_seen_ms: u64,
    /// When it expires unless used, Unix ms.
    pub expires_ms: u64,
    /// The device label the application gave it.
    pub label: Option<String>,
}

impl Output {
    /// The one line `--json` prints.
    #[must_use]
    pub fn json(&self) -> String {
        let value = match self {
            Self::Live(n) => serde_json::json!({ "live": n }),
            Self::Sessions(sessions) => serde_json::json!(sessions),
            Self::Revoked(n) => serde_json::json!({ "revoked": n }),
            Self::Purged(n) => serde_json::json!({ "purged": n }),
            Self::Migrated(n) => serde_json::json!({ "migrated": n }),
            Self::Rekeyed { page, dry_run } => serde_json::json!({
                "rekeyed": page.rekeyed,
                "sealed": page.sealed,
                "current": page.current,
                "unopened": page.unopened,
                "raced": page.raced,
                "dry_run": dry_run,
            }),
        };
        value.to_string()
    }

    /// The text printed without `--json`.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Self::Live(n) => format!("{n} live sessions"),
            Self::Sessions(sessions) if sessions.is_empty() => "no live sessions".to_owned(),
            Self::Sessions(sessions) => sessions
                .iter()
                .map(|s| {
                    let label = s.label.as_deref().unwrap_or("-");
                    format!(
                        "{}  {label}  created {}  last seen {}  expires {}",
                        s.id, s.created_ms, s.last_seen_ms, s.expires_ms
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Self::Revoked(n) => format!("{n} sessions revoked"),
            Self::Purged(n) => format!("{n} expired records removed"),
            Self::Migrated(n) => format!("{n} sessions migrated"),
            Self::Rekeyed { page, dry_run } => format!(
                "{}{} moved to the primary key, {} sealed, {} under it already, {} under a key the ring lacks, {} saved meanwhile by the application",
                if *dry_run { "dry run: " } else { "" },
                page.rekeyed,
                page.sealed,
                page.current,
                page.unopened,
                page.raced
            ),
        }
    }
}

impl Cli {
    /// The store the flags and environment name, as the demo reads them.
    ///
    /// # Errors
    /// An unknown store kind.
    pub fn store_kind(&self) -> Result<StoreKind, String> {
        let flag = |name: &str| match name {
            "SESSION_STORE" => self.store.clone(),
            "REDIS_URL" => self.redis_url.clone(),
            "DATABASE_URL" => self.database_url.clone(),
            "SQLITE_URL" => self.sqlite_url.clone(),
            "SESSION_DIR" => self
                .session_dir
                .as_ref()
                .map(|dir| dir.display().to_string()),
            _ => None,
        };
        StoreKind::from_vars(&|name| flag(name).or_else(|| std::env::var(name).ok()))
    }

    /// Runs the command.
    ///
    /// # Errors
    /// A one-line message: bad settings, a store that cannot be reached or that fails.
    pub async fn run(&self) -> Result<Output, String> {
        let kind = self.store_kind()?;
        if kind == StoreKind::Memory {
            return Err("SESSION_STORE=memory: a memory store lives inside the server's process; session-admin cannot reach it".to_owned());
        }
        let store = kind.server_store().await?;
        Ok(match &self.command {
            Command::Count => Output::Live(
                typed_sessions::admin::count_sessions(&*store)
                    .await
                    .map_err(chain)?,
            ),
            Command::ListOwner { user } => Output::Sessions(self.list(store, user).await?),
            Command::RevokeOwner { user } => {
                let revoked = self.accounts(store)?.revoke_all(&owner(user)?).await;
                Output::Revoked(revoked.map_err(chain)?.unwrap_or(0))
            }
            Command::PurgeExpired => Output::Purged(store.sweep_expired().await.map_err(chain)?),
            Command::Migrate { to, batch, resume } => {
                let target = target::open(to).await?;
                let progress = !self.json;
                let ring = self.ring()?;
                let (batch, resume) = (*batch, resume.as_deref());
                let migrated =
                    migrate::run(&*store, &*target, ring.as_ref(), batch, resume, progress).await?;
                Output::Migrated(migrated)
            }
            Command::ReKey {
                owner: user,
                dry_run,
                batch,
                resume,
            } => {
                let ring = self.ring()?.ok_or(
                    "re-key needs the key ring: set SESSION_SECRET (or SESSION_SECRET_FILE), the primary first",
                )?;
                let rekey = rekey::Rekey {
                    store: &*store,
                    ring: &ring,
                    dry_run: *dry_run,
                    progress: !self.json,
                };
                let page = match user {
                    Some(user) => rekey.owner(&owner(user)?).await?,
                    None => rekey.all(*batch, resume.as_deref()).await?,
                };
                Output::Rekeyed {
                    page,
                    dry_run: *dry_run,
                }
            }
        })
    }

    async fn list(&self, store: Arc<dyn Store>, user: &str) -> Result<Vec<Listed>, String> {
        let sessions = self.accounts(store)?.sessions(&owner(user)?).await;
        Ok(sessions
            .map_err(chain)?
            .into_iter()
            .map(|session| Listed {
                id: session.fingerprint.to_string(),
                created_ms: ms(session.created),
                last_seen_ms: ms(session.last_seen),
                expires_ms: ms(session.expires),
                label: session.label,
            })
            .collect())
    }

    /// The store's owners, under the application's key (any key lists and revokes: owner
    /// indexes and revocation epochs are not keyed), reading sealed records' directories
    /// with the secrets' ring when there is one.
    fn accounts(&self, store: Arc<dyn Store>) -> Result<typed_sessions::Accounts, String> {
        let Some(keys) = self.secrets()? else {
            return Ok(SessionLayer::new(store, &Key::generate()).accounts());
        };
        let ring = crate::config::ring_of(&keys)?;
        let layer = SessionLayer::new(store, &keys[0]).with_encryption(Encryption::off(ring));
        Ok(layer.accounts())
    }

    /// The key ring of the secrets given, the first the primary; `None` without any.
    ///
    /// # Errors
    /// A secret under 64 bytes, or given twice.
    pub fn ring(&self) -> Result<Option<KeyRing>, String> {
        let keys = self.secrets()?;
        keys.map(|keys| crate::config::ring_of(&keys)).transpose()
    }

    fn secrets(&self) -> Result<Option<Vec<Key>>, String> {
        let file = self
            .secret_file
            .as_ref()
            .map(|path| path.display().to_string());
        crate::config::secrets(&|name| match name {
            "SESSION_SECRET" => self.secret.clone(),
            "SESSION_SECRET_FILE" => file.clone(),
            _ => None,
        })
    }
}

fn owner(user: &str) -> Result<Owner, String> {
    Owner::new(user).map_err(|e| format!("USER {user:?}: {e}"))
}

/// An error and its causes, on one line.
pub(crate) fn chain(error: impl std::error::Error) -> String {
    let mut line = error.to_string();
    let mut last = line.clone();
    let mut source = error.source();
    while let Some(cause) = source {
        // Wrappers often repeat their source's message: say it once.
        let said = cause.to_string();
        if !last.ends_with(&said) {
            line.push_str(": ");
            line.push_str(&said);
        }
        last = said;
        source = cause.source();
    }
    line.replace('\n', " ")
}

fn ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
