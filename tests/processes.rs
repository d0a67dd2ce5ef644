//! Two `demo` processes on different ports, sharing one Redis and then one PostgreSQL: a
//! session written through one is read through the other, and a logout through one ends it
//! for both.

use session_examples::View;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SECRET: &str = "processes-test-secret-processes-test-secret-processes-test-secret!";

/// A demo process, killed on drop.
struct Demo {
    child: Child,
    base: String,
}

impl Demo {
    async fn start(store: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .env("SESSION_STORE", store)
            .env("SESSION_SECRET", SECRET)
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the demo starts");
        let demo = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/health", demo.base)).await.is_ok() {
                return demo;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the demo on port {port} did not answer");
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn view(browser: &reqwest::Client, method: reqwest::Method, url: String) -> View {
    let response = browser.request(method, url).send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

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

#[tokio::test]
async fn two_demo_processes_share_sessions_through_postgres() {
    two_processes_share("postgres").await;
}

#[tokio::test]
async fn two_demo_processes_share_sealed_cookie_sessions_without_a_store() {
    two_processes_share("cookie").await;
}
