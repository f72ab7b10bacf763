//! GitLab webhooks (CONTRACT.md §4): which project and pipeline a delivery is about, whether
//! its secret is right (in constant time), and whether it was seen already.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use serde_json::Value;
use subtle::ConstantTimeEq;

/// What a delivery says changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub kind: HookKind,
    pub project: u64,
    pub pipeline: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Pipeline,
    Job,
    Deployment,
}

/// Reads a delivery by its `X-Gitlab-Event` header and body.
pub fn parse(event: &str, body: &[u8]) -> Result<Hook, String> {
    let json: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let number = |v: &Value| v.as_u64();
    let project_of = |json: &Value| {
        json.get("project")
            .and_then(|p| p.get("id"))
            .and_then(number)
            .or_else(|| json.get("project_id").and_then(number))
            .ok_or_else(|| "the delivery names no project (project.id or project_id)".to_owned())
    };
    match event {
        "Pipeline Hook" => Ok(Hook {
            kind: HookKind::Pipeline,
            project: project_of(&json)?,
            pipeline: json.get("object_attributes").and_then(|o| o.get("id")).and_then(number),
        }),
        // The job hook's commit.id is the pipeline's id (CONTRACT.md §8); pipeline_id says so too.
        "Job Hook" => Ok(Hook {
            kind: HookKind::Job,
            project: project_of(&json)?,
            pipeline: json
                .get("pipeline_id")
                .and_then(number)
                .or_else(|| json.get("commit").and_then(|c| c.get("id")).and_then(number)),
        }),
        "Deployment Hook" => Ok(Hook {
            kind: HookKind::Deployment,
            project: project_of(&json)?,
            pipeline: None,
        }),
        other => Err(format!(
            "`{other}` deliveries are not used; send Pipeline, Job and Deployment events"
        )),
    }
}

/// Compares the delivered secret with the configured one without leaking how much matched.
pub fn token_matches(given: Option<&[u8]>, secret: &str) -> bool {
    given.is_some_and(|g| bool::from(g.ct_eq(secret.as_bytes())))
}

/// GitLab's optional Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature: v1,<base64>`): HMAC-SHA256 of `id.timestamp.body` with the signing token
/// (`whsec_<base64>`), at most five minutes old. `Err` says what is wrong.
pub fn verify_signature(
    signing_token: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), String> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let (Some(id), Some(timestamp), Some(signatures)) = (id, timestamp, signatures) else {
        return Err("webhook-id, webhook-timestamp and webhook-signature are required".into());
    };
    let sent: i64 = timestamp.parse().map_err(|_| {
        format!(
            "webhook-timestamp `{}` is not a Unix time",
            crate::error::Shortened(timestamp)
        )
    })?;
    if now.abs_diff(sent) > 300 {
        return Err("webhook-timestamp is more than five minutes away: a replay, or a clock out of step".into());
    }
    let secret = engine
        .decode(signing_token.trim().trim_start_matches("whsec_"))
        .map_err(|_| "the configured signing token is not whsec_<base64>".to_owned())?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| engine.decode(b64).ok())
        .any(|tag| ring::hmac::verify(&key, &message, &tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err("webhook-signature does not match the body".into())
    }
}

/// The ids of recent deliveries, so a retried or replayed one is applied once.
pub struct RecentDeliveries {
    capacity: usize,
    inner: Mutex<(VecDeque<String>, HashSet<String>)>,
}

impl RecentDeliveries {
    pub fn new(capacity: usize) -> Self {
        RecentDeliveries {
            capacity,
            inner: Mutex::new((VecDeque::new(), HashSet::new())),
        }
    }

    /// True the first time an id is offered.
    pub fn first_time(&self, id: &str) -> bool {
        let mut guard = self.inner.lock().expect("seen lock");
        let (order, set) = &mut *guard;
        if !set.insert(id.to_owned()) {
            return false;
        }
        order.push_back(id.to_owned());
        if order.len() > self.capacity
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/gitlab/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_documented_deliveries_name_project_and_pipeline() {
        let pipeline = parse("Pipeline Hook", &fixture("docs/webhook_pipeline_event.json")).unwrap();
        assert_eq!((pipeline.project, pipeline.pipeline), (1, Some(31)));
        let job = parse("Job Hook", &fixture("docs/webhook_job_event.json")).unwrap();
        assert_eq!((job.project, job.pipeline), (380, Some(2366)));
        let deployment = parse("Deployment Hook", &fixture("docs/webhook_deployment_event.json")).unwrap();
        assert_eq!((deployment.project, deployment.pipeline), (30, None));
        for (event, name) in [
            ("Pipeline Hook", "go-gitlab/webhook_pipeline.json"),
            ("Job Hook", "go-gitlab/webhook_job.json"),
            ("Deployment Hook", "go-gitlab/webhook_deployment.json"),
        ] {
            assert!(parse(event, &fixture(name)).is_ok(), "{name}");
        }
    }

    #[test]
    fn bad_deliveries_say_what_is_wrong() {
        assert!(parse("Pipeline Hook", b"{").unwrap_err().contains("not JSON"));
        assert!(parse("Pipeline Hook", b"{}").unwrap_err().contains("no project"));
        assert!(parse("Push Hook", b"{}").unwrap_err().contains("not used"));
    }

    fn sign(token: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let key = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &engine.decode(token.trim_start_matches("whsec_")).unwrap(),
        );
        let mut message = format!("{id}.{timestamp}.").into_bytes();
        message.extend_from_slice(body);
        format!("v1,{}", engine.encode(ring::hmac::sign(&key, &message).as_ref()))
    }

    #[test]
    fn signed_deliveries_are_checked_when_a_signing_token_is_set() {
        let token = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"object_kind":"pipeline"}"#;
        let good = sign(token, "msg_1", "1700000000", body);
        let check = |sig: &str, ts: &str, body: &[u8], now| {
            verify_signature(token, Some("msg_1"), Some(ts), Some(sig), body, now)
        };
        assert_eq!(check(&good, "1700000000", body, 1_700_000_100), Ok(()));
        assert_eq!(
            check(&format!("v1,bm9wZQ== {good}"), "1700000000", body, 1_700_000_000),
            Ok(()),
            "any listed signature"
        );
        assert!(
            check(&good, "1700000000", b"{}", 1_700_000_000)
                .unwrap_err()
                .contains("does not match")
        );
        assert!(
            check(&good, "1700000000", body, 1_700_001_000)
                .unwrap_err()
                .contains("five minutes")
        );
        assert!(
            verify_signature(token, None, None, None, body, 0)
                .unwrap_err()
                .contains("required")
        );
    }

    #[test]
    fn secrets_and_repeats() {
        assert!(token_matches(Some(b"s3cret"), "s3cret"));
        assert!(!token_matches(Some(b"s3cre"), "s3cret"));
        assert!(!token_matches(None, "s3cret"));
        let seen = RecentDeliveries::new(2);
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("a"));
        assert!(seen.first_time("b") && seen.first_time("c"));
        assert!(seen.first_time("a"), "forgotten once out of the window");
    }
}
