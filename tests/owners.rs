//! Sessions bound to an owner: bound on login (what an owner may be), listed across two
//! instances on every store, with their last use, and binding's cost on Redis.

use axum::Router;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use axum::routing::post;
use std::time::Duration;
use typed_sessions::{CookieBackend, FileStore, MemoryStore, Session, SessionLayer};
use typed_sessions_tests::*;

/// Ada on two devices (one per instance) and Bob on a third: listing, log out other
/// devices, revoking one, log out everywhere. `listing`: the backend lists every session
/// (a server store), not only the current one (a cookie store).
async fn devices(one: Router, two: Router, listing: bool) {
    let (mut laptop, mut phone, mut bob) = (
        Client::new(one.clone()),
        Client::new(two.clone()),
        Client::new(one.clone()),
    );
    assert_eq!(laptop.get("/sessions").await.body, "", "no owner, no list");
    assert_eq!(laptop.post("/login/ada").await.body, "ada");
    assert_eq!(phone.post("/login/ada").await.body, "ada");
    assert_eq!(bob.post("/login/bob").await.body, "bob");
    let laptop_list = listed(&mut laptop).await;
    let phone_list = listed(&mut phone).await;
    if listing {
        assert_eq!(laptop_list.len(), 2, "{laptop_list:?}");
        assert_eq!(
            laptop_list.iter().filter(|(_, current)| *current).count(),
            1
        );
        let mut same: Vec<_> = phone_list.iter().map(|(f, _)| f).collect();
        same.sort();
        let mut theirs: Vec<_> = laptop_list.iter().map(|(f, _)| f).collect();
        theirs.sort();
        assert_eq!(same, theirs, "both instances list the same sessions");
        assert_eq!(listed(&mut bob).await.len(), 1, "Bob's own only");
    } else {
        assert_eq!(laptop_list.len(), 1, "a cookie store lists this session");
    }
    assert!(laptop_list[0].1 || listing);

    // Log out other devices, from the laptop: the phone is out, on its own instance.
    let phone_cookie = phone.cookie_header().expect("a cookie");
    laptop.post("/logout-others").await;
    assert_eq!(
        me(&two, &phone_cookie).await,
        "- 0",
        "the phone is logged out"
    );
    assert_eq!(me(&one, &phone_cookie).await, "- 0");
    assert_eq!(laptop.get("/me").await.body, "ada 1", "the laptop stays");
    assert_eq!(bob.get("/me").await.body, "bob 1", "Bob is untouched");

    if listing {
        // Revoke one: the phone logs in again, and the laptop revokes it by fingerprint.
        phone.jar.clear();
        phone.post("/login/ada").await;
        let list = listed(&mut laptop).await;
        let (other, _) = list
            .iter()
            .find(|(_, current)| !current)
            .expect("the phone");
        let bobs = listed(&mut bob).await[0].0.clone();
        assert_eq!(laptop.post(&format!("/revoke/{bobs}")).await.body, "false");
        assert_eq!(bob.get("/me").await.body, "bob 1", "not Ada's to revoke");
        assert_eq!(laptop.post(&format!("/revoke/{other}")).await.body, "true");
        assert_eq!(phone.get("/me").await.body, "- 0", "revoked");
        assert_eq!(listed(&mut laptop).await.len(), 1);
    }

    // Log out everywhere, from the phone: every device of Ada's is out, Bob is not.
    phone.jar.clear();
    phone.post("/login/ada").await;
    let (laptop_cookie, phone_cookie) = (
        laptop.cookie_header().expect("a cookie"),
        phone.cookie_header().expect("a cookie"),
    );
    let reply = phone.post("/logout-everywhere").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for app in [&one, &two] {
        assert_eq!(me(app, &laptop_cookie).await, "- 0", "the laptop is out");
        assert_eq!(
            me(app, &phone_cookie).await,
            "- 0",
            "an old cookie, sent again"
        );
    }
    assert_eq!(phone.get("/me").await.body, "- 0");
    assert_eq!(bob.get("/me").await.body, "bob 1", "Bob is untouched");
    assert_eq!(bob.post("/logout-others").await.status, StatusCode::OK);
    assert_eq!(bob.get("/me").await.body, "bob 1");

    // A login that logs out the other devices at once, from a session of the same owner
    // (its move to a new id is pending): the others are out, this one is in.
    let (mut laptop, mut phone) = (Client::new(one.clone()), Client::new(two.clone()));
    laptop.post("/login/ada").await;
    phone.post("/login/ada").await;
    let reply = phone.post("/login-only-here/ada").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.set_cookie().is_some(), "a new id");
    assert_eq!(phone.get("/me").await.body, "ada 1", "logged in here");
    assert_eq!(laptop.get("/me").await.body, "- 0", "logged out there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_lists_and_revokes_their_sessions_on_every_store_across_instances() {
    let dir = tempfile::tempdir().unwrap();
    let memory = MemoryStore::new();
    let files = FileStore::open(dir.path().join("files")).unwrap();
    let sqlite = sqlite_store(&dir).await;
    let (redis, postgres) = (redis_store().await, postgres_store().await);
    let cluster = redis_cluster_store().await;
    let revocations = redis_store().await;
    let server = |store: &dyn Fn() -> SessionLayer| {
        let (one, two) = instances(store);
        devices(one, two, true)
    };
    tokio::join!(
        server(&|| SessionLayer::new(memory.clone(), &key())),
        server(&|| SessionLayer::new(files.clone(), &key())),
        server(&|| SessionLayer::new(sqlite.clone(), &key())),
        server(&|| SessionLayer::new(redis.clone(), &key())),
        server(&|| SessionLayer::new(postgres.clone(), &key())),
        server(&|| SessionLayer::new(cluster.clone(), &key())),
        {
            let revocations = MemoryStore::new();
            let (one, two) = instances(|| {
                SessionLayer::new(CookieBackend::sealed(), &key())
                    .with_revocation_store(revocations.clone())
            });
            devices(one, two, false)
        },
        {
            let (one, two) = instances(|| {
                SessionLayer::new(CookieBackend::signed(), &key())
                    .with_revocation_store(revocations.clone())
            });
            devices(one, two, false)
        },
    );
}

