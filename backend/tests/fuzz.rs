//! Bounded fuzzing of what anyone who reaches stageboard can send it without signing in:
//! webhook deliveries (event header, body, signature headers), event-stream topics and
//! `Last-Event-ID`. Each property runs a fixed number of generated cases (more with
//! `PROPTEST_CASES=100000`); a failure prints the smallest input that breaks it.

use proptest::prelude::*;
use stageboard::hub::events::{Events, MAX_LOGS, Replay, Topics};
use stageboard::hub::hooks::{HookKind, parse, verify_signature};
use stageboard_protocol::ServerEvent;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/gitlab/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Real deliveries (GitLab's documentation and go-gitlab's test data, see fixtures/gitlab).
fn deliveries() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("Pipeline Hook", fixture("docs/webhook_pipeline_event.json")),
        ("Job Hook", fixture("docs/webhook_job_event.json")),
        ("Deployment Hook", fixture("docs/webhook_deployment_event.json")),
        ("Pipeline Hook", fixture("go-gitlab/webhook_pipeline.json")),
        ("Job Hook", fixture("go-gitlab/webhook_job.json")),
        ("Deployment Hook", fixture("go-gitlab/webhook_deployment.json")),
    ]
}

fn event_header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Pipeline Hook".to_owned()),
        Just("Job Hook".to_owned()),
        Just("Deployment Hook".to_owned()),
        Just("Push Hook".to_owned()),
        any::<String>(),
    ]
}

/// A JSON value of any shape, a few levels deep, with GitLab's key names turning up often.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("project".to_owned()),
            Just("project_id".to_owned()),
            Just("id".to_owned()),
            Just("object_attributes".to_owned()),
            Just("pipeline_id".to_owned()),
            Just("commit".to_owned()),
            any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The project a delivery names, read the way a person would from the JSON.
fn named_project(body: &[u8]) -> Option<u64> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    json.get("project")
        .and_then(|p| p.get("id"))
        .and_then(|v| v.as_u64())
        .or_else(|| json.get("project_id").and_then(|v| v.as_u64()))
}

/// A body: arbitrary bytes, arbitrary JSON, or a real delivery with bytes changed or cut off.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let real = deliveries().into_iter().map(|(_, b)| b).collect::<Vec<_>>();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (
            prop::sample::select(real),
            any::<prop::sample::Index>(),
            any::<u8>(),
            any::<bool>()
        )
            .prop_map(|(mut body, at, byte, cut)| {
                let i = at.index(body.len());
                if cut {
                    body.truncate(i);
                } else {
                    body[i] = byte;
                }
                body
            }),
    ]
}

