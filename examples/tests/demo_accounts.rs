//! The demo's account routes, on real `demo` processes: `POST /sudo` and `POST /sensitive`
//! ("sudo mode", `DEMO_FRESH_SECS`), `POST /password` on two instances, and cookie sessions
//! revoked across instances through `SESSION_REVOCATION_STORE`.

mod support;

use reqwest::{Method, StatusCode};
use std::time::Duration;
use support::{Demo, browser, view};

async fn post(browser: &reqwest::Client, url: String) -> reqwest::Response {
    browser.post(url).send().await.expect("request")
}

/// Without an owner the three routes answer 401; after a login `POST /sensitive` answers
/// 200 until `DEMO_FRESH_SECS` have passed, then 403 with the session unchanged (no
/// `Set-Cookie`), until `POST /sudo`. On a server store and on a cookie store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_asks_for_a_fresh_login_before_a_sensitive_action() {
    for store in ["memory", "redis", "cookie"] {
        let demo = Demo::start_with(store, &[("DEMO_FRESH_SECS", "1")]).await;
        let base = &demo.base;
        let browser = browser();
        for route in ["sudo", "sensitive", "password"] {
            let reply = post(&browser, format!("{base}/{route}")).await;
            assert_eq!(reply.status(), StatusCode::UNAUTHORIZED, "{store} /{route}");
        }
        view(&browser, Method::POST, format!("{base}/login/ada")).await;
        let fresh = post(&browser, format!("{base}/sensitive")).await;
        assert_eq!(fresh.status(), StatusCode::OK, "{store}");
        assert_eq!(fresh.text().await.unwrap(), r#"{"ok":true}"#);

        tokio::time::sleep(Duration::from_millis(1200)).await;
        let before = view(&browser, Method::GET, format!("{base}/session")).await;
        let stale = post(&browser, format!("{base}/sensitive")).await;
        assert_eq!(stale.status(), StatusCode::FORBIDDEN, "{store}");
        assert!(stale.headers().get("set-cookie").is_none(), "{store}");
        let after = view(&browser, Method::GET, format!("{base}/session")).await;
        assert_eq!(before, after, "{store}: the session is unchanged");

        view(&browser, Method::POST, format!("{base}/sudo")).await;
        let again = post(&browser, format!("{base}/sensitive")).await;
        assert_eq!(again.status(), StatusCode::OK, "{store}: fresh after /sudo");
    }
    // The default: 300 s.
    let demo = Demo::start("memory").await;
    let browser = browser();
    view(&browser, Method::POST, format!("{}/login/ada", demo.base)).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let reply = post(&browser, format!("{}/sensitive", demo.base)).await;
    assert_eq!(reply.status(), StatusCode::OK);
}

