//! `session-admin`, the built binary, against real stores that real `demo` processes wrote:
//! each command on every server store, and migrations (file -> Redis, SQLite ->
//! PostgreSQL) whose sessions a demo on the target then serves, cookies unchanged.

mod support;

use reqwest::Method;
use serde_json::Value;
use std::process::{Command, Output};
use support::{Demo, browser, unique, view};

/// The environment of a demo or `session-admin`: its store's variables.
type Env = Vec<(&'static str, String)>;

/// A Redis database of this test binary's own, emptied before each use.
const REDIS_DB: &str = "redis://127.0.0.1:6379/13";
/// The migration target's.
const REDIS_TARGET_DB: &str = "redis://127.0.0.1:6379/14";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// `session-admin args` with `env`, and nothing else of this process's store variables.
fn admin(env: &[(&str, String)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session-admin"));
    for name in [
        "SESSION_STORE",
        "REDIS_URL",
        "DATABASE_URL",
        "SQLITE_URL",
        "SESSION_DIR",
    ] {
        command.env_remove(name);
    }
    command
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .args(args)
        .output()
        .expect("session-admin runs")
}

/// The one JSON line `session-admin --json args` prints, which must succeed.
fn admin_json(env: &[(&str, String)], args: &[&str]) -> Value {
    let output = admin(env, args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    serde_json::from_str(&stdout).expect("JSON")
}

fn flush_redis(url: &str) {
    let db = url.rsplit('/').next().unwrap();
    let status = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-n", db, "FLUSHDB"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("redis-cli runs");
    assert!(status.success());
}

/// A PostgreSQL database of its own: `DATABASE_URL` for it.
async fn fresh_postgres() -> String {
    let name = unique("admin_").replace('-', "_");
    let pool = sqlx::PgPool::connect(&format!("{POSTGRES}/postgres"))
        .await
        .expect("PostgreSQL answers");
    // The name is this test's own: letters, digits and `_`.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create database");
    format!("{POSTGRES}/{name}")
}

/// Where each server store keeps its data: the demo's environment for it.
async fn server_stores(dir: &tempfile::TempDir) -> Vec<Env> {
    flush_redis(REDIS_DB);
    vec![
        vec![
            ("SESSION_STORE", "file".into()),
            (
                "SESSION_DIR",
                dir.path().join("files").display().to_string(),
            ),
        ],
        vec![
            ("SESSION_STORE", "redis".into()),
            ("REDIS_URL", REDIS_DB.into()),
        ],
        vec![
            ("SESSION_STORE", "postgres".into()),
            ("DATABASE_URL", fresh_postgres().await),
        ],
        vec![
            ("SESSION_STORE", "sqlite".into()),
            (
                "SQLITE_URL",
                format!("sqlite://{}", dir.path().join("s.db").display()),
            ),
        ],
    ]
}

async fn demo_on(env: &[(&str, String)]) -> Demo {
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let store = env[0].1;
    Demo::start_with(store, &env[1..]).await
}

/// Ada on two browsers, and a visitor without a login: the sessions a demo wrote.
async fn three_sessions(demo: &Demo, user: &str) -> Vec<reqwest::Client> {
    let base = &demo.base;
    let browsers = vec![browser(), browser(), browser()];
    for browser in &browsers[..2] {
        view(browser, Method::POST, format!("{base}/login/{user}")).await;
        view(browser, Method::POST, format!("{base}/visit")).await;
    }
    view(&browsers[2], Method::POST, format!("{base}/visit")).await;
    browsers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_on_every_server_store() {
    let dir = tempfile::tempdir().unwrap();
    for env in server_stores(&dir).await {
        let kind = env[0].1.clone();
        let demo = demo_on(&env).await;
        let user = unique("ada");
        let browsers = three_sessions(&demo, &user).await;
        assert_eq!(
            admin_json(&env, &["count", "--json"]),
            serde_json::json!({"live": 3}),
            "{kind}"
        );

        // `--json` after the subcommand or before it.
        let listed = admin_json(&env, &["--json", "list-owner", &user]);
        let listed = listed.as_array().expect("a list");
        assert_eq!(listed.len(), 2, "{kind}: {listed:?}");
        for session in listed {
            assert_eq!(session["id"].as_str().unwrap().len(), 16, "{kind}");
            let created = session["created_ms"].as_u64().unwrap();
            let seen = session["last_seen_ms"].as_u64().unwrap();
            assert!(created <= seen && seen < session["expires_ms"].as_u64().unwrap());
        }
        let text = admin(&env, &["list-owner", &user]);
        assert_eq!(
            String::from_utf8_lossy(&text.stdout).lines().count(),
            2,
            "{kind}"
        );

        let revoked = admin_json(&env, &["revoke-owner", &user, "--json"]);
        assert_eq!(revoked, serde_json::json!({"revoked": 2}), "{kind}");
        for browser in &browsers[..2] {
            let after = view(browser, Method::GET, format!("{}/session", demo.base)).await;
            assert_eq!(after.user, None, "{kind}: logged out by session-admin");
        }
        let after = view(&browsers[2], Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(
            after.visits, 1,
            "{kind}: the other visitor keeps their session"
        );
        assert_eq!(
            admin_json(&env, &["count", "--json"]),
            serde_json::json!({"live": 1})
        );
        assert!(admin_json(&env, &["purge-expired", "--json"])["purged"].is_u64());
        assert_eq!(
            admin_json(&env, &["list-owner", &user, "--json"]),
            serde_json::json!([])
        );
    }
}

/// Sessions a demo wrote on the source, copied with their owners and lifetimes: a demo on
/// the target, with the same secret, serves the same cookies, and lists the owner's
/// sessions from the target's own index. A second run copies nothing more.
async fn migration(from: Env, to: Env, url: &str, resume: std::path::PathBuf) {
    let user = unique("grace");
    let browsers = {
        let demo = demo_on(&from).await;
        let browsers = three_sessions(&demo, &user).await;
        view(&browsers[0], Method::POST, format!("{}/visit", demo.base)).await;
        browsers
    };
    let resume_arg = resume.display().to_string();
    let args = [
        "migrate",
        "--to",
        url,
        "--batch",
        "1",
        "--resume",
        &resume_arg,
        "--json",
    ];
    assert_eq!(
        admin_json(&from, &args),
        serde_json::json!({"migrated": 3}),
        "{url}"
    );
    assert!(
        !resume.exists(),
        "the position is removed once the copy is done"
    );
    assert_eq!(
        admin_json(&to, &["count", "--json"]),
        serde_json::json!({"live": 3})
    );
    let again = admin_json(&from, &["migrate", "--to", url, "--json"]);
    assert_eq!(
        again,
        serde_json::json!({"migrated": 0}),
        "nothing copied twice"
    );

    let demo = demo_on(&to).await;
    let visits: Vec<u64> = futures_visits(&browsers, &demo.base).await;
    assert_eq!(visits, [2, 1, 1], "{url}: every session, on the target");
    let listed = admin_json(&to, &["list-owner", &user, "--json"]);
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "the owner index came along"
    );
}

async fn futures_visits(browsers: &[reqwest::Client], base: &str) -> Vec<u64> {
    let mut visits = Vec::new();
    for browser in browsers {
        visits.push(
            view(browser, Method::GET, format!("{base}/session"))
                .await
                .visits,
        );
    }
    visits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_migrates_to_redis_and_sqlite_to_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    flush_redis(REDIS_TARGET_DB);
    migration(
        vec![
            ("SESSION_STORE", "file".into()),
            ("SESSION_DIR", files.display().to_string()),
        ],
        vec![
            ("SESSION_STORE", "redis".into()),
            ("REDIS_URL", REDIS_TARGET_DB.into()),
        ],
        REDIS_TARGET_DB,
        dir.path().join("position-redis"),
    )
    .await;

    let sqlite = format!("sqlite://{}", dir.path().join("from.db").display());
    let postgres = fresh_postgres().await;
    migration(
        vec![("SESSION_STORE", "sqlite".into()), ("SQLITE_URL", sqlite)],
        vec![
            ("SESSION_STORE", "postgres".into()),
            ("DATABASE_URL", postgres.clone()),
        ],
        &postgres,
        dir.path().join("position-postgres"),
    )
    .await;
}

/// Bad arguments, an unknown store, a store that is down, a corrupt resume file: one line
/// on stderr, exit 2, never a panic.
#[test]
fn bad_arguments_and_unreachable_stores_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("position");
    std::fs::write(&corrupt, "not a cursor").unwrap();
    let files = dir.path().join("files").display().to_string();
    let files_again = files.clone();
    let cases: Vec<(Env, Vec<String>)> = vec![
        (vec![], vec!["frobnicate".into()]),
        (vec![], vec!["list-owner".into()]),
        (vec![], vec!["count".into(), "--no-such-flag".into()]),
        (vec![("SESSION_STORE", "nope".into())], vec!["count".into()]),
        (
            vec![("SESSION_STORE", "cookie".into())],
            vec!["count".into()],
        ),
        (
            vec![("SESSION_STORE", "memory".into())],
            vec!["count".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "redis".into()),
                ("REDIS_URL", "redis://127.0.0.1:1".into()),
            ],
            vec!["count".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "postgres".into()),
                ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x".into()),
            ],
            vec!["--json".into(), "count".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "file".into()),
                ("SESSION_DIR", files.clone()),
            ],
            vec!["migrate".into(), "--to".into(), "mysql://x".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "file".into()),
                ("SESSION_DIR", files.clone()),
            ],
            vec![
                "migrate".into(),
                "--to".into(),
                "file:///tmp/x".into(),
                "--batch".into(),
                "0".into(),
            ],
        ),
        (
            vec![("SESSION_STORE", "file".into()), ("SESSION_DIR", files)],
            vec![
                "migrate".into(),
                "--to".into(),
                format!("file://{}", dir.path().join("to").display()),
                "--resume".into(),
                corrupt.display().to_string(),
            ],
        ),
        (
            vec![
                ("SESSION_STORE", "file".into()),
                ("SESSION_DIR", files_again),
            ],
            vec!["revoke-owner".into(), String::new()],
        ),
    ];
    for (env, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = admin(&env, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("session-admin: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

/// A migration started again with a `--resume` file goes on from the position the file
/// keeps: the records before it are not copied again. The position here is one a scan of
/// the source handed out after its first page, as a run that died there would have kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_resumes_from_the_position_its_file_keeps() {
    use typed_sessions::Store;
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let from: Env = vec![
        ("SESSION_STORE", "file".into()),
        ("SESSION_DIR", files.display().to_string()),
    ];
    {
        let demo = demo_on(&from).await;
        for _ in 0..12 {
            view(&browser(), Method::POST, format!("{}/visit", demo.base)).await;
        }
    }
    let source = typed_sessions::FileStore::open(&files).unwrap();
    let first = source.scan(None, 5).await.unwrap();
    let position = dir.path().join("position");
    std::fs::write(&position, first.next.unwrap().as_str()).unwrap();

    let target = dir.path().join("to");
    let url = format!("file://{}", target.display());
    let resume = position.display().to_string();
    let args = ["migrate", "--to", &url, "--resume", &resume, "--json"];
    assert_eq!(admin_json(&from, &args), serde_json::json!({"migrated": 7}));
    assert!(!position.exists(), "removed once the copy is done");
    let to: Env = vec![
        ("SESSION_STORE", "file".into()),
        ("SESSION_DIR", target.display().to_string()),
    ];
    assert_eq!(
        admin_json(&to, &["count", "--json"]),
        serde_json::json!({"live": 7})
    );
    // Without the file, the copy starts over and brings the first page too.
    let args = ["migrate", "--to", &url, "--json"];
    assert_eq!(admin_json(&from, &args), serde_json::json!({"migrated": 5}));
    assert_eq!(
        admin_json(&to, &["count", "--json"]),
        serde_json::json!({"live": 12})
    );
}

/// The binary on a Redis Cluster and on Redis Sentinel, named by the demo's variables and
/// their defaults (the set-ups `scripts/` starts): a user's sessions listed and revoked, and
/// the cluster's every master counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_reach_a_redis_cluster_and_a_sentinel_master() {
    for (store, script) in [
        ("redis-cluster", "redis-cluster"),
        ("redis-sentinel", "redis-sentinel"),
    ] {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let started = Command::new(root.join("scripts").join(script))
            .arg("start")
            .current_dir(&root)
            .output()
            .expect("the script runs");
        assert!(started.status.success(), "{script}: {started:?}");
        let env: Env = vec![("SESSION_STORE", store.into())];
        let demo = demo_on(&env).await;
        let user = unique("cluster");
        let browsers = three_sessions(&demo, &user).await;
        let live = admin_json(&env, &["count", "--json"])["live"]
            .as_u64()
            .unwrap();
        assert!(live >= 3, "{store}: {live}");
        let listed = admin_json(&env, &["list-owner", &user, "--json"]);
        assert_eq!(listed.as_array().unwrap().len(), 2, "{store}");
        let revoked = admin_json(&env, &["revoke-owner", &user, "--json"]);
        assert_eq!(revoked, serde_json::json!({"revoked": 2}), "{store}");
        let after = view(&browsers[0], Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(after.user, None, "{store}: logged out by session-admin");
    }
}

/// Everything the store of `env` holds, read raw: the files of a file store or a SQLite
/// database (its WAL too), every value of the Redis database, every row of the PostgreSQL
/// database as text.
async fn raw(env: &[(&str, String)]) -> Vec<u8> {
    let var = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    match env[0].1.as_str() {
        "file" => files(std::path::Path::new(&var("SESSION_DIR").unwrap())),
        "sqlite" => {
            let url = var("SQLITE_URL").unwrap();
            let path = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(path.parent().unwrap()).unwrap().flatten() {
                if entry.file_name().to_string_lossy().starts_with(&name) {
                    bytes.extend(std::fs::read(entry.path()).unwrap_or_default());
                }
            }
            bytes
        }
        "redis" => {
            let db = var("REDIS_URL")
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            let cli = |args: &[&str]| {
                let output = Command::new("redis-cli")
                    .args(["-h", "127.0.0.1", "-n", &db, "--raw"])
                    .args(args)
                    .output()
                    .expect("redis-cli runs");
                output.stdout
            };
            let keys = String::from_utf8(cli(&["--scan"])).unwrap();
            keys.lines().flat_map(|key| cli(&["GET", key])).collect()
        }
        "postgres" => {
            let pool = sqlx::PgPool::connect(&var("DATABASE_URL").unwrap())
                .await
                .unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            let mut bytes = Vec::new();
            for (table,) in tables {
                // The names come from the database's own catalog.
                let query = format!("SELECT t::text FROM {table} t");
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(query))
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                bytes.extend(rows.into_iter().flat_map(|(row,)| row.into_bytes()));
            }
            bytes
        }
        other => panic!("no raw reader for {other}"),
    }
}

fn files(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            bytes.extend(files(&path));
        } else {
            bytes.extend(std::fs::read(path).unwrap_or_default());
        }
    }
    bytes
}

