//! Taking over tower-sessions' sessions (issue 28): real tower-sessions apps write real
//! records (0.14 with tower-sessions-redis-store on Redis and tower-sessions-sqlx-store on
//! PostgreSQL; 0.15 with that store's SQLite store, ported to sqlx 0.9), with unsigned,
//! signed and private cookies; a layer with the import then serves those sessions, each
//! once, under its own cookie.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::future::join_all;
use std::sync::Arc;
use typed_sessions::import::{
    TowerSessionsImport, TowerSessionsPostgres, TowerSessionsRedis, TowerSessionsSqlite,
};
use typed_sessions::{MemoryStore, RedisStore, SessionLayer};
use typed_sessions_tests::{Client, app, key, send_request, unique};

/// tower-sessions' key, for its signed and private cookies.
const TOWER_KEY: [u8; 64] = [9; 64];

/// A tower-sessions app (`$ts`: 0.14 or 0.15) over `$store`, its cookie made by `$cookie`:
/// `POST /login/{user}` keeps the demo's fields under `demo`, as an app would with
/// `session.insert("demo", &demo)`, and a value no struct here reads under `other`.
macro_rules! tower_app {
    ($ts:path, $store:expr, |$layer:ident| $cookie:expr) => {{
        use $ts::{Session, SessionManagerLayer};
        async fn login(
            session: Session,
            axum::extract::Path(user): axum::extract::Path<String>,
        ) -> &'static str {
            let demo = serde_json::json!({ "visits": 3, "user": user, "note": "from tower" });
            session.insert("demo", demo).await.expect("insert");
            session.insert("other", 7).await.expect("insert");
            "ok"
        }
        let $layer = SessionManagerLayer::new($store).with_secure(false);
        Router::new()
            .route("/login/{user}", axum::routing::post(login))
            .layer($cookie)
    }};
}

