//! Fields of a session taken over from tower-sessions (`crate::import`): until its struct
//! is first saved, a field missing from the record is read from the JSON that tower-sessions
//! kept, `{"namespace": {"field": value}}`, with the field type's own `Deserialize`.
//!
//! The import lives where the layering puts each part: `import/` (its settings, tower-sessions'
//! cookie and record, the stores it is taken from), `request/import.rs` (a request taking one
//! over) and `typed/imported.rs` (a struct's fields read from the imported data).

use crate::record::{IMPORTED_KEY, Record};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
    if record.get_builtin(IMPORTED_KEY).is_none() {
        return 0;
    }
    keys.iter()
        .enumerate()
        .filter(|(_, key)| record.get(key).is_none() && lookup(record, key).is_some())
        .fold(0, |bits, (index, _)| bits | 1 << index)
}

fn lookup(record: &Record, key: &str) -> Option<Value> {
    let (namespace, name) = key.split_once('.')?;
    let data = record.get_builtin(IMPORTED_KEY)?;
    let mut data: serde_json::Map<String, Value> = serde_json::from_slice(data).ok()?;
    match data.remove(namespace)? {
        Value::Object(mut fields) => fields.remove(name),
        _ => None,
    }
}
