//! Health of Kubernetes objects, matching `kubectl rollout status` and Argo CD's gitops-engine
//! (`pkg/health`), as shared/kubernetes.md sets out. Pure functions on k8s-openapi types.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stageboard_protocol::{Health, HealthStatus};

fn pending_deletion(meta: &ObjectMeta) -> Option<Health> {
    meta.deletion_timestamp
        .as_ref()
        .map(|_| Health::new(HealthStatus::Progressing, "pending deletion"))
}

/// A Deployment, in `kubectl rollout status`'s order of questions.
pub fn deployment(d: &Deployment) -> Health {
    if let Some(h) = pending_deletion(&d.metadata) {
        return h;
    }
    let name = d.metadata.name.as_deref().unwrap_or("deployment");
    let spec = d.spec.as_ref();
    if spec.and_then(|s| s.paused) == Some(true) {
        return Health::new(HealthStatus::Suspended, "deployment is paused");
    }
    let Some(status) = d.status.as_ref() else {
        return Health::new(HealthStatus::Progressing, "waiting for the deployment's status");
    };
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return Health::new(
            HealthStatus::Progressing,
            "Waiting for deployment spec update to be observed...",
        );
    }
    let deadline_exceeded = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    if deadline_exceeded {
        return Health::new(
            HealthStatus::Degraded,
            format!("deployment \"{name}\" exceeded its progress deadline"),
        );
    }
    let wanted = spec.and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted {
        return Health::new(
            HealthStatus::Progressing,
            format!("Waiting for rollout to finish: {updated} out of {wanted} new replicas have been updated..."),
        );
    }
    if replicas > updated {
        return Health::new(
            HealthStatus::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
        );
    }
    if available < updated {
        return Health::new(
            HealthStatus::Progressing,
            format!("Waiting for rollout to finish: {available} of {updated} updated replicas are available..."),
        );
    }
    Health::new(
        HealthStatus::Healthy,
        format!("deployment \"{name}\" successfully rolled out"),
    )
}

/// A waiting reason that means the container will not come up by itself.
fn is_stuck(reason: &str) -> bool {
    reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")
}

fn statuses(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    pod.status.iter().flat_map(|s| {
        s.init_container_statuses
            .iter()
            .flatten()
            .chain(s.container_statuses.iter().flatten())
    })
}

/// A Pod. With `restartPolicy: Always` a crash loop or image pull back-off is Degraded even while
/// the phase still says Running or Pending.
pub fn pod(p: &Pod) -> Health {
    if let Some(h) = pending_deletion(&p.metadata) {
        return h;
    }
    let always = p
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
        == "Always";
    if always {
        for container in statuses(p) {
            if let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref())
                && let Some(reason) = waiting.reason.as_deref()
                && is_stuck(reason)
            {
                let detail = waiting.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                return Health::new(HealthStatus::Degraded, format!("{reason}{detail}"));
            }
        }
    }
    let status = p.status.as_ref();
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Pending") => Health::new(
            HealthStatus::Progressing,
            status
                .and_then(|s| s.message.clone())
                .unwrap_or_else(|| "pod is pending".into()),
        ),
        Some("Succeeded") => Health::new(HealthStatus::Healthy, "pod completed"),
        Some("Failed") => {
            let message = status.and_then(|s| s.message.clone()).or_else(|| {
                statuses(p).find_map(|c| {
                    let t = c.state.as_ref()?.terminated.as_ref()?;
                    Some(match t.reason.as_deref() {
                        Some(reason) => format!("{reason} (exit code {})", t.exit_code),
                        None => format!("exit code {}", t.exit_code),
                    })
                })
            });
            Health::new(HealthStatus::Degraded, message.unwrap_or_else(|| "pod failed".into()))
        }
        Some("Running") => {
            if !always {
                return Health::new(HealthStatus::Progressing, "pod is running");
            }
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            if ready {
                return Health::new(HealthStatus::Healthy, "pod is running and ready");
            }
            if let Some(c) = statuses(p).find(|c| c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).is_some()) {
                let t = c
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .expect("checked");
                return Health::new(
                    HealthStatus::Degraded,
                    format!(
                        "container {} restarted: {} (exit code {})",
                        c.name,
                        t.reason.as_deref().unwrap_or("terminated"),
                        t.exit_code
                    ),
                );
            }
            Health::new(HealthStatus::Progressing, "pod is running but not ready")
        }
        _ => Health::new(HealthStatus::Unknown, "pod phase is unknown"),
    }
}

/// A ReplicaSet.
pub fn replica_set(rs: &ReplicaSet) -> Health {
    if let Some(h) = pending_deletion(&rs.metadata) {
        return h;
    }
    let status = rs.status.as_ref();
    let failure = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "ReplicaFailure" && c.status == "True");
    if let Some(c) = failure {
        return Health::new(
            HealthStatus::Degraded,
            c.message.clone().unwrap_or_else(|| "replica failure".into()),
        );
    }
    let wanted = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
    if available < wanted {
        return Health::new(
            HealthStatus::Progressing,
            format!("{available} of {wanted} replicas are available"),
        );
    }
    Health::new(
        HealthStatus::Healthy,
        format!("{available} of {wanted} replicas are available"),
    )
}

/// A Service: healthy, unless it is a LoadBalancer still waiting for its address.
pub fn service(s: &Service) -> Health {
    if let Some(h) = pending_deletion(&s.metadata) {
        return h;
    }
    let is_lb = s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
    let has_address = s
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .is_some_and(|i| !i.is_empty());
    if is_lb && !has_address {
        return Health::new(HealthStatus::Progressing, "waiting for the load balancer's address");
    }
    Health::new(HealthStatus::Healthy, "service is ready")
}

/// An Ingress: healthy once the controller has given it an address.
pub fn ingress(i: &Ingress) -> Health {
    if let Some(h) = pending_deletion(&i.metadata) {
        return h;
    }
    let has_address = i
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .is_some_and(|i| !i.is_empty());
    if has_address {
        Health::new(HealthStatus::Healthy, "ingress has an address")
    } else {
        Health::new(
            HealthStatus::Progressing,
            "waiting for the ingress controller to assign an address",
        )
    }
}

/// Pod-level trouble that a finished rollout does not show (a pod that started crash-looping
/// later, an image that cannot be pulled): each Degraded pod with its reason.
pub fn pod_warnings<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Vec<(String, Health)> {
    pods.into_iter()
        .map(|p| (p.metadata.name.clone().unwrap_or_default(), pod(p)))
        .filter(|(_, h)| h.status == HealthStatus::Degraded)
        .collect()
}

/// An environment: the worst of its top-level resources (pods count through their Deployment).
pub fn environment(deployments: &[Deployment], services: &[Service], ingresses: &[Ingress]) -> Health {
    if deployments.is_empty() && services.is_empty() && ingresses.is_empty() {
        return Health::new(HealthStatus::Missing, "no resources found for this environment");
    }
    Health::worst(
        deployments
            .iter()
            .map(deployment)
            .chain(services.iter().map(service))
            .chain(ingresses.iter().map(ingress)),
    )
}
