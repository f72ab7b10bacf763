//! The accept loop: HTTP/1.1 over TCP with the bounds `axum::serve` does not offer.
//! At most [`Limits::max_connections`] connections are held (past it, new ones wait in the
//! kernel's queue until one closes); a client must send a request's headers within
//! [`Limits::header_read`], which also closes a kept-alive connection left idle that long;
//! a request's body must arrive within [`Limits::body`] (one sent a byte at a time is
//! answered 408 by [`answer_late_bodies`]); a client that stops reading what it asked for is
//! dropped after [`Limits::write_stall`]. On shutdown, connections finish their requests in progress.
//!
//! Only HTTP/1.1 is spoken: stageboard sits behind a proxy or serves a team directly, an
//! event stream is one connection either way, and telling HTTP/2 apart would wait on the
//! client's first bytes without a bound of hyper's.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::error::AppError;

/// What one server may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at once (event streams are one each).
    pub max_connections: usize,
    /// Time to send a request's headers; also how long an idle kept-alive connection stays.
    pub header_read: Duration,
    /// Time from a request's headers to the end of its body.
    pub body: Duration,
    /// Time a write may wait on a client that does not read before the connection is dropped.
    pub write_stall: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 8192,
            header_read: Duration::from_secs(20),
            body: Duration::from_secs(30),
            // Event streams send a keep-alive every 15 s, so a reading client never stalls
            // this long.
            write_stall: Duration::from_secs(60),
        }
    }
}

/// The largest request head (request line and headers) read: past it, 431.
const MAX_HEAD: usize = 64 << 10;

/// Serves `router` on `listener` until `shutdown` resolves, then lets the connections finish
/// what they are doing (the caller bounds how long: event streams never finish). Each request
/// carries the peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(MAX_HEAD);
    tokio::pin!(shutdown);
    // The cap is logged when reached, at most once a minute.
    let mut warned: Option<std::time::Instant> = None;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(
                        max = limits.max_connections,
                        "holding as many connections as allowed (STAGEBOARD_MAX_CONNECTIONS); new ones wait until one closes"
                    );
                    warned = Some(std::time::Instant::now());
                }
                tokio::select! {
                    permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // The client gave up before it was taken: nothing to wait for.
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) => continue,
                Err(e) => {
                    // Out of file descriptors: wait a moment rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let body_time = limits.body;
        let service = hyper::service::service_fn(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let request = if request.body().is_end_stream() {
                request.map(Body::new)
            } else {
                let late = BodyLate::new(body_time);
                request.extensions_mut().insert(late.clone());
                request.map(|body| {
                    Body::new(DeadlineBody {
                        inner: body,
                        deadline: Box::pin(tokio::time::sleep(body_time)),
                        late,
                    })
                })
            };
            router.clone().oneshot(request)
        });
        let io = TokioIo::new(WriteDeadline::new(stream, limits.write_stall));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            // Errors here are the client's (a reset, a timeout): nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Marks a request whose body did not arrive within [`Limits::body`].
#[derive(Debug, Clone)]
pub struct BodyLate {
    late: Arc<AtomicBool>,
    limit: Duration,
}

impl BodyLate {
    fn new(limit: Duration) -> Self {
        BodyLate {
            late: Arc::new(AtomicBool::new(false)),
            limit,
        }
    }
}

/// A request body that fails once [`Limits::body`] has passed since the headers arrived
/// (however it trickles in), marking its request [`BodyLate`].
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    late: BodyLate,
}

impl http_body::Body for DeadlineBody {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                this.late.late.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err("the request body did not arrive in time".into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Answers 408 to a request whose body came too slowly, whatever its handler made of the
/// failed read (a layer of the router, so the answer carries every header). Only the body is
/// timed: a handler waiting on GitLab is never cut off here, so an action that reached GitLab
/// is never answered 408 (which browsers send again).
pub async fn answer_late_bodies(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let late = request.extensions().get::<BodyLate>().cloned();
    let response = next.run(request).await;
    match late {
        Some(late) if late.late.load(Ordering::Relaxed) => AppError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            stageboard_protocol::ErrorCode::RequestTimeout,
            format!(
                "The request's body did not arrive within {} s; send it at once and try again.",
                late.limit.as_secs()
            ),
        )
        .into_response(),
        _ => response,
    }
}

/// A connection whose writes fail once one has waited [`Limits::write_stall`] on a client
/// that does not read: the socket's buffers are full and the client holds them.
struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, limit: Duration) -> Self {
        WriteDeadline {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Passes a write's outcome on, timing how long it has been pending.
    fn timed<T>(&mut self, cx: &mut Context<'_>, outcome: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if outcome.is_ready() {
            self.stalled = None;
            return outcome;
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if stalled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.timed(cx, outcome)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.timed(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_flush(cx);
        this.timed(cx, outcome)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Raises the open-files limit to what the system allows and says how many connections fit
/// in it, keeping some descriptors for GitLab, the cluster and files.
pub fn connections_that_fit(wanted: usize) -> usize {
    const RESERVE: u64 = 256;
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum || (limit.current.is_some() && limit.maximum.is_none()) {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = raised;
            }
        }
        // `None` is unlimited.
        let Some(current) = limit.current else {
            return wanted;
        };
        let fit = usize::try_from(current.saturating_sub(RESERVE)).unwrap_or(usize::MAX);
        if fit < wanted {
            tracing::warn!(
                wanted,
                fit,
                open_files = current,
                "the open-files limit (ulimit -n) holds fewer connections than STAGEBOARD_MAX_CONNECTIONS; raise it to hold more"
            );
            return fit.max(1);
        }
        wanted
    }
    #[cfg(not(unix))]
    wanted
}
