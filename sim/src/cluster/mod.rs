//! A simulated Kubernetes API server for namespace `gitlab`: LIST with `labelSelector`, WATCH as
//! newline-delimited JSON events from a `resourceVersion`, `410 Gone` (an `ERROR` event) when that
//! version is too old, and BOOKMARK events; for Deployments, ReplicaSets, Pods, Services and
//! Ingresses. Its objects are built as k8s-openapi types and follow the simulated deploy jobs.

pub(crate) mod api;
pub mod objects;

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

pub use api::routes;

/// Events kept for watchers to resume from; older versions answer 410 Gone.
const HISTORY: usize = 5000;

#[derive(Debug, Clone)]
pub struct Event {
    pub resource_version: u64,
    pub kind: &'static str,
    pub type_: &'static str,
    pub object: Value,
}

/// The objects as the API server holds them, with resource versions and recent events.
#[derive(Debug, Default)]
pub struct ClusterStore {
    resource_version: u64,
    current: BTreeMap<(&'static str, String), Value>,
    events: VecDeque<Event>,
    /// Versions at or below this can no longer be watched from.
    compacted_to: u64,
}

fn without_version(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    v
}

impl ClusterStore {
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Makes the store hold `desired`, recording an event per change. Returns whether anything changed.
    pub fn sync(&mut self, desired: objects::Objects) -> bool {
        let mut changed = false;
        let gone: Vec<(&'static str, String)> = self
            .current
            .keys()
            .filter(|k| !desired.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            let object = self.current.remove(&key).expect("present");
            self.record(key.0, "DELETED", object);
            changed = true;
        }
        for (key, object) in desired {
            let type_ = match self.current.get(&key) {
                None => "ADDED",
                Some(old) if without_version(old) != object => "MODIFIED",
                Some(_) => continue,
            };
            let mut object = object;
            object["metadata"]["resourceVersion"] = Value::String((self.resource_version + 1).to_string());
            self.current.insert(key.clone(), object.clone());
            self.record(key.0, type_, object);
            changed = true;
        }
        changed
    }

    fn record(&mut self, kind: &'static str, type_: &'static str, mut object: Value) {
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = Value::String(self.resource_version.to_string());
        self.events.push_back(Event {
            resource_version: self.resource_version,
            kind,
            type_,
            object,
        });
        while self.events.len() > HISTORY {
            let dropped = self.events.pop_front().expect("non-empty");
            self.compacted_to = dropped.resource_version;
        }
    }

    /// The objects of `kind` matching `selector`, and the list's resource version.
    pub fn list(&self, kind: &str, selector: &api::Selector) -> (Vec<Value>, u64) {
        let items = self
            .current
            .iter()
            .filter(|((k, _), v)| *k == kind && selector.matches(v))
            .map(|(_, v)| v.clone())
            .collect();
        (items, self.resource_version)
    }

    /// Events of `kind` after `since`; `None` when `since` is older than the history kept.
    pub fn events_after(&self, kind: &str, since: u64, selector: &api::Selector) -> Option<Vec<Event>> {
        if since < self.compacted_to {
            return None;
        }
        Some(
            self.events
                .iter()
                .filter(|e| e.resource_version > since && e.kind == kind && selector.matches(&e.object))
                .cloned()
                .collect(),
        )
    }

    /// Forgets the event history, as etcd compaction does: older watches get 410 Gone.
    pub fn compact(&mut self) {
        self.events.clear();
        self.compacted_to = self.resource_version;
    }
}
