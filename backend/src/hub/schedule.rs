//! The polling schedule: per watched project, one question to GitLab (which pipelines were
//! updated since the last answer) on an interval that adapts to activity and webhooks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{Hub, Inner};
use crate::gitlab::{GitlabError, Result};
use crate::hub::cache::is_outage;
use stageboard_protocol::ServerEvent;

/// With webhooks configured, polling is only the safety net, until a poll finds a change no
/// webhook announced: then the project is polled as without webhooks for `hook_silence`.
pub(super) fn interval(inner: &Inner, project: u64) -> Duration {
    let projects = inner.projects.lock().expect("projects lock");
    let s = &inner.settings;
    match projects.get(&project) {
        Some(p) if inner.webhooks && p.missed.is_none_or(|t| t.elapsed() > s.hook_silence) => s.hooked,
        Some(p) if p.active() => s.fast,
        _ => s.idle,
    }
}

pub(super) async fn poll_loop(hub: std::sync::Weak<Inner>, project: u64, poke: Arc<Notify>) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = poke.notified() => {}
        }
        let Some(inner) = hub.upgrade() else { return };
        if !inner
            .projects
            .lock()
            .expect("projects lock")
            .get(&project)
            .is_some_and(|p| Arc::ptr_eq(&p.poke, &poke))
        {
            // No longer watched (or watched again by a newer poller).
            return;
        }
        wait = match poll_once(&inner, project).await {
            Err(GitlabError::RateLimited { retry_after }) => retry_after.max(interval(&inner, project)),
            _ => interval(&inner, project),
        };
        inner.metrics.poll_interval(project, wait.as_secs_f64());
    }
}

/// One question to GitLab: what changed in `project` since the last answer.
pub(super) async fn poll_once(inner: &Arc<Inner>, project: u64) -> Result<()> {
    let since = {
        let projects = inner.projects.lock().expect("projects lock");
        let Some(p) = projects.get(&project) else {
            return Ok(());
        };
        // A second of overlap: equal timestamps are not lost; repeats are recognised below.
        p.since.map(|t| t - chrono::Duration::seconds(1))
    };
    let hub = Hub(inner.clone());
    let answer = {
        // The semaphore is never closed.
        let _permit = inner.permits.acquire().await.ok();
        inner.upstream.pipelines_updated_after(project, since).await
    };
    let pipelines = match answer {
        Ok(p) => {
            hub.reachable();
            p
        }
        Err(e) => {
            if is_outage(&e) {
                hub.unreachable(&e);
            } else {
                tracing::warn!(project, error = %e, "GitLab refused the hub's poll");
            }
            return Err(e);
        }
    };
    let mut changed = Vec::new();
    {
        let mut projects = inner.projects.lock().expect("projects lock");
        let Some(p) = projects.get_mut(&project) else {
            return Ok(());
        };
        // The first answer is what browsers already read, unless this replica has just taken
        // over polling: then nobody knows what changed since the last leader's poll.
        let announcing = p.announce;
        let first = p.confirmed.is_none() && !announcing;
        p.announce = false;
        for pipeline in &pipelines {
            let state = (pipeline.status.clone(), pipeline.updated_at.map(|t| t.0));
            if p.known.get(&pipeline.id) != Some(&state) {
                p.known.insert(pipeline.id, state);
                if !first {
                    changed.push(pipeline.id);
                    p.pipeline_versions.insert(pipeline.id, inner.next_version());
                }
            }
            if let Some(t) = pipeline.updated_at.map(|t| t.0) {
                p.since = Some(p.since.map_or(t, |s| s.max(t)));
            }
        }
        if !changed.is_empty() {
            p.version = inner.next_version();
        }
        // A change that no webhook announced (within a poll interval and a minute) means the
        // webhooks are missing or late: poll as without them for a while.
        let grace = inner.settings.hooked + Duration::from_secs(60);
        p.hooked.retain(|_, t| t.elapsed() < grace);
        // What a takeover announces is no sign of missing webhooks.
        if inner.webhooks && !announcing && changed.iter().any(|id| !p.hooked.contains_key(id)) {
            if p.missed.is_none_or(|t| t.elapsed() > inner.settings.hook_silence) {
                tracing::info!(
                    project,
                    "a change came without its webhook; polling as without webhooks for now"
                );
            }
            p.missed = Some(Instant::now());
        }
        // Remember recent and moving pipelines only.
        if p.known.len() > 300 {
            let horizon = p.since.map(|t| t - chrono::Duration::hours(6));
            p.known
                .retain(|_, (s, t)| s.is_active() || horizon.is_none_or(|h| t.is_some_and(|t| t >= h)));
        }
        p.confirmed = Some(Instant::now());
    }
    if !changed.is_empty() {
        hub.announce(ServerEvent::Project {
            project,
            pipelines: changed,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::HubSettings;
    use super::super::fake::{FakeGitlab, pipeline, watched};
    use super::*;
    use crate::metrics::Metrics;

    #[tokio::test]
    async fn a_poll_publishes_only_what_changed_and_the_interval_follows_activity() {
        let gitlab = Arc::new(FakeGitlab::answering(vec![
            pipeline(7, "running", "2026-06-01T12:00:00Z"),
            pipeline(6, "success", "2026-06-01T11:00:00Z"),
        ]));
        let settings = HubSettings::default();
        let hub = Hub::new(gitlab.clone(), settings, Metrics::new());
        let mut events = hub.events().subscribe();
        watched(&hub).await;
        assert_eq!(hub.interval(1), settings.fast, "a pipeline runs");

        // The same answer again: nothing to tell anyone.
        hub.refresh_now().await;
        assert!(
            events.try_recv().is_err(),
            "the first answer and its repeat are no change"
        );

        *gitlab.pipelines.lock().unwrap() = vec![pipeline(7, "success", "2026-06-01T12:05:00Z")];
        hub.refresh_now().await;
        let change = events.try_recv().expect("the finished pipeline is published");
        assert!(
            matches!(&change.kind, ServerEvent::Project { project: 1, pipelines } if pipelines == &[7]),
            "{change:?}"
        );
        assert!(events.try_recv().is_err(), "once");
        assert_eq!(hub.interval(1), settings.idle, "nothing runs any more");
    }

    #[tokio::test]
    async fn with_webhooks_polling_is_the_safety_net_until_a_change_comes_without_its_webhook() {
        let gitlab = Arc::new(FakeGitlab::answering(vec![pipeline(
            7,
            "running",
            "2026-06-01T12:00:00Z",
        )]));
        let settings = HubSettings::default();
        let hub = Hub::with_webhooks(gitlab.clone(), settings, Metrics::new());
        watched(&hub).await;
        assert_eq!(hub.interval(1), settings.hooked);

        // Announced by its webhook first: no surprise, the safety net stays slow.
        hub.changed(1, Some(7));
        *gitlab.pipelines.lock().unwrap() = vec![pipeline(7, "success", "2026-06-01T12:05:00Z")];
        hub.refresh_now().await;
        assert_eq!(hub.interval(1), settings.hooked);

        // A new pipeline no webhook announced: polled as without webhooks for a while.
        *gitlab.pipelines.lock().unwrap() = vec![pipeline(8, "running", "2026-06-01T12:06:00Z")];
        hub.refresh_now().await;
        assert_eq!(hub.interval(1), settings.fast);
    }
}