#[tokio::test]
async fn an_owner_is_1_to_256_bytes_and_listing_needs_an_index() {
    async fn bind(visit: Session<OwnedVisit>, Path(user): Path<String>) -> String {
        match visit.bind_owner(&user) {
            Ok(()) => "ok".into(),
            Err(error) => error.to_string(),
        }
    }
    let app = Router::new()
        .route("/bind/{user}", post(bind))
        .layer(SessionLayer::new(MemoryStore::new(), &key()));
    let mut client = Client::new(app);
    assert_eq!(
        client
            .post(&format!("/bind/{}", "a".repeat(256)))
            .await
            .body,
        "ok"
    );
    let long = client
        .post(&format!("/bind/{}", "a".repeat(257)))
        .await
        .body;
    let refused = "a session owner is 1 to 256 bytes without control characters: bind a user id, not free text";
    assert_eq!(long, refused);
    for control in ["a%00b", "line%0Abreak", "esc%1B%5B31m"] {
        let reply = client.post(&format!("/bind/{control}")).await;
        assert_eq!(reply.body, refused, "{control}");
    }

    // A cookie store without a revocation store can bind, not revoke: 501.
    let mut cookie =
        Client::new(owner_routes().layer(SessionLayer::new(CookieBackend::sealed(), &key())));
    cookie.post("/login/ada").await;
    let reply = cookie.post("/logout-everywhere").await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED, "{}", reply.body);
    let accounts = SessionLayer::new(CookieBackend::sealed(), &key()).accounts();
    assert!(matches!(
        accounts.sessions(&owner("ada")).await,
        Err(typed_sessions::Error::Store(
            typed_sessions::error::StoreError::NoOwnerIndex
        ))
    ));
}