/// The `name=value` of the cookie tower-sessions sets on a login of `user`.
async fn tower_login(tower: &Router, user: &str) -> String {
    let request = Request::post(format!("/login/{user}"))
        .body(Body::empty())
        .unwrap();
    let reply = send_request(tower, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let cookie = reply
        .set_cookies
        .first()
        .expect("tower-sessions sets its cookie");
    assert_eq!(
        cookie.name(),
        "id",
        "tower-sessions' default name, which ours shares"
    );
    format!("{}={}", cookie.name(), cookie.value())
}

/// `import` on a memory store: the demo's routes.
fn ours(import: TowerSessionsImport) -> Router {
    app(SessionLayer::new(MemoryStore::new(), &key()).with_tower_sessions_import(import))
}

/// The whole story for one tower-sessions deployment: the session is taken over with its
/// fields, the response sets our cookie in place of tower-sessions' one, the record is gone
/// (the old cookie now opens nothing), and the session goes on under our cookie.
async fn taken_over(tower: &Router, ours: &Router, what: &str) {
    let user = unique("ada");
    let cookie = tower_login(tower, &user).await;
    let mut client = Client::new(ours.clone());
    let (name, value) = cookie.split_once('=').unwrap();
    client.jar.push((name.to_owned(), value.to_owned()));
    let reply = client.get("/session").await;
    assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
    let view = reply.view();
    assert_eq!(
        (view.visits, view.user.as_deref()),
        (3, Some(user.as_str())),
        "{what}"
    );
    assert_eq!(view.note_len, "from tower".len(), "{what}");
    let ours_now = client.cookie("id").expect("our cookie");
    assert_ne!(
        ours_now, value,
        "{what}: our cookie replaced tower-sessions' one"
    );
    assert_eq!(
        client.post("/visit").await.view().visits,
        4,
        "{what}: it goes on"
    );
    assert_eq!(client.get("/session").await.view().visits, 4, "{what}");

    let mut thief = Client::new(ours.clone());
    thief.jar.push((name.to_owned(), value.to_owned()));
    let again = thief.get("/session").await;
    assert_eq!(again.status, StatusCode::OK, "{what}");
    assert_eq!(
        again.view().visits,
        0,
        "{what}: a tower-sessions cookie opens its session once"
    );
}

async fn redis_source() -> (Router, RedisStore) {
    use fred::prelude::{ClientLike, Config, Pool};
    let url = format!(
        "{}/15",
        typed_sessions_tests::redis_url().trim_end_matches("/0")
    );
    let pool = Pool::new(Config::from_url(&url).unwrap(), None, None, None, 2).unwrap();
    drop(pool.connect());
    pool.wait_for_connect().await.expect("redis");
    let store = tower_sessions_redis_store::RedisStore::new(pool);
    let tower = tower_app!(tower_sessions_014, store, |layer| layer);
    (tower, RedisStore::connect(&url).await.expect("redis"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_written_by_tower_sessions_on_redis_are_taken_over_once() {
    let (tower, redis) = redis_source().await;
    let import = TowerSessionsImport::new(TowerSessionsRedis::new(redis.clone()));
    let ours = ours(import);
    taken_over(&tower, &ours, "redis").await;

    // Two requests with one tower-sessions cookie at once: one gets the session.
    let cookie = tower_login(&tower, &unique("bob")).await;
    let replies = join_all((0..8).map(|_| {
        let request = Request::get("/session")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        send_request(&ours, request)
    }))
    .await;
    let imported = replies
        .iter()
        .filter(|reply| reply.view().visits == 3)
        .count();
    assert_eq!(imported, 1, "exactly one of eight requests took it over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_written_by_tower_sessions_on_postgres_are_taken_over() {
    let url = typed_sessions_tests::database_url();
    let schema = unique("import_").replace('-', "_");
    let pool08 = sqlx08::PgPool::connect(&url).await.expect("PostgreSQL");
    let store = tower_sessions_sqlx_store::PostgresStore::new(pool08)
        .with_schema_name(&schema)
        .unwrap();
    store.migrate().await.expect("tower-sessions' table");
    let pool = sqlx::PgPool::connect(&url).await.expect("PostgreSQL");
    let source = TowerSessionsPostgres::with_table(pool, &schema, "session").unwrap();
    // Signed, as `with_signed(key)` makes tower-sessions' cookie.
    let signed = tower_app!(tower_sessions_014, store, |layer| layer
        .with_signed(tower_sessions_014::cookie::Key::from(&TOWER_KEY)));
    let import = TowerSessionsImport::new(source.clone())
        .with_signed_key(&TOWER_KEY)
        .unwrap();
    taken_over(&signed, &ours(import), "postgres, signed").await;

    // Without the key, a signed cookie is no tower-sessions id: a fresh session, no 500.
    let cookie = tower_login(&signed, &unique("eve")).await;
    let unkeyed = ours(TowerSessionsImport::new(source));
    let request = Request::get("/session").header(header::COOKIE, &cookie);
    let reply = send_request(&unkeyed, request.body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status, reply.view().visits), (StatusCode::OK, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_written_by_tower_sessions_on_sqlite_are_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tower.db").display());
    let store = typed_sessions_bench::tower_sqlite::TowerSqliteStore::open(&url)
        .await
        .expect("tower-sessions' SQLite store");
    let pool = sqlx::SqlitePool::connect(&url).await.expect("SQLite");
    // Private, as `with_private(key)` makes tower-sessions' cookie; unsigned too.
    let private = tower_app!(tower_sessions, store.clone(), |layer| layer
        .with_private(tower_sessions::cookie::Key::from(&TOWER_KEY)));
    let import = TowerSessionsImport::new(TowerSessionsSqlite::new(pool.clone()))
        .with_private_key(&TOWER_KEY)
        .unwrap();
    taken_over(&private, &ours(import), "sqlite, private").await;
    let plain = tower_app!(tower_sessions, store, |layer| layer);
    let import = TowerSessionsImport::new(TowerSessionsSqlite::new(pool));
    taken_over(&plain, &ours(import), "sqlite, unsigned").await;
}

/// Values kept under keys no struct is named after stay reachable to a mapping, which can
/// move them where a struct reads them; garbage in tower-sessions' cookie or record is a
/// fresh session, never an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_reaches_the_rest_and_garbage_is_a_fresh_session() {
    let (tower, redis) = redis_source().await;
    let seen = Arc::new(std::sync::Mutex::new(None));
    let kept = Arc::clone(&seen);
    let import = TowerSessionsImport::new(TowerSessionsRedis::new(redis.clone())).with_mapping(
        move |data| {
            *kept.lock().unwrap() = data.get("other").cloned();
            if let Some(serde_json::Value::Object(demo)) = data.get_mut("demo") {
                demo.insert("a".into(), serde_json::json!(41));
            }
        },
    );
    let ours = ours(import);
    let cookie = tower_login(&tower, &unique("mapped")).await;
    let request = Request::get("/session").header(header::COOKIE, &cookie);
    let reply = send_request(&ours, request.body(Body::empty()).unwrap()).await;
    assert_eq!(reply.view().a, 41, "the mapping's value");
    assert_eq!(*seen.lock().unwrap(), Some(serde_json::json!(7)));

    let garbage_id = "AAAAAAAAAAAAAAAAAAAAAA";
    let not_an_id = "a".repeat(5000);
    for cookie in [
        format!("id={garbage_id}"),
        format!("id={not_an_id}"),
        "id=".into(),
    ] {
        let request = Request::get("/session").header(header::COOKIE, &cookie);
        let reply = send_request(&ours, request.body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK, "{cookie:.40}");
        assert_eq!(reply.view().visits, 0);
    }
    // A record tower-sessions could not have written: not MessagePack.
    let mut connection = redis::Client::open(format!(
        "{}/15",
        typed_sessions_tests::redis_url().trim_end_matches("/0")
    ))
    .unwrap()
    .get_multiplexed_async_connection()
    .await
    .unwrap();
    let _: () = redis::cmd("SET")
        .arg(garbage_id)
        .arg("not messagepack")
        .query_async(&mut connection)
        .await
        .unwrap();
    let request = Request::get("/session").header(header::COOKIE, format!("id={garbage_id}"));
    let reply = send_request(&ours, request.body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status, reply.view().visits), (StatusCode::OK, 0));
}
