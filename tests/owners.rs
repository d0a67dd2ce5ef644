//! Sessions bound to an owner: listed, revoked one by one, all at once ("log out
//! everywhere") or all but one ("log out other devices"), on every store, across two
//! instances, with requests in flight (issue 15).

use crate::redis_deployments::redis_cluster_store;
use axum::Router;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use session::{CookieBackend, FileStore, Fingerprint, MemoryStore, Session, SessionLayer, Store};
use session_tests::{
    Client, ProbeStore, database_url, key, owner, postgres_store, redis_url, send, unique,
};
use session_tests::{redis_store, sqlite_store};
use std::time::Duration;

#[derive(Session, Default)]
struct Visit {
    count: u64,
}

/// The routes of a user's devices: log in as someone, see who you are, list, revoke.
fn routes() -> Router {
    async fn login(visit: Session<Visit>, Path(user): Path<String>) -> String {
        visit.bind_owner(&user).expect("a valid owner");
        visit.update_count(|n| *n += 1);
        user
    }
    async fn me(visit: Session<Visit>) -> String {
        format!(
            "{} {}",
            visit
                .owner()
                .as_ref()
                .map(session::Owner::as_str)
                .unwrap_or("-"),
            visit.count()
        )
    }
    async fn count(visit: Session<Visit>) {
        visit.update_count(|n| *n += 1);
    }
    /// `fingerprint current` per line, oldest first.
    async fn sessions(visit: Session<Visit>) -> Result<String, session::Error> {
        let listed = visit.sessions().await?;
        Ok(listed
            .iter()
            .map(|s| format!("{} {}\n", s.fingerprint, s.current))
            .collect())
    }
    async fn everywhere(visit: Session<Visit>) -> Result<(), session::Error> {
        visit.log_out_everywhere().await
    }
    async fn others(visit: Session<Visit>) -> Result<(), session::Error> {
        visit.log_out_others().await
    }
    async fn revoke(
        visit: Session<Visit>,
        Path(fingerprint): Path<String>,
    ) -> Result<String, session::Error> {
        let fingerprint: Fingerprint = fingerprint.parse().expect("a fingerprint");
        Ok(visit.revoke(fingerprint).await?.to_string())
    }
    /// A login that also logs out the user's other devices.
    async fn login_only_here(
        visit: Session<Visit>,
        Path(user): Path<String>,
    ) -> Result<(), session::Error> {
        visit.bind_owner(&user).expect("a valid owner");
        visit.cycle_id();
        visit.log_out_others().await
    }
    async fn slow_count(visit: Session<Visit>) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        visit.update_count(|n| *n += 1);
    }
    async fn slow_cycle(visit: Session<Visit>) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        visit.cycle_id();
        visit.update_count(|n| *n += 1);
    }
    Router::new()
        .route("/login/{user}", post(login))
        .route("/me", get(me))
        .route("/count", post(count))
        .route("/sessions", get(sessions))
        .route("/logout-everywhere", post(everywhere))
        .route("/logout-others", post(others))
        .route("/revoke/{fingerprint}", post(revoke))
        .route("/login-only-here/{user}", post(login_only_here))
        .route("/slow-count", post(slow_count))
        .route("/slow-cycle", post(slow_cycle))
}

/// Two instances sharing a backend: `layer` builds each one's layer.
fn instances(layer: impl Fn() -> SessionLayer) -> (Router, Router) {
    (routes().layer(layer()), routes().layer(layer()))
}

/// `GET /me` on `app` with `cookie`.
async fn me(app: &Router, cookie: &str) -> String {
    send(app, Method::GET, "/me", Some(cookie), "").await.body
}

/// The fingerprints `client` lists, and which is current.
async fn listed(client: &mut Client) -> Vec<(String, bool)> {
    let reply = client.get("/sessions").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
        .body
        .lines()
        .map(|line| {
            let (fingerprint, current) = line.split_once(' ').expect("two words");
            (fingerprint.to_owned(), current == "true")
        })
        .collect()
}

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

