//! The Redis Cluster and Redis Sentinel set-ups of `scripts/`: the shared ones most tests
//! use, and ones of a test's own that it may break (kill a master, move slots), stopped
//! (by the pids the script started) when dropped.

use crate::servers::commandstats;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn script(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scripts/{name}"))
}

/// Runs `scripts/<name> <args>` and returns what it printed; panics with its errors if it
/// failed.
fn run(name: &str, args: &[&str]) -> String {
    run_with(name, args, &[])
}

/// Runs `scripts/<name> args` with `env` added to its environment.
fn run_with(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(script(name))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("scripts/{name} runs: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn urls(ports: impl IntoIterator<Item = u16>) -> Vec<String> {
    ports
        .into_iter()
        .map(|port| format!("redis://127.0.0.1:{port}"))
        .collect()
}

/// A synchronous connection to the Redis (or sentinel) on `port`.
pub fn redis_on(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
        .unwrap_or_else(|e| panic!("Redis on {port} answers: {e}"))
}

/// Kills the process in `pidfile` with SIGKILL (a crash), or sends it `signal`.
fn signal(pidfile: &std::path::Path, signal: &str) {
    let pid = std::fs::read_to_string(pidfile)
        .unwrap_or_else(|e| panic!("{} holds a pid: {e}", pidfile.display()));
    let status = Command::new("kill")
        .args([signal, pid.trim()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

fn target_dir(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{name}"))
}

/// The URLs in `variable` (comma-separated), or else those on `ports` of the shared set-up
/// that `scripts/<script> start` runs, started here once if it is not up (the script leaves
/// a running set-up alone).
fn shared(
    variable: &str,
    script: &str,
    started: &std::sync::OnceLock<()>,
    ports: std::ops::RangeInclusive<u16>,
) -> Vec<String> {
    if let Ok(urls) = std::env::var(variable) {
        return urls.split(',').map(str::to_owned).collect();
    }
    started.get_or_init(|| {
        run(script, &["start"]);
    });
    urls(ports)
}

/// The seed nodes of the Redis Cluster the tests share: `REDIS_CLUSTER_NODES`, or the
/// masters of the one `scripts/redis-cluster` runs on 7001-7006.
pub fn redis_cluster_nodes() -> Vec<String> {
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    shared(
        "REDIS_CLUSTER_NODES",
        "redis-cluster",
        &STARTED,
        7001..=7003,
    )
}

/// The sentinels the tests share, watching `mymaster`: `REDIS_SENTINELS`, or those of the
/// set-up `scripts/redis-sentinel` runs (on 26379-26381).
pub fn redis_sentinels() -> Vec<String> {
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    shared("REDIS_SENTINELS", "redis-sentinel", &STARTED, 26379..=26381)
}

/// A set-up of `scripts/<script>` with its argument (first port, or offset), started fresh
/// (after stopping what the script may have left there), stopped when dropped.
#[derive(Debug)]
struct Owned {
    script: &'static str,
    arg: String,
}

impl Owned {
    fn stopped(script: &'static str, arg: u16) -> Self {
        let owned = Self {
            script,
            arg: arg.to_string(),
        };
        run(script, &["stop", &owned.arg]);
        owned
    }

    fn start(script: &'static str, arg: u16) -> Self {
        Self::start_with(script, arg, &[])
    }

    fn start_with(script: &'static str, arg: u16, env: &[(&str, &str)]) -> Self {
        let owned = Self::stopped(script, arg);
        run_with(script, &["start", &owned.arg], env);
        owned
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        run(self.script, &["stop", &self.arg]);
    }
}

/// A Redis Cluster of a test's own: 3 masters and 3 replicas on `first..first + 6`.
#[derive(Debug)]
pub struct RedisCluster {
    first: u16,
    _owned: Owned,
}

impl RedisCluster {
    /// Starts one, stopped when dropped.
    pub fn start(first: u16) -> Self {
        Self {
            first,
            _owned: Owned::start("redis-cluster", first),
        }
    }

    /// A cluster that is not running yet on `first..first + 6` (a cluster that is down when
    /// the app starts); [`RedisCluster::start`] starts it.
    pub fn not_started(first: u16) -> Self {
        Self {
            first,
            _owned: Owned::stopped("redis-cluster", first),
        }
    }

    /// The three seed URLs (the first masters).
    pub fn nodes(&self) -> Vec<String> {
        urls(self.first..self.first + 3)
    }

    /// Each live master's port and its slot ranges, from `CLUSTER NODES` (a node that
    /// holds no slot yet is left out).
    pub fn masters(&self) -> BTreeMap<u16, Vec<(u16, u16)>> {
        let port = (self.first..self.first + 6)
            .find(|port| redis_on_quietly(*port).is_some())
            .expect("a node answers");
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut redis_on(port))
            .expect("CLUSTER NODES");
        nodes
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let flags = fields.get(2)?;
                if !flags.contains("master") || flags.contains("fail") {
                    return None;
                }
                let port = fields[1].split(['@', ':']).nth(1)?.parse().ok()?;
                let slots: Vec<(u16, u16)> = fields[8..]
                    .iter()
                    .filter_map(|range| {
                        let (low, high) = range.split_once('-').unwrap_or((range, range));
                        Some((low.parse().ok()?, high.parse().ok()?))
                    })
                    .collect();
                (!slots.is_empty()).then_some((port, slots))
            })
            .collect()
    }

    /// The node id of the server on `port`.
    pub fn node_id(&self, port: u16) -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut redis_on(port))
            .expect("CLUSTER MYID")
    }

    /// Kills the server on `port` with SIGKILL, by the pid the script started.
    pub fn kill(&self, port: u16) {
        signal(
            &target_dir(&format!("redis-cluster-{}/{port}.pid", self.first)),
            "-KILL",
        );
    }
}

