//! Helpers for the integration tests: an in-process client that keeps its cookie like a
//! browser, and a store wrapper that counts I/O and can be switched off.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use cookie::Cookie;
use http_body_util::BodyExt;
use session::store::{BoxFuture, SaveOutcome, StoredRecord, Version};
use session::{SessionId, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;
use tower::ServiceExt;

/// A reply, with its `Set-Cookie` parsed.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// Every `Set-Cookie` header.
    pub set_cookies: Vec<Cookie<'static>>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The one `Set-Cookie`, if any (panics on several: the crate never sends two).
    pub fn set_cookie(&self) -> Option<&Cookie<'static>> {
        assert!(
            self.set_cookies.len() <= 1,
            "several Set-Cookie headers: {:?}",
            self.set_cookies
        );
        self.set_cookies.first()
    }

    /// The body as the demo's JSON view.
    pub fn view(&self) -> session_examples::View {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends one request to `app`, with `cookie` as the raw `Cookie` header.
pub async fn send(
    app: &Router,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let request = request
        .body(Body::from(body.to_owned()))
        .expect("valid request");
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let status = response.status();
    let set_cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            Cookie::parse(value.to_str().expect("ascii").to_owned()).expect("valid Set-Cookie")
        })
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        set_cookies,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A browser with one cookie jar, talking to a router in-process.
#[derive(Clone, Debug)]
pub struct Client {
    app: Router,
    /// `name=value` of each cookie held.
    pub jar: Vec<(String, String)>,
}

impl Client {
    /// A client with an empty jar.
    pub fn new(app: Router) -> Self {
        Self {
            app,
            jar: Vec::new(),
        }
    }

    /// The `Cookie` header this client sends.
    pub fn cookie_header(&self) -> Option<String> {
        let pairs: Vec<String> = self
            .jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// Sends a request and applies its `Set-Cookie`.
    pub async fn send(&mut self, method: Method, path: &str, body: &str) -> Reply {
        let reply = send(
            &self.app,
            method,
            path,
            self.cookie_header().as_deref(),
            body,
        )
        .await;
        for cookie in &reply.set_cookies {
            self.jar.retain(|(name, _)| name != cookie.name());
            let expired = cookie.max_age().is_some_and(|age| age.is_zero());
            if !expired {
                self.jar
                    .push((cookie.name().to_owned(), cookie.value().to_owned()));
            }
        }
        reply
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, "").await
    }

    /// `POST path` with an empty body.
    pub async fn post(&mut self, path: &str) -> Reply {
        self.send(Method::POST, path, "").await
    }
}

/// Counts of each store operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// `load` calls.
    pub loads: usize,
    /// `save` calls.
    pub saves: usize,
    /// `touch` calls.
    pub touches: usize,
    /// `delete` calls.
    pub deletes: usize,
}

impl Counts {
    /// All operations.
    pub fn total(&self) -> usize {
        self.loads + self.saves + self.touches + self.deletes
    }
}

/// Wraps a store: counts each operation, and fails them all while [`ProbeStore::set_down`].
#[derive(Clone, Debug)]
pub struct ProbeStore {
    inner: Arc<dyn Store>,
    state: Arc<ProbeState>,
}

#[derive(Debug, Default)]
struct ProbeState {
    loads: AtomicUsize,
    saves: AtomicUsize,
    touches: AtomicUsize,
    deletes: AtomicUsize,
    down: AtomicBool,
}

impl ProbeStore {
    /// Probes `inner`.
    pub fn new(inner: impl Store) -> Self {
        Self {
            inner: Arc::new(inner),
            state: Arc::default(),
        }
    }

    /// The operations so far.
    pub fn counts(&self) -> Counts {
        let s = &self.state;
        Counts {
            loads: s.loads.load(Ordering::SeqCst),
            saves: s.saves.load(Ordering::SeqCst),
            touches: s.touches.load(Ordering::SeqCst),
            deletes: s.deletes.load(Ordering::SeqCst),
        }
    }

    /// While `down`, every operation fails like an unreachable server.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    fn check(&self, counter: &AtomicUsize) -> Result<(), StoreError> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.state.down.load(Ordering::SeqCst) {
            let refused =
                std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "store is down");
            return Err(StoreError::Io(refused));
        }
        Ok(())
    }
}

impl Store for ProbeStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.loads)?;
            self.inner.load(id).await
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.saves)?;
            self.inner.save(id, data, expires_at, expected).await
        })
    }

    fn touch<'a>(
        &'a self,
        id: &'a SessionId,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.touches)?;
            self.inner.touch(id, expires_at).await
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.check(&self.state.deletes)?;
            self.inner.delete(id).await
        })
    }
}

/// A fixed 64-byte test secret.
pub fn key() -> session::Key {
    session::Key::from_secret(&[0x5e; 64]).expect("64 bytes")
}

/// Log lines captured by [`capture_logs`].
#[derive(Clone, Debug, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this thread's log output (use a current-thread runtime) until the guard drops.
pub fn capture_logs() -> (tracing::subscriber::DefaultGuard, Logs) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), logs)
}

