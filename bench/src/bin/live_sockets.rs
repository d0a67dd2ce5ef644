//! The live-session bench: what idle WebSockets on live sessions cost, and how fast an
//! ending on one instance reaches them on another.
//!
//! `cargo run --release -p typed-sessions-bench --bin live_sockets -- redis 10000` (or
//! `postgres`): starts two server processes (this binary with `serve`) sharing the store,
//! logs one user in N times on the first and opens a WebSocket on each session there, then
//! logs the user out everywhere through the second, and prints one JSON line:
//!
//! - `heap_bytes_per_live_session`: the library's own cost, measured in this process with a
//!   counting allocator: N live sessions extracted and held, without sockets;
//! - `rss_bytes_per_socket`: the first server's resident memory per open socket, the whole
//!   stack (TCP, WebSocket, task, live session);
//! - `store_connections_added`: connections the first server opened to the store for its
//!   N sockets (a shared subscription: 1);
//! - `close_ms_p50`, `close_ms_max`: from the log-out-everywhere request on the second
//!   server to each socket's close frame (4401) on the first.
//!
//! `SERVER_CPUS=0 taskset -c 1 ...` keeps the servers and this client on different cores.

use axum::Router;
use axum::extract::Path;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::StreamExt;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use typed_sessions::live::LiveSession;
use typed_sessions::{Key, PostgresStore, RedisStore, Session, SessionLayer, Store};
use typed_sessions_bench::{database_url, redis_url};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const SECRET: [u8; 64] = [0x4c; 64];

#[derive(Session, Default)]
struct Live {
    visits: u64,
}

/// The store both servers share: Redis under `prefix`, or PostgreSQL in the table `prefix`.
async fn store(kind: &str, prefix: &str) -> Arc<dyn Store> {
    match kind {
        "redis" => Arc::new(
            RedisStore::connect(&redis_url())
                .await
                .expect("a Redis URL")
                .with_prefix(format!("{prefix}:")),
        ),
        "postgres" => {
            let store = PostgresStore::connect(&database_url())
                .await
                .expect("a PostgreSQL URL")
                .with_table(Some("public"), prefix)
                .expect("a table name");
            store.migrate().await.expect("migrate");
            Arc::new(store)
        }
        other => panic!("{other}: expected redis or postgres"),
    }
}

fn app(layer: SessionLayer) -> Router {
    async fn login(session: Session<Live>, Path(user): Path<String>) {
        session.bind_owner(user).expect("a valid owner");
    }
    async fn everywhere(session: Session<Live>) -> String {
        let ended = session.log_out_everywhere().await.expect("revoked");
        format!("{ended:?}")
    }
    async fn live(session: LiveSession<Live>, upgrade: WebSocketUpgrade) -> Response {
        upgrade.on_upgrade(move |mut socket| async move {
            session.ended().await;
            let close = CloseFrame {
                code: 4401,
                reason: "session ended".into(),
            };
            let _ = socket.send(Message::Close(Some(close))).await;
        })
    }
    async fn rss() -> String {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            });
        (kb.unwrap_or(0) * 1024).to_string()
    }
    Router::new()
        .route("/login/{user}", post(login))
        .route("/logout-everywhere", post(everywhere))
        .route("/live", get(live))
        .layer(layer)
        .route("/rss", get(rss))
}

/// `serve KIND PREFIX PORT`: one server instance.
async fn serve(kind: &str, prefix: &str, port: &str) {
    let key = Key::from_secret(&SECRET).expect("64 bytes");
    let layer = SessionLayer::new(store(kind, prefix).await, &key).with_secure(false);
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("a free port");
    axum::serve(listener, app(layer)).await.expect("served");
}

/// A server process, killed on drop.
struct Server(Child, String);

impl Server {
    async fn start(kind: &str, prefix: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let this = std::env::current_exe().expect("this binary");
        // `SERVER_CPUS=0`: the servers on core 0 (run this one with `taskset -c 1`).
        let mut command = match std::env::var("SERVER_CPUS") {
            Ok(cpus) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", &cpus]).arg(this);
                taskset
            }
            Err(_) => Command::new(this),
        };
        let child = command
            .args(["serve", kind, prefix, &port.to_string()])
            .spawn()
            .expect("the server starts");
        let server = Self(child, format!("127.0.0.1:{port}"));
        for _ in 0..100 {
            if reqwest::get(format!("http://{}/rss", server.1))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server on {port} did not start");
    }

    async fn rss(&self) -> u64 {
        let reply = reqwest::get(format!("http://{}/rss", self.1))
            .await
            .expect("rss");
        reply.text().await.expect("text").parse().expect("a number")
    }
}

/// `POST /login/bench` on the server at `address`: the session cookie.
async fn login(client: &reqwest::Client, address: &str) -> String {
    let reply = client
        .post(format!("http://{address}/login/bench"))
        .send()
        .await
        .expect("login");
    let cookie = reply.headers().get("set-cookie").expect("a cookie");
    cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connections open to the store, as the store counts them.
async fn store_connections(kind: &str) -> u64 {
    if kind == "redis" {
        let client = redis::Client::open(redis_url()).expect("a Redis URL");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut connection)
            .await
            .expect("CLIENT LIST");
        list.lines().count() as u64
    } else {
        let pool = sqlx::PgPool::connect(&database_url())
            .await
            .expect("postgres");
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_stat_activity")
            .fetch_one(&pool)
            .await
            .expect("pg_stat_activity");
        pool.close().await;
        u64::try_from(count).unwrap_or(0)
    }
}

