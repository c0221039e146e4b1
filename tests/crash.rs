//! Durability: `kill -9` of the real binary in the middle of a load of deliveries; after a
//! restart every acknowledged delivery is processed, none is lost and none gets a second job.

mod common;

use common::{SECRET, Setup, count, drained, fixture, jobs_ever_created, sign, stored_deliveries};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Starts `globallm serve` on a free loopback port; returns the child and its address.
fn spawn_service(setup: &Setup) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env_clear()
        .envs(&setup.env)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the service logs where it listens")
            .expect("readable log");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest
                .split([' ', '"'])
                .next()
                .expect("an address")
                .to_owned();
        }
    };
    // Keep draining the log so the service never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_delivery_survives_kill_9_and_is_processed_once() {
    const DELIVERIES: usize = 600;
    const KILL_AFTER_ACKS: usize = 250;
    // On SQLite the restarted service frees the dead one's leases at start; on PostgreSQL
    // (where another replica might hold them) they expire, here within seconds.
    let setup = Setup::new().with_env("GLOBALLM_JOBS__LEASE_SECS", "5");
    let (mut child, addr) = spawn_service(&setup);

    let body = fixture("issues");
    let signature = sign(SECRET, &body);
    let client = reqwest::Client::new();
    let acked = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let ack_count = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..8 {
        let (client, body, signature, addr) = (
            client.clone(),
            body.clone(),
            signature.clone(),
            addr.clone(),
        );
        let (acked, ack_count) = (acked.clone(), ack_count.clone());
        senders.spawn(async move {
            for n in (sender..DELIVERIES).step_by(8) {
                let guid = format!("load-{n}");
                let sent = client
                    .post(format!("http://{addr}/webhook"))
                    .header("x-github-event", "issues")
                    .header("x-github-delivery", &guid)
                    .header("x-hub-signature-256", &signature)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().as_u16() == 202 => {
                        acked.lock().expect("not poisoned").insert(guid);
                        ack_count.fetch_add(1, Ordering::SeqCst);
                    }
                    // Killed: the rest of this sender's deliveries are never acknowledged.
                    _ => return,
                }
            }
        });
    }
    while ack_count.load(Ordering::SeqCst) < KILL_AFTER_ACKS {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    while senders.join_next().await.is_some() {}
    let acked = acked.lock().expect("not poisoned").clone();
    assert!(acked.len() >= KILL_AFTER_ACKS);
    assert!(
        acked.len() < DELIVERIES,
        "the kill landed in the middle of the load"
    );

    let (mut child, _addr) = spawn_service(&setup);
    let db = setup.db().await;
    drained(&db, 1_000).await;
    child.kill().expect("stopped");
    child.wait().expect("reaped");

    let stored = stored_deliveries(&db).await;
    let stored_guids: HashSet<&str> = stored.iter().map(|(g, _)| g.as_str()).collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|g| !stored_guids.contains(g.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let unprocessed: Vec<&(String, String)> = stored
        .iter()
        .filter(|(_, outcome)| outcome != "skipped")
        .collect();
    assert!(
        unprocessed.is_empty(),
        "not processed after the restart: {unprocessed:?}"
    );
    assert_eq!(count(&db, "jobs").await, 0, "no job left, none dead");
    assert_eq!(
        jobs_ever_created(&db).await,
        i64::try_from(stored.len()).expect("fits"),
        "exactly one job per stored delivery"
    );
}

/// Two replicas on one PostgreSQL database share the load; one is killed with SIGKILL in the
/// middle of it. The survivor re-claims the jobs the dead one held once their leases expire,
/// and every acknowledged delivery is processed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_load_leaves_every_acknowledged_delivery_to_the_survivor() {
    // 1,000 here; the failover benchmark runs it with GLOBALLM_FAILOVER_DELIVERIES=10000.
    let deliveries: usize = std::env::var("GLOBALLM_FAILOVER_DELIVERIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let kill_after_acks = deliveries * 3 / 10;
    if !globallm::db::scratch::available_or_skip("a_replica_killed_mid_load") {
        return;
    }
    // Short leases, so the survivor takes over the dead replica's jobs within seconds.
    let setup = Setup::new().with_env("GLOBALLM_JOBS__LEASE_SECS", "5");
    let (mut doomed, doomed_addr) = spawn_service(&setup);
    let (mut survivor, survivor_addr) = spawn_service(&setup);

    let body = fixture("issues");
    let signature = sign(SECRET, &body);
    let client = reqwest::Client::new();
    let acked = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let ack_count = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    // Eight senders, half to each replica, as a load balancer would spread them; a sender
    // whose replica dies moves to the other one, as the balancer would after a failed check.
    for sender in 0..8 {
        let mut addrs = [doomed_addr.clone(), survivor_addr.clone()];
        if sender % 2 == 1 {
            addrs.swap(0, 1);
        }
        let (client, body, signature) = (client.clone(), body.clone(), signature.clone());
        let (acked, ack_count) = (acked.clone(), ack_count.clone());
        senders.spawn(async move {
            let mut target = 0;
            for n in (sender..deliveries).step_by(8) {
                let guid = format!("replicas-{n}");
                loop {
                    let sent = client
                        .post(format!("http://{}/webhook", addrs[target]))
                        .header("x-github-event", "issues")
                        .header("x-github-delivery", &guid)
                        .header("x-hub-signature-256", &signature)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        // 200 "duplicate": the dead replica stored it but died before its
                        // answer; sent again to the survivor, it is not stored twice.
                        Ok(response) if matches!(response.status().as_u16(), 200 | 202) => {
                            acked.lock().expect("not poisoned").insert(guid);
                            ack_count.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        // The replica is gone: GitHub would redeliver; the balancer sends it
                        // to the other replica.
                        _ if target == 0 => target = 1,
                        other => panic!("the survivor refused a delivery: {other:?}"),
                    }
                }
            }
        });
    }
    while ack_count.load(Ordering::SeqCst) < kill_after_acks {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    doomed.kill().expect("SIGKILL");
    doomed.wait().expect("reaped");
    while let Some(sent) = senders.join_next().await {
        sent.expect("every delivery reaches a replica");
    }
    let acked = acked.lock().expect("not poisoned").clone();
    assert_eq!(
        acked.len(),
        deliveries,
        "every delivery acknowledged by one replica"
    );

    let db = setup.db().await;
    drained(&db, 1_500 + deliveries / 4).await;
    survivor.kill().expect("stopped");
    survivor.wait().expect("reaped");

    let stored = stored_deliveries(&db).await;
    assert_eq!(stored.len(), deliveries, "each delivery stored once");
    let unprocessed: Vec<&(String, String)> = stored
        .iter()
        .filter(|(_, outcome)| outcome != "skipped")
        .collect();
    assert!(unprocessed.is_empty(), "not processed: {unprocessed:?}");
    assert_eq!(count(&db, "jobs").await, 0, "no job left, none dead");
    assert_eq!(
        jobs_ever_created(&db).await,
        i64::try_from(deliveries).expect("fits"),
        "exactly one job per delivery, none created again"
    );
}