impl Client {
    /// The router this client talks to.
    pub fn router(&self) -> &Router {
        &self.app
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

/// `REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A name no other test run uses: `prefix` and 16 random hex digits.
pub fn unique(prefix: &str) -> String {
    let id = SessionId::random();
    let hex: String = id.as_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}{hex}")
}

/// A PostgreSQL store on a table of its own in schema `session_tests`, created now.
pub async fn postgres_store() -> session::PostgresStore {
    let store = session::PostgresStore::connect(&database_url())
        .await
        .expect("a valid DATABASE_URL")
        .with_table(Some("session_tests"), &unique("t_"))
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
    pub fn command_calls(&self) -> std::collections::BTreeMap<String, u64> {
        let info = self.info("commandstats").expect("INFO answers");
        info.lines()
            .filter_map(|line| {
                let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
                Some((name.to_owned(), calls.parse().ok()?))
            })
            .collect()
    }

    /// Calls made between `before` and now, leaving out `info` (the measuring itself).
    pub fn calls_since(
        &self,
        before: &std::collections::BTreeMap<String, u64>,
    ) -> std::collections::BTreeMap<String, u64> {
        self.command_calls()
            .into_iter()
            .filter(|(name, _)| name != "info")
            .filter_map(|(name, calls)| {
                let delta = calls - before.get(&name).copied().unwrap_or(0);
                (delta > 0).then_some((name, delta))
            })
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET /session` on the demo `app` with `cookie` as the `Cookie` header.
pub async fn view_with(app: &Router, cookie: &str) -> session_examples::View {
    send(app, Method::GET, "/session", Some(cookie), "")
        .await
        .view()
}

/// SECURITY.md's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../SECURITY.md")]
pub struct SecurityExamples;

/// A TCP proxy on loopback in front of `upstream`, that a test can cut (every connection
/// dropped, new ones refused, as when a database server goes away), stall (a network
/// partition: connections stay up and nothing gets through) and restore.
#[derive(Debug)]
pub struct TcpProxy {
    port: u16,
    upstream: std::net::SocketAddr,
    running: Option<tokio::task::JoinHandle<()>>,
    flowing: tokio::sync::watch::Sender<bool>,
}

impl TcpProxy {
    /// A proxy to `upstream`, not yet accepting (as a server that is down at start).
    pub fn new(upstream: std::net::SocketAddr) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            upstream,
            running: None,
            flowing: tokio::sync::watch::Sender::new(true),
        }
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Accepts and forwards connections, and delivers what a stall held back.
    pub async fn restore(&mut self) {
        self.flowing.send_replace(true);
        if self.running.is_some() {
            return;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind the proxy port");
        let (upstream, flowing) = (self.upstream, self.flowing.clone());
        self.running = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let flowing = flowing.subscribe();
                connections.spawn(async move {
                    if let Ok(server) = tokio::net::TcpStream::connect(upstream).await {
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        let _ = tokio::join!(
                            pipe(client_read, server_write, flowing.clone()),
                            pipe(server_read, client_write, flowing),
                        );
                    }
                });
            }
        }));
    }

    /// Lets nothing through, either way, until [`restore`](Self::restore), and loses
    /// nothing: like TCP across a partitioned network, bytes arrive late or not at all
    /// if a side gives up on the connection first.
    pub fn stall(&mut self) {
        self.flowing.send_replace(false);
    }

    /// Drops every connection and refuses new ones.
    pub async fn cut(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
            let _ = running.await; // the listener and every connection (JoinSet) drop here
        }
    }
}

impl Client {
    /// Asserts that `reply` to a session route is the layer's answer to a store that is
    /// down (503, and no cookie, so the browser keeps its session), and that a route
    /// without a session still answers.
    pub async fn assert_store_down(&mut self, reply: &Reply) {
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
        assert_eq!(
            self.get("/health").await.status,
            StatusCode::OK,
            "routes without sessions are unaffected"
        );
    }
}

/// Copies `from` to `to`, holding bytes while the proxy is stalled.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flowing: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = from.read(&mut buffer).await?;
        flowing
            .wait_for(|flowing| *flowing)
            .await
            .map_err(std::io::Error::other)?;
        if read == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buffer[..read]).await?;
    }
}

impl Client {
    /// Sends `method path` every 100 ms until it succeeds, for up to 5 s (a store that was
    /// down and is coming back): the first successful reply, or `None`.
    pub async fn until_success(&mut self, method: Method, path: &str) -> Option<Reply> {
        for _ in 0..50 {
            let reply = self.send(method.clone(), path, "").await;
            if reply.status.is_success() {
                return Some(reply);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    }
}

/// Every value that differs from `genuine` in exactly one character.
pub fn single_character_changes(genuine: &str) -> Vec<String> {
    (0..genuine.len())
        .map(|index| {
            let mut bytes = genuine.as_bytes().to_vec();
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).expect("cookie values are ASCII")
        })
        .collect()
}

/// Asserts that `GET /session` with each value as the `id` cookie answers 200 with a fresh
/// session (default fields) and sets no cookie.
pub async fn assert_each_gives_a_fresh_session(app: &Router, values: &[String]) {
    for value in values {
        let reply = send(
            app,
            Method::GET,
            "/session",
            Some(&format!("id={value}")),
            "",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "cookie {value:?}");
        assert_eq!(
            reply.view(),
            session_examples::View {
                visits: 0,
                user: None,
                a: 0,
                b: 0,
                note_len: 0
            },
            "cookie {value:?}"
        );
        assert!(reply.set_cookies.is_empty(), "cookie {value:?}");
    }
}