/// Ada on a laptop (through one demo) and a phone (through the other): the phone changes
/// the password, and the laptop is logged out on both instances while the phone goes on
/// under a new id. Then the phone logs out everywhere, and a later login is not refused.
async fn a_change_of_password_reaches_the_other_instance(store: &str, env: &[(&str, &str)]) {
    let (one, two) = (
        Demo::start_with(store, env).await,
        Demo::start_with(store, env).await,
    );
    // A user of this run's own: other tests revoke their users in the same Redis.
    let ada = support::unique("ada-");
    let (laptop, phone) = (browser(), browser());
    view(&laptop, Method::POST, format!("{}/login/{ada}", one.base)).await;
    view(&phone, Method::POST, format!("{}/login/{ada}", two.base)).await;
    let changed = post(&phone, format!("{}/password", two.base)).await;
    assert_eq!(changed.status(), StatusCode::OK, "{store} {env:?}");
    assert!(
        changed.headers().get("set-cookie").is_some(),
        "{store} {env:?}: a new id"
    );
    for demo in [&one, &two] {
        let seen = view(&laptop, Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(seen.user, None, "{store} {env:?}: the laptop is out");
    }
    let seen = view(&phone, Method::GET, format!("{}/session", one.base)).await;
    assert_eq!(seen.user.as_deref(), Some(ada.as_str()), "{store} {env:?}");

    view(
        &phone,
        Method::POST,
        format!("{}/logout-everywhere", one.base),
    )
    .await;
    for demo in [&one, &two] {
        let seen = view(&laptop, Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(seen.user, None, "{store} {env:?}: out everywhere");
    }
    view(&laptop, Method::POST, format!("{}/login/{ada}", two.base)).await;
    let seen = view(&laptop, Method::GET, format!("{}/session", one.base)).await;
    assert_eq!(
        seen.user.as_deref(),
        Some(ada.as_str()),
        "{store} {env:?}: a later login"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_password_reaches_every_instance_through_a_shared_store() {
    a_change_of_password_reaches_the_other_instance("redis", &[]).await;
    a_change_of_password_reaches_the_other_instance("postgres", &[]).await;
}

/// Cookie sessions on two instances, their revocations in a shared Redis or PostgreSQL
/// (`SESSION_REVOCATION_STORE`): what one instance revokes, the other refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_are_revoked_across_instances_through_a_shared_revocation_store() {
    for revocations in ["redis", "postgres"] {
        let env = [("SESSION_REVOCATION_STORE", revocations)];
        a_change_of_password_reaches_the_other_instance("cookie", &env).await;
        a_change_of_password_reaches_the_other_instance("signed-cookie", &env).await;
    }
}

/// `DEMO_MAX_SESSIONS=N`: 8 parallel logins of one user through two demos sharing a store
/// leave exactly N live sessions, on every server store two processes can share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_logins_leave_exactly_demo_max_sessions() {
    for store in ["redis", "postgres"] {
        let env = [("DEMO_MAX_SESSIONS", "3")];
        let (one, two) = (
            Demo::start_with(store, &env).await,
            Demo::start_with(store, &env).await,
        );
        let user = support::unique("ada-");
        let browsers: Vec<_> = (0..8).map(|_| browser()).collect();
        let mut logins = tokio::task::JoinSet::new();
        for (n, browser) in browsers.iter().enumerate() {
            let base = if n % 2 == 0 { &one.base } else { &two.base };
            let (browser, url) = (browser.clone(), format!("{base}/login/{user}"));
            logins.spawn(async move { post(&browser, url).await.status() });
        }
        for status in logins.join_all().await {
            assert_eq!(status, StatusCode::OK, "{store}");
        }
        let mut listed = None;
        for browser in &browsers {
            let reply = browser
                .get(format!("{}/sessions", one.base))
                .send()
                .await
                .unwrap();
            if reply.status() == StatusCode::OK {
                let devices: Vec<serde_json::Value> = reply.json().await.unwrap();
                listed = Some(devices.len());
            }
        }
        assert_eq!(listed, Some(3), "{store}: exactly 3 left");
        let in_count = {
            let mut live = 0;
            for browser in &browsers {
                let seen = view(browser, Method::GET, format!("{}/session", two.base)).await;
                live += usize::from(seen.user.is_some());
            }
            live
        };
        assert_eq!(in_count, 3, "{store}: 3 browsers still logged in");
    }
}

/// `SESSION_ROTATE_SECS=1`, `SESSION_ROTATE_GRACE_MS=500`: after a second the session moves
/// to a new id (a new `Set-Cookie`, the visits kept); the old id still works for half a
/// second, and sent after that it ends the session under both ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_rotates_ids_and_ends_a_session_whose_old_id_is_replayed() {
    let env = [
        ("SESSION_ROTATE_SECS", "1"),
        ("SESSION_ROTATE_GRACE_MS", "500"),
    ];
    let demo = Demo::start_with("memory", &env).await;
    let visit = |cookie: Option<String>| {
        let url = format!("{}/visit", demo.base);
        async move {
            let client = reqwest::Client::new();
            let mut request = client.post(url);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let reply = request.send().await.unwrap();
            let renewed = reply.headers().get("set-cookie").map(|value| {
                value
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_owned()
            });
            let seen: typed_sessions_examples::View = reply.json().await.unwrap();
            (seen.visits, renewed)
        }
    };
    let (_, first) = visit(None).await;
    let first = first.expect("a cookie");
    assert_eq!(visit(Some(first.clone())).await, (2, None));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (visits, second) = visit(Some(first.clone())).await;
    let second = second.expect("a new id after a second");
    assert_eq!(visits, 3);
    let (visits, handed) = visit(Some(first.clone())).await;
    assert_eq!(
        (visits, handed.as_deref()),
        (4, Some(second.as_str())),
        "within the grace"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        visit(Some(first)).await.0,
        1,
        "the replayed id gets a fresh session"
    );
    assert_eq!(
        visit(Some(second)).await.0,
        1,
        "and the current id is ended too"
    );
}

/// The demo's device list names each login's browser from its `User-Agent`, and the
/// log-out routes say how many sessions they ended (`null` on a cookie store, which cannot
/// count them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_are_labelled_and_log_outs_say_how_many_ended() {
    for (store, ended) in [
        ("memory", serde_json::json!(1)),
        ("cookie", serde_json::Value::Null),
    ] {
        let demo = Demo::start(store).await;
        let base = &demo.base;
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
        let (laptop, phone) = (browser(), browser());
        for (client, agent) in [(&laptop, firefox), (&phone, "curl/8.5.0")] {
            let reply = client
                .post(format!("{base}/login/grace"))
                .header("user-agent", agent)
                .send()
                .await
                .unwrap();
            assert!(reply.status().is_success(), "{store}");
        }
        let devices: Vec<serde_json::Value> = laptop
            .get(format!("{base}/sessions"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mine = devices
            .iter()
            .find(|device| device["current"] == true)
            .unwrap();
        assert_eq!(mine["label"], "Firefox on Linux", "{store}: {devices:?}");
        if store == "memory" {
            let labels: Vec<&str> = devices.iter().filter_map(|d| d["label"].as_str()).collect();
            assert!(labels.contains(&"curl"), "{labels:?}");
        }
        let reply = post(&laptop, format!("{base}/logout-others")).await;
        assert_eq!(reply.status(), StatusCode::OK, "{store}");
        let json: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(json["ended"], ended, "{store}: {json}");
        assert_eq!(json["user"], "grace", "{store}: the session JSON as before");
    }
}
