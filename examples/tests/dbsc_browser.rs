//! Device-bound sessions with a real browser: headless Chromium (Debian's, 156 when this
//! was written) with DBSC on and its software key provider (a TPM stands in on real
//! devices), against the demo (`DEMO_DBSC=1`) behind HTTPS. Chromium registers on login,
//! signing with a key the page cannot read, and when the bound cookie is gone it holds the
//! next request back, refreshes with a signed proof, and sends the request with the new
//! cookie.

mod support;

use fantoccini::Client;
use std::time::Duration;
use support::Demo;
use support::chromium::{Driver, log_in, text_of};
use support::tls::TlsProxy;

/// What turns DBSC on in Chromium 156 without an origin trial token or a TPM.
const DBSC_FEATURES: &str = "--enable-features=DeviceBoundSessions:RequireOriginTrialTokens/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting";
const BOUND: &str = "__Host-bound";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_binds_the_session_and_refreshes_the_bound_cookie_with_its_key() {
    let demo = Demo::start_with("memory", &[("DEMO_DBSC", "1"), ("SESSION_SECURE", "1")]).await;
    let proxy = TlsProxy::start(demo.base.trim_start_matches("http://").to_owned()).await;
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let switches = [
        DBSC_FEATURES.to_owned(),
        format!(
            "--ignore-certificate-errors-spki-list={}",
            proxy.spki_sha256
        ),
    ];
    let browser = driver
        .browser_with(&dir.path().join("profile"), &switches)
        .await;

    log_in(&browser, &proxy.base, "ada").await;
    // Chromium registers after the login's response, in the background.
    wait_until_bound(&browser).await;
    let first = bound_cookie(&browser).await.expect("the bound cookie");

    // Past the registration grace (10 s), a request without a bound cookie is refused.
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    // The bound cookie is gone, as when it expires: the next request waits for a refresh
    // that only this browser's key can sign, then goes out with a new bound cookie. Without
    // one, the demo would answer 401 and the page would not show the user.
    browser.delete_cookie(BOUND).await.unwrap();
    assert_eq!(bound_cookie(&browser).await, None);
    browser.goto(&proxy.base).await.unwrap();
    assert_eq!(text_of(&browser, "user").await, "Logged in as ada");
    assert!(text_of(&browser, "device-bound").await.starts_with("Bound"));
    let second = bound_cookie(&browser)
        .await
        .expect("a refreshed bound cookie");
    assert_ne!(first, second, "a new bound cookie");
    browser.close().await.unwrap();
}

/// Reloads until the page says the session is device-bound: at most 10 s.
async fn wait_until_bound(browser: &Client) {
    for _ in 0..40 {
        if text_of(browser, "device-bound").await.starts_with("Bound") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        browser.refresh().await.unwrap();
    }
    panic!("Chromium did not register the session within 10 s");
}

async fn bound_cookie(browser: &Client) -> Option<String> {
    let cookie = browser.get_named_cookie(BOUND).await.ok()?;
    Some(cookie.value().to_owned())
}
