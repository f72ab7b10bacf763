//! What `kubectl apply -f manifests/` leaves in namespace `gitlab` for each environment of
//! gitlab-k8s-demo, and how its rollout moves with time: a Deployment (2 replicas, port 8000,
//! `/health` probes), its ReplicaSets and Pods, a Service and an Ingress, labelled
//! `app=gitlab-k8s-demo, ref=<environment slug>, track=stable`. Now and then a rollout goes wrong
//! the way real ones do: an image that cannot be pulled, a pod that starts crash-looping after a
//! good rollout, a pod that cannot be scheduled.

use std::collections::BTreeMap;

use chrono::Duration;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentSpec, DeploymentStatus, ReplicaSet, ReplicaSetSpec, ReplicaSetStatus,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HTTPGetAction, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec, Probe, Service,
    ServicePort, ServiceSpec,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressLoadBalancerIngress,
    IngressLoadBalancerStatus, IngressRule, IngressServiceBackend, IngressSpec, IngressStatus, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time as KubeTime};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::world::{JobStatus, Time, World};

pub const NAMESPACE: &str = "gitlab";
const APP: &str = "gitlab-k8s-demo";
const PROJECT: u64 = 1;
const REPLICAS: i32 = 2;

/// The cluster's objects at one instant, by (kind, name).
pub type Objects = BTreeMap<(&'static str, String), serde_json::Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Incident {
    None,
    ImagePull,
    CrashLoop,
    Unschedulable,
}

fn incident(deployment_id: u64) -> Incident {
    match deployment_id.wrapping_mul(2_654_435_761) % 12 {
        0 => Incident::ImagePull,
        1 => Incident::CrashLoop,
        2 => Incident::Unschedulable,
        _ => Incident::None,
    }
}

fn ts(t: Time) -> KubeTime {
    KubeTime(k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).expect("a valid time"))
}

fn labels(slug: &str, extra: &[(&str, String)]) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        ("app".to_owned(), APP.to_owned()),
        ("ref".to_owned(), slug.to_owned()),
        ("track".to_owned(), "stable".to_owned()),
    ]);
    for (k, v) in extra {
        l.insert((*k).to_owned(), v.clone());
    }
    l
}

