//! A record loaded from the store, as this request's session: opened (when sealed at rest,
//! [`crate::encryption`]), decoded, and within its lifetime.

use crate::config::Config;
use crate::encryption::Encryption;
use crate::id::{SessionId, StorageKey};
use crate::observe::Loaded;
use crate::record::Record;
use crate::store::{StoredRecord, Version};
use std::time::SystemTime;

/// A loaded record that is still the session: it decodes, and is within its lifetime.
pub(super) struct Live {
    pub(super) record: Record,
    pub(super) version: Version,
    pub(super) expires_at: SystemTime,
}

/// The loaded record as this request's session, unless it is corrupt or too old.
pub(super) fn live(
    config: &Config,
    session: (&SessionId, &StorageKey),
    stored: StoredRecord,
    now: SystemTime,
) -> Result<Live, Loaded> {
    let expires_at = stored.expires_at;
    let encryption = config.encryption.as_deref();
    let (record, version) = decode(encryption, session, stored).ok_or(Loaded::Corrupt)?;
    if config.past_lifetime(&record, now) {
        return Err(Loaded::Expired);
    }
    Ok(Live {
        record,
        version,
        expires_at,
    })
}

/// The record the session `id` (stored under `key`) keeps in `stored`, opened when it is
/// sealed; `None` (logged, without the id) when it does not open or decode.
pub(super) fn decode(
    encryption: Option<&Encryption>,
    (id, key): (&SessionId, &StorageKey),
    stored: StoredRecord,
) -> Option<(Record, Version)> {
    let data = crate::encryption::record_bytes(encryption, id, key, stored.data)?;
    match Record::decode_vec(data) {
        Ok(record) => Some((record, stored.version)),
        Err(error) => {
            tracing::warn!(%error, "corrupt session record; treating it as no session");
            None
        }
    }
}