fn redis_on_quietly(port: u16) -> Option<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .ok()?
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()
}

/// A Redis Sentinel set-up of a test's own (`scripts/redis-sentinel` with an offset): a
/// master on `6380 + offset`, a replica on `6381 + offset`, sentinels on
/// `26379 + offset..=26381 + offset`.
#[derive(Debug)]
pub struct RedisSentinel {
    offset: u16,
    _owned: Owned,
}

impl RedisSentinel {
    /// Starts one, stopped when dropped.
    pub fn start(offset: u16) -> Self {
        Self {
            offset,
            _owned: Owned::start("redis-sentinel", offset),
        }
    }

    /// Starts one whose master and replica take `password`, and whose sentinels take
    /// `sentinel_password`; stopped when dropped.
    pub fn start_protected(offset: u16, password: &str, sentinel_password: &str) -> Self {
        let env = [
            ("REDIS_SENTINEL_PASSWORD", password),
            ("REDIS_SENTINEL_SENTINEL_PASSWORD", sentinel_password),
        ];
        Self {
            offset,
            _owned: Owned::start_with("redis-sentinel", offset, &env),
        }
    }

    /// The port the master starts on (before any failover).
    pub fn first_master_port(&self) -> u16 {
        6380 + self.offset
    }

    /// The sentinels' URLs.
    pub fn sentinels(&self) -> Vec<String> {
        urls(26379 + self.offset..=26381 + self.offset)
    }

    /// The port of the server the sentinels now call master.
    pub fn master_port(&self) -> u16 {
        let (_, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg("mymaster")
            .query(&mut redis_on(26379 + self.offset))
            .expect("the sentinel knows mymaster");
        port
    }

    /// The port of the other server.
    pub fn replica_port(&self) -> u16 {
        let master = self.master_port();
        if master == 6380 + self.offset {
            6381 + self.offset
        } else {
            6380 + self.offset
        }
    }

    /// Sends `signal` (`-KILL`, `-STOP`, `-CONT`) to the server on `port`, by the pid the
    /// script started.
    pub fn signal(&self, port: u16, signal: &str) {
        self::signal(
            &target_dir(&format!("redis-sentinel-{}/{port}.pid", self.offset)),
            signal,
        );
    }

    /// Waits until the sentinels name a master other than `old` (a failover), for up to
    /// `bound`; how long it took.
    pub fn until_promoted(&self, old: u16, bound: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < bound {
            if self.master_port() != old {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no failover from {old} within {bound:?}");
    }
}

/// Waits until the master on `port` has every replica caught up with its writes (so a
/// failover now loses nothing), for up to 5 s.
pub fn until_replicated(port: u16) {
    let mut connection = redis_on(port);
    for _ in 0..50 {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut connection)
            .expect("INFO");
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        let master = field("master_repl_offset:").expect("an offset");
        let caught_up = field("slave0:").is_some_and(|replica| {
            replica
                .split(',')
                .any(|kv| kv.strip_prefix("offset=") == Some(master.as_str()))
        });
        if caught_up {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the replica of {port} did not catch up");
}

/// `INFO commandstats` summed over the servers on `ports`, as command name and calls so
/// far, leaving out `info` (the measuring itself), the cluster client's own `cluster` and
/// `ping` commands, and the replicas' acknowledgements (`replconf`).
pub fn command_calls(ports: impl IntoIterator<Item = u16>) -> BTreeMap<String, u64> {
    let theirs = [
        "info",
        "cluster|slots",
        "cluster|nodes",
        "cluster|shards",
        "ping",
        "replconf",
    ];
    let mut calls = BTreeMap::new();
    for port in ports {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut redis_on(port))
            .expect("INFO");
        for (name, count) in commandstats(&info) {
            if !theirs.contains(&name.as_str()) {
                *calls.entry(name).or_default() += count;
            }
        }
    }
    calls
}
