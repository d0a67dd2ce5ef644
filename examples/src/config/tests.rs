//! The demo's configuration, read from made-up environments.

use super::*;

fn config(vars: &[(&str, &str)]) -> Result<DemoConfig, String> {
    DemoConfig::from_vars(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

#[test]
fn defaults_are_a_file_store_on_port_3000() {
    let config = config(&[]).unwrap();
    assert_eq!(config.store, StoreKind::File(PathBuf::from("sessions")));
    assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 3000)));
    assert!(config.key_generated);
    assert_eq!(config.idle, Duration::from_secs(1800));
    assert!(!config.secure);
    assert!(!config.options().csrf, "off: existing clients keep working");
    assert!(!config.metrics);
    assert_eq!(config.remember_max_days, 90);
    assert_eq!(config.fresh, Duration::from_secs(300));
    assert_eq!(config.revocations, RevocationStore::Memory);
    assert_eq!(config.max_sessions, None);
    assert_eq!(config.rotate, None);
    assert_eq!(config.rotate_grace, Duration::from_secs(10));
}

#[test]
fn every_variable_is_read_and_bad_values_are_named() {
    let secret = "s".repeat(64);
    let vars = [
        ("SESSION_STORE", "memory"),
        ("PORT", "4000"),
        ("SESSION_SECRET", secret.as_str()),
        ("SESSION_IDLE_SECS", "60"),
        ("SESSION_SECURE", "1"),
        ("DEMO_CSRF", "1"),
        ("DEMO_METRICS", "1"),
        ("DEMO_FRESH_SECS", "5"),
        ("DEMO_MAX_SESSIONS", "3"),
        ("SESSION_ROTATE_SECS", "900"),
        ("SESSION_ROTATE_GRACE_MS", "2500"),
        ("SESSION_REVOCATION_STORE", "redis"),
        ("REDIS_URL", "redis://r:1"),
    ];
    let config = config(&vars).unwrap();
    assert!(config.options().csrf);
    assert!(config.metrics);
    assert_eq!(config.fresh, Duration::from_secs(5));
    assert_eq!(config.max_sessions, Some(3));
    assert_eq!(config.rotate, Some(Duration::from_secs(900)));
    assert_eq!(config.rotate_grace, Duration::from_millis(2500));
    assert!(
        self::config(&[("SESSION_ROTATE_SECS", "often")])
            .unwrap_err()
            .contains("SESSION_ROTATE_SECS")
    );
    for bad in ["0", "-1", "many"] {
        assert!(
            self::config(&[("DEMO_MAX_SESSIONS", bad)])
                .unwrap_err()
                .contains("DEMO_MAX_SESSIONS"),
            "{bad}"
        );
    }
    assert_eq!(
        config.revocations,
        RevocationStore::Redis("redis://r:1".into())
    );
    let postgres = self::config(&[("SESSION_REVOCATION_STORE", "postgres")]).unwrap();
    assert_eq!(
        postgres.revocations,
        RevocationStore::Postgres("postgres://postgres@127.0.0.1:5432/test".into())
    );
    assert!(
        self::config(&[("SESSION_REVOCATION_STORE", "floppy")])
            .unwrap_err()
            .contains("SESSION_REVOCATION_STORE")
    );
    assert!(
        self::config(&[("DEMO_FRESH_SECS", "soon")])
            .unwrap_err()
            .contains("DEMO_FRESH_SECS")
    );
    assert_eq!(
        (config.store, config.addr.port(), config.key_generated),
        (StoreKind::Memory, 4000, false)
    );
    assert_eq!(
        (config.idle, config.secure),
        (Duration::from_secs(60), true)
    );
    assert!(
        self::config(&[("SESSION_STORE", "floppy")])
            .unwrap_err()
            .contains("SESSION_STORE")
    );
    assert_eq!(
        self::config(&[("SESSION_STORE", "cookie")]).unwrap().store,
        StoreKind::Cookie
    );
    let signed = self::config(&[("SESSION_STORE", "signed-cookie")]).unwrap();
    assert_eq!(signed.store, StoreKind::SignedCookie);
    let redis = self::config(&[("SESSION_STORE", "redis"), ("REDIS_URL", "redis://h:1")]).unwrap();
    assert_eq!(redis.store, StoreKind::Redis("redis://h:1".into()));
    let cluster = self::config(&[("SESSION_STORE", "redis-cluster")]).unwrap();
    assert_eq!(
        cluster.store,
        StoreKind::RedisCluster(
            (7001..=7003)
                .map(|port| format!("redis://127.0.0.1:{port}"))
                .collect()
        )
    );
    let sentinel = self::config(&[
        ("SESSION_STORE", "redis-sentinel"),
        ("REDIS_SENTINELS", "redis://a:1, redis://b:2"),
    ])
    .unwrap();
    assert_eq!(
        sentinel.store,
        StoreKind::RedisSentinel {
            sentinels: vec!["redis://a:1".into(), "redis://b:2".into()],
            master: "mymaster".into()
        }
    );
    let postgres = self::config(&[("SESSION_STORE", "postgres")]).unwrap();
    assert_eq!(
        postgres.store,
        StoreKind::Postgres("postgres://postgres@127.0.0.1:5432/test".into())
    );
    let sqlite =
        self::config(&[("SESSION_STORE", "sqlite"), ("SQLITE_URL", "sqlite://x.db")]).unwrap();
    assert_eq!(sqlite.store, StoreKind::Sqlite("sqlite://x.db".into()));
    assert!(
        self::config(&[("SESSION_SECRET", "short")])
            .unwrap_err()
            .contains("SESSION_SECRET")
    );
    assert!(
        self::config(&[("PORT", "http")])
            .unwrap_err()
            .contains("PORT")
    );
}

