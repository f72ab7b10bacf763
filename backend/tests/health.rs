//! One test per health rule of shared/kubernetes.md, including Argo CD's cases (crash loop,
//! image pull back-off, running but not ready, load balancer and ingress without an address,
//! suspended deployment), on objects written as the API server sends them.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use stageboard::cluster::health;
use stageboard_protocol::HealthStatus::{self, *};

/// Reads a Kubernetes object and checks nothing in it was silently dropped: k8s-openapi ignores
/// unknown (misspelled) fields, so a fixture must survive a serialize round trip.
fn object<T: DeserializeOwned + Serialize>(value: Value) -> T {
    let parsed: T = serde_json::from_value(value.clone()).expect("a valid object");
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(
        strip_nulls(back),
        strip_nulls(value),
        "the fixture has a field k8s-openapi does not know"
    );
    parsed
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn deployment(spec: Value, status: Value, generation: i64) -> Deployment {
    object(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "gitlab-k8s-demo-dev", "namespace": "gitlab", "generation": generation },
        "spec": spec, "status": status,
    }))
}

fn spec(replicas: i32) -> Value {
    json!({ "replicas": replicas, "selector": { "matchLabels": { "app": "gitlab-k8s-demo" } }, "template": { "spec": { "containers": [{ "name": "app", "image": "registry.example.com/demo/gitlab-k8s-demo:5c113628" }] } } })
}

fn check(h: stageboard_protocol::Health, status: HealthStatus, words: &str) {
    assert_eq!(h.status, status, "{}", h.message);
    assert!(h.message.contains(words), "`{}` does not say `{words}`", h.message);
}

#[test]
fn a_paused_deployment_is_suspended() {
    let mut s = spec(2);
    s["paused"] = json!(true);
    check(
        health::deployment(&deployment(s, json!({ "observedGeneration": 1 }), 1)),
        Suspended,
        "paused",
    );
}