/// A request of a session still running when its owner logs out everywhere (from another
/// instance, or from an admin job) finishes after the revocation and saves nothing: a
/// change, and a move to a new id.
async fn in_flight(store: impl Store + Clone) {
    let (one, two) = instances(|| SessionLayer::new(store.clone(), &key()));
    let accounts = SessionLayer::new(store.clone(), &key()).accounts();
    for path in ["/slow-count", "/slow-cycle"] {
        let mut client = Client::new(one.clone());
        client.post("/login/ada").await;
        let cookie = client.cookie_header().expect("a cookie");
        let slow = send(&one, Method::POST, path, Some(&cookie), "");
        let revoke = async {
            // The slow request has loaded the session, and sleeps.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let reply = send(&two, Method::POST, "/logout-everywhere", Some(&cookie), "").await;
            assert_eq!(reply.status, StatusCode::OK);
        };
        let (reply, ()) = tokio::join!(slow, revoke);
        assert!(reply.status.is_success(), "{path}: {}", reply.status);
        assert_eq!(me(&one, &cookie).await, "- 0", "{path}");
        if let Some(new) = reply.set_cookie() {
            let new = format!("id={}", new.value());
            assert_eq!(
                me(&two, &new).await,
                "- 0",
                "{path}: the new id is dead too"
            );
        }
        let left = accounts.sessions(&owner("ada")).await.expect("listed");
        assert!(left.is_empty(), "{path}: {left:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_of_a_revoked_session_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    tokio::join!(
        in_flight(MemoryStore::new()),
        in_flight(FileStore::open(dir.path()).unwrap()),
        in_flight(redis_store().await),
        async { in_flight(postgres_store().await).await },
    );
}

/// The interleaving that a rotation must survive: its new record is being written (saves
/// are held up) when the revocation lists and deletes the owner's sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_does_not_miss_a_rotation_in_flight() {
    let store = ProbeStore::new(MemoryStore::new());
    let app = routes().layer(SessionLayer::new(store.clone(), &key()));
    let accounts = SessionLayer::new(store.clone(), &key()).accounts();
    let mut client = Client::new(app.clone());
    client.post("/login/ada").await;
    let cookie = client.cookie_header().expect("a cookie");
    store.delay_saves(Duration::from_millis(600));
    let rotation = send(&app, Method::POST, "/slow-cycle", Some(&cookie), "");
    let revoke = async {
        // The rotation has loaded (at 500 ms) and is writing its new record (until 1.1 s).
        tokio::time::sleep(Duration::from_millis(800)).await;
        accounts.revoke_all(&owner("ada")).await.expect("revoked");
    };
    let (reply, ()) = tokio::join!(rotation, revoke);
    assert!(reply.status.is_success());
    assert!(reply.set_cookie().is_none(), "no new id is handed out");
    assert!(accounts.sessions(&owner("ada")).await.unwrap().is_empty());
    assert_eq!(me(&app, &cookie).await, "- 0");
}

/// Each owner's index holds their live sessions: expired ones leave it without a sweeper
/// the application runs, and an owner who never comes back leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_leave_the_owner_index() {
    let dir = tempfile::tempdir().unwrap();
    let memory = MemoryStore::new().with_sweep_interval(Duration::from_millis(100));
    let files = FileStore::open(dir.path()).unwrap();
    let prefix = unique("test:");
    let redis = session::RedisStore::connect(&redis_url())
        .await
        .unwrap()
        .with_prefix(prefix.clone());
    let table = unique("t_");
    let postgres = session::PostgresStore::connect(&database_url())
        .await
        .unwrap()
        .with_table(Some("session_tests"), &table)
        .unwrap();
    postgres.migrate().await.unwrap();
    let stores: [&dyn Fn() -> SessionLayer; 4] = [
        &|| SessionLayer::new(memory.clone(), &key()),
        &|| SessionLayer::new(files.clone(), &key()),
        &|| SessionLayer::new(redis.clone(), &key()),
        &|| SessionLayer::new(postgres.clone(), &key()),
    ];
    let mut connection = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (store, layer) in stores.into_iter().enumerate() {
        let layer = || layer().with_idle_timeout(Duration::from_secs(1));
        let app = routes().layer(layer());
        for _ in 0..30 {
            Client::new(app.clone()).post("/login/ada").await;
        }
        assert_eq!(
            layer()
                .accounts()
                .sessions(&owner("ada"))
                .await
                .unwrap()
                .len(),
            30
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            layer()
                .accounts()
                .sessions(&owner("ada"))
                .await
                .unwrap()
                .is_empty()
        );
        Client::new(app.clone()).post("/login/ada").await;
        assert_eq!(
            layer()
                .accounts()
                .sessions(&owner("ada"))
                .await
                .unwrap()
                .len(),
            1
        );
        // What the index holds now: the one live session.
        let held = match store {
            0 => memory.owner_index_len(),
            1 => {
                files.sweep_expired().await.unwrap();
                std::fs::read_dir(dir.path().join("owners"))
                    .unwrap()
                    .map(|owner| std::fs::read_dir(owner.unwrap().path()).unwrap().count())
                    .sum()
            }
            2 => {
                let indexes: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}owner:*"))
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert_eq!(indexes.len(), 1, "{indexes:?}");
                let (members, ttl): (usize, i64) = redis::pipe()
                    .cmd("ZCARD")
                    .arg(&indexes[0])
                    .cmd("PTTL")
                    .arg(&indexes[0])
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert!(
                    (1..=1000).contains(&ttl),
                    "expires with its last session: {ttl}"
                );
                members
            }
            _ => {
                let pool = sqlx::PgPool::connect(&database_url()).await.unwrap();
                let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM session_tests.{table} WHERE owner = 'ada'"
                )))
                .fetch_one(&pool)
                .await
                .unwrap();
                usize::try_from(rows).unwrap()
            }
        };
        assert_eq!(held, 1, "store {store}");
    }
}

