//! The SQL a store runs, written once for its table and dialect.

use super::table::Table;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(all(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// The advisory lock key every `PostgresStore::migrate` takes ("SESSION" in ASCII).
const MIGRATION_LOCK: i64 = 0x0053_4553_5349_4F4E;

/// Every statement a SQL store runs, written once for its table and dialect.
#[derive(Debug)]
pub(crate) struct Queries {
    /// Run in one transaction, in order.
    pub(crate) migrate: Vec<Arc<str>>,
    pub(crate) load: Arc<str>,
    pub(crate) create: Arc<str>,
    pub(crate) update: Arc<str>,
    pub(crate) exists: Arc<str>,
    pub(crate) touch: Arc<str>,
    pub(crate) delete: Arc<str>,
    /// The statements on an owner's sessions.
    pub(crate) owners: OwnerQueries,
    /// Run before `delete`, in its transaction: makes the delete's commit wait for the disk
    /// even on connections whose saves do not, so that a logout survives a crash of the
    /// database server. PostgreSQL only.
    pub(crate) durable: Option<Arc<str>>,
    pub(crate) sweep: Arc<str>,
    /// Up to `?3` live rows whose ids sort after `?1`, in id order: a page of a scan.
    pub(crate) scan: Arc<str>,
    /// The `NOTIFY` channel of the table's live sessions (PostgreSQL): one per table, a hash
    /// of its name, a plain identifier under PostgreSQL's 63 bytes.
    #[cfg(feature = "postgres")]
    pub(crate) channel: Arc<str>,
    /// The replace that claims a lost session's next write (PostgreSQL; `claim.rs`).
    #[cfg(feature = "postgres")]
    pub(crate) claims: super::claim::ClaimQueries,
    /// The outbox's statements.
    pub(crate) outbox: OutboxQueries,
}

/// The statements on an owner's sessions, found by the indexed `owner` column.
#[derive(Debug)]
pub(crate) struct OwnerQueries {
    /// An owner's live sessions.
    pub(crate) owned: Arc<str>,
    /// A create of a session of an owner (`?6`) while they have fewer than `?7` live ones.
    pub(crate) create_within: Arc<str>,
    /// Run first in the transaction of `create_within`: creates of one owner take turns
    /// (PostgreSQL; SQLite runs one write at a time anyway).
    pub(crate) owner_lock: Option<Arc<str>>,
    /// An owner's live sessions but one, removed.
    pub(crate) delete_owned: Arc<str>,
    /// Run after a session with an owner is created, and when their sessions are listed:
    /// that owner's expired rows leave (their ids returned, to be reported).
    pub(crate) drop_expired_of_owner: Arc<str>,
}

impl Dialect {
    /// The `n`th bind parameter.
    fn param(self, n: u8) -> String {
        match self {
            Self::Postgres => format!("${n}"),
            Self::Sqlite => format!("?{n}"),
        }
    }
}

impl Queries {
    pub(crate) fn new(dialect: Dialect, table: &Table) -> Self {
        let t = table.qualified();
        let p = |n: u8| dialect.param(n);
        Self {
            migrate: migrations(dialect, table),
            load: format!(
                "SELECT data, version, expires_at FROM {t} WHERE id = {} AND expires_at > {}",
                p(1),
                p(2)
            )
            .into(),
            // An expired row with the same id may be replaced; a live one may not.
            create: format!(
                "INSERT INTO {t} AS s (id, data, version, expires_at, owner) VALUES ({}, {}, {}, {}, {}) {}",
                p(1),
                p(2),
                p(3),
                p(4),
                p(6),
                over_expired(&p(5))
            )
            .into(),
            update: format!(
                "UPDATE {t} SET data = {}, version = version + 1, expires_at = {} \
                 WHERE id = {} AND version = {} AND expires_at > {} RETURNING version",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            )
            .into(),
            exists: format!(
                "SELECT 1 FROM {t} WHERE id = {} AND expires_at > {}",
                p(1),
                p(2)
            )
            .into(),
            touch: format!(
                "UPDATE {t} SET expires_at = {} WHERE id = {} AND expires_at > {}",
                p(1),
                p(2),
                p(3)
            )
            .into(),
            delete: format!("DELETE FROM {t} WHERE id = {} RETURNING expires_at", p(1)).into(),
            owners: OwnerQueries::new(dialect, &t),
            durable: (dialect == Dialect::Postgres)
                .then(|| "SET LOCAL synchronous_commit = on".into()),
            sweep: format!(
                "DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE expires_at <= {} LIMIT {}) RETURNING id, owner",
                p(1),
                p(2)
            )
            .into(),
            scan: format!(
                "SELECT id, data, version, expires_at FROM {t} WHERE id > {} AND expires_at > {} ORDER BY id LIMIT {}",
                p(1),
                p(2),
                p(3)
            )
            .into(),
            #[cfg(feature = "postgres")]
            channel: channel(&t).into(),
            #[cfg(feature = "postgres")]
            claims: super::claim::ClaimQueries::new(&t),
            outbox: OutboxQueries::new(dialect, table),
        }
    }
}

impl OwnerQueries {
    fn new(dialect: Dialect, t: &str) -> Self {
        let p = |n: u8| dialect.param(n);
        Self {
            create_within: format!(
                "INSERT INTO {t} AS s (id, data, version, expires_at, owner) \
                 SELECT {}, {}, {}, {}, {} \
                 WHERE (SELECT count(*) FROM {t} WHERE owner = {} AND expires_at > {}) < {} {}",
                p(1),
                p(2),
                p(3),
                p(4),
                p(6),
                p(6),
                p(5),
                p(7),
                over_expired(&p(5))
            )
            .into(),
            // Two 32-bit keys: a space apart from the migration's one 64-bit key.
            owner_lock: (dialect == Dialect::Postgres)
                .then(|| "SELECT pg_advisory_xact_lock(1397049165, hashtext($1))".into()),
            owned: format!(
                "SELECT id, data, version, expires_at FROM {t} WHERE owner = {} AND expires_at > {}",
                p(1),
                p(2)
            )
            .into(),
            // An empty `except` is no id: every session of the owner goes.
            delete_owned: format!(
                "DELETE FROM {t} WHERE owner = {} AND expires_at > {} AND id <> {}",
                p(1),
                p(2),
                p(3)
            )
            .into(),
            drop_expired_of_owner: format!(
                "DELETE FROM {t} WHERE owner = {} AND expires_at <= {} RETURNING id",
                p(1),
                p(2)
            )
            .into(),
        }
    }
}

/// The tail of a create: an expired row with the same id (expired by `now`) may be
/// replaced; a live one may not.
/// The `NOTIFY` channel of the table named `qualified`.
#[cfg(feature = "postgres")]
fn channel(qualified: &str) -> String {
    let digest = crate::crypto::hash::sha256(qualified.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("typed_sessions_live_{hex}")
}

fn over_expired(now: &str) -> String {
    format!(
        "ON CONFLICT (id) DO UPDATE SET data = excluded.data, version = excluded.version, \
         expires_at = excluded.expires_at, owner = excluded.owner WHERE s.expires_at <= {now}"
    )
}

/// What `migrate` runs, in one transaction, in order.
fn migrations(dialect: Dialect, table: &Table) -> Vec<Arc<str>> {
    let t = table.qualified();
    let index = format!("\"{}_expires_at\"", table.name);
    let owner_index = format!("\"{}_owner\"", table.name);
    let (bytes, int) = match dialect {
        Dialect::Postgres => ("BYTEA", "BIGINT"),
        Dialect::Sqlite => ("BLOB", "INTEGER"),
    };
    let mut migrate = Vec::new();
    if dialect == Dialect::Postgres {
        // Instances that start together migrate together, and PostgreSQL's `IF NOT
        // EXISTS` is not safe against a concurrent `CREATE` (a unique violation in
        // `pg_type`). This lock, held until the transaction ends, takes them in turn.
        migrate.push(format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"));
    }
    if let (Dialect::Postgres, Some(schema)) = (dialect, &table.schema) {
        migrate.push(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""));
    }
    migrate.push(format!(
        "CREATE TABLE IF NOT EXISTS {t} (id {bytes} PRIMARY KEY, data {bytes} NOT NULL, version {int} NOT NULL, expires_at {int} NOT NULL, owner TEXT)"
    ));
    if dialect == Dialect::Postgres {
        // Tables made before sessions had owners, and before claims.
        migrate.push(format!(
            "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS owner TEXT"
        ));
        #[cfg(feature = "postgres")]
        migrate.push(super::claim::migration(&t));
    }
    migrate.push(format!(
        "CREATE INDEX IF NOT EXISTS {index} ON {t} (expires_at)"
    ));
    migrate.push(format!(
        "CREATE INDEX IF NOT EXISTS {owner_index} ON {t} (owner) WHERE owner IS NOT NULL"
    ));
    migrate.into_iter().map(Arc::from).collect()
}

/// The outbox's statements, for one sessions table (`outbox.rs`).
#[derive(Debug)]
pub(crate) struct OutboxQueries {
    /// Run in one transaction, in order.
    pub(crate) migrate: Vec<Arc<str>>,
    /// Up to `?2` rows after sequence number `?1`, oldest first.
    pub(crate) after: Arc<str>,
    /// The rows up to sequence number `?1`, deleted.
    pub(crate) prune: Arc<str>,
}

impl OutboxQueries {
    fn new(dialect: Dialect, table: &Table) -> Self {
        let named = |suffix: &str| match &table.schema {
            Some(schema) => format!("\"{schema}\".\"{}_{suffix}\"", table.name),
            None => format!("\"{}_{suffix}\"", table.name),
        };
        let events = named("events");
        let p = |n: u8| dialect.param(n);
        Self {
            migrate: match dialect {
                Dialect::Postgres => outbox_postgres(table, &events, &named("outbox")),
                Dialect::Sqlite => outbox_sqlite(table, &events),
            }
            .into_iter()
            .map(Arc::from)
            .collect(),
            after: format!(
                "SELECT seq, kind, id, owner, at_ms FROM {events} WHERE seq > {} ORDER BY seq LIMIT {}",
                p(1),
                p(2)
            )
            .into(),
            prune: format!("DELETE FROM {events} WHERE seq <= {}", p(1)).into(),
        }
    }
}

/// PostgreSQL's outbox: the table, a trigger function, and a trigger per change, each run
/// only for the rows it records (an update only over an expired row).
fn outbox_postgres(table: &Table, events: &str, function: &str) -> Vec<String> {
    let t = table.qualified();
    let name = &table.name;
    let now = "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT";
    let record = |kind: &str, row: &str| {
        format!(
            "INSERT INTO {events} (kind, id, owner, at_ms) VALUES ({kind}, {row}.id, {row}.owner, {now});"
        )
    };
    let trigger = |what: &str, when: &str| {
        let trigger = format!("\"{name}_outbox_{what}\"");
        [
            format!("DROP TRIGGER IF EXISTS {trigger} ON {t}"),
            format!(
                "CREATE TRIGGER {trigger} AFTER {what} ON {t} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {function}()"
            ),
        ]
    };
    let mut migrate = vec![
        format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
        format!(
            "CREATE TABLE IF NOT EXISTS {events} (seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, id BYTEA NOT NULL, owner TEXT NOT NULL, at_ms BIGINT NOT NULL)"
        ),
        // An update is a row replaced over an expired one (a create's `ON CONFLICT`): the
        // old session expired, a new one was created.
        format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN \
             IF TG_OP = 'INSERT' THEN {created} \
             ELSIF TG_OP = 'UPDATE' THEN \
               IF OLD.owner IS NOT NULL THEN {expired} END IF; \
               IF NEW.owner IS NOT NULL THEN {created} END IF; \
             ELSE {ended} END IF; \
             RETURN NULL; END $body$",
            created = record("'created'", "NEW"),
            expired = record("'expired'", "OLD"),
            ended = record(
                &format!("CASE WHEN OLD.expires_at <= {now} THEN 'expired' ELSE 'deleted' END"),
                "OLD"
            ),
        ),
    ];
    migrate.extend(trigger("INSERT", "NEW.owner IS NOT NULL"));
    migrate.extend(trigger(
        "UPDATE",
        "OLD.expires_at <= (extract(epoch FROM now()) * 1000)::BIGINT AND (OLD.owner IS NOT NULL OR NEW.owner IS NOT NULL)",
    ));
    migrate.extend(trigger("DELETE", "OLD.owner IS NOT NULL"));
    migrate
}

/// SQLite's outbox: the table, and a trigger per change.
fn outbox_sqlite(table: &Table, events: &str) -> Vec<String> {
    let t = table.qualified();
    let name = &table.name;
    let now = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    let record = |kind: &str, row: &str, only: &str| {
        format!(
            "INSERT INTO {events} (kind, id, owner, at_ms) SELECT {kind}, {row}.id, {row}.owner, {now} WHERE {only};"
        )
    };
    let trigger = |what: &str, when: &str, body: String| {
        format!(
            "CREATE TRIGGER IF NOT EXISTS \"{name}_outbox_{what}\" AFTER {what} ON {t} FOR EACH ROW WHEN {when} BEGIN {body} END"
        )
    };
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {events} (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id BLOB NOT NULL, owner TEXT NOT NULL, at_ms INTEGER NOT NULL)"
        ),
        trigger(
            "INSERT",
            "NEW.owner IS NOT NULL",
            record("'created'", "NEW", "1"),
        ),
        trigger(
            "UPDATE",
            &format!("OLD.expires_at <= {now}"),
            format!(
                "{} {}",
                record("'expired'", "OLD", "OLD.owner IS NOT NULL"),
                record("'created'", "NEW", "NEW.owner IS NOT NULL")
            ),
        ),
        trigger(
            "DELETE",
            "OLD.owner IS NOT NULL",
            record(
                &format!("CASE WHEN OLD.expires_at <= {now} THEN 'expired' ELSE 'deleted' END"),
                "OLD",
                "1",
            ),
        ),
    ]
}