fn meta(name: &str, slug: &str, created: Time, extra: &[(&str, String)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(NAMESPACE.to_owned()),
        uid: Some(format!(
            "{:08x}-sim0-4000-8000-{:012x}",
            fnv(name) as u32,
            fnv(name) & 0xffff_ffff_ffff
        )),
        creation_timestamp: Some(ts(created)),
        labels: Some(labels(slug, extra)),
        ..ObjectMeta::default()
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// One `kubectl apply` of an environment.
struct Apply {
    deployment_id: u64,
    at: Time,
    image: String,
}

/// Every object of every environment of gitlab-k8s-demo at `now`.
pub fn desired(world: &World, now: Time) -> Objects {
    let mut out = Objects::new();
    for env in world.environments.values().filter(|e| e.project_id == PROJECT) {
        let applies: Vec<Apply> = world
            .deployments_of(env.id)
            .filter_map(|d| {
                let job = &world.jobs[&d.job_id];
                // deploy jobs run `kubectl apply` nine seconds in, unless no cluster is connected.
                let at = job.started_at? + Duration::seconds(9);
                let applied = at <= now
                    && job.failure != Some(crate::scenario::Failure::NoCluster)
                    && job.finished_at.is_none_or(|f| f >= at);
                let sha = &world.pipelines[&job.pipeline_id].commit.sha;
                applied.then(|| Apply {
                    deployment_id: d.id,
                    at,
                    image: format!("registry.example.com/demo/{APP}:{}", &sha[..8]),
                })
            })
            .collect();
        let Some(last) = applies.last() else { continue };
        // `stop_review` deletes everything (`kubectl delete all,ing -l ref=...`).
        if let Some(stop) = env.stop_job.and_then(|j| world.jobs[&j].finished_at)
            && world.jobs[&env.stop_job.expect("checked")].status == JobStatus::Success
            && stop > last.at
            && stop <= now
        {
            continue;
        }
        let first = applies.first().expect("at least one").at;
        let generation = applies.len() as i64;
        let previous = applies.len().checked_sub(2).map(|i| &applies[i]);
        environment_objects(
            &mut out,
            &env.slug,
            &env.external_url,
            first,
            last,
            previous,
            generation,
            now,
        );
    }
    out
}

fn value<T: serde::Serialize>(kind: &'static str, api_version: &str, object: T) -> serde_json::Value {
    let mut v = serde_json::to_value(object).expect("objects serialize");
    v["kind"] = kind.into();
    v["apiVersion"] = api_version.into();
    v
}

fn template_hash(image: &str) -> String {
    format!("{:x}", fnv(image) % 0xffff_ffff)
}

#[expect(clippy::too_many_arguments, reason = "an environment's rollout has this many inputs")]
fn environment_objects(
    out: &mut Objects,
    slug: &str,
    url: &str,
    first: Time,
    last: &Apply,
    previous: Option<&Apply>,
    generation: i64,
    now: Time,
) {
    let name = format!("{APP}-{slug}");
    let s = (now - last.at).num_seconds();
    let trouble = incident(last.deployment_id);
    // New pods: created at 2 s and 6 s, running 4 s later, ready 6 s after that.
    let mut new_pods = Vec::new();
    let mut ready_new = 0;
    for i in 0..REPLICAS {
        let created = 2 + 4 * i as i64;
        if s < created {
            continue;
        }
        let age = s - created;
        let pod_name = format!(
            "{name}-{}-{}",
            template_hash(&last.image),
            pod_suffix(last.deployment_id, i)
        );
        let stuck_pending = trouble == Incident::Unschedulable && i == 1;
        let (phase, state, last_state, ready, restarts, message) = if trouble == Incident::ImagePull {
            let reason = if age % 20 < 10 {
                "ErrImagePull"
            } else {
                "ImagePullBackOff"
            };
            (
                "Pending",
                waiting(reason, &format!("Back-off pulling image \"{}\"", last.image)),
                None,
                false,
                0,
                None,
            )
        } else if stuck_pending {
            (
                "Pending",
                ContainerState::default(),
                None,
                false,
                0,
                Some("0/3 nodes are available: 3 Insufficient memory.".to_owned()),
            )
        } else if age < 4 {
            ("Pending", waiting("ContainerCreating", ""), None, false, 0, None)
        } else if trouble == Incident::CrashLoop && s >= 120 {
            let restarts = ((s - 120) / 40 + 1) as i32;
            let crashed = ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 1,
                    reason: Some("Error".into()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            };
            (
                "Running",
                waiting("CrashLoopBackOff", "back-off 40s restarting failed container=app"),
                Some(crashed),
                false,
                restarts,
                None,
            )
        } else {
            let running = ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(ts(last.at + Duration::seconds(created + 4))),
                }),
                ..ContainerState::default()
            };
            ("Running", running, None, age >= 10, 0, None)
        };
        if ready {
            ready_new += 1;
        }
        let pod = pod(
            &pod_name,
            slug,
            &last.image,
            last.at + Duration::seconds(created),
            phase,
            state,
            last_state,
            ready,
            restarts,
            message,
            &template_hash(&last.image),
        );
        new_pods.push((pod_name, pod));
    }
    // Old pods go as new ones become ready.
    let mut old_pods = Vec::new();
    if let Some(prev) = previous.filter(|p| p.image != last.image) {
        let keep = (REPLICAS - ready_new).max(0);
        for i in 0..keep {
            let pod_name = format!(
                "{name}-{}-{}",
                template_hash(&prev.image),
                pod_suffix(prev.deployment_id, i)
            );
            let running = ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(ts(prev.at + Duration::seconds(10))),
                }),
                ..ContainerState::default()
            };
            let pod = pod(
                &pod_name,
                slug,
                &prev.image,
                prev.at + Duration::seconds(2),
                "Running",
                running,
                None,
                true,
                0,
                None,
                &template_hash(&prev.image),
            );
            old_pods.push((pod_name, pod));
        }
    }
    let updated = new_pods.len() as i32;
    let available = ready_new + old_pods.len() as i32;
    let deadline_exceeded =
        s > 60 && ready_new < REPLICAS && trouble != Incident::None && trouble != Incident::CrashLoop;
    let done = ready_new == REPLICAS && old_pods.is_empty();
    let progressing = if deadline_exceeded {
        condition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            &format!(
                "ReplicaSet \"{name}-{}\" has timed out progressing.",
                template_hash(&last.image)
            ),
        )
    } else if done {
        condition(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!(
                "ReplicaSet \"{name}-{}\" has successfully progressed.",
                template_hash(&last.image)
            ),
        )
    } else {
        condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{name}-{}\" is progressing.", template_hash(&last.image)),
        )
    };
    let available_condition = if available >= REPLICAS - 1 {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let mut deployment_meta = meta(&name, slug, first, &[]);
    deployment_meta.generation = Some(generation);
    let deployment = Deployment {
        metadata: deployment_meta,
        spec: Some(DeploymentSpec {
            replicas: Some(REPLICAS),
            progress_deadline_seconds: Some(60),
            selector: LabelSelector {
                match_labels: Some(labels(slug, &[])),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(slug, &[])),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(&last.image)),
            },
            ..DeploymentSpec::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(if s >= 1 { generation } else { generation - 1 }),
            replicas: Some(updated + old_pods.len() as i32),
            updated_replicas: Some(updated),
            ready_replicas: Some(available),
            available_replicas: Some(available),
            unavailable_replicas: Some((REPLICAS - available).max(0)),
            conditions: Some(vec![available_condition, progressing]),
            ..DeploymentStatus::default()
        }),
    };
    out.insert(("Deployment", name.clone()), value("Deployment", "apps/v1", deployment));
    let rs_name = format!("{name}-{}", template_hash(&last.image));
    out.insert(
        ("ReplicaSet", rs_name.clone()),
        value(
            "ReplicaSet",
            "apps/v1",
            replica_set(&rs_name, slug, &last.image, last.at, REPLICAS, updated, ready_new),
        ),
    );
    if let Some(prev) = previous.filter(|p| p.image != last.image) {
        let rs_name = format!("{name}-{}", template_hash(&prev.image));
        let n = old_pods.len() as i32;
        out.insert(
            ("ReplicaSet", rs_name.clone()),
            value(
                "ReplicaSet",
                "apps/v1",
                replica_set(&rs_name, slug, &prev.image, prev.at, n, n, n),
            ),
        );
    }
    for (pod_name, pod) in new_pods.into_iter().chain(old_pods) {
        out.insert(("Pod", pod_name), value("Pod", "v1", pod));
    }
    let service = Service {
        metadata: meta(&name, slug, first, &[]),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels(slug, &[])),
            ports: Some(vec![ServicePort {
                port: 8000,
                target_port: Some(IntOrString::Int(8000)),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    out.insert(("Service", name.clone()), value("Service", "v1", service));
    let host = url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_owned();
    let has_address = (now - first).num_seconds() >= 15;
    let ingress = Ingress {
        metadata: meta(&name, slug, first, &[]),
        spec: Some(IngressSpec {
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: name.clone(),
                                port: Some(ServiceBackendPort {
                                    number: Some(8000),
                                    name: None,
                                }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        status: Some(IngressStatus {
            load_balancer: Some(IngressLoadBalancerStatus {
                ingress: has_address.then(|| {
                    vec![IngressLoadBalancerIngress {
                        ip: Some("203.0.113.10".into()),
                        ..IngressLoadBalancerIngress::default()
                    }]
                }),
            }),
        }),
    };
    out.insert(("Ingress", name), value("Ingress", "networking.k8s.io/v1", ingress));
}

fn pod_suffix(deployment_id: u64, i: i32) -> String {
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = fnv(&format!("{deployment_id}-{i}"));
    (0..5)
        .map(|_| {
            let c = alphabet[(n % alphabet.len() as u64) as usize] as char;
            n /= alphabet.len() as u64;
            c
        })
        .collect()
}

fn waiting(reason: &str, message: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message: (!message.is_empty()).then(|| message.to_owned()),
        }),
        ..ContainerState::default()
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        ..DeploymentCondition::default()
    }
}

fn pod_spec(image: &str) -> PodSpec {
    let probe = Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/health".into()),
            port: IntOrString::Int(8000),
            ..HTTPGetAction::default()
        }),
        ..Probe::default()
    };
    PodSpec {
        containers: vec![Container {
            name: "app".into(),
            image: Some(image.to_owned()),
            ports: Some(vec![ContainerPort {
                container_port: 8000,
                ..ContainerPort::default()
            }]),
            liveness_probe: Some(probe.clone()),
            readiness_probe: Some(probe),
            ..Container::default()
        }],
        restart_policy: Some("Always".into()),
        ..PodSpec::default()
    }
}

