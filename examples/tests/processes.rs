//! Two `demo` processes on different ports, sharing one Redis (a server, a Cluster, a
//! Sentinel set-up) or one PostgreSQL: a
//! session written through one is read through the other, and a logout through one ends it
//! for both.

mod support;

use std::process::Command;
use std::time::Duration;
use support::{Demo, view};
use typed_sessions_examples::View;

async fn two_processes_share(store: &str) {
    let (one, two) = (Demo::start(store).await, Demo::start(store).await);
    // Cookies are per host, not per port: one browser talks to both instances.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let post = reqwest::Method::POST;
    view(&browser, post.clone(), format!("{}/login/ada", one.base)).await;
    let through_two = view(&browser, post.clone(), format!("{}/visit", two.base)).await;
    assert_eq!(
        (through_two.visits, through_two.user.as_deref()),
        (1, Some("ada")),
        "{store}"
    );
    let back_on_one = view(
        &browser,
        reqwest::Method::GET,
        format!("{}/session", one.base),
    )
    .await;
    assert_eq!(back_on_one.visits, 1, "{store}");
    view(&browser, post, format!("{}/logout", two.base)).await;
    let after = view(
        &browser,
        reqwest::Method::GET,
        format!("{}/session", one.base),
    )
    .await;
    assert_eq!(
        (after.visits, after.user),
        (0, None),
        "{store}: a logout through one ends it for both"
    );
}

#[tokio::test]
async fn two_demo_processes_share_sessions_through_redis() {
    two_processes_share("redis").await;
}

/// Runs `scripts/<name> start`: the Redis Cluster (7001-7006) or the Sentinel set-up
/// (sentinels on 26379-26381), unless it is up.
fn start(name: &str) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scripts/{name}"));
    let started = std::process::Command::new(script)
        .arg("start")
        .status()
        .unwrap_or_else(|e| panic!("scripts/{name} runs: {e}"));
    assert!(started.success(), "scripts/{name} start failed");
}

#[tokio::test]
async fn two_demo_processes_share_sessions_through_a_redis_cluster() {
    start("redis-cluster");
    two_processes_share("redis-cluster").await;
    a_hot_session_across_two_processes("redis-cluster", 8, 25).await;
}

#[tokio::test]
async fn two_demo_processes_share_sessions_through_redis_sentinel() {
    start("redis-sentinel");
    two_processes_share("redis-sentinel").await;
    a_hot_session_across_two_processes("redis-sentinel", 8, 25).await;
}

#[tokio::test]
async fn two_demo_processes_share_sessions_through_postgres() {
    two_processes_share("postgres").await;
}

