//! `RedisStore` on a real Redis Cluster and a real Redis Sentinel set-up, started from
//! `scripts/`: the conformance suite and the demo on each, round trips, a cluster that is
//! down at start-up, slots moved under traffic, failovers (a master killed by its pid) and
//! planned failovers (`SENTINEL FAILOVER`, `CLUSTER FAILOVER`).

use axum::Router;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use typed_sessions::store::conformance;
use typed_sessions::{RedisStore, SessionLayer};
use typed_sessions_tests::{
    Client, RedisCluster, RedisSentinel, app, calls_between, command_calls, key, login_flow,
    redis_cluster_store, redis_on, redis_sentinel_store, redis_sentinels, strs, two_instances,
    until_replicated, view_with,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_store_meets_the_contract() {
    conformance::run_all(Arc::new(redis_cluster_store().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sentinel_store_meets_the_contract() {
    conformance::run_all(Arc::new(redis_sentinel_store().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_works_on_a_redis_cluster_and_two_instances_share_it() {
    login_flow(redis_cluster_store().await).await;
    let store = redis_cluster_store().await;
    two_instances(store.clone(), store).await;
    // Sessions land on every master: 30 sessions, each written and read back.
    let mut client = Client::new(app(SessionLayer::new(redis_cluster_store().await, &key())));
    for _ in 0..30 {
        client.jar.clear();
        assert_eq!(client.post("/visit").await.view().visits, 1);
        assert_eq!(client.post("/visit").await.view().visits, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_works_on_redis_sentinel_and_two_instances_share_it() {
    login_flow(redis_sentinel_store().await).await;
    let store = redis_sentinel_store().await;
    two_instances(store.clone(), store).await;
}

/// A store on a Sentinel set-up of a test's own.
async fn sentinel_store(set_up: &RedisSentinel) -> RedisStore {
    RedisStore::connect_sentinel(&strs(&set_up.sentinels()), "mymaster")
        .await
        .expect("URLs")
}

/// The demo on a cluster of a test's own, its sessions under `prefix`.
async fn on_cluster(cluster: &RedisCluster, prefix: &'static str) -> Router {
    let store = RedisStore::connect_cluster(&strs(&cluster.nodes()))
        .await
        .expect("URLs");
    app(SessionLayer::new(store.with_prefix(prefix), &key()))
}

/// Logs in and out through `app`: the cookie of the logged-in session, which a logout
/// answered 2xx has ended.
async fn logged_out(app: &Router) -> String {
    let mut client = Client::new(app.clone());
    client.post("/login/ada").await;
    let logged_in = client.cookie_header().expect("a cookie");
    assert!(client.post("/logout").await.status.is_success());
    logged_in
}

/// How many keys matching `pattern` the server on `port` holds.
fn keys_on(port: u16, pattern: &str) -> usize {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query(&mut redis_on(port))
        .expect("KEYS");
    keys.len()
}

/// Clients with a session each, and how many of their visits were answered 2xx and 503.
struct Visitors {
    clients: Vec<Client>,
    answered: Vec<u64>,
    unavailable: Vec<u64>,
}

impl Visitors {
    /// `n` clients, each with a session of one visit.
    async fn new(app: &Router, n: usize) -> Self {
        let mut visitors = Self {
            clients: (0..n).map(|_| Client::new(app.clone())).collect(),
            answered: vec![0; n],
            unavailable: vec![0; n],
        };
        assert_eq!(visitors.round().await, 0);
        visitors
    }

    /// The same clients, counting from what their sessions hold now.
    async fn resume(clients: impl Iterator<Item = Client>) -> Self {
        let mut clients: Vec<Client> = clients.collect();
        let mut answered = Vec::new();
        for client in &mut clients {
            let reply = client.get("/session").await;
            assert!(reply.status.is_success(), "{}", reply.body);
            answered.push(reply.view().visits);
        }
        let unavailable = vec![0; clients.len()];
        Self {
            clients,
            answered,
            unavailable,
        }
    }

    /// One visit by each client, in turn: how many were answered 503. Any answer but 2xx
    /// and 503 fails the test.
    async fn round(&mut self) -> u64 {
        let mut unavailable = 0;
        for (i, client) in self.clients.iter_mut().enumerate() {
            let reply = client.post("/visit").await;
            match reply.status {
                status if status.is_success() => self.answered[i] += 1,
                StatusCode::SERVICE_UNAVAILABLE => {
                    self.unavailable[i] += 1;
                    unavailable += 1;
                }
                status => panic!("{status}: {}", reply.body),
            }
        }
        unavailable
    }

    /// Rounds of visits, 100 ms apart, until one is answered 2xx throughout after at least
    /// one 503, for up to `bound`: how long the 503s lasted.
    async fn through_an_outage(&mut self, bound: Duration) -> Duration {
        let start = Instant::now();
        let mut last_unavailable = None;
        while start.elapsed() < bound {
            if self.round().await > 0 {
                last_unavailable = Some(start.elapsed());
            } else if let Some(outage) = last_unavailable {
                return outage;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still answering 503 (or never did) after {bound:?}: {last_unavailable:?}");
    }

    /// Each session holds every visit answered 2xx, and of the visits answered 503 at most
    /// those (a write may land even though its reply was lost); with `exact`, none of them.
    async fn check(&mut self, exact: bool) {
        for (i, client) in self.clients.iter_mut().enumerate() {
            let visits = client.get("/session").await.view().visits;
            let answered = self.answered[i];
            let most = if exact {
                answered
            } else {
                answered + self.unavailable[i]
            };
            assert!(
                (answered..=most).contains(&visits),
                "client {i}: {visits} visits, {answered} answered 2xx"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_sentinel_answering_session_routes_get_503_and_the_others_are_served() {
    // Loopback ports where nothing listens (the ones a RedisSentinel would take at 300).
    let sentinels = ["redis://127.0.0.1:26679", "redis://127.0.0.1:26680"];
    let store = RedisStore::connect_sentinel(&sentinels, "mymaster")
        .await
        .expect("URLs");
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    let reply = client.post("/visit").await;
    client.assert_store_down(&reply).await;
    let unknown = RedisStore::connect_sentinel(&strs(&redis_sentinels()), "no-such-master")
        .await
        .expect("URLs");
    let mut client = Client::new(app(SessionLayer::new(unknown, &key())));
    let reply = client.post("/visit").await;
    client.assert_store_down(&reply).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_costs_503s_for_a_bounded_time_and_keeps_sessions_and_logouts() {
    let set_up = RedisSentinel::start(100);
    let app = app(SessionLayer::new(sentinel_store(&set_up).await, &key()));
    let mut visitors = Visitors::new(&app, 8).await;
    assert_eq!(visitors.round().await, 0);
    // A logout answered 2xx: the delete waited for the replica.
    let logged_in = logged_out(&app).await;

    let old = set_up.master_port();
    until_replicated(old);
    set_up.signal(old, "-KILL");
    let outage = visitors.through_an_outage(Duration::from_secs(30)).await;

    assert_ne!(set_up.master_port(), old, "the replica was promoted");
    visitors.check(false).await;
    assert_eq!(
        view_with(&app, &logged_in).await.user,
        None,
        "the logout was undone by the failover"
    );
    println!("sentinel failover: 503s for {outage:?} after the master was killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_failover_is_followed_though_the_old_master_stays_up() {
    // `SENTINEL FAILOVER`: the replica is promoted while the old master keeps running and
    // accepting writes (the new master never sees them) until the sentinels demote it, up
    // to 10 s later. The store must move to the new master long before that.
    let set_up = RedisSentinel::start(400);
    let app = app(SessionLayer::new(sentinel_store(&set_up).await, &key()));
    let mut visitors = Visitors::new(&app, 8).await;
    let old = set_up.master_port();
    until_replicated(old);
    let _: String = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg("mymaster")
        .query(&mut redis_on(26779))
        .expect("SENTINEL FAILOVER");
    let promoted = set_up.until_promoted(old, Duration::from_secs(30));
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut redis_on(old)).expect("ROLE");
    assert_eq!(
        role.first(),
        Some(&redis::Value::BulkString(b"master".to_vec())),
        "the old master is not demoted yet: writes to it would be lost"
    );
    // Within 1.5 s of the promotion, every write goes to the new master.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut after = Visitors::resume(visitors.clients.drain(..)).await;
    for _ in 0..5 {
        after.round().await;
    }
    // Once the sentinels have demoted the old master, it holds only what the new one has:
    // a write the old master took is gone, wherever the app reads.
    let demoted = Instant::now();
    while !redis::cmd("INFO")
        .arg("replication")
        .query::<String>(&mut redis_on(old))
        .expect("INFO")
        .contains("master_link_status:up")
    {
        assert!(
            demoted.elapsed() < Duration::from_secs(30),
            "{old} not demoted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    after.check(true).await;
    println!(
        "planned sentinel failover: promoted after {promoted:?}, old master demoted {:?} later",
        demoted.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_that_no_replica_acknowledged_is_answered_503() {
    let set_up = RedisSentinel::start(200);
    let store = sentinel_store(&set_up)
        .await
        .with_delete_wait(Some(Duration::from_millis(300)));
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    client.post("/login/ada").await;

    let replica = set_up.replica_port();
    set_up.signal(replica, "-STOP");
    let reply = client.post("/logout").await;
    set_up.signal(replica, "-CONT");
    client.assert_store_down(&reply).await;
    // With the replica back, logging out again is answered (the session is already gone
    // from the master).
    let reply = client.post("/logout").await;
    assert!(reply.status.is_success(), "{}", reply.body);
    assert_eq!(client.get("/session").await.view().user, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_master_killed_costs_its_slots_503s_for_a_bounded_time() {
    let cluster = RedisCluster::start(7101);
    let app = on_cluster(&cluster, "failover:").await;
    let mut visitors = Visitors::new(&app, 24).await;
    let logged_in = logged_out(&app).await;

    let masters = cluster.masters();
    let victim = *masters.keys().next().expect("a master");
    for port in masters.keys() {
        until_replicated(*port);
    }
    let on_victim = keys_on(victim, "failover:*");
    cluster.kill(victim);
    let outage = visitors.through_an_outage(Duration::from_secs(30)).await;

    assert!(
        !cluster.masters().contains_key(&victim),
        "a replica took over the slots of {victim}"
    );
    let hit = visitors.unavailable.iter().filter(|n| **n > 0).count();
    assert_eq!(
        hit, on_victim,
        "the sessions of the killed master got 503s, the others were answered throughout"
    );
    visitors.check(false).await;
    assert_eq!(view_with(&app, &logged_in).await.user, None);
    println!(
        "cluster failover: 503s for {outage:?}, for {hit} of {} sessions",
        visitors.clients.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_cluster_failover_under_traffic_keeps_every_answered_write() {
    // `CLUSTER FAILOVER` on a replica: its master stops taking writes, the replica catches
    // up and takes over, and the old master answers `MOVED` from then on.
    let cluster = RedisCluster::start(7401);
    let app = on_cluster(&cluster, "planned:").await;
    let mut visitors = Visitors::new(&app, 24).await;
    let before = cluster.masters();
    let replica = (7401..7407)
        .find(|port| !before.contains_key(port))
        .expect("a replica");
    let _: String = redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .query(&mut redis_on(replica))
        .expect("CLUSTER FAILOVER");
    let start = Instant::now();
    let mut rounds = 0;
    while !cluster.masters().contains_key(&replica) {
        assert!(start.elapsed() < Duration::from_secs(30), "no failover");
        visitors.round().await;
        rounds += 1;
    }
    for _ in 0..5 {
        visitors.round().await;
    }
    visitors.check(true).await;
    let unavailable: u64 = visitors.unavailable.iter().sum();
    println!(
        "planned cluster failover: {rounds} rounds of 24 visits during it, {unavailable} answered 503"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_keep_exactly_their_answered_writes_while_slots_move() {
    let cluster = RedisCluster::start(7201);
    let app = on_cluster(&cluster, "moving:").await;
    let mut visitors = Visitors::new(&app, 40).await;
    let masters: Vec<u16> = cluster.masters().into_keys().collect();
    let (from, to) = (masters[0], masters[1]);
    let before = keys_on(to, "moving:*");

    let args = [
        "--cluster".to_owned(),
        "reshard".to_owned(),
        format!("127.0.0.1:{from}"),
        "--cluster-from".to_owned(),
        cluster.node_id(from),
        "--cluster-to".to_owned(),
        cluster.node_id(to),
        "--cluster-slots".to_owned(),
        "4000".to_owned(),
        "--cluster-yes".to_owned(),
        "--cluster-pipeline".to_owned(),
        "1".to_owned(),
    ];
    let reshard = tokio::task::spawn_blocking(move || {
        std::process::Command::new("redis-cli")
            .args(args)
            .output()
            .expect("redis-cli runs")
    });
    let mut rounds = 0;
    while !reshard.is_finished() {
        visitors.round().await;
        rounds += 1;
    }
    let out = reshard.await.expect("joined");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    visitors.round().await;

    visitors.check(true).await;
    let after = keys_on(to, "moving:*");
    assert!(
        after > before,
        "sessions moved: {before} -> {after} on {to}"
    );
    let unavailable: u64 = visitors.unavailable.iter().sum();
    println!(
        "resharding 4000 slots: {rounds} rounds of 40 visits meanwhile, {unavailable} answered 503, {} sessions moved",
        after - before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_down_at_start_up_is_503_then_used_once_up_with_the_same_round_trips() {
    let cluster = RedisCluster::not_started(7301);
    let store = RedisStore::connect_cluster(&strs(&cluster.nodes()))
        .await
        .expect("URLs");
    let mut client = Client::new(app(SessionLayer::new(store, &key())));
    let reply = client.post("/visit").await;
    client.assert_store_down(&reply).await;

    let cluster = RedisCluster::start(7301);
    let first = client
        .until_success(axum::http::Method::POST, "/visit")
        .await;
    assert_eq!(first.expect("the cluster is used once up").view().visits, 1);
    client.post("/visit").await;

    // The masters only: their replicas run the writes again, from the replication stream.
    let masters: Vec<u16> = cluster.masters().into_keys().collect();
    let ports = || masters.iter().copied();
    let before = command_calls(ports());
    client.get("/health").await;
    assert_eq!(calls_between(&before, &command_calls(ports())), [].into());
    let before = command_calls(ports());
    client.get("/session").await;
    let read = calls_between(&before, &command_calls(ports()));
    assert_eq!(read, [("get".to_owned(), 1)].into(), "a read: one GET");
    let before = command_calls(ports());
    client.post("/visit").await;
    let write = calls_between(&before, &command_calls(ports()));
    assert_eq!(
        write,
        [
            ("evalsha".to_owned(), 1),
            ("get".to_owned(), 2),
            ("hmget".to_owned(), 1),
            ("set".to_owned(), 1)
        ]
        .into(),
        "a write: a GET and the compare-and-swap script"
    );
    // A logout on a master with a replica: the load, then `DEL` and `ROLE` in one round
    // trip, then `EXISTS` and `WAIT 1` in another.
    let before = command_calls(ports());
    assert!(client.post("/logout").await.status.is_success());
    let mut logout = calls_between(&before, &command_calls(ports()));
    // And the `SPUBLISH` that tells other instances' live sessions, on the session's shard
    // channel, sent beside the response (not waited for): counted here once it has gone
    // out, or not yet.
    assert!(logout.remove("spublish").unwrap_or(0) <= 1, "{logout:?}");
    assert_eq!(
        logout,
        ["get", "del", "role", "exists", "wait"]
            .map(|name| (name.to_owned(), 1))
            .into(),
    );
    println!("cluster commandstats per request: read {read:?}, write {write:?}, logout {logout:?}");
    drop(cluster);
}
