//! Changes the hub publishes to every connected browser, numbered so that a browser that lost
//! its connection can say where it was (Last-Event-ID) and miss nothing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use stageboard_protocol::ServerEvent;
use tokio::sync::broadcast;

use crate::error::Shortened;

/// How many running jobs' logs one connection may follow.
pub const MAX_LOGS: usize = 10;

/// How many recent changes are kept for browsers that reconnect.
const REPLAY: usize = 4096;

/// One change, as sent to browsers.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `<boot>-<sequence>`: a restarted server never reuses an id.
    pub id: String,
    #[serde(skip)]
    pub seq: u64,
    #[serde(flatten)]
    pub kind: ServerEvent,
}

/// What a browser has open: `projects` (all of them, the overview and the environments grid),
/// `project:<id>`, `log:<project>:<job>`, `cluster` (environments' health).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics {
    pub all_projects: bool,
    pub cluster: bool,
    pub projects: Vec<u64>,
    /// Only these projects' events (a signed-in person's readable ones); `None`: any.
    pub only: Option<Vec<u64>>,
    pub logs: Vec<(u64, u64)>,
}

impl Topics {
    /// Whether a browser that asked for these topics wants `event`.
    fn may(&self, project: u64) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&project))
    }

    pub fn want(&self, event: &ServerEvent) -> bool {
        match event {
            ServerEvent::Project { project, .. } => {
                self.may(*project) && (self.all_projects || self.projects.contains(project))
            }
            ServerEvent::Log { project, job, .. } => self.may(*project) && self.logs.contains(&(*project, *job)),
            ServerEvent::Cluster => self.cluster,
            ServerEvent::Upstream { .. } | ServerEvent::Reset { .. } => true,
        }
    }

    pub fn parse(raw: &str) -> Result<Topics, String> {
        let mut topics = Topics::default();
        for whole in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let parts: Vec<&str> = whole.split(':').collect();
            // What the answer quotes back: enough to recognise, not whatever was sent.
            let topic = Shortened(whole);
            let number = |s: &str| {
                s.parse::<u64>()
                    .map_err(|_| format!("`{topic}`: `{}` is not a number", Shortened(s)))
            };
            match parts.as_slice() {
                ["projects"] => topics.all_projects = true,
                ["cluster"] => topics.cluster = true,
                ["project", id] => topics.projects.push(number(id)?),
                ["log", project, job] => topics.logs.push((number(project)?, number(job)?)),
                _ => {
                    return Err(format!(
                        "`{topic}` is not a topic; use projects, project:<id>, log:<project>:<job> or cluster"
                    ));
                }
            }
        }
        if topics.projects.len() + topics.logs.len() > 100 {
            return Err("at most 100 topics per connection".into());
        }
        // Each followed log costs a GitLab read per interval while it runs.
        if topics.logs.len() > MAX_LOGS {
            return Err(format!("at most {MAX_LOGS} job logs per connection"));
        }
        Ok(topics)
    }
}

pub struct Events {
    boot: u64,
    next: AtomicU64,
    sender: broadcast::Sender<Arc<Change>>,
    recent: Mutex<VecDeque<Arc<Change>>>,
}

impl Default for Events {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(REPLAY);
        Events {
            boot: rand::random::<u32>().into(),
            next: AtomicU64::new(1),
            sender,
            recent: Mutex::new(VecDeque::with_capacity(REPLAY)),
        }
    }
}

/// What a reconnecting browser gets: the changes it missed, or word that too much happened.
pub enum Replay {
    Missed(Vec<Arc<Change>>),
    TooOld,
}

impl Events {
    pub fn publish(&self, kind: ServerEvent) -> Arc<Change> {
        // The lock keeps sequence order and the broadcast order the same.
        let mut recent = self.recent.lock().expect("events lock");
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        let change = Arc::new(Change {
            id: format!("{}-{seq}", self.boot),
            seq,
            kind,
        });
        if recent.len() == REPLAY {
            recent.pop_front();
        }
        recent.push_back(change.clone());
        let _ = self.sender.send(change.clone());
        change
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.sender.subscribe()
    }

    /// The sequence number after which a browser with this Last-Event-ID needs changes, and
    /// those it missed, taken together with a subscription so none falls in between.
    pub fn resume(&self, last_event_id: &str) -> (broadcast::Receiver<Arc<Change>>, Replay) {
        let recent = self.recent.lock().expect("events lock");
        let receiver = self.sender.subscribe();
        let parsed = last_event_id
            .split_once('-')
            .and_then(|(boot, seq)| Some((boot.parse::<u64>().ok()?, seq.parse::<u64>().ok()?)));
        let replay = match parsed {
            Some((boot, seq)) if boot == self.boot => {
                let oldest = recent.front().map_or(self.next.load(Ordering::SeqCst), |c| c.seq);
                if seq.saturating_add(1) < oldest {
                    Replay::TooOld
                } else {
                    Replay::Missed(recent.iter().filter(|c| c.seq > seq).cloned().collect())
                }
            }
            _ => Replay::TooOld,
        };
        (receiver, replay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(p: u64) -> ServerEvent {
        ServerEvent::Project {
            project: p,
            pipelines: vec![],
        }
    }

    #[test]
    fn a_reader_limited_to_some_projects_hears_only_of_those() {
        let mut t = Topics::parse("projects,log:3:77").unwrap();
        t.only = Some(vec![1]);
        let project = |project| ServerEvent::Project {
            project,
            pipelines: vec![],
        };
        assert!(t.want(&project(1)));
        assert!(!t.want(&project(3)), "not a project they may read");
        assert!(!t.want(&ServerEvent::Log {
            project: 3,
            job: 77,
            offset: 0,
            content: String::new(),
            complete: false
        }));
    }

    #[test]
    fn topics_parse_and_say_no_clearly() {
        let t = Topics::parse("projects,project:3,log:3:77,cluster").unwrap();
        assert!(t.all_projects && t.cluster);
        assert_eq!(t.projects, [3]);
        assert_eq!(t.logs, [(3, 77)]);
        assert!(Topics::parse("pipeline:1").unwrap_err().contains("not a topic"));
        assert!(Topics::parse("project:x").unwrap_err().contains("not a number"));
        let many: Vec<String> = (0..11).map(|j| format!("log:1:{j}")).collect();
        assert!(
            Topics::parse(&many.join(","))
                .unwrap_err()
                .contains("at most 10 job logs")
        );
    }

    #[test]
    fn a_reconnecting_browser_gets_what_it_missed_or_is_told_to_reload() {
        let events = Events::default();
        let first = events.publish(project(1));
        events.publish(project(2));
        events.publish(project(3));
        let (_, replay) = events.resume(&first.id);
        let Replay::Missed(missed) = replay else {
            panic!("the changes are still known")
        };
        assert_eq!(missed.iter().map(|c| c.seq).collect::<Vec<_>>(), [2, 3]);
        assert!(matches!(events.resume("12-1").1, Replay::TooOld), "another boot");
        assert!(matches!(events.resume("garbage").1, Replay::TooOld));
    }
}
