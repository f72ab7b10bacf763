//! One environment's slice of the stores, judged by the health rules.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use kube::ResourceExt;
use stageboard_protocol::{
    ClusterDeployment, ClusterIngress, ClusterPod, ClusterService, EnvironmentCluster, PodWarning,
};

use super::health;
use super::reflectors::Namespace;

fn labelled<K: kube::Resource>(objects: Vec<Arc<K>>, key: &str, slug: &str) -> Vec<Arc<K>> {
    let mut found: Vec<Arc<K>> = objects
        .into_iter()
        .filter(|o| o.labels().get(key).is_some_and(|v| v == slug))
        .collect();
    found.sort_by_key(|o| o.name_any());
    found
}

fn owned<K: Clone>(objects: &[Arc<K>]) -> Vec<K> {
    objects.iter().map(|o| (**o).clone()).collect()
}

fn created(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<DateTime<Utc>> {
    let t = meta.creation_timestamp.as_ref()?;
    DateTime::from_timestamp(t.0.as_second(), 0)
}

pub(super) fn environment(ns: &Namespace, key: &str, slug: &str) -> EnvironmentCluster {
    let deployments = labelled(ns.deployments.state(), key, slug);
    let pods = labelled(ns.pods.state(), key, slug);
    let services = labelled(ns.services.state(), key, slug);
    let ingresses = labelled(ns.ingresses.state(), key, slug);
    let overall = health::environment(&owned(&deployments), &owned(&services), &owned(&ingresses));
    let replica_sets = labelled(ns.replica_sets.state(), key, slug);
    let pod_warnings = health::pod_warnings(pods.iter().map(|p| p.as_ref()))
        .into_iter()
        .chain(
            replica_sets
                .iter()
                .map(|rs| (rs.name_any(), health::replica_set(rs)))
                .filter(|(_, h)| h.status == stageboard_protocol::HealthStatus::Degraded),
        )
        .map(|(pod, h)| PodWarning {
            pod,
            message: h.message,
        })
        .collect();
    let deployment_rows: Vec<ClusterDeployment> = deployments
        .iter()
        .map(|d| {
            let status = d.status.clone().unwrap_or_default();
            ClusterDeployment {
                name: d.name_any(),
                health: health::deployment(d),
                desired: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                updated: status.updated_replicas.unwrap_or(0),
                ready: status.ready_replicas.unwrap_or(0),
            }
        })
        .collect();
    let mut images: Vec<String> = deployments
        .iter()
        .flat_map(|d| {
            d.spec.iter().flat_map(|s| {
                s.template
                    .spec
                    .iter()
                    .flat_map(|p| p.containers.iter().filter_map(|c| c.image.clone()))
            })
        })
        .collect();
    images.dedup();
    let pod_rows = pods
        .iter()
        .map(|p| {
            let status = p.status.clone().unwrap_or_default();
            let containers = status.container_statuses.clone().unwrap_or_default();
            ClusterPod {
                name: p.name_any(),
                phase: status.phase.clone().unwrap_or_else(|| "Unknown".into()),
                ready: !containers.is_empty() && containers.iter().all(|c| c.ready),
                restarts: containers.iter().map(|c| c.restart_count).sum(),
                created_at: created(&p.metadata).map(Into::into),
                images: p
                    .spec
                    .iter()
                    .flat_map(|s| s.containers.iter().filter_map(|c| c.image.clone()))
                    .collect(),
                health: health::pod(p),
            }
        })
        .collect();
    let service_rows = services
        .iter()
        .map(|s| ClusterService {
            name: s.name_any(),
            kind: s
                .spec
                .as_ref()
                .and_then(|s| s.type_.clone())
                .unwrap_or_else(|| "ClusterIP".into()),
            ports: s
                .spec
                .iter()
                .flat_map(|s| s.ports.iter().flatten().map(|p| p.port))
                .collect(),
            health: health::service(s),
        })
        .collect();
    let ingress_rows = ingresses
        .iter()
        .map(|i| ClusterIngress {
            name: i.name_any(),
            hosts: i
                .spec
                .iter()
                .flat_map(|s| s.rules.iter().flatten().filter_map(|r| r.host.clone()))
                .collect(),
            health: health::ingress(i),
        })
        .collect();
    EnvironmentCluster {
        health: overall,
        pod_warnings,
        ready: deployment_rows.iter().map(|d| d.ready).sum(),
        desired: deployment_rows.iter().map(|d| d.desired).sum(),
        images,
        deployments: deployment_rows,
        pods: pod_rows,
        services: service_rows,
        ingresses: ingress_rows,
    }
}