/// The demo's device routes, on two instances: Ada on two browsers, Bob on a third.
async fn demo_devices(layer: impl Fn() -> SessionLayer, listing: bool) {
    use typed_sessions_tests::Device;
    let (one, two) = (
        typed_sessions_tests::app(layer()),
        typed_sessions_tests::app(layer()),
    );
    let (mut laptop, mut phone, mut bob) = (
        Client::new(one.clone()),
        Client::new(two.clone()),
        Client::new(one.clone()),
    );
    for path in ["/logout-everywhere", "/logout-others", "/remember?days=1"] {
        assert_eq!(
            laptop.post(path).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    assert_eq!(
        laptop.get("/sessions").await.status,
        StatusCode::UNAUTHORIZED
    );
    let fingerprint = "AAECAwQFBgcICQoL";
    let path = format!("/revoke/{fingerprint}");
    assert_eq!(laptop.post(&path).await.status, StatusCode::UNAUTHORIZED);
    laptop.post("/login/ada").await;
    phone.post("/login/ada").await;
    bob.post("/login/bob").await;

    let reply = laptop.post("/remember?days=30").await;
    let cookie = reply.set_cookie().expect("a lasting cookie");
    assert_eq!(cookie.max_age(), Some(cookie::time::Duration::days(30)));

    let devices: Vec<Device> = serde_json::from_str(&laptop.get("/sessions").await.body).unwrap();
    assert_eq!(devices.len(), if listing { 2 } else { 1 }, "{devices:?}");
    let current = devices.iter().find(|d| d.current).expect("the laptop");
    assert!(current.created_ms <= current.last_seen_ms);
    // Remembered for 30 days, from now.
    assert!(current.expires_ms > current.last_seen_ms + 29 * 24 * 3_600_000);
    // No such session of Ada's; a cookie store cannot revoke any other than this one.
    let unknown = if listing {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::NOT_IMPLEMENTED
    };
    assert_eq!(laptop.post(&path).await.status, unknown);

    let (laptop_cookie, phone_cookie) = (
        laptop.cookie_header().unwrap(),
        phone.cookie_header().unwrap(),
    );
    let reply = phone.post("/logout-everywhere").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for app in [&one, &two] {
        for cookie in [&laptop_cookie, &phone_cookie] {
            let view = typed_sessions_tests::view_with(app, cookie).await;
            assert_eq!(view.user, None, "logged out everywhere");
        }
    }
    assert_eq!(
        bob.get("/session").await.view().user.as_deref(),
        Some("bob")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lists_and_revokes_a_users_devices_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let memory = MemoryStore::new();
    let files = FileStore::open(dir.path().join("files")).unwrap();
    let sqlite = sqlite_store(&dir).await;
    let (redis, postgres) = (redis_store().await, postgres_store().await);
    let (revocations, signed_revocations) = (redis_store().await, MemoryStore::new());
    tokio::join!(
        demo_devices(|| SessionLayer::new(memory.clone(), &key()), true),
        demo_devices(|| SessionLayer::new(files.clone(), &key()), true),
        demo_devices(|| SessionLayer::new(sqlite.clone(), &key()), true),
        demo_devices(|| SessionLayer::new(redis.clone(), &key()), true),
        demo_devices(|| SessionLayer::new(postgres.clone(), &key()), true),
        demo_devices(
            || SessionLayer::new(CookieBackend::sealed(), &key())
                .with_revocation_store(revocations.clone()),
            false
        ),
        // Its own revocation store: Ada's "log out everywhere" on the other cookie demo,
        // running at the same time, would log out this demo's Ada too (the same owner).
        demo_devices(
            || SessionLayer::new(CookieBackend::signed(), &key())
                .with_revocation_store(signed_revocations.clone()),
            false
        ),
    );
}

/// Binding an owner on login costs one read beyond the login's own (the owner's revocation
/// epoch, which the session is stamped with): the index is written inside the save's
/// script. Measured against the same login without an owner. Listing and revoking all are
/// a fixed number of commands, however many sessions the owner has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_an_owner_adds_one_redis_read() {
    let server = typed_sessions_tests::RedisServer::start();
    let store = typed_sessions::RedisStore::connect(&server.url())
        .await
        .unwrap();
    let app = owner_routes().layer(SessionLayer::new(store, &key()));
    // Warm up: the connection, and the scripts' first loads.
    let mut warm = Client::new(app.clone());
    warm.post("/count").await;
    warm.post("/login/warm").await;

    let login = |path: &'static str| {
        let app = app.clone();
        let server = &server;
        async move {
            let mut client = Client::new(app);
            client.post("/count").await;
            let before = server.command_calls();
            assert!(client.post(path).await.status.is_success());
            server.calls_since(&before)
        }
    };
    // Without the `PUBLISH` that tells other instances' live sessions of a move: sent beside
    // the response, it is counted in one measure or the next.
    let unpublished = |mut calls: std::collections::BTreeMap<String, u64>| {
        calls.remove("publish");
        calls
    };
    let plain = unpublished(login("/slow-cycle").await);
    let bound = unpublished(login("/login/ada").await);
    let mut extra = bound.clone();
    for (command, calls) in &plain {
        let left = extra.get(command).copied().unwrap_or(0);
        assert!(left >= *calls, "{command}: {plain:?} {bound:?}");
        if left == *calls {
            extra.remove(command);
        } else {
            extra.insert(command.clone(), left - calls);
        }
    }
    println!("a login's commands: without an owner {plain:?}, binding one {bound:?}");
    // The owner's revocation epoch, read once to stamp the session; then only commands run
    // inside the save's script: the index, in the same round trip (its expired members
    // named, for the layer's events; removed only when there are some).
    let inside: std::collections::BTreeMap<String, u64> =
        ["get", "pexpireat", "zadd", "zrange", "zrangebyscore"]
            .into_iter()
            .map(|command| (command.to_owned(), 1))
            .collect();
    assert_eq!(extra, inside);

    // Listing: two round trips to the owner's slot, for 1 session as for 20 (a script that
    // reads the index, its live members and its expired ones), and the owner's revocation
    // epoch (records it revoked are not listed).
    let accounts = SessionLayer::new(
        typed_sessions::RedisStore::connect(&server.url())
            .await
            .unwrap(),
        &key(),
    )
    .accounts();
    for _ in 0..20 {
        Client::new(app.clone()).post("/login/many").await;
    }
    // The listing's script loaded on this server once (its first `EVALSHA` is answered
    // `NOSCRIPT`), as any instance's first listing does.
    accounts.sessions(&owner("nobody")).await.unwrap();
    for (name, sessions) in [("ada", 1), ("many", 20)] {
        let before = server.command_calls();
        assert_eq!(
            accounts.sessions(&owner(name)).await.unwrap().len(),
            sessions
        );
        let listing = server.calls_since(&before);
        let expected = [
            ("get", 1),
            ("mget", 1),
            ("evalsha", 1),
            ("zrangebyscore", 2),
        ]
        .map(|(command, calls)| (command.to_owned(), calls));
        assert_eq!(listing, expected.into(), "{name}");
    }

    // Revoking all: the epoch raised (a read, a compare-and-swap), then one index read and
    // one `DEL` and one `ZREM` for 20 sessions as for 1, whatever their number.
    for (name, sessions) in [("ada", 1), ("many", 20)] {
        let before = server.command_calls();
        accounts.revoke_all(&owner(name)).await.unwrap();
        let revoking = server.calls_since(&before);
        for (command, calls) in [("del", 1), ("zrem", 1), ("zrangebyscore", 2)] {
            assert_eq!(
                revoking.get(command),
                Some(&calls),
                "{name} ({sessions}): {revoking:?}"
            );
        }
        assert!(accounts.sessions(&owner(name)).await.unwrap().is_empty());
    }
}

/// Last seen moves with the expiry that reads refresh (once per refresh interval), with no
/// write of its own.
#[tokio::test]
async fn last_seen_follows_the_refreshed_expiry() {
    let store = MemoryStore::new();
    let layer = || {
        SessionLayer::new(store.clone(), &key())
            .with_idle_timeout(Duration::from_secs(60))
            .with_refresh_interval(Duration::from_millis(100))
    };
    let accounts = layer().accounts();
    let mut client = Client::new(owner_routes().layer(layer()));
    client.post("/login/ada").await;
    let first = accounts.sessions(&owner("ada")).await.unwrap()[0].last_seen;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read_at = std::time::SystemTime::now();
    assert_eq!(client.get("/me").await.body, "ada 1", "a read");
    let listed = accounts.sessions(&owner("ada")).await.unwrap();
    let seen = listed[0].last_seen;
    assert!(
        seen >= read_at - Duration::from_millis(5),
        "{seen:?} {read_at:?}"
    );
    assert!(seen > first + Duration::from_millis(250));
    assert!(listed[0].created <= first && !listed[0].current);
}

/// Logging in as another user on a session bound to someone starts afresh: none of the
/// first owner's fields, flash message or remember-me reach the second; the same owner
/// again keeps the session. On every store (a server store also ends the first owner's
/// record; a cookie store cannot revoke the copy the client held).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_another_owner_starts_afresh_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, layer) in every_layer(&dir).await {
        let mut client = Client::new(app(layer));
        client.post("/login/ada").await;
        client.post("/visit").await;
        client.post("/remember?days=30").await;
        let flash = client.send(Method::POST, "/flash", "for ada").await;
        assert_eq!(flash.status, StatusCode::NO_CONTENT, "{kind:?}");
        let adas = client.cookie_header().unwrap();
        assert_eq!(client.post("/login/ada").await.view().visits, 1, "{kind:?}");

        let bob = client.post("/login/bob").await;
        let view = bob.view();
        assert_eq!(
            (view.visits, view.user.as_deref()),
            (0, Some("bob")),
            "{kind:?}"
        );
        let lasting = bob
            .set_cookies
            .iter()
            .find(|cookie| cookie.max_age().is_some());
        assert_eq!(lasting, None, "{kind:?}: ada's remember-me");
        assert_eq!(
            client.get("/flash").await.body,
            r#"{"flash":null}"#,
            "{kind:?}"
        );
        let sessions: Vec<Device> = serde_json::from_str(&client.get("/sessions").await.body)
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(
            sessions.len() <= 1,
            "{kind:?}: bob sees only his own: {sessions:?}"
        );
        if kind.is_server() {
            let old = view_with(client.router(), &adas).await;
            assert_eq!(
                (old.visits, old.user),
                (0, None),
                "{kind:?}: ada's record ended"
            );
        }
    }
}

