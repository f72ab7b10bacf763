//! GitLab's API entities (`lib/api/entities/...`) as JSON, with the same fields and types as
//! the fixtures in fixtures/gitlab.

use chrono::SecondsFormat;
use serde_json::{Value, json};

use crate::scenario::{self, Person, ProjectDef};
use crate::world::{Job, JobStatus, Pipeline, Time, World};

pub fn time(t: Time) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn opt_time(t: Option<Time>) -> Value {
    t.map(time).unwrap_or(Value::Null)
}

pub struct Ctx<'a> {
    pub base: &'a str,
    pub now: Time,
    pub world: &'a World,
}

impl Ctx<'_> {
    pub fn project_url(&self, project: &ProjectDef) -> String {
        format!("{}/{}", self.base, project.full_path())
    }

    pub fn user(&self, person: Person) -> Value {
        json!({
            "id": person.id,
            "username": person.username,
            "name": person.name,
            "state": "active",
            "locked": false,
            "avatar_url": format!("{}/uploads/-/system/user/avatar/{}/avatar.png", self.base, person.id),
            "web_url": format!("{}/{}", self.base, person.username),
        })
    }

    pub fn project(&self, project: &ProjectDef, simple: bool) -> Value {
        let group = project.group;
        let last_activity = self
            .world
            .pipelines
            .values()
            .rev()
            .find(|p| p.project_id == project.id)
            .map(|p| p.updated_at);
        let mut value = json!({
            "id": project.id,
            "description": project.description,
            "name": project.name,
            "name_with_namespace": format!("{} / {}", group_names(group), project.name),
            "path": project.path,
            "path_with_namespace": project.full_path(),
            "created_at": project.created_at,
            "default_branch": "main",
            "tag_list": project.topics,
            "topics": project.topics,
            "ssh_url_to_repo": format!("git@gitlab.example.com:{}.git", project.full_path()),
            "http_url_to_repo": format!("{}.git", self.project_url(project)),
            "web_url": self.project_url(project),
            "readme_url": format!("{}/-/blob/main/README.md", self.project_url(project)),
            "forks_count": 0,
            "avatar_url": null,
            "star_count": 3,
            "last_activity_at": opt_time(last_activity),
            "namespace": {
                "id": group.id,
                "name": group.name,
                "path": group.full_path.rsplit('/').next().unwrap_or(group.full_path),
                "kind": "group",
                "full_path": group.full_path,
                "parent_id": group.parent.map(|p| p.id),
                "avatar_url": null,
                "web_url": format!("{}/groups/{}", self.base, group.full_path),
            },
        });
        if !simple {
            let extra = json!({
                "visibility": "private",
                "archived": project.archived,
                "empty_repo": false,
                "jobs_enabled": true,
                "builds_access_level": "enabled",
                "ci_config_path": null,
                "allow_pipeline_trigger_approve_deployment": false,
                "_links": {
                    "self": format!("{}/api/v4/projects/{}", self.base, project.id),
                },
            });
            merge(&mut value, extra);
        }
        value
    }

    fn pipeline_url(&self, pipeline: &Pipeline) -> String {
        let project = &self.world.project(pipeline.project_id).expect("project");
        format!("{}/-/pipelines/{}", self.project_url(project), pipeline.id)
    }

    /// `PipelineBasic`, as nested in jobs and bridges.
    pub fn pipeline_basic(&self, pipeline: &Pipeline) -> Value {
        json!({
            "id": pipeline.id,
            "iid": pipeline.iid,
            "project_id": pipeline.project_id,
            "sha": pipeline.commit.sha,
            "ref": pipeline.git_ref,
            "status": pipeline.status.as_str(),
            "source": pipeline.source,
            "created_at": time(pipeline.created_at),
            "updated_at": time(pipeline.updated_at),
            "web_url": self.pipeline_url(pipeline),
        })
    }

    /// `PipelineBasicWithMetadata`, as listed.
    pub fn pipeline_listed(&self, pipeline: &Pipeline) -> Value {
        let mut value = self.pipeline_basic(pipeline);
        merge(&mut value, json!({ "name": null }));
        value
    }

    /// `PipelineWithMetadata`, the single pipeline.
    pub fn pipeline(&self, pipeline: &Pipeline) -> Value {
        let mut value = self.pipeline_listed(pipeline);
        let duration = match (pipeline.started_at, pipeline.finished_at) {
            (Some(s), Some(f)) => json!((f - s).num_seconds()),
            _ => Value::Null,
        };
        let queued = pipeline
            .started_at
            .map(|s| json!((s - pipeline.created_at).num_seconds()))
            .unwrap_or(Value::Null);
        let label = match pipeline.status {
            JobStatus::Success => "passed",
            other => other.as_str(),
        };
        merge(
            &mut value,
            json!({
                "before_sha": pipeline.before_sha,
                "tag": pipeline.tag,
                "yaml_errors": null,
                "user": self.user(pipeline.user),
                "started_at": opt_time(pipeline.started_at),
                "finished_at": opt_time(pipeline.finished_at),
                "committed_at": time(pipeline.commit.created_at),
                "duration": duration,
                "queued_duration": queued,
                "coverage": null,
                "detailed_status": {
                    "icon": format!("status_{}", pipeline.status.as_str()),
                    "text": label,
                    "label": label,
                    "group": pipeline.status.as_str(),
                    "tooltip": label,
                    "has_details": true,
                    "details_path": self.pipeline_url(pipeline).trim_start_matches(self.base),
                    "illustration": null,
                    "favicon": format!("/assets/ci_favicons/favicon_status_{}.png", pipeline.status.as_str()),
                },
            }),
        );
        value
    }

    fn commit(&self, pipeline: &Pipeline) -> Value {
        let c = &pipeline.commit;
        json!({
            "id": c.sha,
            "short_id": &c.sha[..8],
            "created_at": time(c.created_at),
            "parent_ids": [pipeline.before_sha],
            "title": c.title,
            "message": format!("{}\n", c.title),
            "author_name": c.author.name,
            "author_email": format!("{}@example.com", c.author.username),
            "authored_date": time(c.created_at),
            "committer_name": c.author.name,
            "committer_email": format!("{}@example.com", c.author.username),
            "committed_date": time(c.created_at),
            "trailers": {},
            "extended_trailers": {},
            "web_url": format!("{}/-/commit/{}", self.project_url(&self.world.project(pipeline.project_id).expect("project")), c.sha),
        })
    }

    /// `JobBasic`, shared by jobs and bridges.
    fn job_basic(&self, job: &Job) -> Value {
        let pipeline = &self.world.pipelines[&job.pipeline_id];
        let project = &self.world.project(job.project_id).expect("project");
        let mut value = json!({
            "id": job.id,
            "status": job.status.as_str(),
            "stage": job.stage(),
            "name": job.name,
            "ref": pipeline.git_ref,
            "tag": pipeline.tag,
            "coverage": null,
            "allow_failure": job.def.allow_failure,
            "created_at": time(job.created_at),
            "started_at": opt_time(job.started_at),
            "finished_at": opt_time(job.finished_at),
            "erased_at": null,
            "duration": job.duration(self.now),
            "queued_duration": job.queued_duration(self.now),
            "user": self.user(job.user),
            "commit": self.commit(pipeline),
            "pipeline": self.pipeline_basic(pipeline),
            "web_url": format!("{}/-/jobs/{}", self.project_url(project), job.id),
            "project": { "ci_job_token_scope_enabled": false },
        });
        if job.status == JobStatus::Failed {
            let reason = match job.failure {
                Some(scenario::Failure::DeploymentRejected) => "deployment_rejected",
                _ => "script_failure",
            };
            merge(&mut value, json!({ "failure_reason": reason }));
        }
        value
    }

    /// `Entities::Ci::Job`.
    pub fn job(&self, job: &Job) -> Value {
        let mut value = self.job_basic(job);
        let has_artifacts = job.status == JobStatus::Success && job.def.name == "compile";
        let artifacts = if has_artifacts {
            json!([{ "file_type": "archive", "size": 6_120_448, "filename": "artifacts.zip", "file_format": "zip" }])
        } else {
            json!([])
        };
        let mut tags = job.def.tags.to_vec();
        tags.sort_unstable();
        let runner = job
            .runner
            .and_then(|id| crate::scenario::RUNNERS.iter().find(|r| r.id == id))
            .map(|r| self.runner(r));
        merge(
            &mut value,
            json!({
                "artifacts": artifacts,
                "artifacts_expire_at": if has_artifacts { time(job.finished_at.unwrap_or(self.now) + chrono::Duration::days(30)) } else { Value::Null },
                "tag_list": tags,
                "archived": false,
                "runner": runner,
                "runner_manager": null,
            }),
        );
        if has_artifacts {
            merge(
                &mut value,
                json!({ "artifacts_file": { "filename": "artifacts.zip", "size": 6_120_448 } }),
            );
        }
        value
    }

    /// `Entities::Ci::Runner`: what lists and jobs show of a runner.
    pub fn runner(&self, runner: &crate::scenario::RunnerDef) -> Value {
        let (online, _) = self.world.runner_state(runner, self.now);
        let busy = self.world.busy_runners().contains(&runner.id);
        json!({
            "id": runner.id,
            "description": runner.description,
            "ip_address": null,
            "active": !runner.paused,
            "paused": runner.paused,
            "is_shared": matches!(runner.scope, crate::scenario::RunnerScope::Instance),
            "runner_type": runner.runner_type(),
            "name": "gitlab-runner",
            "online": online,
            "created_at": "2025-09-01T10:00:00.000Z",
            "status": if online { "online" } else { "offline" },
            "job_execution_status": if busy { "active" } else { "idle" },
        })
    }

    /// `Entities::Ci::RunnerDetails`: a runner with its tags and last contact.
    pub fn runner_details(&self, runner: &crate::scenario::RunnerDef) -> Value {
        let mut value = self.runner(runner);
        let (online, since) = self.world.runner_state(runner, self.now);
        // An online runner asks for jobs every few seconds; an offline one stopped at `since`.
        let contacted = if online {
            self.now - chrono::Duration::seconds(runner.id as i64 % 7 + 1)
        } else {
            since
        };
        let projects: Vec<Value> = self
            .world
            .projects
            .iter()
            .filter(|p| {
                !p.deleted && matches!(runner.scope, crate::scenario::RunnerScope::Project(_)) && runner.serves(p)
            })
            .map(|p| json!({ "id": p.id, "name": p.name, "path_with_namespace": p.full_path() }))
            .collect();
        let groups: Vec<Value> = match runner.scope {
            crate::scenario::RunnerScope::Group(g) => {
                vec![json!({ "id": g.id, "name": g.name, "web_url": format!("{}/groups/{}", self.base, g.full_path) })]
            }
            _ => Vec::new(),
        };
        merge(
            &mut value,
            json!({
                "tag_list": runner.tags,
                "contacted_at": time(contacted),
                "run_untagged": runner.run_untagged,
                "locked": false,
                "access_level": "not_protected",
                "maximum_timeout": null,
                "maintenance_note": null,
                "version": "17.6.0",
                "revision": "374d34fd",
                "platform": if runner.tags.contains(&"macos") { "darwin" } else { "linux" },
                "architecture": if runner.tags.contains(&"macos") { "arm64" } else { "amd64" },
                "projects": projects,
                "groups": groups,
            }),
        );
        value
    }

    /// `Entities::Ci::Bridge`.
    pub fn bridge(&self, job: &Job) -> Value {
        let mut value = self.job_basic(job);
        let downstream = job
            .downstream
            .and_then(|id| self.world.pipelines.get(&id))
            .map(|p| self.pipeline_basic(p))
            .unwrap_or(Value::Null);
        merge(&mut value, json!({ "downstream_pipeline": downstream }));
        value
    }
}