/// A cookie session with an owner is checked against the revocation store on every
/// request: when it cannot be read the request fails closed (503). Sessions without an
/// owner never read it.
#[tokio::test]
async fn a_cookie_session_with_an_owner_fails_closed_when_the_revocation_store_is_down() {
    let revocations = ProbeStore::new(MemoryStore::new());
    let app = routes().layer(
        SessionLayer::new(CookieBackend::sealed(), &key())
            .with_revocation_store(revocations.clone()),
    );
    let mut guest = Client::new(app.clone());
    guest.post("/count").await;
    assert_eq!(guest.get("/me").await.body, "- 1");
    assert_eq!(revocations.counts().total(), 0, "no owner, no read");

    let mut ada = Client::new(app);
    ada.post("/login/ada").await;
    assert_eq!(ada.get("/me").await.body, "ada 1");
    assert_eq!(
        revocations.counts().loads,
        1,
        "one read per request with an owner"
    );
    revocations.set_down(true);
    assert_eq!(ada.get("/me").await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        guest.get("/me").await.body,
        "- 1",
        "sessions without an owner go on"
    );
    revocations.set_down(false);
    assert_eq!(ada.get("/me").await.body, "ada 1");
}

#[tokio::test]
async fn an_owner_is_1_to_256_bytes_and_listing_needs_an_index() {
    async fn bind(visit: Session<Visit>, Path(user): Path<String>) -> String {
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
        Client::new(routes().layer(SessionLayer::new(CookieBackend::sealed(), &key())));
    cookie.post("/login/ada").await;
    let reply = cookie.post("/logout-everywhere").await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED, "{}", reply.body);
    let accounts = SessionLayer::new(CookieBackend::sealed(), &key()).accounts();
    assert!(matches!(
        accounts.sessions(&owner("ada")).await,
        Err(session::Error::Store(
            session::error::StoreError::NoOwnerIndex
        ))
    ));
}

/// The demo's device routes, on two instances: Ada on two browsers, Bob on a third.
async fn demo_devices(layer: impl Fn() -> SessionLayer, listing: bool) {
    use session_examples::devices::Device;
    let (one, two) = (
        session_examples::app(layer()),
        session_examples::app(layer()),
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
            let view = session_tests::view_with(app, cookie).await;
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

/// Binding an owner on login costs no round trip beyond the login's own: the index is
/// written inside the save's script. Measured against the same login without an owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_an_owner_adds_no_redis_round_trip() {
    let server = session_tests::RedisServer::start();
    let store = session::RedisStore::connect(&server.url()).await.unwrap();
    let app = routes().layer(SessionLayer::new(store, &key()));
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
    let plain = login("/slow-cycle").await;
    let bound = login("/login/ada").await;
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
    // Only commands run inside the save's script: the index, in the same round trip.
    let inside: std::collections::BTreeMap<String, u64> =
        ["pexpireat", "zadd", "zrange", "zremrangebyscore"]
            .into_iter()
            .map(|command| (command.to_owned(), 1))
            .collect();
    assert_eq!(extra, inside);

    // Listing: two round trips to the owner's slot, for 1 session as for 20.
    let accounts = SessionLayer::new(
        session::RedisStore::connect(&server.url()).await.unwrap(),
        &key(),
    )
    .accounts();
    for _ in 0..20 {
        Client::new(app.clone()).post("/login/many").await;
    }
    for (name, sessions) in [("ada", 1), ("many", 20)] {
        let before = server.command_calls();
        assert_eq!(
            accounts.sessions(&owner(name)).await.unwrap().len(),
            sessions
        );
        let listing = server.calls_since(&before);
        let expected = [("mget".to_owned(), 1), ("zrangebyscore".to_owned(), 1)];
        assert_eq!(listing, expected.into(), "{name}");
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
    let mut client = Client::new(routes().layer(layer()));
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

/// Revocations of cookie sessions a moment apart, as fast as requests come in one process
/// (well within a millisecond): "log out everywhere" right after "log out others" ends the
/// session the first one kept, and a login right after "log out everywhere" stays.
#[tokio::test]
async fn cookie_revocations_a_moment_apart_keep_their_order() {
    let layer = SessionLayer::new(CookieBackend::sealed(), &key())
        .with_revocation_store(MemoryStore::new());
    let app = routes().layer(layer);
    for round in 0..50 {
        let (mut laptop, mut phone) = (Client::new(app.clone()), Client::new(app.clone()));
        laptop.post("/login/ada").await;
        phone.post("/login/ada").await;
        laptop.post("/logout-others").await;
        let kept = laptop.cookie_header().unwrap();
        phone.jar.clear();
        phone.post("/login/ada").await;
        phone.post("/logout-everywhere").await;
        assert_eq!(
            me(&app, &kept).await,
            "- 0",
            "round {round}: the kept one is out"
        );
        let mut again = Client::new(app.clone());
        again.post("/login/ada").await;
        assert_eq!(
            again.get("/me").await.body,
            "ada 1",
            "round {round}: a new login stays"
        );
    }
}
