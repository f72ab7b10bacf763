//! Following running jobs' logs: one GitLab fetch per interval however many browsers follow,
//! and only the new bytes published.

use super::Hub;
use crate::gitlab::Gitlab;
use stageboard_protocol::ServerEvent;

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
            let fresh = &trace[sent..];
            let whole = whole_characters(fresh);
            if whole > 0 {
                hub.0.events.publish(ServerEvent::Log {
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
            hub.0.events.publish(ServerEvent::Log {
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

/// How much of `fresh` to publish now: a multi-byte character cut at the end waits for the next
/// round; bytes that are no character at all go as they are (shown as U+FFFD).
fn whole_characters(fresh: &[u8]) -> usize {
    match std::str::from_utf8(fresh) {
        Ok(s) => s.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => fresh.len(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use tokio::sync::broadcast;

    use super::super::HubSettings;
    use super::super::events::Change;
    use super::super::fake::{FakeGitlab, pipeline, watched};
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn a_character_cut_at_the_end_waits_for_its_other_bytes() {
        let euro = "€".as_bytes();
        assert_eq!(whole_characters(b"plain"), 5);
        assert_eq!(whole_characters(&[b"ok ", &euro[..2]].concat()), 3);
        assert_eq!(whole_characters(&[b"ok ", euro].concat()), 6);
        assert_eq!(whole_characters(b"bad \xff byte"), 10, "not a character: sent as it is");
    }

    async fn next_log(events: &mut broadcast::Receiver<Arc<Change>>) -> (u64, String, bool) {
        loop {
            let change = tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await
                .expect("a log event within 5 s")
                .expect("the stream stays open");
            if let ServerEvent::Log {
                offset,
                content,
                complete,
                ..
            } = &change.kind
            {
                return (*offset, content.clone(), *complete);
            }
        }
    }

    #[tokio::test]
    async fn followers_get_only_the_new_bytes_from_one_read_per_interval_until_the_job_ends() {
        let gitlab = Arc::new(FakeGitlab::running_job("running", b"$ make\n"));
        let settings = HubSettings {
            trace: Duration::from_millis(20),
            ..HubSettings::default()
        };
        let hub = Hub::new(gitlab.clone(), settings, Metrics::new());
        watched(&hub).await;
        let mut events = hub.events().subscribe();
        let followers: Vec<_> = (0..20).map(|_| hub.follow_log(1, 5)).collect();
        // What is there already is read through the log API, not sent.
        while gitlab.trace_reads.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        gitlab.append("caf".as_bytes());
        gitlab.append(&"é\n".as_bytes()[..1]);
        assert_eq!(next_log(&mut events).await, (7, "caf".into(), false), "the cut é waits");
        gitlab.append(&"é\n".as_bytes()[1..]);
        assert_eq!(next_log(&mut events).await, (10, "é\n".into(), false));

        // The job ends: its pipeline changes, which the poller sees.
        gitlab.append(b"Job succeeded\n");
        gitlab.set_job("success");
        *gitlab.pipelines.lock().unwrap() = vec![pipeline(7, "success", "2026-06-01T12:05:00Z")];
        hub.refresh_now().await;
        assert_eq!(
            next_log(&mut events).await,
            (13, "Job succeeded\n".into(), true),
            "the last bytes say the log is complete"
        );
        let reads = gitlab.trace_reads.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            gitlab.trace_reads.load(Ordering::SeqCst),
            reads,
            "a finished job's log is not read again"
        );
        // Twenty followers, one reader: at most one read per interval (plus the first).
        assert!(reads <= 1 + 10, "{reads} reads");
        drop(followers);
    }

    #[tokio::test]
    async fn when_nobody_follows_any_more_the_log_is_not_read() {
        let gitlab = Arc::new(FakeGitlab::running_job("running", b"$ make\n"));
        let settings = HubSettings {
            trace: Duration::from_millis(20),
            ..HubSettings::default()
        };
        let hub = Hub::new(gitlab.clone(), settings, Metrics::new());
        drop(hub.follow_log(1, 5));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reads = gitlab.trace_reads.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(gitlab.trace_reads.load(Ordering::SeqCst), reads);
        assert!(reads <= 2, "{reads} reads after the follower left");
    }
}
