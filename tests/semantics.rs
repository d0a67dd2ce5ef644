//! Beaker's session semantics, made typed: laziness, save modes, delete, invalidate, id
//! rotation, expiry and cookie options, through the demo router.

use axum::http::StatusCode;
use std::time::Duration;
use typed_sessions::{MemoryStore, SameSite, SaveMode, SessionLayer};
use typed_sessions_tests::{Client, Counts, ProbeStore, app, key};

fn probed(configure: impl FnOnce(SessionLayer) -> SessionLayer) -> (Client, ProbeStore) {
    let store = ProbeStore::new(MemoryStore::new());
    let layer = configure(SessionLayer::new(store.clone(), &key()));
    (Client::new(app(layer)), store)
}

#[tokio::test]
async fn untouched_routes_do_no_io_and_set_no_cookie_even_with_a_garbage_cookie() {
    let (mut client, store) = probed(|layer| layer);
    client.jar.push(("id".into(), "garbage".into()));
    let reply = client.get("/health").await;
    assert_eq!(reply.body, "ok");
    assert!(reply.set_cookies.is_empty());
    assert_eq!(store.counts(), Counts::default());
}

#[tokio::test]
async fn a_new_visitor_that_only_reads_gets_defaults_no_cookie_and_no_io() {
    let (mut client, store) = probed(|layer| layer);
    let reply = client.get("/session").await;
    assert_eq!(reply.view().visits, 0);
    assert!(reply.set_cookies.is_empty());
    assert_eq!(store.counts().total(), 0);
}

#[tokio::test]
async fn a_change_creates_the_session_and_later_reads_load_it_once() {
    let (mut client, store) = probed(|layer| layer);
    let reply = client.post("/visit").await;
    assert_eq!(reply.view().visits, 1);
    let cookie = reply.set_cookie().expect("a new session sets its cookie");
    assert_eq!(cookie.name(), "id");
    assert_eq!(
        store.counts(),
        Counts {
            saves: 1,
            ..Counts::default()
        }
    );

    let reply = client.get("/session").await;
    assert_eq!(reply.view().visits, 1);
    assert!(
        reply.set_cookies.is_empty(),
        "an unchanged session sends no cookie"
    );
    assert_eq!(
        store.counts(),
        Counts {
            loads: 1,
            saves: 1,
            ..Counts::default()
        }
    );

    assert_eq!(client.post("/visit").await.view().visits, 2);
    assert_eq!(
        store.counts(),
        Counts {
            loads: 2,
            saves: 2,
            ..Counts::default()
        }
    );
}

#[tokio::test]
async fn explicit_mode_saves_only_after_save_is_called() {
    use axum::{Router, routing::post};
    use typed_sessions::Session;

    #[derive(Session, Default)]
    struct Counter {
        n: u64,
    }
    async fn bump(counter: Session<Counter>) -> String {
        counter.update_n(|n| *n += 1);
        counter.n().to_string()
    }
    async fn bump_and_save(counter: Session<Counter>) -> String {
        counter.update_n(|n| *n += 1);
        counter.save();
        counter.n().to_string()
    }
    let layer = SessionLayer::new(MemoryStore::new(), &key()).with_save_mode(SaveMode::Explicit);
    let router = Router::new()
        .route("/bump", post(bump))
        .route("/save", post(bump_and_save))
        .layer(layer);
    let mut client = Client::new(router);
    let reply = client.post("/bump").await;
    assert_eq!(reply.body, "1");
    assert!(reply.set_cookies.is_empty(), "not saved without save()");
    assert_eq!(client.post("/save").await.body, "1");
    assert_eq!(client.post("/bump").await.body, "2");
    assert_eq!(
        client.post("/save").await.body,
        "2",
        "the unsaved bump was dropped"
    );
}

#[tokio::test]
async fn auto_mode_saves_every_existing_session_that_is_accessed() {
    let (mut client, store) = probed(|layer| layer.with_save_mode(SaveMode::Auto));
    let reply = client.get("/session").await;
    assert!(
        reply.set_cookies.is_empty(),
        "reading still never creates a session"
    );
    client.post("/visit").await;
    let saves = store.counts().saves;
    client.get("/session").await;
    assert_eq!(
        store.counts().saves,
        saves + 1,
        "a read of an existing session saves it"
    );
}