/// An owner with a control character (or past 256 bytes) is refused with a typed error, 400
/// from the tests' login route, before any store sees it: on every store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_with_control_characters_are_refused_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(257);
    for (kind, layer) in every_layer(&dir).await {
        let mut client = Client::new(app(layer));
        for bad in [
            "a%00b",
            "tab%09",
            "line%0Abreak",
            "esc%1B%5B31m",
            long.as_str(),
        ] {
            let reply = client.post(&format!("/login/{bad}")).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{kind:?} {bad}");
            assert!(
                reply.body.contains("control characters"),
                "{kind:?}: {}",
                reply.body
            );
        }
        assert_eq!(client.get("/session").await.view().user, None, "{kind:?}");
        assert_eq!(
            client.post("/login/ada").await.status,
            StatusCode::OK,
            "{kind:?}"
        );
    }
}

/// Devices carry the label their login gave them, and the log-out calls say how many
/// sessions they ended: on every server store, counted by the store; on a cookie store,
/// which keeps no sessions, not counted (`None`) but refused all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_carry_labels_and_log_outs_count_what_they_ended_on_every_store() {
    #[derive(Session, Default)]
    struct Device {
        visits: u64,
    }
    async fn login(device: Session<Device>, Path((user, label)): Path<(String, String)>) {
        device.bind_owner(&user).expect("a valid owner");
        device.set_device_label(&label);
        device.update_visits(|n| *n += 1);
    }
    async fn listed(device: Session<Device>) -> Result<String, typed_sessions::Error> {
        let mut labels: Vec<String> = (device.sessions().await?.into_iter())
            .map(|s| {
                format!(
                    "{}{}",
                    s.label.unwrap_or_default(),
                    if s.current { "*" } else { "" }
                )
            })
            .collect();
        labels.sort();
        Ok(labels.join(","))
    }
    async fn others(device: Session<Device>) -> Result<String, typed_sessions::Error> {
        Ok(format!("{:?}", device.log_out_others().await?))
    }
    async fn everywhere(device: Session<Device>) -> Result<String, typed_sessions::Error> {
        Ok(format!("{:?}", device.log_out_everywhere().await?))
    }
    let routes = || {
        Router::new()
            .route("/login/{user}/{label}", post(login))
            .route("/sessions", axum::routing::get(listed))
            .route("/others", post(others))
            .route("/everywhere", post(everywhere))
    };
    let dir = tempfile::tempdir().unwrap();
    let mut layers: Vec<(String, SessionLayer, bool)> = every_server_store(&dir)
        .await
        .into_iter()
        .map(|(kind, store)| (format!("{kind:?}"), SessionLayer::new(store, &key()), true))
        .collect();
    layers.push((
        "sealed cookie".into(),
        SessionLayer::new(CookieBackend::sealed(), &key())
            .with_revocation_store(MemoryStore::new()),
        false,
    ));
    for (kind, layer, server) in layers {
        let app = routes().layer(layer);
        let user = unique("labelled");
        let mut clients = Vec::new();
        for label in ["laptop", "phone", "tab%07let"] {
            let mut client = Client::new(app.clone());
            let reply = client.post(&format!("/login/{user}/{label}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{kind}");
            clients.push(client);
        }
        let list = clients[0].get("/sessions").await.body;
        if server {
            assert_eq!(
                list, "laptop*,phone,tablet",
                "{kind}: control characters dropped"
            );
            assert_eq!(clients[0].post("/others").await.body, "Some(2)", "{kind}");
            assert_eq!(clients[0].get("/sessions").await.body, "laptop*", "{kind}");
            assert_eq!(
                clients[0].post("/everywhere").await.body,
                "Some(1)",
                "{kind}"
            );
            assert_eq!(
                clients[1].post("/everywhere").await.body,
                "Some(0)",
                "{kind}: no owner"
            );
        } else {
            assert_eq!(list, "laptop*", "{kind}: a cookie store lists this session");
            assert_eq!(clients[0].post("/others").await.body, "None", "{kind}");
            assert_eq!(
                clients[1].get("/sessions").await.body,
                "",
                "{kind}: refused"
            );
        }
    }
}