#[expect(clippy::too_many_arguments, reason = "a pod's status has this many parts")]
fn pod(
    name: &str,
    slug: &str,
    image: &str,
    created: Time,
    phase: &str,
    state: ContainerState,
    last_state: Option<ContainerState>,
    ready: bool,
    restarts: i32,
    message: Option<String>,
    hash: &str,
) -> Pod {
    let flag = if ready { "True" } else { "False" };
    Pod {
        metadata: meta(name, slug, created, &[("pod-template-hash", hash.to_owned())]),
        spec: Some(pod_spec(image)),
        status: Some(PodStatus {
            phase: Some(phase.into()),
            message,
            conditions: Some(vec![
                PodCondition {
                    type_: "PodScheduled".into(),
                    status: if phase == "Pending" && state.waiting.is_none() {
                        "False".into()
                    } else {
                        "True".into()
                    },
                    ..PodCondition::default()
                },
                PodCondition {
                    type_: "Ready".into(),
                    status: flag.into(),
                    ..PodCondition::default()
                },
                PodCondition {
                    type_: "ContainersReady".into(),
                    status: flag.into(),
                    ..PodCondition::default()
                },
            ]),
            container_statuses: (state != ContainerState::default()).then(|| {
                vec![ContainerStatus {
                    name: "app".into(),
                    image: image.into(),
                    image_id: String::new(),
                    ready,
                    restart_count: restarts,
                    started: Some(ready),
                    state: Some(state),
                    last_state,
                    ..ContainerStatus::default()
                }]
            }),
            start_time: Some(ts(created)),
            ..PodStatus::default()
        }),
    }
}

fn replica_set(name: &str, slug: &str, image: &str, created: Time, replicas: i32, have: i32, ready: i32) -> ReplicaSet {
    ReplicaSet {
        metadata: meta(name, slug, created, &[("pod-template-hash", template_hash(image))]),
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels(slug, &[])),
                ..LabelSelector::default()
            },
            template: Some(PodTemplateSpec {
                metadata: None,
                spec: Some(pod_spec(image)),
            }),
            ..ReplicaSetSpec::default()
        }),
        status: Some(ReplicaSetStatus {
            replicas: have,
            ready_replicas: Some(ready),
            available_replicas: Some(ready),
            ..ReplicaSetStatus::default()
        }),
    }
}