/// The heap bytes each held live session costs in this process, without sockets.
async fn heap_per_live_session(kind: &str, prefix: &str, count: usize) -> u64 {
    use tower::ServiceExt;
    let key = Key::from_secret(&SECRET).expect("64 bytes");
    let layer = SessionLayer::new(store(kind, prefix).await, &key).with_secure(false);
    let (sender, mut handles) = tokio::sync::mpsc::unbounded_channel::<LiveSession<Live>>();
    async fn hold(
        axum::Extension(sender): axum::Extension<
            tokio::sync::mpsc::UnboundedSender<LiveSession<Live>>,
        >,
        session: LiveSession<Live>,
    ) {
        let _ = sender.send(session);
    }
    let router = app(layer.clone())
        .merge(Router::new().route("/hold", get(hold)).layer(layer))
        .layer(axum::Extension(sender));
    let login = axum::http::Request::post("/login/heap").body(axum::body::Body::empty());
    let reply = router.clone().oneshot(login.unwrap()).await.expect("login");
    let cookie = reply.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let request = || {
        axum::http::Request::get("/hold")
            .header("cookie", &cookie)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    // One first, so that the process's subscription is counted out.
    router.clone().oneshot(request()).await.expect("live");
    let first = handles.recv().await;
    let region = Region::new(GLOBAL);
    let mut held = Vec::with_capacity(count);
    let before = region.change();
    for _ in 0..count {
        router.clone().oneshot(request()).await.expect("live");
        held.push(handles.recv().await.expect("a live session"));
    }
    let after = region.change();
    let live = (after.bytes_allocated - after.bytes_deallocated)
        .saturating_sub(before.bytes_allocated - before.bytes_deallocated);
    drop((first, held));
    (live / count.max(1)) as u64
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(&args[1], &args[2], &args[3]).await;
    }
    let kind = args.first().map_or("redis", String::as_str).to_owned();
    let count: usize = args
        .get(1)
        .map_or(10_000, |n| n.parse().expect("a number of sockets"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let prefix = format!("live_bench_{nanos}");
    let heap = heap_per_live_session(&kind, &prefix, count.min(10_000)).await;

    let (one, two) = (
        Server::start(&kind, &prefix).await,
        Server::start(&kind, &prefix).await,
    );
    let client = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(64));
    let mut logins = Vec::with_capacity(count);
    for _ in 0..count {
        let (client, gate, base) = (client.clone(), Arc::clone(&gate), one.1.clone());
        logins.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            login(&client, &base).await
        }));
    }
    let mut cookies = Vec::with_capacity(count);
    for login in logins {
        cookies.push(login.await.expect("logged in"));
    }
    let (rss_before, connections_before) = (one.rss().await, store_connections(&kind).await);
    let (opened, mut closed) = (Arc::new(Semaphore::new(0)), Vec::with_capacity(count));
    let url = format!("ws://{}/live", one.1);
    for cookie in cookies {
        let (url, opened, gate) = (url.clone(), Arc::clone(&opened), Arc::clone(&gate));
        closed.push(tokio::spawn(async move {
            let mut request = url.into_client_request().expect("a URL");
            request
                .headers_mut()
                .insert("cookie", cookie.parse().expect("a header"));
            let socket = {
                let _permit = gate.acquire().await;
                tokio_tungstenite::connect_async(request)
                    .await
                    .expect("upgraded")
                    .0
            };
            opened.add_permits(1);
            let (_, mut incoming) = socket.split();
            while let Some(Ok(message)) = incoming.next().await {
                if let tokio_tungstenite::tungstenite::Message::Close(Some(frame)) = message {
                    assert_eq!(u16::from(frame.code), 4401);
                    return Instant::now();
                }
            }
            panic!("the socket ended without a close frame");
        }));
    }
    let _all = opened
        .acquire_many(u32::try_from(count).unwrap())
        .await
        .expect("opened");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_after, connections_after) = (one.rss().await, store_connections(&kind).await);

    let other = login(&client, &two.1).await;
    let start = Instant::now();
    let reply = client
        .post(format!("http://{}/logout-everywhere", two.1))
        .header("cookie", other)
        .send()
        .await
        .expect("logged out everywhere");
    assert!(reply.status().is_success());
    let mut close_ms = Vec::with_capacity(count);
    for socket in closed {
        let at = tokio::time::timeout(Duration::from_secs(30), socket)
            .await
            .expect("closed within 30 s")
            .expect("a close frame");
        close_ms.push(at.duration_since(start).as_secs_f64() * 1000.0);
    }
    close_ms.sort_by(f64::total_cmp);
    println!(
        "{{\"store\":\"{kind}\",\"sockets\":{count},\"heap_bytes_per_live_session\":{heap},\"rss_bytes_per_socket\":{},\"store_connections_added\":{},\"close_ms_p50\":{:.1},\"close_ms_max\":{:.1}}}",
        rss_after.saturating_sub(rss_before) / count as u64,
        i64::try_from(connections_after).unwrap() - i64::try_from(connections_before).unwrap(),
        close_ms[close_ms.len() / 2],
        close_ms[close_ms.len() - 1],
    );
}
