//! What the hub knows of GitLab itself: whether it answers, which optional parts of its API it
//! offers, and which kinds of read it refuses. Each is logged when it changes, never once per
//! request, so a failing GitLab cannot flood the log however many people look.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::gitlab::{GitlabError, Result};

/// GitLab's reachability as the hub last saw it.
#[derive(Debug, Default)]
pub struct Reachability {
    pub failing_since: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub last_logged: Option<Instant>,
}

/// A part of GitLab's API an instance may lack: an older or locked-down GitLab answers its
/// endpoint with 404. Learned from the first such answer; until `recheck` has passed, nobody
/// asks again, and then one reader at a time asks.
#[derive(Debug)]
pub struct Capability {
    feature: &'static str,
    /// What the pages do without it, for the log.
    without: &'static str,
    recheck: Duration,
    known: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    /// Since GitLab last said it lacks the capability.
    missing_since: Option<Instant>,
    /// Since a reader was let through to ask again; until it hears, the others are not.
    probe: Option<Instant>,
}

/// How long a reader let through to ask again may take before another is let through (it may
/// have left without hearing an answer).
const PROBE_WAIT: Duration = Duration::from_secs(30);

impl Capability {
    pub fn new(feature: &'static str, without: &'static str, recheck: Duration) -> Self {
        Capability {
            feature,
            without,
            recheck,
            known: Mutex::new(Known::default()),
        }
    }

    /// `Err(Unsupported)` while known to be missing, without asking GitLab. Once `recheck`
    /// has passed, this reader is let through to ask again; the others keep being answered.
    pub fn check(&self) -> Result<()> {
        let mut known = self.known.lock().expect("capability lock");
        let Some(since) = known.missing_since else {
            return Ok(());
        };
        let asking = known.probe.is_some_and(|p| p.elapsed() < PROBE_WAIT);
        if since.elapsed() < self.recheck || asking {
            return Err(GitlabError::Unsupported {
                feature: self.feature.into(),
            });
        }
        known.probe = Some(Instant::now());
        Ok(())
    }

    /// Learns from GitLab's answer to a read that needs this capability.
    pub fn observe<T>(&self, answer: &Result<T>) {
        let mut known = self.known.lock().expect("capability lock");
        // Whatever the answer, the reader that asked has heard it. Any other failure (GitLab
        // away, a missing resource) says nothing of the capability: the next reader asks.
        known.probe = None;
        match answer {
            Err(GitlabError::Unsupported { .. }) => {
                if known.missing_since.is_none() {
                    tracing::warn!(
                        "GitLab does not offer {} (it answers 404); {}; asking again every {} minutes",
                        self.feature,
                        self.without,
                        self.recheck.as_secs().div_ceil(60)
                    );
                }
                known.missing_since = Some(Instant::now());
            }
            Ok(_) if known.missing_since.take().is_some() => {
                tracing::info!("GitLab offers {} again", self.feature);
            }
            _ => {}
        }
    }
}

/// The optional parts of GitLab's API, each learned on first use of its reads.
#[derive(Debug)]
pub struct Capabilities {
    recheck: Duration,
    known: Mutex<HashMap<&'static str, Arc<Capability>>>,
}

impl Capabilities {
    pub fn new(recheck: Duration) -> Self {
        Capabilities {
            recheck,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The capability named `feature`; `without` says what the pages do without it.
    pub fn of(&self, feature: &'static str, without: &'static str) -> Arc<Capability> {
        let mut known = self.known.lock().expect("capabilities lock");
        known
            .entry(feature)
            .or_insert_with(|| Arc::new(Capability::new(feature, without, self.recheck)))
            .clone()
    }
}

/// Kinds of read GitLab refuses (a token without access, a rejected query), each logged when
/// the refusal starts or changes and when it ends.
#[derive(Debug, Default)]
pub struct Refusals {
    current: Mutex<HashMap<&'static str, String>>,
}

impl Refusals {
    pub fn refused(&self, kind: &'static str, error: &GitlabError) {
        // A missing resource or a rejected query is the visitor's answer, not GitLab's state (an
        // optional capability's absence is logged by its `Capability`).
        if matches!(
            error,
            GitlabError::NotFound { .. } | GitlabError::Rejected { status: 400, .. }
        ) {
            return;
        }
        let message = error.to_string();
        let mut current = self.current.lock().expect("refusals lock");
        if current.get(kind) != Some(&message) {
            tracing::warn!(read = kind, error = %message, "GitLab refuses a kind of read");
            current.insert(kind, message);
        }
    }

    pub fn answered(&self, kind: &'static str) {
        let mut current = self.current.lock().expect("refusals lock");
        if current.remove(kind).is_some() {
            tracing::info!(read = kind, "GitLab answers this kind of read again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsupported() -> Result<()> {
        Err(GitlabError::Unsupported {
            feature: "the GraphQL API".into(),
        })
    }

    #[test]
    fn a_missing_capability_is_learned_once_and_forgotten_when_it_answers() {
        let graphql = Capability::new("the GraphQL API", "stages come in job order", Duration::from_secs(600));
        assert!(graphql.check().is_ok(), "asked until GitLab says otherwise");
        graphql.observe(&unsupported());
        assert!(
            matches!(graphql.check(), Err(GitlabError::Unsupported { .. })),
            "answered without asking GitLab"
        );
        graphql.observe(&Ok(()));
        assert!(graphql.check().is_ok());
    }

    #[test]
    fn after_the_recheck_interval_one_reader_asks_again() {
        let graphql = Capability::new("the GraphQL API", "stages come in job order", Duration::from_millis(50));
        graphql.observe(&unsupported());
        assert!(graphql.check().is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(graphql.check().is_ok(), "the first reader after the interval asks");
        assert!(graphql.check().is_err(), "the others do not, while it asks");
        graphql.observe::<()>(&Err(GitlabError::Unreachable {
            url: "x".into(),
            reason: "down".into(),
        }));
        assert!(
            graphql.check().is_ok(),
            "an answer that says nothing of the capability: the next reader asks"
        );
    }
}
