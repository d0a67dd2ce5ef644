//! [`Store::scan`](crate::Store::scan) on Redis: `SCAN` over the session keys (`prefix{`…;
//! the owner indexes are `prefix` `owner:`… and left out), then their values in one
//! pipeline (on a cluster, one `GET` per key, all in flight). On a cluster each master is
//! scanned in turn, in address order. The cursor is
//! `node:cursor`: which master (0 for a single server), and where its `SCAN` stands.

use super::connection::Active;
use super::scripts::CLAIM_SUFFIX;
use super::value::stored;
use super::{RedisStore, backend};
use crate::id::StorageKey;
use crate::store::{OwnedRecord, ScanCursor, ScanPage, StoreError};
use crate::time::unix_ms;
use redis::FromRedisValue;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use std::time::SystemTime;

impl RedisStore {
    pub(super) async fn scan_page(
        &self,
        cursor: Option<&ScanCursor>,
        limit: usize,
    ) -> Result<ScanPage, StoreError> {
        let (node, position) = match cursor {
            Some(cursor) => parse(cursor)?,
            None => (0, 0),
        };
        let mut scan = redis::cmd("SCAN");
        scan.arg(position)
            .arg("MATCH")
            .arg(format!("{}{{*", glob_escaped(&self.prefix)))
            .arg("COUNT")
            .arg(limit.max(1));
        let mut connection = self.connection().await?;
        let (masters, reply) = match &mut connection {
            Active::Cluster(cluster) => {
                let masters = masters(cluster).await?;
                let Some((host, port)) = masters.get(node).cloned() else {
                    return Err(StoreError::InvalidCursor(format!("{node}:{position}")));
                };
                let to = SingleNodeRoutingInfo::ByAddress { host, port };
                let reply = cluster
                    .route_command(scan, RoutingInfo::SingleNode(to))
                    .await
                    .map_err(backend)?;
                (masters.len(), reply)
            }
            // One server is node 0: another node is a cursor of a cluster's.
            _ if node > 0 => return Err(StoreError::InvalidCursor(format!("{node}:{position}"))),
            _ => (1, scan.query_async(&mut connection).await.map_err(backend)?),
        };
        let (position, mut keys) =
            <(u64, Vec<String>)>::from_redis_value(reply).map_err(StoreError::backend)?;
        // A session's claim (`scripts::SAVE`) shares its prefix and slot; it is no record.
        keys.retain(|key| !key.ends_with(CLAIM_SUFFIX));
        let records = self.values(&mut connection, keys).await?;
        let next = match position {
            0 if node + 1 < masters => Some(format!("{}:0", node + 1)),
            0 => None,
            position => Some(format!("{node}:{position}")),
        };
        Ok(ScanPage::new(records, next.map(ScanCursor::new)))
    }

    /// The live records under `keys`: read in one pipeline, or on a cluster (where a
    /// pipeline stays in one slot) one `GET` per key, all in flight.
    async fn values(
        &self,
        connection: &mut Active,
        keys: Vec<String>,
    ) -> Result<Vec<OwnedRecord>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<Vec<u8>>> = match connection {
            Active::Cluster(cluster) => {
                let mut gets = tokio::task::JoinSet::new();
                for (index, key) in keys.iter().enumerate() {
                    let (mut cluster, key) = (cluster.clone(), key.clone());
                    gets.spawn(async move {
                        let value = redis::cmd("GET").arg(key).query_async(&mut cluster).await;
                        (index, value)
                    });
                }
                let mut values = vec![None; keys.len()];
                while let Some(done) = gets.join_next().await {
                    let (index, value) = done.map_err(StoreError::backend)?;
                    values[index] = value.map_err(backend)?;
                }
                values
            }
            _ => {
                let mut pipeline = redis::pipe();
                for key in &keys {
                    pipeline.cmd("GET").arg(key);
                }
                pipeline.query_async(connection).await.map_err(backend)?
            }
        };
        let now = unix_ms(SystemTime::now());
        Ok(keys
            .iter()
            .zip(values)
            .filter_map(|(key, value)| {
                let storage_key = key.rsplit('}').next().and_then(StorageKey::from_base64)?;
                Some(OwnedRecord {
                    key: storage_key,
                    record: stored(key, value?, now)?,
                })
            })
            .collect())
    }
}

/// The node and `SCAN` position of a cursor this store made.
fn parse(cursor: &ScanCursor) -> Result<(usize, u64), StoreError> {
    let invalid = || StoreError::InvalidCursor(cursor.as_str().to_owned());
    let (node, position) = cursor.as_str().split_once(':').ok_or_else(invalid)?;
    Ok((
        node.parse().map_err(|_| invalid())?,
        position.parse().map_err(|_| invalid())?,
    ))
}

/// The cluster's masters, as `(host, port)` in address order, from `CLUSTER NODES`.
async fn masters(
    cluster: &mut redis::cluster_async::ClusterConnection,
) -> Result<Vec<(String, u16)>, StoreError> {
    let nodes: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(cluster)
        .await
        .map_err(backend)?;
    let mut masters: Vec<(String, u16)> = nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.nth(1)?;
            let flags = fields.next()?;
            let master = flags.split(',').any(|flag| flag == "master")
                && !flags
                    .split(',')
                    .any(|flag| flag == "fail" || flag == "noaddr");
            let (host, port) = address.split(['@', ',']).next()?.rsplit_once(':')?;
            master.then(|| Some((host.to_owned(), port.parse().ok()?)))?
        })
        .collect();
    masters.sort();
    Ok(masters)
}

/// `text` as a `SCAN MATCH` pattern that matches only itself.
fn glob_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_patterns_match_only_the_prefix() {
        assert_eq!(parse(&ScanCursor::new("2:1234")).unwrap(), (2, 1234));
        for bad in ["", "2", "x:1", "1:-1", "1:y"] {
            assert!(parse(&ScanCursor::new(bad)).is_err(), "{bad}");
        }
        assert_eq!(glob_escaped("app*:[x]"), "app\\*:\\[x\\]");
    }
}
