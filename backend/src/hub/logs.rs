//! Following running jobs' logs: one GitLab fetch per interval however many browsers follow,
//! and only the new bytes published.

use super::Hub;
use super::events::ChangeKind;
use crate::gitlab::Gitlab;

/// Publishes a running job's new log bytes while someone follows it.
pub(super) async fn follow(hub: Hub, project: u64, job: u64, guard: std::sync::Weak<()>) {
    // Browsers read what is there through the log API; from here on they get what is added.
    let mut sent: usize = hub.trace(project, job).await.map_or(0, |t| t.len());
    let every = hub.0.settings.trace;
    loop {
        tokio::time::sleep(every).await;
        if guard.strong_count() == 0 {
            break;
        }
        let status = hub.job(project, job).await.map(|j| j.status);
        let finished = status.as_ref().is_ok_and(|s| !s.is_unfinished());
        if let Ok(trace) = hub.trace(project, job).await
            && trace.len() > sent
        {
            // Only whole characters: a multi-byte one cut at the end waits for the next round.
            let fresh = &trace[sent..];
            let whole = match std::str::from_utf8(fresh) {
                Ok(s) => s.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => fresh.len(),
            };
            if whole > 0 {
                hub.0.events.publish(ChangeKind::Log {
                    project,
                    job,
                    offset: sent as u64,
                    content: String::from_utf8_lossy(&fresh[..whole]).into_owned(),
                    complete: finished && whole == fresh.len(),
                });
                hub.0.metrics.event_published();
                sent += whole;
            }
        } else if finished {
            hub.0.events.publish(ChangeKind::Log {
                project,
                job,
                offset: sent as u64,
                content: String::new(),
                complete: true,
            });
            break;
        }
        if finished {
            break;
        }
    }
    hub.0.followers.lock().expect("followers lock").remove(&(project, job));
}