#[test]
fn several_secrets_make_a_ring_whose_first_is_the_primary() {
    let (new, old) = ("n".repeat(64), "o".repeat(64));
    let both = format!("{new},{old}");
    let encrypted = config(&[("SESSION_SECRET", &both), ("SESSION_ENCRYPT", "1")]).unwrap();
    assert!(encrypted.encrypt && !encrypted.key_generated);
    assert_eq!(encrypted.older_keys.len(), 1);
    let ring = encrypted.ring().unwrap();
    let primary =
        typed_sessions::encryption::KeyRing::id_of(&Key::from_secret(new.as_bytes()).unwrap());
    assert_eq!(ring.primary(), primary);
    assert_eq!(ring.ids().count(), 2);
    // One secret is used as given, commas apart: the key of a deployment stays its key.
    let one = config(&[("SESSION_SECRET", &new)]).unwrap();
    assert!(!one.encrypt);
    assert_eq!(one.ring().unwrap().primary(), primary);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets");
    std::fs::write(&file, format!("{new}\r\n{old}\n")).unwrap();
    let path = file.display().to_string();
    let from_file = config(&[("SESSION_SECRET_FILE", &path)]).unwrap();
    assert_eq!(
        from_file.ring().unwrap().ids().collect::<Vec<_>>(),
        ring.ids().collect::<Vec<_>>()
    );

    let short = format!("{new},short");
    let error = config(&[("SESSION_SECRET", &short)]).unwrap_err();
    assert!(error.starts_with("SESSION_SECRET, secret 2: "), "{error}");
    let error = config(&[("SESSION_SECRET", &new), ("SESSION_SECRET_FILE", &path)]).unwrap_err();
    assert!(error.contains("set one of them"), "{error}");
    let twice = format!("{new},{new}");
    assert!(
        config(&[("SESSION_SECRET", &twice)])
            .unwrap()
            .ring()
            .is_err()
    );
    let error = config(&[("SESSION_ENCRYPT", "yes")]).unwrap_err();
    assert!(error.starts_with("SESSION_ENCRYPT="), "{error}");
    let missing = config(&[("SESSION_SECRET_FILE", "/nonexistent/secrets")]).unwrap_err();
    assert!(missing.starts_with("SESSION_SECRET_FILE="), "{missing}");
}

#[test]
fn dbsc_is_off_by_default_and_its_variables_are_checked() {
    assert_eq!(config(&[]).unwrap().dbsc, None);
    assert!(!config(&[]).unwrap().options().dbsc);
    let on = config(&[("DEMO_DBSC", "1")]).unwrap();
    assert_eq!(on.dbsc, Some(Duration::from_secs(600)));
    assert!(on.options().dbsc);
    let short = config(&[("DEMO_DBSC", "1"), ("DEMO_BOUND_SECS", "5")]).unwrap();
    assert_eq!(short.dbsc, Some(Duration::from_secs(5)));
    for (vars, named) in [
        (&[("DEMO_DBSC", "yes")][..], "DEMO_DBSC"),
        (
            &[("DEMO_DBSC", "1"), ("DEMO_BOUND_SECS", "0")][..],
            "DEMO_BOUND_SECS=0",
        ),
        (
            &[("DEMO_DBSC", "1"), ("DEMO_BOUND_SECS", "soon")][..],
            "DEMO_BOUND_SECS",
        ),
    ] {
        let error = config(vars).unwrap_err();
        assert!(error.contains(named), "{error}");
    }
}
