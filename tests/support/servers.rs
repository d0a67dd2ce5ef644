//! The servers the store tests talk to: the shared Redis and PostgreSQL, and a Redis of a
//! test's own that it can stop and start.

use std::collections::BTreeMap;
use typed_sessions::store::StorageKey;

/// `REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A loopback port for a server or proxy a test starts later, or never: free now, and
/// handed out once per process. The kernel may give a port it just freed to the next
/// `bind(0)`, so a port picked for a server that is down on purpose could otherwise be
/// another test's live one.
pub fn unused_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a loopback port")
            .local_addr()
            .expect("its address")
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// A name no other test run uses: `prefix` and 16 random hex digits.
pub fn unique(prefix: &str) -> String {
    let id = StorageKey::random();
    let hex: String = id.as_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}{hex}")
}

/// A Redis store on `REDIS_URL`, under a key prefix of its own.
pub async fn redis_store() -> typed_sessions::RedisStore {
    typed_sessions::RedisStore::connect(&redis_url())
        .await
        .expect("valid URL")
        .with_prefix(unique("test:"))
}

/// An SQLite store in `dir`, migrated.
pub async fn sqlite_store(dir: &tempfile::TempDir) -> typed_sessions::SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let store = typed_sessions::SqliteStore::connect(&url)
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    store
}

/// A PostgreSQL store on a table of its own in schema `typed_sessions_tests`, created now.
pub async fn postgres_store() -> typed_sessions::PostgresStore {
    let store = typed_sessions::PostgresStore::connect(&database_url())
        .await
        .expect("a valid DATABASE_URL")
        .with_table(Some("typed_sessions_tests"), &unique("t_"))
        .expect("valid name");
    store.migrate().await.expect("migrate");
    store
}

/// A `redis-server` of the test's own, on a free loopback port, without persistence: it can
/// be stopped and started without disturbing other tests.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    /// Starts one and waits until it answers.
    pub fn start() -> Self {
        let mut server = Self::not_started();
        server.restart();
        server
    }

    /// Picks its port but does not start it yet (a Redis that is down when the app starts).
    pub fn not_started() -> Self {
        let port = unused_port();
        Self { port, child: None }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        for _ in 0..100 {
            if self.info("server").is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    fn info(&self, section: &str) -> Option<String> {
        let client = redis::Client::open(self.url()).ok()?;
        let mut connection = client.get_connection().ok()?;
        redis::cmd("INFO").arg(section).query(&mut connection).ok()
    }

    /// `INFO commandstats` as command name and calls so far.
    pub fn command_calls(&self) -> BTreeMap<String, u64> {
        commandstats(&self.info("commandstats").expect("INFO answers"))
    }

    /// Calls made between `before` and now, leaving out `info` (the measuring itself).
    pub fn calls_since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        let mut calls = calls_between(before, &self.command_calls());
        calls.remove("info");
        calls
    }
}

/// The command names and calls in an `INFO commandstats` reply.
pub(crate) fn commandstats(info: &str) -> BTreeMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

/// The calls in `after` that were not in `before`.
pub fn calls_between(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(name, calls)| {
            let delta = calls - before.get(name).copied().unwrap_or(0);
            (delta > 0).then(|| (name.clone(), delta))
        })
        .collect()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL server of the test's own (a fresh cluster in a temp dir, on a free loopback
/// port, run as the `postgres` user), that a test can crash: every one of its processes
/// killed at once, losing what was in its shared memory, as a crash of the machine's
/// database server would, short of the disk cache.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    dir: tempfile::TempDir,
    /// The postmaster, leader of a process group holding every server process.
    child: Option<std::process::Child>,
}

#[cfg(unix)]
impl PostgresServer {
    /// Creates a cluster and starts it. `wal_writer_delay` is at its longest (10 s), so that
    /// a commit that does not wait for the disk stays in shared memory until then.
    pub fn start() -> Self {
        let bin = Self::bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let chown = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(
            chown.success(),
            "the temp dir could not be given to postgres"
        );
        let initdb = Self::as_postgres(std::process::Command::new(bin.join("initdb")))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(initdb.success(), "initdb failed");
        let port = unused_port();
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.restart();
        server
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Kills every server process at once (SIGKILL to the process group).
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &group])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the server (after a crash: with crash recovery) and waits until it answers.
    pub fn restart(&mut self) {
        self.crash();
        let data = self.dir.path().join("data");
        let mut command =
            Self::as_postgres(std::process::Command::new(Self::bin().join("postgres")));
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "fsync=on", "-c", "wal_writer_delay=10000"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        // Ready once it accepts sessions, not only connections: after a crash it answers
        // "the database system is starting up" until its recovery is done.
        for _ in 0..600 {
            let ready = std::process::Command::new(Self::bin().join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("postgres on port {} did not start", self.port);
    }

    /// The installed server's `bin` directory (the newest version).
    fn bin() -> std::path::PathBuf {
        let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed")
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect();
        versions.sort();
        versions.pop().expect("a PostgreSQL version").join("bin")
    }

    /// `command`, run as the `postgres` user when this process is root (PostgreSQL refuses
    /// to run as root).
    fn as_postgres(mut command: std::process::Command) -> std::process::Command {
        if is_root() {
            let (uid, gid) = postgres_ids();
            std::os::unix::process::CommandExt::uid(&mut command, uid);
            std::os::unix::process::CommandExt::gid(&mut command, gid);
        }
        command
    }
}

#[cfg(unix)]
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The `postgres` user's uid and gid, from `id`.
#[cfg(unix)]
fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = std::process::Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id runs");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("the postgres user exists")
    };
    (id("-u"), id("-g"))
}

#[cfg(unix)]
impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.crash();
    }
}
