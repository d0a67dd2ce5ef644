//! A server store's session arriving: the request's signed id verified, its record loaded,
//! and with periodic rotation on, an id that was retired followed to its successor
//! ([`super::retired`]).

use super::RequestSession;
use super::arrival::{Arrival, Live, Token};
use super::live::live;
use super::retired::{self, Followed, Late};
use super::state::Kind;
use crate::backend::ServerBackend;
use crate::error::Error;
use crate::observe::{self, Loaded};
use crate::transport::{Found, Via};
use http::HeaderMap;
use std::time::SystemTime;

impl RequestSession {
    /// Loads the record the request's id cookie names, if it verifies and is live.
    pub(super) async fn load_stored(
        &self,
        backend: &ServerBackend,
        headers: &HeaderMap,
    ) -> Result<(), Error> {
        let name = &self.config.cookie.name;
        let found = self.config.transport.find(headers);
        let (via, verified) = match found {
            Found::Header(token) => (
                Via::Header,
                token.and_then(|token| {
                    let name = self.config.token_name(Via::Header);
                    backend.ids.verify(name, token)
                }),
            ),
            Found::Cookie => (Via::Cookie, backend.ids.find(name, headers)),
        };
        let Some(verified) = verified else {
            if observe::ENABLED && super::presented(self, found, name, headers) {
                observe::rejected(backend.store.name(), "forged");
            }
            self.note_insecure_host(headers);
            self.arrive(Arrival::none(via), SystemTime::now());
            return Ok(());
        };
        let (mut id, mut key) = (verified.id, verified.id.storage_key());
        let mut stored = backend.store.load(&key).await?;
        if stored.is_none() && self.config.rotation_interval.is_some() {
            // Boxed: only for an id whose record is gone, with periodic rotation on.
            if let Followed::Successor {
                id: successor,
                key: successor_key,
                stored: found,
            } = Box::pin(retired::follow(
                &backend.store,
                self.config.encryption.as_deref(),
                id,
                Late::Replay,
            ))
            .await?
            {
                (id, key, stored) = (successor, successor_key, Some(found));
            }
        }
        let now = SystemTime::now();
        let loaded = stored.map_or(Err(Loaded::Miss), |stored| {
            live(&self.config, (&id, &key), stored, now)
        });
        observe::loaded(
            backend.store.name(),
            loaded
                .as_ref()
                .map_or_else(|outcome| *outcome, |_| Loaded::Hit),
        );
        let live = loaded.ok().map(|live| Live {
            record: live.record,
            expires_at: live.expires_at,
            version: Some(live.version),
        });
        let live = self.admit_device(headers, live, now)?;
        let token = Token::Server { id, key };
        let old_key = verified.old_key;
        self.arrive(
            Arrival {
                via,
                token,
                old_key,
                live,
            },
            now,
        );
        if id != verified.id {
            // The client's id was retired: the response hands it the new one.
            if let Kind::Server(server) = &mut self.lock().kind {
                server.client_id = Some(verified.id);
            }
        }
        Ok(())
    }
}