proptest! {
    // No regression files: the inputs that found bugs are written into the strategies below.
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any delivery is read or refused with a reason; one that is read names the project its
    /// body names, and only the three events stageboard uses are read.
    #[test]
    fn a_webhook_delivery_is_read_or_refused_never_misread(event in event_header(), body in body()) {
        match parse(&event, &body) {
            Ok(hook) => {
                let kind = match event.as_str() {
                    "Pipeline Hook" => HookKind::Pipeline,
                    "Job Hook" => HookKind::Job,
                    "Deployment Hook" => HookKind::Deployment,
                    other => panic!("`{other}` was read"),
                };
                prop_assert_eq!(hook.kind, kind);
                prop_assert_eq!(Some(hook.project), named_project(&body));
            }
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
    }

    /// Signature headers of any content never pass unless they sign this body with the token,
    /// and nothing in them (a timestamp at the ends of the number line) breaks the check.
    #[test]
    fn only_a_true_signature_passes(
        id in prop_oneof![Just(None), any::<String>().prop_map(Some)],
        timestamp in prop_oneof![
            Just(None),
            any::<i64>().prop_map(|t| Some(t.to_string())),
            Just(Some(i64::MIN.to_string())),
            any::<String>().prop_map(Some),
            // Within the five minutes allowed, so the signature itself is what is checked.
            (NOW - 300..=NOW + 300).prop_map(|t| Some(t.to_string())),
        ],
        signature in prop_oneof![Just(None), any::<String>().prop_map(Some), "v1,[A-Za-z0-9+/=]{0,60}".prop_map(Some)],
        body in prop::collection::vec(any::<u8>(), 0..64),
        now in prop_oneof![Just(NOW), any::<i64>()],
    ) {
        let verdict = verify_signature(TOKEN, id.as_deref(), timestamp.as_deref(), signature.as_deref(), &body, now);
        let Err(reason) = verdict else {
            return Err(TestCaseError::fail(format!("made-up headers passed: {id:?} {timestamp:?} {signature:?}")));
        };
        prop_assert!(reason.chars().count() < 200, "the reason quotes too much back: {reason}");
    }

    /// A long timestamp is quoted back shortened, not whole.
    #[test]
    fn a_refused_timestamp_is_quoted_back_short(digits in "[0-9a-z]{1000,2000}") {
        let reason = verify_signature(TOKEN, Some("msg_1"), Some(&digits), Some("v1,AAAA"), b"{}", NOW).unwrap_err();
        prop_assert!(reason.chars().count() < 200, "{reason}");
    }

    /// A true signature passes, and the same headers with one byte of the body changed do not.
    #[test]
    fn a_signature_covers_every_byte_of_the_body(
        id in "[a-z0-9-]{1,40}",
        body in prop::collection::vec(any::<u8>(), 1..256),
        at in any::<prop::sample::Index>(),
        skew in -300i64..=300,
    ) {
        let now = NOW;
        let timestamp = (now + skew).to_string();
        let signature = sign(&id, &timestamp, &body);
        prop_assert!(verify_signature(TOKEN, Some(&id), Some(&timestamp), Some(&signature), &body, now).is_ok());
        let mut changed = body.clone();
        let i = at.index(changed.len());
        changed[i] ^= 0x01;
        prop_assert!(verify_signature(TOKEN, Some(&id), Some(&timestamp), Some(&signature), &changed, now).is_err());
    }

    /// Any `topics` value is taken or refused with a short reason; what is taken is within the
    /// per-connection bounds and is exactly what was asked for.
    #[test]
    fn event_topics_are_taken_within_bounds_or_refused(raw in topics()) {
        match Topics::parse(&raw) {
            Ok(topics) => {
                prop_assert!(topics.logs.len() <= MAX_LOGS);
                prop_assert!(topics.projects.len() + topics.logs.len() <= 100);
                prop_assert_eq!(Topics::parse(&render(&topics)).unwrap(), topics);
            }
            Err(reason) => prop_assert!(
                !reason.is_empty() && reason.chars().count() <= 200,
                "the reason is empty or echoes too much: {} chars", reason.chars().count()
            ),
        }
    }

    /// Any `Last-Event-ID` gets either the changes after it or word to read everything again:
    /// never a change the browser already had, never a gap.
    #[test]
    fn any_last_event_id_resumes_without_gaps_or_repeats(
        published in 1u64..60,
        claim in prop_oneof![
            (0u64..80).prop_map(Claim::Seq),
            Just(Claim::Seq(u64::MAX)),
            Just(Claim::Seq(u64::MAX - 1)),
            any::<String>().prop_map(Claim::Raw),
            any::<u64>().prop_map(Claim::OtherBoot),
        ],
    ) {
        let events = Events::default();
        let ids: Vec<String> = (0..published).map(|p| events.publish(project(p)).id.clone()).collect();
        let boot = ids[0].split_once('-').unwrap().0.to_owned();
        let last = match &claim {
            Claim::Seq(seq) => format!("{boot}-{seq}"),
            Claim::Raw(raw) => raw.clone(),
            Claim::OtherBoot(seq) => format!("x{boot}-{seq}"),
        };
        let (_, replay) = events.resume(&last);
        match (&claim, replay) {
            (Claim::Seq(seq), Replay::Missed(missed)) => {
                let expected: Vec<u64> = (seq.saturating_add(1)..=published).collect();
                prop_assert_eq!(missed.iter().map(|c| c.seq).collect::<Vec<_>>(), expected);
            }
            (Claim::Seq(seq), Replay::TooOld) => prop_assert!(false, "seq {} is still known", seq),
            (Claim::OtherBoot(_), replay) => prop_assert!(matches!(replay, Replay::TooOld)),
            (Claim::Raw(raw), Replay::Missed(missed)) => {
                // Only an id of this boot resumes.
                prop_assert!(raw.starts_with(&format!("{boot}-")), "{raw} resumed");
                prop_assert!(missed.len() as u64 <= published);
            }
            (Claim::Raw(_), Replay::TooOld) => {}
        }
    }
}

#[derive(Debug, Clone)]
enum Claim {
    Seq(u64),
    Raw(String),
    OtherBoot(u64),
}

const TOKEN: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The clock of the signature tests: any time will do, as long as it is fixed.
const NOW: i64 = 1_780_000_000;

fn sign(id: &str, timestamp: &str, body: &[u8]) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let secret = engine.decode(TOKEN.trim_start_matches("whsec_")).unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1,{}", engine.encode(ring::hmac::sign(&key, &message).as_ref()))
}

fn project(p: u64) -> ServerEvent {
    ServerEvent::Project {
        project: p,
        pipelines: vec![],
    }
}

/// Topic lists mixing well-formed topics, near misses and noise.
fn topics() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        (0u64..1000).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just(String::new()),
        any::<String>(),
    ];
    let topic = prop_oneof![
        Just("projects".to_owned()),
        Just("cluster".to_owned()),
        number.clone().prop_map(|n| format!("project:{n}")),
        (number.clone(), number).prop_map(|(p, j)| format!("log:{p}:{j}")),
        Just(" projects ".to_owned()),
        Just("log:1:2:3".to_owned()),
        any::<String>(),
        "[a-z:,0-9 ]{0,2000}",
        "[a-z: ]{300,3000}",
    ];
    prop::collection::vec(topic, 0..40).prop_map(|t| t.join(","))
}

/// Topics as a browser would write them.
fn render(topics: &Topics) -> String {
    let mut parts = Vec::new();
    if topics.all_projects {
        parts.push("projects".to_owned());
    }
    if topics.cluster {
        parts.push("cluster".to_owned());
    }
    parts.extend(topics.projects.iter().map(|p| format!("project:{p}")));
    parts.extend(topics.logs.iter().map(|(p, j)| format!("log:{p}:{j}")));
    parts.join(",")
}
