//! What one client can hold, on a real TCP listener with the real server: headers that never
//! end are cut off, a request that takes too long is answered 408, requests beyond the
//! concurrency limit get 503 with `Retry-After`, a request that cannot be a delivery is
//! refused before its body is sent, and hundreds of slow clients leave health checks and
//! signed deliveries answered at once. Bounds are generous: these tests are about behaviour,
//! not speed.

mod common;

use common::{Delivery, SECRET, Setup, fixture, sign};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Headers of a delivery whose body (of `length` bytes) is still to come.
fn webhook_head(length: usize, signed: bool) -> String {
    let signature = if signed {
        format!("x-hub-signature-256: {}\r\n", sign(SECRET, b"not the body"))
    } else {
        String::new()
    };
    format!(
        "POST /webhook HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         x-github-event: issues\r\nx-github-delivery: slow-{length}\r\n{signature}\
         content-length: {length}\r\n\r\n"
    )
}

/// Reads what the server sends until it closes the connection or `limit` passes; returns the
/// text and whether the connection was closed.
async fn read_answer(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&received).into(), true),
            Ok(Ok(n)) => {
                received.extend_from_slice(&buffer[..n]);
                if received.windows(4).any(|w| w == b"\r\n\r\n") && received.len() > 12 {
                    return (String::from_utf8_lossy(&received).into(), false);
                }
            }
            Err(_) => return (String::from_utf8_lossy(&received).into(), false),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let setup = Setup::new().with_env("GLOBALLM_SERVER__READ_TIMEOUT_SECS", "1");
    let service = setup.start().await;
    let mut stream = TcpStream::connect(service.addr).await.expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-slow: ")
        .await
        .expect("writes");
    let started = Instant::now();
    let (_, closed) = read_answer(&mut stream, Duration::from_secs(15)).await;
    assert!(
        closed,
        "the connection is still open after {:?}",
        started.elapsed()
    );
    drop(stream);
    service.stop().await;
}

#[tokio::test]
async fn a_request_still_running_at_the_request_timeout_is_answered_408() {
    let setup = Setup::new().with_env("GLOBALLM_SERVER__REQUEST_TIMEOUT_SECS", "1");
    let service = setup.start().await;
    let mut stream = TcpStream::connect(service.addr).await.expect("connects");
    stream
        .write_all(webhook_head(1_000, true).as_bytes())
        .await
        .expect("writes");
    stream.write_all(b"{\"act").await.expect("writes");
    let (answer, _) = read_answer(&mut stream, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    drop(stream);
    service.stop().await;
}

#[tokio::test]
async fn a_body_that_pauses_longer_than_the_read_timeout_is_refused() {
    let setup = Setup::new().with_env("GLOBALLM_SERVER__READ_TIMEOUT_SECS", "1");
    let service = setup.start().await;
    let mut stream = TcpStream::connect(service.addr).await.expect("connects");
    stream
        .write_all(webhook_head(1_000, true).as_bytes())
        .await
        .expect("writes");
    stream.write_all(b"{\"act").await.expect("writes");
    let (answer, _) = read_answer(&mut stream, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("could not be read"), "{answer}");
    drop(stream);
    service.stop().await;
}

#[tokio::test]
async fn a_request_that_cannot_be_a_delivery_is_refused_before_its_body_is_sent() {
    let setup = Setup::new();
    let service = setup.start().await;

    // No signature: nothing the body holds could make it acceptable.
    let mut unsigned = TcpStream::connect(service.addr).await.expect("connects");
    unsigned
        .write_all(webhook_head(1_000_000, false).as_bytes())
        .await
        .expect("writes");
    let (answer, _) = read_answer(&mut unsigned, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");

    // Declared over GitHub's 25 MiB cap.
    let mut huge = TcpStream::connect(service.addr).await.expect("connects");
    huge.write_all(webhook_head(30 * 1024 * 1024, true).as_bytes())
        .await
        .expect("writes");
    let (answer, _) = read_answer(&mut huge, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.contains("25 MiB"), "{answer}");
    drop((unsigned, huge));
    service.stop().await;
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_get_503_with_retry_after() {
    let setup = Setup::new().with_env("GLOBALLM_SERVER__MAX_CONCURRENT_REQUESTS", "2");
    let service = setup.start().await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(service.addr).await.expect("connects");
        stream
            .write_all(webhook_head(1_000, true).as_bytes())
            .await
            .expect("writes");
        held.push(stream);
    }
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let shed = loop {
        let response = client
            .get(service.url("/dashboard.json"))
            .send()
            .await
            .expect("answers");
        if response.status() == 503 {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "never shed: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shed.headers()["retry-after"], "1");
    let (status, _) = service.get("/healthz").await;
    assert_eq!(status, 200, "health checks are outside the limit");

    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    while service.get("/dashboard.json").await.0 == 503 {
        assert!(Instant::now() < deadline, "the slots never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service.stop().await;
}

/// A connection that sends `head` at once, then `trickled` a byte at a time, forever; returns
/// why it stopped.
async fn slow_client(addr: SocketAddr, head: Vec<u8>, trickled: Vec<u8>) -> String {
    let mut stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(err) => return format!("connect: {err}"),
    };
    if let Err(err) = stream.write_all(&head).await {
        return format!("head: {err}");
    }
    let mut answer = [0_u8; 512];
    for byte in trickled.iter().cycle() {
        if let Ok(n) = stream.try_read(&mut answer)
            && n > 0
        {
            return format!("answered: {}", String::from_utf8_lossy(&answer[..n]));
        }
        if let Err(err) = stream.write_all(&[*byte]).await {
            return format!("trickle: {err}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!("cycle() never ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_slow_clients_leave_health_and_deliveries_answered_within_a_second() {
    let setup = Setup::new();
    let service = setup.start().await;
    let mut slow = JoinSet::new();
    for n in 0..500 {
        let (head, trickled) = if n % 2 == 0 {
            // Headers one byte at a time.
            (
                Vec::new(),
                b"GET /dashboard HTTP/1.1\r\nhost: localhost\r\nx-padding: aaaaaaaaaaaaaaaaaaaa"
                    .to_vec(),
            )
        } else {
            // Complete headers, then the body one byte at a time.
            (webhook_head(100_000, true).into_bytes(), vec![b'a'; 100])
        };
        let addr = service.addr;
        slow.spawn(async move { (n, slow_client(addr, head, trickled).await) });
    }
    // Let every slow client connect and start.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    if let Some(stopped) = slow.try_join_next() {
        panic!("a slow client stopped: {stopped:?}");
    }

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("a client");
    for _ in 0..3 {
        let started = Instant::now();
        let health = client
            .get(service.url("/healthz"))
            .send()
            .await
            .expect("/healthz answered within a second");
        assert_eq!(health.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1));

        let body = fixture("ping");
        let delivery = Delivery::signed("ping", &body);
        let started = Instant::now();
        let answer = client
            .post(service.url("/webhook"))
            .header("content-type", "application/json")
            .header("x-github-event", "ping")
            .header("x-github-delivery", delivery.guid.clone().expect("an id"))
            .header(
                "x-hub-signature-256",
                delivery.signature.clone().expect("signed"),
            )
            .body(body)
            .send()
            .await
            .expect("the delivery answered within a second");
        assert_eq!(answer.status(), 202);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    slow.abort_all();
    while slow.join_next().await.is_some() {}
    service.stop().await;
}
