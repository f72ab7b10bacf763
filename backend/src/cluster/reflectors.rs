use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use stageboard_protocol::{ClusterLink, EnvironmentCluster};

/// The stores of one namespace.
#[derive(Clone)]
pub(super) struct Namespace {
    pub name: String,
    pub deployments: Store<Deployment>,
    pub replica_sets: Store<ReplicaSet>,
    pub pods: Store<Pod>,
    pub services: Store<Service>,
    pub ingresses: Store<Ingress>,
}

/// How the watches are doing (which answered, which fail since when), shared by all of them.
#[derive(Debug, Default)]
struct WatchHealth {
    /// Watches that have had a successful event, by kind and namespace.
    answered: std::collections::HashSet<String>,
    failing: std::collections::HashMap<String, (DateTime<Utc>, String)>,
}

/// The cluster as the reflectors see it. Cheap to clone.
#[derive(Clone)]
pub struct ClusterState {
    namespaces: Arc<Vec<Namespace>>,
    label_key: Arc<str>,
    link: Arc<Mutex<WatchHealth>>,
    watches: usize,
    /// Told of every change the watches see; many changes before anyone waits make one.
    changes: Arc<Notify>,
}

impl std::fmt::Debug for ClusterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterState")
            .field("namespaces", &self.namespaces.len())
            .finish_non_exhaustive()
    }
}

impl ClusterState {
    /// Starts five reflectors per namespace, each watching objects that carry `label_key`.
    pub fn start(client: Client, namespaces: &[String], label_key: &str) -> Self {
        let link = Arc::new(Mutex::new(WatchHealth::default()));
        let changes = Arc::new(Notify::new());
        let selector = label_key.to_owned();
        let stores = namespaces
            .iter()
            .map(|ns| Namespace {
                name: ns.clone(),
                deployments: watch(
                    Api::namespaced(client.clone(), ns),
                    &selector,
                    &link,
                    &changes,
                    format!("deployments/{ns}"),
                ),
                replica_sets: watch(
                    Api::namespaced(client.clone(), ns),
                    &selector,
                    &link,
                    &changes,
                    format!("replicasets/{ns}"),
                ),
                pods: watch(
                    Api::namespaced(client.clone(), ns),
                    &selector,
                    &link,
                    &changes,
                    format!("pods/{ns}"),
                ),
                services: watch(
                    Api::namespaced(client.clone(), ns),
                    &selector,
                    &link,
                    &changes,
                    format!("services/{ns}"),
                ),
                ingresses: watch(
                    Api::namespaced(client.clone(), ns),
                    &selector,
                    &link,
                    &changes,
                    format!("ingresses/{ns}"),
                ),
            })
            .collect::<Vec<_>>();
        let watches = stores.len() * 5;
        ClusterState {
            namespaces: Arc::new(stores),
            label_key: label_key.into(),
            link,
            watches,
            changes,
        }
    }

    /// Waits until what the watches see changes (at once if it changed since the last call).
    pub async fn changed(&self) {
        self.changes.notified().await;
    }

    /// How many watch connections the reflectors hold open.
    pub fn watch_connections(&self) -> usize {
        self.watches
    }

    /// How many objects the stores hold, over every namespace and kind.
    pub fn object_count(&self) -> usize {
        self.namespaces
            .iter()
            .map(|n| {
                n.deployments.state().len()
                    + n.replica_sets.state().len()
                    + n.pods.state().len()
                    + n.services.state().len()
                    + n.ingresses.state().len()
            })
            .sum()
    }

    /// The environment slugs that have a Deployment in the cluster, over every namespace.
    pub fn environment_slugs(&self) -> Vec<String> {
        let mut slugs: Vec<String> = self
            .namespaces
            .iter()
            .flat_map(|n| n.deployments.state())
            .filter_map(|d| d.labels().get(self.label_key.as_ref()).cloned())
            .collect();
        slugs.sort();
        slugs.dedup();
        slugs
    }

    /// Whether every watch has answered and none is failing; since when they fail.
    pub fn link(&self) -> ClusterLink {
        let link = self.link.lock().expect("link lock");
        let since = link.failing.values().map(|(t, _)| *t).min();
        let message = link.failing.values().map(|(_, m)| m.clone()).next();
        ClusterLink {
            configured: true,
            connected: link.failing.is_empty() && link.answered.len() == self.watches,
            unreachable_since: since.map(Into::into),
            message,
        }
    }

    /// What runs for the environment whose GitLab slug is `slug`, in `namespace`.
    pub fn environment(&self, namespace: &str, slug: &str) -> Option<EnvironmentCluster> {
        let ns = self.namespaces.iter().find(|n| n.name == namespace)?;
        Some(super::view::environment(ns, &self.label_key, slug))
    }
}

fn watch<K>(
    api: Api<K>,
    label_key: &str,
    link: &Arc<Mutex<WatchHealth>>,
    changes: &Arc<Notify>,
    name: String,
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().labels(label_key))
        .default_backoff()
        .modify(|object| object.managed_fields_mut().clear())
        .reflect(writer);
    let (link, changes) = (link.clone(), changes.clone());
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            let mut link = link.lock().expect("link lock");
            match event {
                Ok(_) => {
                    link.answered.insert(name.clone());
                    link.failing.remove(&name);
                    changes.notify_one();
                }
                Err(e) => {
                    tracing::warn!(watch = %name, error = %e, "a cluster watch failed; keeping the last known state");
                    let message = format!("{e}");
                    link.failing
                        .entry(name.clone())
                        .or_insert_with(|| (Utc::now(), message));
                }
            }
        }
    });
    reader
}
