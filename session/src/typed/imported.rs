//! Fields of a session taken over from tower-sessions (`crate::import`): until its struct
//! is first saved, a field missing from the record is read from the JSON that tower-sessions
//! kept, `{"namespace": {"field": value}}`, with the field type's own `Deserialize`.
//!
//! The import lives where the layering puts each part: `import/` (its settings, tower-sessions'
//! cookie and record, the stores it is taken from), `request/import.rs` (a request taking one
//! over) and `typed/imported.rs` (a struct's fields read from the imported data).

use crate::record::{IMPORTED_KEY, Record};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The value of `key` (`namespace.field`) in the imported data of `record`, if it has one
/// that decodes as `V`.
pub(super) fn field<V: DeserializeOwned>(record: &Record, key: &str) -> Option<V> {
    let value = lookup(record, key)?;
    match serde_json::from_value(value) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(key, %error, "imported tower-sessions value does not decode as the field's type; using its default");
            None
        }
    }
}

/// The bits of `keys` that only the imported data of `record` holds.
pub(super) fn only_there(record: &Record, keys: &[&str]) -> u64 {
    let Some(data) = imported(record) else {
        return 0;
    };
    keys.iter()
        .enumerate()
        .filter(|(_, key)| record.get(key).is_none() && find(&data, key).is_some())
        .fold(0, |bits, (index, _)| bits | 1 << index)
}

/// The imported data of `record`, if it has any.
fn imported(record: &Record) -> Option<Map<String, Value>> {
    serde_json::from_slice(record.get_builtin(IMPORTED_KEY)?).ok()
}

fn lookup(record: &Record, key: &str) -> Option<Value> {
    find(&imported(record)?, key).cloned()
}

/// The value of `key` (`namespace.field`) in `data`.
fn find<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let (namespace, name) = key.split_once('.')?;
    data.get(namespace)?.as_object()?.get(name)
}
