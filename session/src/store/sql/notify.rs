//! PostgreSQL's `LISTEN`/`NOTIFY` as the [`Broadcast`] between the instances sharing a
//! table: what ends a session on one reaches the live sessions of the others
//! ([`crate::live`]). SQLite lives in one process and has none.

use super::postgres::PostgresStore;
use crate::id::StorageKey;
use crate::store::{BoxFuture, StoreError};
use crate::store::{Broadcast, Subscription};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;

/// The table's channel, on the store's pool.
#[derive(Debug)]
struct Notify {
    pool: sqlx::PgPool,
    channel: Arc<str>,
}

impl PostgresStore {
    /// The store's broadcast: `NOTIFY` on the table's channel.
    pub(super) fn channel(&self) -> Option<Arc<dyn Broadcast>> {
        Some(Arc::new(Notify {
            pool: self.core.pool.clone(),
            channel: Arc::clone(&self.core.queries.channel),
        }))
    }
}

impl Broadcast for Notify {
    /// On the table's one channel: each instance keeps what concerns its live sessions.
    fn publish<'a>(
        &'a self,
        _topic: &'a StorageKey,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // A notification's payload is text: the bytes in base64.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&*self.channel)
                .bind(URL_SAFE_NO_PAD.encode(message))
                .execute(&self.pool)
                .await
                .map_err(StoreError::backend)?;
            Ok(())
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<Subscription, StoreError>> {
        Box::pin(async move {
            let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
                .await
                .map_err(StoreError::backend)?;
            listener
                .listen(&self.channel)
                .await
                .map_err(StoreError::backend)?;
            let (sender, receiver) = tokio::sync::mpsc::channel(1024);
            tokio::spawn(async move {
                // `recv` reconnects (and listens again) after a lost connection; an error
                // it returns ends the subscription, and the hub subscribes again.
                // It ends too when the hub lets the receiver go.
                while let Some(Ok(notification)) =
                    crate::store::unless_closed(&sender, listener.recv()).await
                {
                    let Ok(message) = URL_SAFE_NO_PAD.decode(notification.payload()) else {
                        continue;
                    };
                    if sender.send(message).await.is_err() {
                        return;
                    }
                }
            });
            Ok(Subscription::to_all(receiver))
        })
    }
}
