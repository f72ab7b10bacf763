//! The accept loop: HTTP/1 and HTTP/2 over TCP with the bounds `axum::serve` does not offer.
//! At most [`Limits::max_connections`] connections are held (past it, new ones wait in the
//! kernel's queue until one closes); a client must send a request's headers within
//! [`Limits::header_read`], which also closes a kept-alive connection left idle that long; an
//! HTTP/2 client must answer pings. On shutdown, connections finish their requests in progress.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What one server may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at once (event streams are one each).
    pub max_connections: usize,
    /// Time to send a request's headers; also how long an idle kept-alive connection stays.
    pub header_read: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 8192,
            header_read: Duration::from_secs(20),
        }
    }
}

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
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(limits.header_read);
    let builder = Arc::new(builder);
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
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was taken: wait
                    // a moment rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let service = TowerToHyperService::new(service);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let header_read = limits.header_read;
        tokio::spawn(async move {
            // Telling HTTP/1 from HTTP/2 waits for the first bytes, before hyper's header timer
            // runs: a connection that sends nothing is closed here.
            let mut first = [0u8; 1];
            if !matches!(
                tokio::time::timeout(header_read, stream.peek(&mut first)).await,
                Ok(Ok(1..))
            ) {
                return;
            }
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            // Errors here are the client's (a reset, a header timeout): nothing to report.
            let _ = watcher.watch(connection.into_owned()).await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
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
