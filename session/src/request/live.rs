//! A record loaded from the store, as this request's session: decoded, and within its
//! lifetime.

use crate::config::Config;
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
pub(super) fn live(config: &Config, stored: StoredRecord, now: SystemTime) -> Result<Live, Loaded> {
    let expires_at = stored.expires_at;
    let (record, version) = decode(stored).ok_or(Loaded::Corrupt)?;
    if config.past_lifetime(&record, now) {
        return Err(Loaded::Expired);
    }
    Ok(Live {
        record,
        version,
        expires_at,
    })
}

pub(super) fn decode(stored: StoredRecord) -> Option<(Record, Version)> {
    match Record::decode_vec(stored.data) {
        Ok(record) => Some((record, stored.version)),
        Err(error) => {
            tracing::warn!(%error, "corrupt session record; treating it as no session");
            None
        }
    }
}
