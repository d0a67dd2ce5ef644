//! The demo's HTML app in a real browser: headless Chromium, driven through ChromeDriver
//! (Debian's `chromium` and `chromium-driver`, which `.ci/run` installs). Log in, count a
//! visit, see each flash message once, log out; and a form posted from another origin's
//! page, which the browser sends with the session cookie, refused for its CSRF token.

mod support;

use fantoccini::{Client, Locator};
use std::time::Duration;
use support::chromium::{Driver, click, log_in, text_of};
use tokio::net::TcpListener;
use typed_sessions::{FileStore, Key, SessionLayer};

async fn serve(app: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// The page's flash message, if it shows one.
async fn flash(browser: &Client) -> Option<String> {
    let found = browser.find_all(Locator::Id("flash")).await.unwrap();
    match found.first() {
        Some(element) => Some(element.text().await.unwrap()),
        None => None,
    }
}

/// A page of another origin (same site: another port on 127.0.0.1, so the browser sends
/// the `SameSite=Lax` session cookie with its post) that posts a form to the demo.
fn attacker(target: String) -> axum::Router {
    let page = move |axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>| {
        let target = target.clone();
        async move {
            let token = query
                .iter()
                .find(|(name, _)| name == "token")
                .map_or("forged", |(_, value)| value.as_str())
                .to_owned();
            axum::response::Html(format!(
                r#"<form id="f" method="post" action="{target}/ui/visit"><input type="hidden" name="csrf_token" value="{token}"></form><script>document.getElementById("f").submit()</script>"#
            ))
        }
    };
    axum::Router::new().route("/", axum::routing::get(page))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_counts_sees_each_flash_once_and_a_forged_form_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("sessions")).unwrap();
    let layer = SessionLayer::new(store, &Key::generate()).with_secure(false);
    let demo = serve(typed_sessions_examples::app(layer)).await;
    let evil = serve(attacker(demo.clone())).await;
    let driver = Driver::start().await;
    let browser = driver.browser(&dir.path().join("profile")).await;

    log_in(&browser, &demo, "ada").await;
    assert_eq!(flash(&browser).await.as_deref(), Some("Welcome, ada!"));
    browser.refresh().await.unwrap();
    assert_eq!(text_of(&browser, "user").await, "Logged in as ada");
    assert_eq!(flash(&browser).await, None, "shown once");

    click(&browser, "visit").await;
    assert_eq!(text_of(&browser, "visits").await, "1");
    assert_eq!(flash(&browser).await.as_deref(), Some("Visit 1 counted."));

    // Another origin's page posts a form with a made-up token: refused, nothing counted.
    browser.goto(&format!("{evil}/")).await.unwrap();
    browser
        .wait()
        .for_url(&format!("{demo}/ui/visit").parse().unwrap())
        .await
        .unwrap();
    let refused = browser.source().await.unwrap();
    assert!(
        refused.contains("CSRF token missing or invalid"),
        "{refused}"
    );
    browser.goto(&demo).await.unwrap();
    assert_eq!(
        text_of(&browser, "visits").await,
        "1",
        "the forged post changed nothing"
    );

    // The same cross-origin post with the page's real token goes through: the browser did
    // send the cookie, and only the token stopped the forgery.
    let field = browser
        .find(Locator::Css("input[name=csrf_token]"))
        .await
        .unwrap();
    let real = field.attr("value").await.unwrap().unwrap();
    browser
        .goto(&format!("{evil}/?token={real}"))
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("visits"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "visits").await, "2");

    click(&browser, "logout").await;
    browser
        .wait()
        .for_element(Locator::Id("name"))
        .await
        .unwrap();
    assert_eq!(flash(&browser).await.as_deref(), Some("Logged out."));
    browser.refresh().await.unwrap();
    browser
        .wait()
        .for_element(Locator::Id("name"))
        .await
        .unwrap();
    assert_eq!(flash(&browser).await, None);
    browser.close().await.unwrap();
}

/// Waits at most 5 s until `read` gives `expected`; the last value read.
async fn eventually<F, Fut>(what: &str, expected: &str, mut read: F) -> String
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let mut last = None;
    for _ in 0..100 {
        last = read().await;
        if last.as_deref() == Some(expected) {
            return expected.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: expected {expected:?}, last {last:?}");
}

/// The text of element `id`, if the page has it.
async fn text_now(browser: &Client, id: &str) -> Option<String> {
    let element = browser.find(Locator::Id(id)).await.ok()?;
    element.text().await.ok()
}

/// The `data-state` of the page's live status.
async fn live_state(browser: &Client) -> Option<String> {
    let status = browser.find(Locator::Id("live")).await.ok()?;
    status.attr("data-state").await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_counts_over_its_socket_and_says_so_when_another_browser_logs_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("sessions")).unwrap();
    let layer = SessionLayer::new(store, &Key::generate()).with_secure(false);
    let demo = serve(typed_sessions_examples::app(layer)).await;
    let driver = Driver::start().await;
    let phone = driver.browser(&dir.path().join("phone")).await;
    let laptop = driver.browser(&dir.path().join("laptop")).await;
    phone.set_window_size(480, 900).await.unwrap();

    log_in(&phone, &demo, "grace").await;
    log_in(&laptop, &demo, "grace").await;
    click(&phone, "visit").await;
    assert_eq!(flash(&phone).await.as_deref(), Some("Visit 1 counted."));
    let devices = phone.find_all(Locator::Css("#devices li")).await.unwrap();
    assert_eq!(devices.len(), 2, "both browsers are listed");
    eventually("the socket opens", "open", || live_state(&phone)).await;
    // Counted over the socket: the counter changes without a page load.
    click_live_visit(&phone).await;
    eventually("the live count", "2", || text_now(&phone, "visits")).await;
    if let Some(path) = std::env::var_os("DEMO_SCREENSHOT") {
        std::fs::write(path, phone.screenshot().await.unwrap()).unwrap();
    }

    // The other browser logs out everywhere: this page's socket closes, and it says so.
    click(&laptop, "everywhere").await;
    assert_eq!(
        flash(&laptop).await.as_deref(),
        Some("Logged out of 2 sessions.")
    );
    eventually("the page hears", "ended", || live_state(&phone)).await;
    let said = text_now(&phone, "live").await.unwrap();
    assert!(said.contains("logged out on another device"), "{said}");
    phone.refresh().await.unwrap();
    phone.wait().for_element(Locator::Id("name")).await.unwrap();
    phone.close().await.unwrap();
    laptop.close().await.unwrap();
}

/// Clicks the button that counts a visit over the page's socket (no page load).
async fn click_live_visit(browser: &Client) {
    let button = browser.find(Locator::Id("live-visit")).await.unwrap();
    button.click().await.unwrap();
}