/// One session written by `clients` connections at once, half through each of two demo
/// processes, `each` `POST /visit` per connection: every answer 2xx (no 503 from lost
/// races), and the session counts every one.
async fn a_hot_session_across_two_processes(store: &str, clients: usize, each: usize) {
    let (one, two) = (Demo::start(store).await, Demo::start(store).await);
    let first = reqwest::Client::new()
        .post(format!("{}/visit", one.base))
        .send()
        .await
        .expect("request");
    let cookie = first.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let base = if client % 2 == 0 {
            &one.base
        } else {
            &two.base
        };
        let (url, cookie) = (format!("{base}/visit"), cookie.clone());
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            for _ in 0..each {
                let reply = http
                    .post(&url)
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .expect("request");
                assert!(reply.status().is_success(), "{url}: {}", reply.status());
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a client panicked");
    }
    let end = reqwest::Client::new()
        .get(format!("{}/session", two.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    let end: View = end.json().await.expect("json");
    assert_eq!(
        end.visits,
        1 + (clients * each) as u64,
        "{store}: updates lost"
    );
}

#[tokio::test]
async fn a_hot_session_across_two_processes_loses_nothing_through_redis() {
    a_hot_session_across_two_processes("redis", 8, 25).await;
}

#[tokio::test]
async fn a_hot_session_across_two_processes_loses_nothing_through_postgres() {
    a_hot_session_across_two_processes("postgres", 8, 25).await;
}

#[tokio::test]
async fn two_demo_processes_share_sealed_cookie_sessions_without_a_store() {
    two_processes_share("cookie").await;
}

/// The demo process's resident memory, from `/proc/PID/status`.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What one client did to its session, to check against the server's view at the end.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Tally {
    visits: u64,
    a: u64,
    b: u64,
    errors: u64,
}

/// One phase: every client runs its mix of requests until `seconds` pass.
async fn phase(base: &str, clients: &[reqwest::Client], tallies: &mut [Tally], seconds: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = clients
        .iter()
        .zip(tallies.iter().copied())
        .enumerate()
        .map(|(n, (client, mut tally))| {
            let (client, base) = (client.clone(), base.to_owned());
            tokio::spawn(async move {
                let mut step = n as u64;
                while tokio::time::Instant::now() < deadline {
                    step = step.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let (method, path) = match (step >> 60) % 4 {
                        0 => (reqwest::Method::POST, "/visit"),
                        1 => (reqwest::Method::POST, "/inc/a"),
                        2 => (reqwest::Method::POST, "/inc/b"),
                        _ => (reqwest::Method::GET, "/session"),
                    };
                    match client.request(method, format!("{base}{path}")).send().await {
                        Ok(response) if response.status().is_success() => match path {
                            "/visit" => tally.visits += 1,
                            "/inc/a" => tally.a += 1,
                            "/inc/b" => tally.b += 1,
                            _ => {}
                        },
                        _ => tally.errors += 1,
                    }
                }
                tally
            })
        })
        .collect();
    for (slot, task) in tallies.iter_mut().zip(tasks) {
        *slot = task.await.expect("client task");
    }
}

/// A bounded load test of one demo process: `LOAD_SECONDS` (default 3) per phase, two
/// phases, `LOAD_CONNECTIONS` clients (default 48), each with its own session and cookie
/// jar. Zero errors, every session ends as its client left it, and resident memory after the
/// second phase is within 10% (plus 2 MiB) of after the first: no leak.
async fn load(store: &str) {
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let connections: usize = std::env::var("LOAD_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(48);
    let dir = std::env::temp_dir().join(format!("session-load-{}-{store}", std::process::id()));
    let demo = Demo::start_with(store, &[("SESSION_DIR", dir.to_str().unwrap())]).await;
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap()
        })
        .collect();
    let mut tallies = vec![Tally::default(); connections];
    phase(&demo.base, &clients, &mut tallies, seconds).await;
    let after_first = resident_kib(demo.child.id());
    phase(&demo.base, &clients, &mut tallies, seconds).await;
    let after_second = resident_kib(demo.child.id());

    let requests: u64 = tallies.iter().map(|t| t.visits + t.a + t.b).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    assert_eq!(errors, 0, "{store}: errors under load");
    for (client, tally) in clients.iter().zip(&tallies) {
        let view = view(
            client,
            reqwest::Method::GET,
            format!("{}/session", demo.base),
        )
        .await;
        assert_eq!(
            (view.visits, view.a, view.b),
            (tally.visits, tally.a, tally.b),
            "{store}: a session's final state"
        );
    }
    assert!(
        after_second <= after_first + after_first / 10 + 2048,
        "{store}: resident memory grew from {after_first} KiB to {after_second} KiB"
    );
    println!(
        "load {store}: {connections} clients, 2 x {seconds} s, {requests} writes ok, 0 errors, RSS {after_first} -> {after_second} KiB"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_on_memory_file_cookie_and_redis_stores() {
    for store in ["memory", "file", "cookie", "redis"] {
        load(store).await;
    }
}

/// `DEMO_METRICS=1`: `GET /metrics` shows what the session routes did, in the Prometheus
/// format, without a session of its own and without a session id; off, there is no route.
#[tokio::test]
async fn the_demo_serves_its_metrics_when_asked_and_metrics_never_touch_the_session() {
    let demo = Demo::start_with("memory", &[("DEMO_METRICS", "1")]).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    view(
        &browser,
        reqwest::Method::POST,
        format!("{}/visit", demo.base),
    )
    .await;
    view(
        &browser,
        reqwest::Method::GET,
        format!("{}/session", demo.base),
    )
    .await;
    let plain = reqwest::Client::new();
    let response = plain
        .get(format!("{}/metrics", demo.base))
        .header("cookie", "id=not-a-session")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none());
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"session_creates_total{store="memory"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"session_loads_total{store="memory",outcome="hit"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("rejected"),
        "/metrics never reads the cookie it was sent: {text}"
    );
    assert!(
        text.contains("session_store_call_duration_seconds"),
        "{text}"
    );

    let off = Demo::start("memory").await;
    let response = reqwest::get(format!("{}/metrics", off.base)).await.unwrap();
    assert_eq!(response.status(), 404);
}

/// A login whose user is not an owner (a control character) is answered 400 and changes
/// nothing; one whose user is markup is shown escaped on the HTML page. On every store the
/// demo runs on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_refuses_control_characters_in_owners_and_escapes_user_names() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("demo.db").display());
    let files = dir.path().join("files");
    let stores: [(&str, Vec<(&str, &str)>); 6] = [
        ("memory", vec![]),
        ("file", vec![("SESSION_DIR", files.to_str().unwrap())]),
        ("sqlite", vec![("SQLITE_URL", sqlite.as_str())]),
        ("redis", vec![]),
        ("postgres", vec![]),
        ("cookie", vec![]),
    ];
    for (store, env) in stores {
        let demo = Demo::start_with(store, &env).await;
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        for bad in ["a%00b", "tab%09", "esc%1B%5B31m"] {
            let reply = browser
                .post(format!("{}/login/{bad}", demo.base))
                .send()
                .await
                .unwrap();
            assert_eq!(
                reply.status(),
                reqwest::StatusCode::BAD_REQUEST,
                "{store} {bad}"
            );
        }
        let script = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
        let login = browser
            .post(format!("{}/login/{script}", demo.base))
            .send()
            .await
            .unwrap();
        assert!(login.status().is_success(), "{store}: {}", login.status());
        let page = browser.get(format!("{}/", demo.base)).send().await.unwrap();
        let page = page.text().await.unwrap();
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{store}: {page}"
        );
        assert!(!page.contains("<script>"), "{store}: markup injected");
    }
}

