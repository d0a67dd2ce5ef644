//! The store `migrate --to URL` copies to, named by its URL.

use crate::config::StoreKind;
use std::path::PathBuf;
use std::sync::Arc;
use typed_sessions::Store;

/// The store at `url`, connected (its table created): `redis://` or `rediss://`,
/// `postgres://` or `postgresql://`, `sqlite://` or `sqlite:`, `file:///dir`.
pub(super) async fn open(url: &str) -> Result<Arc<dyn Store>, String> {
    kind(url)?
        .server_store()
        .await
        .map_err(|e| format!("--to {url}: {e}"))
}

fn kind(url: &str) -> Result<StoreKind, String> {
    let (scheme, rest) = url.split_once(':').unwrap_or_default();
    match scheme {
        "redis" | "rediss" => Ok(StoreKind::Redis(url.to_owned())),
        "postgres" | "postgresql" => Ok(StoreKind::Postgres(url.to_owned())),
        "sqlite" => Ok(StoreKind::Sqlite(url.to_owned())),
        "file" => match rest.strip_prefix("//") {
            Some(path) if path.starts_with('/') && path.len() > 1 => {
                Ok(StoreKind::File(PathBuf::from(path)))
            }
            _ => Err(format!(
                "--to {url}: a file store is `file:///absolute/dir`"
            )),
        },
        _ => Err(format!(
            "--to {url:?}: expected a redis://, postgres://, sqlite:// or file:/// URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_store() {
        assert_eq!(
            kind("redis://127.0.0.1:6379/2").unwrap(),
            StoreKind::Redis("redis://127.0.0.1:6379/2".into())
        );
        assert_eq!(
            kind("postgresql://u@h/db").unwrap(),
            StoreKind::Postgres("postgresql://u@h/db".into())
        );
        assert_eq!(
            kind("sqlite://x.db").unwrap(),
            StoreKind::Sqlite("sqlite://x.db".into())
        );
        assert_eq!(
            kind("file:///var/sessions").unwrap(),
            StoreKind::File("/var/sessions".into())
        );
        for bad in [
            "",
            "mysql://h/db",
            "file://relative",
            "file:///",
            "nonsense",
        ] {
            assert!(kind(bad).is_err(), "{bad}");
        }
    }
}
