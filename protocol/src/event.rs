//! What the server tells browsers on `/api/v1/events`: the server-sent event's name is
//! [`ServerEvent::name`], its data the event as JSON (`{"kind": "project", ...}`, with the
//! event's `id` beside the fields).

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "Fields")]
pub enum ServerEvent {
    /// A project's pipelines changed (new ones, statuses, jobs): its overview card, pipeline
    /// lists and pages, and environments are worth reading again.
    Project { project: u64, pipelines: Vec<u64> },
    /// New bytes of a running job's log, from `offset`.
    Log {
        project: u64,
        job: u64,
        offset: u64,
        content: String,
        complete: bool,
    },
    /// What runs in the cluster changed (a rollout, a pod that crashed or went away): the
    /// environments' health is worth reading again.
    Cluster,
    /// GitLab could not be reached (since when), or is back.
    Upstream {
        reachable: bool,
        #[serde(default)]
        since: Option<crate::Timestamp>,
        message: Option<String>,
    },
    /// Too much changed while the browser was away for it to catch up event by event: read
    /// everything again.
    Reset { reason: String },
}

/// An event as read: every field of every kind, optional. serde's reader of an internally
/// tagged enum buffers the whole event first, which costs the front end's wasm about 7 KB
/// (brotli); reading one flat struct and checking it here costs a tenth of that.
#[derive(serde::Deserialize)]
struct Fields {
    kind: String,
    project: Option<u64>,
    #[serde(default)]
    pipelines: Vec<u64>,
    job: Option<u64>,
    offset: Option<u64>,
    content: Option<String>,
    #[serde(default)]
    complete: bool,
    reachable: Option<bool>,
    #[serde(default)]
    since: Option<crate::Timestamp>,
    message: Option<String>,
    reason: Option<String>,
}

impl TryFrom<Fields> for ServerEvent {
    type Error = String;

    fn try_from(f: Fields) -> Result<Self, String> {
        let missing = |field: &str| format!("a `{}` event without `{field}`", f.kind);
        Ok(match f.kind.as_str() {
            "project" => ServerEvent::Project {
                project: f.project.ok_or_else(|| missing("project"))?,
                pipelines: f.pipelines,
            },
            "log" => ServerEvent::Log {
                project: f.project.ok_or_else(|| missing("project"))?,
                job: f.job.ok_or_else(|| missing("job"))?,
                offset: f.offset.ok_or_else(|| missing("offset"))?,
                content: f.content.unwrap_or_default(),
                complete: f.complete,
            },
            "cluster" => ServerEvent::Cluster,
            "upstream" => ServerEvent::Upstream {
                reachable: f.reachable.ok_or_else(|| missing("reachable"))?,
                since: f.since,
                message: f.message,
            },
            "reset" => ServerEvent::Reset {
                reason: f.reason.unwrap_or_default(),
            },
            other => return Err(format!("`{other}` is not a kind of event")),
        })
    }
}

impl ServerEvent {
    /// The server-sent event's name (`event:` line), which browsers listen for.
    pub fn name(&self) -> &'static str {
        match self {
            ServerEvent::Project { .. } => "project",
            ServerEvent::Log { .. } => "log",
            ServerEvent::Cluster => "cluster",
            ServerEvent::Upstream { .. } => "upstream",
            ServerEvent::Reset { .. } => "reset",
        }
    }

    /// Every event name, for a browser to listen for.
    pub const NAMES: [&'static str; 5] = ["project", "log", "cluster", "upstream", "reset"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_named_as_its_kind_on_the_wire() {
        let events = [
            ServerEvent::Project {
                project: 1,
                pipelines: vec![7],
            },
            ServerEvent::Log {
                project: 1,
                job: 5,
                offset: 0,
                content: "$ make\n".into(),
                complete: false,
            },
            ServerEvent::Cluster,
            ServerEvent::Upstream {
                reachable: false,
                since: Some(chrono::Utc::now().into()),
                message: Some("down".into()),
            },
            ServerEvent::Reset { reason: "gone".into() },
        ];
        for event in events {
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(json["kind"], event.name());
            assert!(ServerEvent::NAMES.contains(&event.name()));
            let back: ServerEvent = serde_json::from_value(json).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn an_event_that_does_not_add_up_is_refused_plainly() {
        let read = |json| serde_json::from_value::<ServerEvent>(json).unwrap_err().to_string();
        assert!(read(serde_json::json!({ "kind": "log", "project": 1 })).contains("without `job`"));
        assert!(read(serde_json::json!({ "kind": "weather" })).contains("not a kind of event"));
    }
}