/// Whether `bytes` hold `marker`, as it is or in hex (PostgreSQL shows `bytea` so).
fn holds(bytes: &[u8], marker: &str) -> bool {
    let hex: String = marker.bytes().map(|byte| format!("{byte:02x}")).collect();
    [marker.as_bytes(), hex.as_bytes()]
        .iter()
        .any(|needle| bytes.windows(needle.len()).any(|window| window == *needle))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_encrypt_and_re_key_seal_every_store_and_keep_every_session() {
    let (first, second) = ("f".repeat(64), "s".repeat(64));
    let both = format!("{second},{first}");
    let dir = tempfile::tempdir().unwrap();
    for env in server_stores(&dir).await {
        let kind = env[0].1.clone();
        let with = |more: &[(&'static str, &str)]| {
            let mut env = env.clone();
            env.extend(
                more.iter()
                    .map(|(name, value)| (*name, (*value).to_owned())),
            );
            env
        };
        let plain_env = with(&[("SESSION_SECRET", &first)]);
        // Written plain: the note is in the store.
        let demo = demo_on(&plain_env).await;
        let early = browser();
        let shown = unique("shown");
        view(&early, Method::POST, format!("{}/login/ada", demo.base)).await;
        let posted = early
            .post(format!("{}/note", demo.base))
            .body(shown.clone())
            .send()
            .await;
        assert!(posted.unwrap().status().is_success());
        assert!(holds(&raw(&env).await, &shown), "{kind}: plain");
        drop(demo);

        // A dry run counts, and writes nothing; the run seals it.
        let dry = admin_json(&plain_env, &["re-key", "--dry-run", "--json"]);
        assert_eq!(
            (dry["sealed"].as_u64(), dry["dry_run"].as_bool()),
            (Some(1), Some(true)),
            "{kind}: {dry}"
        );
        assert!(
            holds(&raw(&env).await, &shown),
            "{kind}: a dry run writes nothing"
        );
        let sealed = admin_json(&plain_env, &["re-key", "--json"]);
        assert_eq!(sealed["sealed"].as_u64(), Some(1), "{kind}: {sealed}");
        if kind != "sqlite" {
            // (SQLite may keep a deleted page's old bytes in its file until it reuses it.)
            assert!(!holds(&raw(&env).await, &shown), "{kind}: re-keyed");
        }

        // SESSION_ENCRYPT=1: a new note is nowhere in the store, and every session still
        // reads, across a restart.
        let encrypted_env = with(&[("SESSION_SECRET", &first), ("SESSION_ENCRYPT", "1")]);
        let demo = demo_on(&encrypted_env).await;
        let late = browser();
        let hidden = unique("hidden");
        let posted = late
            .post(format!("{}/note", demo.base))
            .body(hidden.clone())
            .send()
            .await;
        assert!(posted.unwrap().status().is_success());
        assert!(!holds(&raw(&env).await, &hidden), "{kind}: sealed");
        drop(demo);
        let demo = demo_on(&encrypted_env).await;
        let early_view = view(&early, Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(early_view.note_len, shown.len(), "{kind}");
        assert_eq!(early_view.user.as_deref(), Some("ada"), "{kind}");
        let late_view = view(&late, Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(late_view.note_len, hidden.len(), "{kind}");
        drop(demo);

        // A new key for the records: `re-key` moves them all; a demo whose ring holds the
        // new key (its cookies still signed by the first) serves them.
        let moved = admin_json(&with(&[("SESSION_SECRET", &both)]), &["re-key", "--json"]);
        assert_eq!(moved["rekeyed"].as_u64(), Some(2), "{kind}: {moved}");
        let ring_env = with(&[
            ("SESSION_SECRET", &format!("{first},{second}")),
            ("SESSION_ENCRYPT", "1"),
        ]);
        let demo = demo_on(&ring_env).await;
        let late_view = view(&late, Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(late_view.note_len, hidden.len(), "{kind}");
        drop(demo);
        // The second secret made the primary: cookies signed under the first still work
        // (re-issued under the second), and so do records sealed under either.
        let demo = demo_on(&with(&[
            ("SESSION_SECRET", &both),
            ("SESSION_ENCRYPT", "1"),
        ]))
        .await;
        let early_view = view(&early, Method::POST, format!("{}/visit", demo.base)).await;
        assert_eq!(early_view.note_len, shown.len(), "{kind}");
        assert_eq!(early_view.user.as_deref(), Some("ada"), "{kind}");
        let only_first = admin_json(
            &with(&[("SESSION_SECRET", &first)]),
            &["re-key", "--dry-run", "--json"],
        );
        assert!(
            only_first["unopened"].as_u64().unwrap() >= 1,
            "{kind}: {only_first}"
        );
    }
}
