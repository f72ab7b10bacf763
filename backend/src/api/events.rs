//! `GET /api/v1/events`: server-sent events. A browser names the views it has open
//! (`?topics=projects,project:1,log:1:5001`) and hears of changes to those only; after a lost
//! connection it sends `Last-Event-ID` and gets what it missed, or a `reset` when too much
//! happened (then it reads everything again).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::client::ClientAddr;
use crate::error::{AppError, AppResult};
use stageboard_protocol::ServerEvent;

use crate::hub::events::{Change, Replay, Topics};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Comma-separated: `projects` (every watched project), `project:<id>`, `log:<project>:<job>`,
    /// `cluster` (what runs in the cluster changed).
    topics: Option<String>,
    /// For clients that cannot set the `Last-Event-ID` header.
    last_event_id: Option<String>,
}

/// Keeps the client counted and its followed logs flowing while the stream lives.
struct Connection {
    state: AppState,
    _follows: Vec<Arc<()>>,
    /// One of the server's event streams (STAGEBOARD_MAX_STREAMS).
    _permit: tokio::sync::OwnedSemaphorePermit,
    /// One of its address's (STAGEBOARD_MAX_STREAMS_PER_ADDRESS).
    _hold: crate::client::StreamHold,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.state.hub().metrics().sse_clients().dec();
    }
}

fn event(change: &Change) -> Event {
    Event::default()
        .id(change.id.clone())
        .event(change.kind.name())
        .json_data(change)
        .unwrap_or_else(|_| Event::default().event("reset").data("{}"))
}

fn reset() -> Event {
    let reset = ServerEvent::Reset {
        reason: "too much changed while you were away; read everything again".into(),
    };
    Event::default()
        .event(reset.name())
        .json_data(&reset)
        .unwrap_or_else(|_| Event::default().event("reset").data("{}"))
}

/// Changes for the views a browser has open, as server-sent events.
#[utoipa::path(get, path = "/api/v1/events", tag = "meta", params(EventsQuery),
    responses((status = 200, description = "text/event-stream of `project`, `log`, `cluster`, `upstream` and `reset` events (stageboard_protocol::ServerEvent)"),
              (status = 400, body = stageboard_protocol::ErrorBody, description = "unknown topic"),
              (status = 404, body = stageboard_protocol::ErrorBody, description = "a project not watched, or a job not of its project"),
              (status = 429, body = stageboard_protocol::ErrorBody, description = "this address holds as many event streams as it may"),
              (status = 503, body = stageboard_protocol::ErrorBody, description = "the server holds as many event streams as it may")))]
pub async fn events(
    State(state): State<AppState>,
    client: ClientAddr,
    reader: crate::access::Reader,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let mut topics = Topics::parse(query.topics.as_deref().unwrap_or("projects")).map_err(AppError::bad_request)?;
    // A person hears only of the projects they may read; a kiosk screen follows no job log.
    topics.only = reader.only().map(<[u64]>::to_vec);
    if reader.kiosk_board().is_some() && !topics.logs.is_empty() {
        return Err(AppError::forbidden(
            "This is a kiosk screen: it follows its wall board's projects, not job logs.",
        ));
    }
    // A place first: a stream refused for want of one costs nothing more.
    let Some(hold) = state.clients().hold_stream(client.0) else {
        return Err(AppError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            stageboard_protocol::ErrorCode::Busy,
            "This address holds as many event streams as one address may (STAGEBOARD_MAX_STREAMS_PER_ADDRESS): close some stageboard tabs; this page keeps reading on its timer.",
        ));
    };
    let Ok(permit) = state.streams().clone().try_acquire_owned() else {
        return Err(AppError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            stageboard_protocol::ErrorCode::Busy,
            "This server holds as many event streams as it may (STAGEBOARD_MAX_STREAMS); the page keeps reading on its timer and tries again.",
        ));
    };
    for &project in topics.projects.iter().chain(topics.logs.iter().map(|(p, _)| p)) {
        state.ensure_readable(&reader, project).await?;
    }
    // A log is followed only for a job of its project (GitLab answers 404 otherwise): an id
    // made up does not cost a GitLab read per interval.
    for &(project, job) in &topics.logs {
        state.gitlab().job(project, job).await.map_err(|e| match e {
            crate::gitlab::GitlabError::NotFound { .. } => {
                AppError::not_found(format!("Project {project} has no job {job} to follow."))
            }
            other => other.into(),
        })?;
    }
    let hub = state.hub().clone();
    let follows = topics.logs.iter().map(|&(p, j)| hub.follow_log(p, j)).collect();
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.last_event_id);
    let (receiver, replay) = match &last {
        Some(id) => hub.events().resume(id),
        None => (hub.events().subscribe(), Replay::Missed(Vec::new())),
    };
    let mut first: VecDeque<Event> = VecDeque::new();
    match replay {
        Replay::TooOld => first.push_back(reset()),
        Replay::Missed(missed) => first.extend(missed.iter().filter(|c| topics.want(&c.kind)).map(|c| event(c))),
    }
    // A browser arriving during an outage hears of it at once.
    if let Some((since, message)) = hub.upstream_failing() {
        let what = ServerEvent::Upstream {
            reachable: false,
            since: Some(since.into()),
            message: Some(message),
        };
        first.push_back(
            Event::default()
                .event(what.name())
                .json_data(&what)
                .unwrap_or_else(|_| reset()),
        );
    }
    hub.metrics().sse_clients().inc();
    let connection = Connection {
        state: state.clone(),
        _follows: follows,
        _permit: permit,
        _hold: hold,
    };
    let stream = futures::stream::unfold(
        (receiver, first, topics, connection),
        |(mut receiver, mut first, topics, connection)| async move {
            if let Some(e) = first.pop_front() {
                connection.state.hub().metrics().event_sent();
                return Some((Ok(e), (receiver, first, topics, connection)));
            }
            loop {
                match receiver.recv().await {
                    Ok(change) if topics.want(&change.kind) => {
                        connection.state.hub().metrics().event_sent();
                        return Some((Ok(event(&change)), (receiver, first, topics, connection)));
                    }
                    Ok(_) => continue,
                    // Too slow to keep up: say so, and carry on from now.
                    Err(RecvError::Lagged(_)) => return Some((Ok(reset()), (receiver, first, topics, connection))),
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
