//! The simulated GitLab sends webhooks as a real one does (CONTRACT.md §4): Pipeline, Job and
//! Deployment events with GitLab's headers and its non-ISO dates, for every status change the
//! story makes, to one configured URL with one secret token.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::environments::deployment_status;
use crate::world::{JobStatus, World};

/// Where the hooks go.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub secret: String,
}

/// The statuses last announced, to tell what changed since.
#[derive(Debug, Default)]
pub struct Announced {
    pipelines: HashMap<u64, JobStatus>,
    jobs: HashMap<u64, JobStatus>,
    deployments: HashMap<u64, &'static str>,
    primed: bool,
}

/// One delivery: the `X-Gitlab-Event` name and the body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: &'static str,
    pub body: Value,
}

/// `2026-06-01 12:00:00 UTC`: how GitLab writes dates in webhooks.
fn hook_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn project_json(world: &World, id: u64, base: &str) -> Value {
    match world.project(id) {
        Some(p) => json!({
            "id": p.id,
            "name": p.name,
            "path_with_namespace": p.full_path(),
            "web_url": format!("{base}/{}", p.full_path()),
            "default_branch": "main",
        }),
        None => json!({ "id": id }),
    }
}

/// The deliveries for what changed since the last call (nothing on the first: that is history).
pub fn changes(world: &World, announced: &mut Announced, base: &str) -> Vec<Delivery> {
    let mut out = Vec::new();
    let first = !announced.primed;
    announced.primed = true;
    for job in world.jobs.values() {
        if announced.jobs.insert(job.id, job.status) == Some(job.status) || first {
            continue;
        }
        let pipeline = &world.pipelines[&job.pipeline_id];
        out.push(Delivery {
            event: "Job Hook",
            body: json!({
                "object_kind": "build",
                "ref": pipeline.git_ref,
                "tag": pipeline.tag,
                "before_sha": pipeline.before_sha,
                "sha": pipeline.commit.sha,
                "build_id": job.id,
                "build_name": job.name,
                "build_stage": job.stage(),
                "build_status": job.status.as_str(),
                "build_created_at": hook_time(job.created_at),
                "build_started_at": job.started_at.map(hook_time),
                "build_finished_at": job.finished_at.map(hook_time),
                "build_created_at_iso": job.created_at.to_rfc3339(),
                "build_allow_failure": job.def.allow_failure,
                "retries_count": job.attempt.saturating_sub(1),
                "pipeline_id": pipeline.id,
                "project_id": pipeline.project_id,
                "project_name": world.project(pipeline.project_id).map(|p| p.full_path()),
                "user": { "id": job.user.id, "username": job.user.username, "name": job.user.name },
                // GitLab's job hook puts the pipeline's id in commit.id (CONTRACT.md §8).
                "commit": { "id": pipeline.id, "sha": pipeline.commit.sha, "message": pipeline.commit.title, "status": pipeline.status.as_str() },
                "project": project_json(world, pipeline.project_id, base),
            }),
        });
    }
    for pipeline in world.pipelines.values() {
        if announced.pipelines.insert(pipeline.id, pipeline.status) == Some(pipeline.status) || first {
            continue;
        }
        out.push(Delivery {
            event: "Pipeline Hook",
            body: json!({
                "object_kind": "pipeline",
                "object_attributes": {
                    "id": pipeline.id,
                    "iid": pipeline.iid,
                    "ref": pipeline.git_ref,
                    "tag": pipeline.tag,
                    "sha": pipeline.commit.sha,
                    "before_sha": pipeline.before_sha,
                    "source": pipeline.source,
                    "status": pipeline.status.as_str(),
                    "stages": pipeline.def.stages,
                    "created_at": hook_time(pipeline.created_at),
                    "finished_at": pipeline.finished_at.map(hook_time),
                    "url": format!("{base}/-/pipelines/{}", pipeline.id),
                },
                "user": { "id": pipeline.user.id, "username": pipeline.user.username, "name": pipeline.user.name },
                "project": project_json(world, pipeline.project_id, base),
                "commit": { "id": pipeline.commit.sha, "message": pipeline.commit.title },
            }),
        });
    }
    for deployment in world.deployments.values() {
        let Some(job) = world.jobs.get(&deployment.job_id) else {
            continue;
        };
        let status = deployment_status(job.status);
        if announced.deployments.insert(deployment.id, status) == Some(status) || first {
            continue;
        }
        let environment = world.environments.get(&deployment.environment_id);
        out.push(Delivery {
            event: "Deployment Hook",
            body: json!({
                "object_kind": "deployment",
                "status": status,
                "status_changed_at": job.changed_at.format("%Y-%m-%d %H:%M:%S %z").to_string(),
                "deployment_id": deployment.id,
                "deployable_id": job.id,
                "environment": environment.map(|e| e.name.clone()),
                "environment_slug": environment.map(|e| e.slug.clone()),
                "environment_external_url": environment.map(|e| e.external_url.clone()),
                "project": project_json(world, deployment.project_id, base),
                "short_sha": world.pipelines[&job.pipeline_id].commit.sha.get(..8),
            }),
        });
    }
    out
}

/// Posts one delivery with GitLab's headers; GitLab does not wait long, nor does this.
pub async fn deliver(http: &reqwest::Client, target: &Target, delivery: Delivery) {
    let uuid = uuid_v4();
    let result = http
        .post(&target.url)
        .timeout(Duration::from_secs(10))
        .header("content-type", "application/json")
        .header("user-agent", "GitLab/18.5.0-sim")
        .header("x-gitlab-event", delivery.event)
        .header("x-gitlab-token", &target.secret)
        .header("x-gitlab-instance", "http://gitlab.example.com")
        .header("x-gitlab-webhook-uuid", "0d4c5a5e-5b8a-4c3e-9a53-5f0a2b1c9d01")
        .header("x-gitlab-event-uuid", &uuid)
        .header("idempotency-key", &uuid)
        .json(&delivery.body)
        .send()
        .await;
    match result {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => tracing::debug!(status = %r.status(), event = delivery.event, "webhook refused"),
        Err(e) => tracing::debug!(error = %e, event = delivery.event, "webhook not delivered"),
    }
}

/// A delivery id, unique per process run (time and a counter), formatted as GitLab's UUIDs.
fn uuid_v4() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let n = (u128::from(nanos) << 64) | u128::from(count);
    let n = (n & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{n:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}