/// `POST /remember?days=N` keeps a session at most `DEMO_REMEMBER_MAX_DAYS` (default 90):
/// the cookie's `Max-Age` says so.
#[tokio::test]
async fn the_demo_caps_remember_me() {
    for (env, days) in [(None, 90), (Some("2"), 2)] {
        let env: Vec<_> = env
            .map(|days| ("DEMO_REMEMBER_MAX_DAYS", days))
            .into_iter()
            .collect();
        let demo = Demo::start_with("memory", &env).await;
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        browser
            .post(format!("{}/login/ada", demo.base))
            .send()
            .await
            .unwrap();
        let reply = browser
            .post(format!("{}/remember?days=365", demo.base))
            .send()
            .await
            .unwrap();
        let set_cookie = reply.headers()["set-cookie"].to_str().unwrap().to_owned();
        let max_age = format!("Max-Age={}", days * 24 * 60 * 60);
        assert!(set_cookie.contains(&max_age), "{days} days: {set_cookie}");
    }
}

/// SIGTERM (what `kill`, systemd and container runtimes send): the demo stops accepting,
/// answers the request in flight with its session saved, and exits 0 well within 10 s. A
/// new demo on the same directory finds the save.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_drains_its_requests_on_sigterm_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("SESSION_DIR", dir.path().to_str().unwrap())];
    let mut demo = Demo::start_with("file", &env).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let visit = view(
        &browser,
        reqwest::Method::POST,
        format!("{}/visit", demo.base),
    )
    .await;
    assert_eq!(visit.visits, 1);
    let slow = tokio::spawn({
        let (browser, base) = (browser.clone(), demo.base.clone());
        async move {
            view(
                &browser,
                reqwest::Method::POST,
                format!("{base}/inc/a?delay_ms=1500"),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = demo.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let answered = slow.await.expect("the request in flight is answered");
    assert_eq!(answered.a, 1);
    let status = loop {
        if let Some(status) = demo.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit: {status}");

    let again = Demo::start_with("file", &env).await;
    let after = view(
        &browser,
        reqwest::Method::GET,
        format!("{}/session", again.base),
    )
    .await;
    assert_eq!(
        (after.visits, after.a),
        (1, 1),
        "the drained request's save landed"
    );
}
