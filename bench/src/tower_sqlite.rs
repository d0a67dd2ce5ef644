//! tower-sessions-sqlx-store's `SqliteStore` (0.15), ported to sqlx 0.9 for the comparison:
//! its own store is built on sqlx 0.8, and two sqlx majors cannot both link SQLite into one
//! binary. Same schema, same statements, same MessagePack encoding; the expiry is bound as
//! Unix seconds instead of a `time` value (sqlx 0.9 is built here without `time`).

use async_trait::async_trait;
use sqlx::SqlitePool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// tower-sessions' SQLite store: one table, each session one MessagePack row.
#[derive(Clone, Debug)]
pub struct TowerSqliteStore {
    pool: SqlitePool,
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

impl TowerSqliteStore {
    /// Opens (creating) the database at `url` with the same pool the original takes, and
    /// creates its table.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
        let pool = SqlitePool::connect_with(options.create_if_missing(true)).await?;
        sqlx::query(
            "create table if not exists tower_sessions \
             (id text primary key not null, data blob not null, expiry_date integer not null)",
        )
        .execute(&pool)
        .await?;
        Ok(Self { pool })
    }

    async fn try_create(
        &self,
        conn: &mut sqlx::SqliteConnection,
        record: &Record,
    ) -> session_store::Result<bool> {
        let result = sqlx::query(
            "insert or abort into tower_sessions (id, data, expiry_date) values (?, ?, ?)",
        )
        .bind(record.id.to_string())
        .bind(rmp_serde::to_vec(record).map_err(backend)?)
        .bind(record.expiry_date.unix_timestamp())
        .execute(conn)
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(false),
            Err(error) => Err(backend(error)),
        }
    }
}

#[async_trait]
impl SessionStore for TowerSqliteStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        while !self.try_create(&mut tx, record).await? {
            record.id = Id::default();
        }
        tx.commit().await.map_err(backend)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sqlx::query(
            "insert into tower_sessions (id, data, expiry_date) values (?, ?, ?) \
             on conflict(id) do update set data = excluded.data, expiry_date = excluded.expiry_date",
        )
        .bind(record.id.to_string())
        .bind(rmp_serde::to_vec(record).map_err(backend)?)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<(Vec<u8>,)> =
            sqlx::query_as("select data from tower_sessions where id = ? and expiry_date > ?")
                .bind(id.to_string())
                .bind(OffsetDateTime::now_utc().unix_timestamp())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        data.map(|(data,)| rmp_serde::from_slice(&data).map_err(backend))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("delete from tower_sessions where id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