#[tokio::test]
async fn delete_removes_the_record_and_expires_the_cookie() {
    let (mut client, _store) = probed(|layer| layer);
    client.post("/visit").await;
    let old = client.cookie("id").expect("cookie").to_owned();
    let reply = client.post("/logout").await;
    assert_eq!(
        reply.view().visits,
        0,
        "fields read as defaults after delete()"
    );
    let cookie = reply.set_cookie().expect("the cookie is expired");
    assert_eq!(cookie.max_age(), Some(cookie::time::Duration::ZERO));
    assert_eq!(client.cookie("id"), None);
    // The old cookie is dead even if the client keeps it.
    client.jar.push(("id".into(), old));
    assert_eq!(client.get("/session").await.view().visits, 0);
}

#[tokio::test]
async fn invalidate_starts_a_fresh_session_used_for_the_rest_of_the_request() {
    let (mut client, _store) = probed(|layer| layer);
    client.post("/visit").await;
    client.post("/visit").await;
    let old = client.cookie("id").expect("cookie").to_owned();
    let reply = client.post("/invalidate").await;
    assert_eq!(reply.view().visits, 1, "fresh session, then visits += 1");
    let new = client.cookie("id").expect("a new cookie").to_owned();
    assert_ne!(new, old);
    assert_eq!(client.get("/session").await.view().visits, 1);
    client.jar = vec![("id".into(), old)];
    assert_eq!(
        client.get("/session").await.view().visits,
        0,
        "the old id is dead"
    );
}

#[tokio::test]
async fn login_rotates_the_id_keeps_the_data_and_kills_the_old_id() {
    let (mut client, _store) = probed(|layer| layer);
    client.post("/visit").await;
    let old = client.cookie("id").expect("cookie").to_owned();
    let reply = client.post("/login/ada").await;
    assert_eq!(reply.view().user.as_deref(), Some("ada"));
    let new = client.cookie("id").expect("cookie").to_owned();
    assert_ne!(new, old);
    let view = client.get("/session").await.view();
    assert_eq!((view.visits, view.user.as_deref()), (1, Some("ada")));

    let mut attacker = client.clone();
    attacker.jar = vec![("id".into(), old)];
    let view = attacker.get("/session").await.view();
    assert_eq!(
        (view.visits, view.user),
        (0, None),
        "the pre-login id must be dead"
    );
}

#[tokio::test]
async fn login_from_a_new_visitor_creates_the_session() {
    let (mut client, _store) = probed(|layer| layer);
    assert_eq!(
        client.post("/login/bob").await.view().user.as_deref(),
        Some("bob")
    );
    assert_eq!(
        client.get("/session").await.view().user.as_deref(),
        Some("bob")
    );
}

#[tokio::test]
async fn idle_sessions_expire_on_the_server() {
    let (mut client, _store) = probed(|layer| layer.with_idle_timeout(Duration::from_millis(300)));
    client.post("/visit").await;
    assert_eq!(client.get("/session").await.view().visits, 1);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        client.get("/session").await.view().visits,
        0,
        "expired while idle"
    );
    assert_eq!(client.post("/visit").await.view().visits, 1);
    assert_ne!(client.cookie("id"), None);
}

#[tokio::test]
async fn reads_keep_a_session_alive_with_rate_limited_refreshes() {
    let (mut client, store) = probed(|layer| {
        layer
            .with_idle_timeout(Duration::from_millis(600))
            .with_refresh_interval(Duration::from_millis(150))
    });
    client.post("/visit").await;
    // Fast reads: the expiry would move by less than the refresh interval, so no write.
    client.get("/session").await;
    client.get("/session").await;
    assert_eq!(store.counts().touches, 0);
    // Reads spread over twice the idle timeout keep the session alive.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(client.get("/session").await.view().visits, 1);
    }
    let touches = store.counts().touches;
    assert!((1..=6).contains(&touches), "{touches} touches");
    assert_eq!(store.counts().saves, 1, "reads never rewrite the record");
}

#[tokio::test]
async fn the_absolute_lifetime_ends_even_an_active_session() {
    let (mut client, _store) = probed(|layer| {
        layer
            .with_idle_timeout(Duration::from_secs(60))
            .with_max_lifetime(Some(Duration::from_millis(500)))
    });
    client.post("/visit").await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(client.post("/visit").await.view().visits, 2);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(client.get("/session").await.view().visits, 0);
}

#[tokio::test]
async fn cookie_attributes_follow_the_layer() {
    let (mut client, _store) = probed(|layer| {
        layer
            .with_cookie_name("sid")
            .with_cookie_path("/app")
            .with_cookie_domain("example.test")
            .with_secure(true)
            .with_same_site(SameSite::Strict)
            .with_cookie_max_age(Some(Duration::from_secs(3600)))
    });
    let reply = client.post("/visit").await;
    let cookie = reply.set_cookie().expect("cookie");
    assert_eq!(cookie.name(), "sid");
    assert_eq!(cookie.path(), Some("/app"));
    assert_eq!(cookie.domain(), Some("example.test"));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Strict));
    assert_eq!(cookie.max_age(), Some(cookie::time::Duration::hours(1)));
    assert_eq!(
        client.post("/visit").await.view().visits,
        2,
        "the renamed cookie is read back"
    );
    // With Max-Age, a save re-sends the cookie so its age slides.
    assert!(client.post("/visit").await.set_cookie().is_some());
}