impl Ctx<'_> {
    pub fn plain_commit(&self, project: &ProjectDef, c: &crate::world::Commit) -> Value {
        json!({
            "id": c.sha,
            "short_id": &c.sha[..8],
            "created_at": time(c.created_at),
            "title": c.title,
            "message": format!("{}\n", c.title),
            "author_name": c.author.name,
            "author_email": format!("{}@example.com", c.author.username),
            "authored_date": time(c.created_at),
            "committed_date": time(c.created_at),
            "web_url": format!("{}/-/commit/{}", self.project_url(project), c.sha),
        })
    }

    fn environment_ref(&self, e: &crate::environments::Environment) -> Value {
        json!({
            "id": e.id,
            "name": e.name,
            "slug": e.slug,
            "external_url": e.external_url,
            "created_at": time(e.created_at),
            "updated_at": time(self.environment_updated(e)),
        })
    }

    fn environment_updated(&self, e: &crate::environments::Environment) -> Time {
        let w = self.world;
        w.deployments_of(e.id)
            .map(|d| w.jobs[&d.job_id].changed_at)
            .chain(e.stopped_at)
            .max()
            .unwrap_or(e.created_at)
    }

    /// `Entities::Environment`; `last_deployment` only for the single environment.
    pub fn environment(&self, e: &crate::environments::Environment, with_last: bool) -> Value {
        let w = self.world;
        let project = &self.world.project(e.project_id).expect("project");
        let mut value = self.environment_ref(e);
        merge(
            &mut value,
            json!({
                "tier": e.tier,
                "state": w.environment_state(e),
                "auto_stop_at": w.auto_stop_at(e).map(time),
                "description": null,
                "auto_stop_setting": "always",
                "project": self.project(project, true),
            }),
        );
        if with_last {
            let last = w
                .last_deployment(e.id)
                .map(|d| self.deployment(d))
                .unwrap_or(Value::Null);
            merge(&mut value, json!({ "last_deployment": last }));
        }
        value
    }

    /// `Entities::Deployment`, with the deploy job as `deployable`.
    pub fn deployment(&self, d: &crate::environments::Deployment) -> Value {
        let w = self.world;
        let job = &w.jobs[&d.job_id];
        let pipeline = &w.pipelines[&job.pipeline_id];
        json!({
            "id": d.id,
            "iid": d.iid,
            "ref": pipeline.git_ref,
            "sha": pipeline.commit.sha,
            "created_at": time(d.created_at),
            "updated_at": time(job.changed_at),
            "finished_at": job.finished_at.map(time),
            "status": crate::environments::deployment_status(job.status),
            "user": self.user(job.user),
            "environment": self.environment_ref(&w.environments[&d.environment_id]),
            "deployable": self.job(job),
        })
    }

    /// `Entities::Deployments::Approval`.
    pub fn approval(&self, a: &crate::environments::Approval) -> Value {
        json!({
            "user": self.user(a.user),
            "status": if a.approved { "approved" } else { "rejected" },
            "created_at": time(a.at),
            "comment": a.comment,
        })
    }

    /// `Entities::DeploymentExtended` (one deployment): with GitLab Premium's approvals.
    pub fn deployment_extended(&self, d: &crate::environments::Deployment) -> Value {
        let w = self.world;
        let mut value = self.deployment(d);
        let environment = &w.deployment_environment(d).name;
        let approvals: Vec<Value> = d.approvals.iter().map(|a| self.approval(a)).collect();
        let rules: Vec<Value> = crate::users::approval_rule(environment)
            .map(|(role, required)| {
                let mut rule = approval_rule(role, required);
                merge(&mut rule, json!({ "deployment_approvals": approvals }));
                rule
            })
            .into_iter()
            .collect();
        merge(
            &mut value,
            json!({
                "pending_approval_count": w.pending_approvals(d),
                "approvals": approvals,
                "approval_summary": { "rules": rules },
            }),
        );
        value
    }
}

/// A protected environment's rule letting in a role (`deploy_access_levels`, and approval
/// rules by role).
pub fn role_rule(id: u64, role: crate::users::Role) -> Value {
    json!({
        "id": id,
        "access_level": role.access_level(),
        "access_level_description": format!("{}s", role.name()),
        "user_id": null,
        "group_id": null,
        "group_inheritance_type": 0,
    })
}

/// An approval rule: `required` approvals from `role`.
pub fn approval_rule(role: crate::users::Role, required: u32) -> Value {
    let mut rule = role_rule(38, role);
    merge(&mut rule, json!({ "required_approvals": required }));
    rule
}

fn group_names(group: &scenario::GroupDef) -> String {
    match group.parent {
        Some(parent) => format!("{} / {}", group_names(parent), group.name),
        None => group.name.to_owned(),
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}