#[test]
fn an_unobserved_spec_is_progressing() {
    let d = deployment(
        spec(2),
        json!({ "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2 }),
        4,
    );
    check(health::deployment(&d), Progressing, "spec update to be observed");
}

#[test]
fn a_rollout_past_its_deadline_is_degraded() {
    let d = deployment(
        spec(2),
        json!({
            "observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2,
            "conditions": [{ "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                             "message": "ReplicaSet \"gitlab-k8s-demo-dev-7d9\" has timed out progressing." }]
        }),
        2,
    );
    check(health::deployment(&d), Degraded, "exceeded its progress deadline");
}

#[test]
fn rollout_steps_read_like_kubectl() {
    let updating = deployment(
        spec(2),
        json!({ "observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 2 }),
        2,
    );
    check(
        health::deployment(&updating),
        Progressing,
        "1 out of 2 new replicas have been updated",
    );
    let terminating = deployment(
        spec(2),
        json!({ "observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2 }),
        2,
    );
    check(
        health::deployment(&terminating),
        Progressing,
        "1 old replicas are pending termination",
    );
    let starting = deployment(
        spec(2),
        json!({ "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1 }),
        2,
    );
    check(
        health::deployment(&starting),
        Progressing,
        "1 of 2 updated replicas are available",
    );
    let done = deployment(
        spec(2),
        json!({ "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2 }),
        2,
    );
    check(health::deployment(&done), Healthy, "successfully rolled out");
}

fn pod(phase: &str, containers: Value, conditions: Value, restart: &str) -> Pod {
    object(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "gitlab-k8s-demo-dev-7d9-abcde", "namespace": "gitlab" },
        "spec": { "restartPolicy": restart, "containers": [{ "name": "app", "image": "registry.example.com/demo/gitlab-k8s-demo:5c113628" }] },
        "status": { "phase": phase, "containerStatuses": containers, "conditions": conditions },
    }))
}

fn waiting(reason: &str, message: &str) -> Value {
    json!([{ "name": "app", "image": "registry.example.com/demo/gitlab-k8s-demo:5c113628", "imageID": "", "ready": false, "restartCount": 4,
             "state": { "waiting": { "reason": reason, "message": message } } }])
}

#[test]
fn crash_loops_and_pull_failures_are_degraded_whatever_the_phase() {
    check(
        health::pod(&pod(
            "Running",
            waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container"),
            json!([]),
            "Always",
        )),
        Degraded,
        "CrashLoopBackOff",
    );
    check(
        health::pod(&pod(
            "Pending",
            waiting("ImagePullBackOff", "Back-off pulling image"),
            json!([]),
            "Always",
        )),
        Degraded,
        "ImagePullBackOff",
    );
    check(
        health::pod(&pod(
            "Pending",
            waiting("ErrImagePull", "manifest unknown"),
            json!([]),
            "Always",
        )),
        Degraded,
        "ErrImagePull",
    );
    check(
        health::pod(&pod(
            "Pending",
            waiting("CreateContainerConfigError", "secret \"db\" not found"),
            json!([]),
            "Always",
        )),
        Degraded,
        "secret",
    );
    // ContainerCreating is on its way.
    check(
        health::pod(&pod("Pending", waiting("ContainerCreating", ""), json!([]), "Always")),
        Progressing,
        "",
    );
}

#[test]
fn pod_phases() {
    check(
        health::pod(&pod("Pending", json!([]), json!([]), "Always")),
        Progressing,
        "pending",
    );
    check(
        health::pod(&pod("Succeeded", json!([]), json!([]), "Always")),
        Healthy,
        "completed",
    );
    let oom = json!([{ "name": "app", "image": "app", "imageID": "", "ready": false, "restartCount": 0,
                       "state": { "terminated": { "reason": "OOMKilled", "exitCode": 137 } } }]);
    check(
        health::pod(&pod("Failed", oom, json!([]), "Never")),
        Degraded,
        "OOMKilled (exit code 137)",
    );
    let ready = json!([{ "type": "Ready", "status": "True" }]);
    check(
        health::pod(&pod("Running", json!([]), ready, "Always")),
        Healthy,
        "ready",
    );
    check(
        health::pod(&pod("Weird", json!([]), json!([]), "Always")),
        Unknown,
        "unknown",
    );
}

#[test]
fn a_running_pod_that_is_not_ready_is_progressing_unless_it_has_crashed() {
    let not_ready = json!([{ "type": "Ready", "status": "False" }]);
    check(
        health::pod(&pod("Running", json!([]), not_ready.clone(), "Always")),
        Progressing,
        "not ready",
    );
    let restarted = json!([{ "name": "app", "image": "app", "imageID": "", "ready": false, "restartCount": 1,
                             "state": { "running": {} }, "lastState": { "terminated": { "reason": "Error", "exitCode": 1 } } }]);
    check(
        health::pod(&pod("Running", restarted, not_ready, "Always")),
        Degraded,
        "restarted: Error (exit code 1)",
    );
}

#[test]
fn anything_being_deleted_is_progressing() {
    let mut p = pod(
        "Running",
        json!([]),
        json!([{ "type": "Ready", "status": "True" }]),
        "Always",
    );
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).unwrap(),
    ));
    check(health::pod(&p), Progressing, "pending deletion");
}

#[test]
fn replica_sets() {
    let rs = |status: Value| -> ReplicaSet {
        object(
            json!({ "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": { "name": "rs" },
                       "spec": { "replicas": 2, "selector": { "matchLabels": { "app": "a" } } }, "status": status }),
        )
    };
    check(
        health::replica_set(&rs(
            json!({ "replicas": 0, "conditions": [{ "type": "ReplicaFailure", "status": "True", "message": "pods \"x\" is forbidden: exceeded quota" }] }),
        )),
        Degraded,
        "exceeded quota",
    );
    check(
        health::replica_set(&rs(json!({ "replicas": 2, "availableReplicas": 1 }))),
        Progressing,
        "1 of 2",
    );
    check(
        health::replica_set(&rs(json!({ "replicas": 2, "availableReplicas": 2 }))),
        Healthy,
        "2 of 2",
    );
}

#[test]
fn a_load_balancer_without_an_address_is_progressing() {
    let svc = |kind: &str, status: Value| -> Service {
        object(
            json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "gitlab-k8s-demo-dev" },
                       "spec": { "type": kind, "ports": [{ "port": 8000 }] }, "status": status }),
        )
    };
    check(
        health::service(&svc("LoadBalancer", json!({ "loadBalancer": {} }))),
        Progressing,
        "load balancer",
    );
    check(
        health::service(&svc(
            "LoadBalancer",
            json!({ "loadBalancer": { "ingress": [{ "ip": "203.0.113.7" }] } }),
        )),
        Healthy,
        "ready",
    );
    check(
        health::service(&svc("ClusterIP", json!({ "loadBalancer": {} }))),
        Healthy,
        "ready",
    );
}

#[test]
fn an_ingress_without_an_address_is_progressing() {
    let ing = |status: Value| -> Ingress {
        object(
            json!({ "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": { "name": "gitlab-k8s-demo-dev" },
                       "spec": { "rules": [{ "host": "dev-gitlab-k8s-demo.example.com" }] }, "status": status }),
        )
    };
    check(
        health::ingress(&ing(json!({ "loadBalancer": {} }))),
        Progressing,
        "address",
    );
    check(
        health::ingress(&ing(
            json!({ "loadBalancer": { "ingress": [{ "hostname": "lb.example.com" }] } }),
        )),
        Healthy,
        "address",
    );
}

#[test]
fn an_environment_is_its_worst_resource_and_pod_trouble_shows_apart() {
    let done = deployment(
        spec(2),
        json!({ "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2 }),
        1,
    );
    let ing: Ingress = object(
        json!({ "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": { "name": "i" }, "status": { "loadBalancer": {} } }),
    );
    let env = health::environment(std::slice::from_ref(&done), &[], std::slice::from_ref(&ing));
    check(env, Progressing, "ingress controller");
    check(health::environment(&[], &[], &[]), Missing, "no resources");
    // A finished rollout that later crash-loops still reads Progressing/Healthy at the top;
    // the pods say why.
    let crashing = pod("Running", waiting("CrashLoopBackOff", "back-off"), json!([]), "Always");
    let warnings = health::pod_warnings([&crashing]);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].0, "gitlab-k8s-demo-dev-7d9-abcde");
    check(
        health::environment(std::slice::from_ref(&done), &[], &[]),
        Healthy,
        "rolled out",
    );
}