#[tokio::test]
async fn default_cookie_is_a_lax_http_only_secure_browser_session_cookie() {
    let (mut client, _store) = probed(|layer| layer);
    let reply = client.post("/visit").await;
    let cookie = reply.set_cookie().expect("cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.partitioned(), None);
    assert_eq!(cookie.max_age(), None);
    assert_eq!(cookie.path(), Some("/"));
    let (mut plain_http, _store) = probed(|layer| layer.with_secure(false));
    let reply = plain_http.post("/visit").await;
    assert_eq!(reply.set_cookie().expect("cookie").secure(), None);
}

#[tokio::test]
async fn prefixed_and_partitioned_cookies_keep_the_rules_browsers_enforce() {
    // `__Host-`: Secure, Path=/, no Domain, whatever else was set, in either order.
    let (mut client, _store) = probed(|layer| {
        layer
            .with_cookie_domain("example.test")
            .with_cookie_name("__Host-sid")
            .with_cookie_path("/app")
            .with_secure(false)
    });
    let reply = client.post("/visit").await;
    let cookie = reply.set_cookie().expect("cookie");
    assert_eq!(cookie.name(), "__Host-sid");
    assert_eq!(
        (cookie.secure(), cookie.path(), cookie.domain()),
        (Some(true), Some("/"), None)
    );
    assert_eq!(client.post("/visit").await.view().visits, 2, "read back");

    // `__Secure-`: Secure; path and domain as set.
    let (mut client, _store) = probed(|layer| {
        layer
            .with_cookie_name("__Secure-sid")
            .with_cookie_path("/app")
            .with_secure(false)
    });
    let reply = client.post("/visit").await;
    let cookie = reply.set_cookie().expect("cookie");
    assert_eq!((cookie.secure(), cookie.path()), (Some(true), Some("/app")));

    // Partitioned (CHIPS): always Secure too.
    let (mut client, _store) = probed(|layer| layer.with_partitioned(true).with_secure(false));
    let reply = client.post("/visit").await;
    let cookie = reply.set_cookie().expect("cookie");
    assert_eq!(
        (cookie.partitioned(), cookie.secure()),
        (Some(true), Some(true))
    );
}

#[tokio::test]
async fn persist_writes_before_the_handler_returns() {
    use axum::{Router, routing::post};
    use typed_sessions::Session;

    #[derive(Session, Default)]
    struct Flag {
        on: bool,
    }
    let store = ProbeStore::new(MemoryStore::new());
    let probe = store.clone();
    let router = Router::new()
        .route(
            "/",
            post(move |flag: Session<Flag>| async move {
                flag.set_on(true);
                flag.persist().await?;
                let during = probe.counts().saves;
                Ok::<_, typed_sessions::Error>(during.to_string())
            }),
        )
        .layer(SessionLayer::new(store.clone(), &key()));
    let mut client = Client::new(router);
    let reply = client.post("/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "1", "saved during the handler");
    assert!(
        reply.set_cookie().is_some(),
        "the new id still reaches the client"
    );
    assert_eq!(store.counts().saves, 1, "nothing left to save at the end");
}

#[tokio::test]
async fn the_record_is_loaded_once_however_many_extractors_ask() {
    use axum::{Router, routing::get};
    use typed_sessions::Session;

    #[derive(Session, Default)]
    struct One {
        n: u64,
    }
    #[derive(Session, Default)]
    struct Two {
        m: u64,
    }
    async fn write(one: Session<One>) {
        one.set_n(1);
    }
    async fn read(a: Session<One>, b: Session<Two>, c: Session<One>) -> String {
        format!("{}{}{}", a.n(), b.m(), c.n())
    }
    let store = ProbeStore::new(MemoryStore::new());
    let router = Router::new()
        .route("/", get(read).post(write))
        .layer(SessionLayer::new(store.clone(), &key()));
    let mut client = Client::new(router);
    client.post("/").await;
    assert_eq!(client.get("/").await.body, "101");
    assert_eq!(
        store.counts(),
        Counts {
            loads: 1,
            saves: 1,
            ..Counts::default()
        }
    );
}
