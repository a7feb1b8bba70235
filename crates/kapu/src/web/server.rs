//! Serving HTTP/1.1 so that slow or greedy clients cannot starve others.
//!
//! - A request's header must arrive within `server.header_timeout_seconds`
//!   (hyper's header timer, which also starts when a keep-alive connection
//!   begins to wait for its next request);
//! - a keep-alive connection with no request in progress is closed after
//!   `server.keep_alive_timeout_seconds` without a byte from the client;
//! - a request body must arrive within `server.body_timeout_seconds` (408);
//! - at most `server.max_connections` connections in all, and at most
//!   `server.max_connections_per_address` from one address (an IPv6 /64 is
//!   one): a connection past either is closed at once, before it costs
//!   anything but the accept. Behind a trusted proxy (`trust_forwarded_for`)
//!   every connection comes from the proxy, so the per-address cap is the
//!   proxy's job and is not applied here.
//!
//! The total cap is also kept below the process's open-file limit (less
//! [`RESERVED_DESCRIPTORS`] for the database, files and listeners), so
//! descriptors do not run out under load. Should `accept` fail all the same
//! (EMFILE), the loop waits a moment instead of spinning, and the
//! connections it has keep being served.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::Kapu;
use crate::throttle::address_key;

/// Open connections, in all and per client address.
#[derive(Default)]
struct Connections {
    total: AtomicUsize,
    per_address: Mutex<HashMap<String, usize>>,
}

/// A connection counted in [`Connections`]; uncounted when dropped.
struct Counted {
    connections: Arc<Connections>,
    address: Option<String>,
}

impl Connections {
    /// Counts a new connection, or `None` (with the reason) when a cap is reached.
    fn admit(
        self: &Arc<Self>,
        address: Option<String>,
        max_total: usize,
        max_per_address: usize,
    ) -> Result<Counted, &'static str> {
        if self.total.fetch_add(1, Ordering::SeqCst) >= max_total {
            self.total.fetch_sub(1, Ordering::SeqCst);
            return Err("connections_total");
        }
        if let Some(address) = &address {
            let mut per = self.per_address.lock().unwrap_or_else(PoisonError::into_inner);
            let open = per.entry(address.clone()).or_insert(0);
            if *open >= max_per_address {
                drop(per);
                self.total.fetch_sub(1, Ordering::SeqCst);
                return Err("connections_per_address");
            }
            *open += 1;
        }
        Ok(Counted { connections: Arc::clone(self), address })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.connections.total.fetch_sub(1, Ordering::SeqCst);
        if let Some(address) = &self.address {
            let mut per = self.connections.per_address.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(open) = per.get_mut(address) {
                *open -= 1;
                if *open == 0 {
                    per.remove(address);
                }
            }
        }
    }
}

/// When a connection last received a byte, and whether a request is in
/// progress on it (then it is not idle, however long the answer takes).
struct Activity {
    started: Instant,
    last_read_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_read_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.started.elapsed().as_millis();
        Duration::from_millis(
            u64::try_from(now).unwrap_or(u64::MAX).saturating_sub(self.last_read_ms.load(Ordering::Relaxed)),
        )
    }
}

/// The socket, noting every byte the client sends.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Counts a request as in progress until its response is ready.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

/// Descriptors kept free of client connections: the database pool, the
/// listeners, the outbox and key files.
pub const RESERVED_DESCRIPTORS: u64 = 128;

/// `server.max_connections`, or fewer when the open-file limit (`ulimit -n`)
/// would run out first.
pub fn connection_cap(configured: usize) -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let Some(open_files) = limit.current else { return configured };
    let room = usize::try_from(open_files.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX).max(16);
    if room < configured {
        tracing::info!(open_files, max_connections = room, "open-file limit below server.max_connections; capping");
    }
    configured.min(room)
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the
/// requests in progress finish (at most 10 s).
pub async fn serve_connections(
    kapu: Arc<Kapu>,
    app: Router,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cfg = kapu.config.server.clone();
    let max_connections = connection_cap(cfg.max_connections);
    let connections = Arc::new(Connections::default());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors (EMFILE) and the like: serving the
                // connections there are frees them; do not spin meanwhile.
                tracing::warn!(error = %e, "accept failed; waiting a moment");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let address = (!cfg.trust_forwarded_for).then(|| address_key(&peer.ip().to_string()));
        let counted = match connections.admit(address, max_connections, cfg.max_connections_per_address) {
            Ok(counted) => counted,
            Err(reason) => {
                kapu.metrics.refused(reason);
                drop(stream);
                continue;
            }
        };
        while tasks.try_join_next().is_some() {}
        let (app, kapu, mut stopping) = (app.clone(), Arc::clone(&kapu), stopping.clone());
        tasks.spawn(async move {
            let _counted = counted;
            serve_one(kapu, app, stream, peer, &mut stopping).await;
        });
    }
    let _ = stop.send(true);
    let drained = tokio::time::timeout(Duration::from_secs(10), async { while tasks.join_next().await.is_some() {} });
    if drained.await.is_err() {
        tracing::warn!(open = tasks.len(), "stopping with connections still open");
        tasks.abort_all();
    }
    Ok(())
}

async fn serve_one(
    kapu: Arc<Kapu>,
    app: Router,
    stream: TcpStream,
    peer: SocketAddr,
    stopping: &mut tokio::sync::watch::Receiver<bool>,
) {
    let cfg = &kapu.config.server;
    let _ = stream.set_nodelay(true);
    let activity =
        Arc::new(Activity { started: Instant::now(), last_read_ms: AtomicU64::new(0), in_flight: AtomicUsize::new(0) });
    let io = TokioIo::new(Watched { stream, activity: Arc::clone(&activity) });
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            let in_flight = InFlight::new(&activity);
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(Body::new)).await;
                drop(in_flight);
                response
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(cfg.header_timeout_seconds))
        .serve_connection(io, service);
    tokio::pin!(connection);
    let keep_alive = Duration::from_secs(cfg.keep_alive_timeout_seconds);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended");
                }
                return;
            }
            changed = stopping.changed(), if !closing => {
                if changed.is_err() || *stopping.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(Duration::from_secs(1)), if !closing => {
                if activity.in_flight.load(Ordering::SeqCst) == 0 && activity.idle_for() >= keep_alive {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Reads a request body within `server.body_timeout_seconds` (and within
/// `server.max_body_bytes`), so a client that trickles a body cannot hold a
/// request open; the handlers then get the body whole. For the endpoints
/// that services call (token, userinfo); pages read theirs in
/// `context::page_context`, which answers in the page's language.
pub async fn read_body_in_time(
    axum::extract::State(kapu): axum::extract::State<Arc<Kapu>>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let cfg = &kapu.config.server;
    let has_body = request.headers().contains_key(header::CONTENT_LENGTH)
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, cfg.max_body_bytes);
    match tokio::time::timeout(Duration::from_secs(cfg.body_timeout_seconds), read).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(_)) => {
            (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONNECTION, "close")], "request body too large\n").into_response()
        }
        Err(_) => {
            kapu.metrics.refused("body_timeout");
            (StatusCode::REQUEST_TIMEOUT, [(header::CONNECTION, "close")], "request body too slow\n").into_response()
        }
    }
}
