//! Accepting connections: a listening socket with a backlog for bursts, HTTP/1.1 over hyper
//! with a header read timeout (axum's `serve` sets none, so a client sending its headers a
//! byte at a time would hold its connection forever), each request tagged with its TCP peer
//! (for `access::Peer`), and graceful shutdown.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// Connections the kernel queues before they are accepted. `TcpListener::bind` asks for 128,
/// which a burst of a few hundred connections (GitHub's, or a flood of slow clients)
/// overflows: the kernel then answers with SYN cookies and resets connections. The kernel caps
/// it at `net.core.somaxconn`.
const BACKLOG: u32 = 1024;

/// Binds the service's listening socket (address reuse on, a backlog of 1,024).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting, lets
/// the requests in flight finish (each waits for its delivery to be stored), closes idle
/// connections, and returns. A client gets `read_timeout` to send each request's headers
/// (also the longest an idle keep-alive connection stays open); slower ones are dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    read_timeout: Duration,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, "connection ended: {err}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An accept error: a connection that failed before it was accepted is nothing to wait for;
/// anything else (out of file descriptors) is waited out briefly rather than spun on.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!("accepting a connection failed: {err}; pausing accepts for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
