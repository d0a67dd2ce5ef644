//! What the tests of `demo` processes share: starting one, and reading its replies.
#![allow(dead_code, unreachable_pub)] // each test binary uses its own part; `pub` is for them

pub mod chromium;
pub mod tls;

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use typed_sessions_examples::View;

const SECRET: &str = "processes-test-secret-processes-test-secret-processes-test-secret!";

/// A demo process, killed on drop.
pub struct Demo {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
}

impl Demo {
    /// A demo on `store`.
    pub async fn start(store: &str) -> Self {
        Self::start_with(store, &[]).await
    }

    /// A demo on `store`, with more of its environment.
    pub async fn start_with(store: &str, env: &[(&str, &str)]) -> Self {
        let port = unused_port();
        let child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .env("SESSION_STORE", store)
            .env("SESSION_SECRET", SECRET)
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
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

/// The demo's JSON reply to `method url`, which must succeed.
pub async fn view(browser: &reqwest::Client, method: reqwest::Method, url: String) -> View {
    let response = browser.request(method, url).send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

/// A client that keeps cookies, as a browser does.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// `prefix` and a number no other call in this machine's tests returns.
pub fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}{nanos}-{next}")
}

/// A loopback port free now, for a process about to listen on it (the demo, ChromeDriver).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
