//! Environments and deployments, as GitLab keeps them: a deploy job creates a deployment (and its
//! environment, the first time) when the job is created; the deployment's status follows the
//! job's; stopping runs the `on_stop` job (state stopping, then stopped) or, forced, stops at once.
//! A deployment to an environment with an approval rule waits for its approvals before its
//! (manual) job may be played; one rejection fails the job.

use chrono::Duration;

use crate::scenario::EnvironmentDef;
use crate::world::{Job, JobStatus, Pipeline, Time, World};

#[derive(Debug, Clone)]
pub struct Environment {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub slug: String,
    pub tier: &'static str,
    pub external_url: String,
    pub created_at: Time,
    /// Stopped by force, or by its stop job (then `stop_job` says which).
    pub stopped_at: Option<Time>,
    pub stop_job: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: u64,
    pub iid: u64,
    pub project_id: u64,
    pub environment_id: u64,
    pub job_id: u64,
    pub created_at: Time,
    /// Approvals and rejections, one per person (GitLab Premium's deployment approvals).
    pub approvals: Vec<Approval>,
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub user: crate::scenario::Person,
    pub approved: bool,
    pub comment: Option<String>,
    pub at: Time,
}

/// GitLab's environment slug: lower-case, `[a-z0-9-]`, at most 24 characters, with a suffix when
/// the name had to change (so `review/feature-login-page` becomes `review-feature-lo-3k9x2a`).
pub fn slug(name: &str, id: u64) -> String {
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    slug = slug.trim_matches('-').to_owned();
    if slug == name && slug.len() <= 24 {
        return slug;
    }
    let suffix: String = format!("{:06x}", id.wrapping_mul(0x9e37_79b9) & 0xff_ffff);
    slug.truncate(17);
    format!("{}-{suffix}", slug.trim_end_matches('-'))
}

/// The environment name a job of `pipeline` deploys to (or stops).
pub fn environment_name(def: &EnvironmentDef, pipeline: &Pipeline) -> String {
    if def.per_branch && !pipeline.tag && pipeline.git_ref != "main" {
        format!("review/{}", pipeline.git_ref.replace('/', "-"))
    } else {
        def.name.to_owned()
    }
}

fn url_for(def: &EnvironmentDef, name: &str) -> String {
    match name.strip_prefix("review/") {
        Some(branch) => format!("https://{branch}-gitlab-k8s-demo.example.com"),
        None => def.url.to_owned(),
    }
}

/// GitLab's deployment status for a deploy job's status: a manual job's deployment is
/// `blocked` (`Deployment#sync_status_with`, GitLab 15 and later), approvals or not.
pub fn deployment_status(job: JobStatus) -> &'static str {
    match job {
        JobStatus::Manual => "blocked",
        JobStatus::Created | JobStatus::Pending => "created",
        JobStatus::Running => "running",
        JobStatus::Success => "success",
        JobStatus::Failed => "failed",
        JobStatus::Canceled => "canceled",
        JobStatus::Skipped => "skipped",
    }
}

/// Why stopping was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum StopRefusal {
    NotFound,
}

/// Why an approval was refused, in GitLab's words (`Deployments::ApprovalService`), checked in
/// GitLab's order.
#[derive(Debug, PartialEq, Eq)]
pub enum ApprovalRefusal {
    NotProtected,
    OwnDeployment,
    NotConfigured,
    NotWaiting,
    NotAllowed,
    /// A validation error of the record, not a refusal of the service.
    CommentTooLong,
}

impl ApprovalRefusal {
    pub fn message(&self) -> &'static str {
        match self {
            ApprovalRefusal::NotProtected => "This environment is not protected.",
            ApprovalRefusal::OwnDeployment => {
                "You cannot approve your own deployment. This configuration can be adjusted in the protected environment settings."
            }
            ApprovalRefusal::NotConfigured => "Deployment approvals is not configured for this environment.",
            ApprovalRefusal::NotWaiting => "This deployment is not waiting for approvals.",
            ApprovalRefusal::NotAllowed => {
                "You don't have permission to approve this deployment. Contact the project or group owner for help."
            }
            ApprovalRefusal::CommentTooLong => "Comment is too long (maximum is 255 characters)",
        }
    }
}

impl World {
    /// Called for every new job: a deploy job gets a deployment (and the environment, once).
    pub(crate) fn record_deployment(&mut self, job_id: u64) {
        let job = self.jobs[&job_id].clone();
        let Some(def) = job.def.environment else { return };
        if def.stops {
            return;
        }
        let pipeline = self.pipelines[&job.pipeline_id].clone();
        let name = environment_name(&def, &pipeline);
        let environment_id = match self
            .environments
            .values()
            .find(|e| e.project_id == job.project_id && e.name == name)
        {
            Some(e) => e.id,
            None => {
                let id = self.environments.keys().next_back().copied().unwrap_or(300) + 1;
                self.environments.insert(
                    id,
                    Environment {
                        id,
                        project_id: job.project_id,
                        slug: slug(&name, id),
                        external_url: url_for(&def, &name),
                        name,
                        tier: def.tier,
                        created_at: job.created_at,
                        stopped_at: None,
                        stop_job: None,
                    },
                );
                id
            }
        };
        let id = self.deployments.keys().next_back().copied().unwrap_or(700) + 1;
        let iid = self
            .deployments
            .values()
            .filter(|d| d.project_id == job.project_id)
            .count() as u64
            + 1;
        self.deployments.insert(
            id,
            Deployment {
                id,
                iid,
                project_id: job.project_id,
                environment_id,
                job_id,
                created_at: job.created_at,
                approvals: Vec::new(),
            },
        );
    }

    /// The environment a deployment is to.
    pub fn deployment_environment(&self, d: &Deployment) -> &Environment {
        &self.environments[&d.environment_id]
    }

    /// Approvals still needed (`pending_approval_count`): the rule's count less the approvals
    /// given; rejections do not count. 0 where no approval is required, and once the
    /// deployment is no longer blocked (its job ran, or was rejected).
    pub fn pending_approvals(&self, d: &Deployment) -> u32 {
        if self.jobs[&d.job_id].status != JobStatus::Manual {
            return 0;
        }
        let Some((_, required)) = crate::users::approval_rule(&self.deployment_environment(d).name) else {
            return 0;
        };
        let approved = d.approvals.iter().filter(|a| a.approved).count() as u32;
        required.saturating_sub(approved)
    }

    /// The deployment of a job, if it deploys.
    pub fn deployment_of_job(&self, job_id: u64) -> Option<&Deployment> {
        self.deployments.values().find(|d| d.job_id == job_id)
    }

    /// `POST /deployments/:id/approval`: `user` (with `role` in the project) approves or
    /// rejects. Approving again changes nothing; a person may change their mind while
    /// approvals are pending. A rejection fails the deploy job (`deployment_rejected`).
    pub fn approve_deployment(
        &mut self,
        deployment_id: u64,
        user: crate::scenario::Person,
        role: crate::users::Role,
        approved: bool,
        comment: Option<String>,
        at: Time,
    ) -> Result<Approval, ApprovalRefusal> {
        let d = self.deployments[&deployment_id].clone();
        let name = self.deployment_environment(&d).name.clone();
        if !crate::users::is_protected(&name) {
            return Err(ApprovalRefusal::NotProtected);
        }
        let job = self.jobs[&d.job_id].clone();
        if approved && job.user.id == user.id {
            return Err(ApprovalRefusal::OwnDeployment);
        }
        let Some((needed, _)) = crate::users::approval_rule(&name) else {
            return Err(ApprovalRefusal::NotConfigured);
        };
        if self.pending_approvals(&d) == 0 {
            return Err(ApprovalRefusal::NotWaiting);
        }
        if role < needed {
            return Err(ApprovalRefusal::NotAllowed);
        }
        let deployment = self.deployments.get_mut(&deployment_id).expect("deployment");
        let same = deployment
            .approvals
            .iter()
            .any(|a| a.user.id == user.id && a.approved == approved);
        // Validated when saved: an answer given again is returned as it was.
        if !same && comment.as_ref().is_some_and(|c| c.chars().count() > 255) {
            return Err(ApprovalRefusal::CommentTooLong);
        }
        if let Some(given) = deployment.approvals.iter_mut().find(|a| a.user.id == user.id) {
            if given.approved != approved {
                given.approved = approved;
                given.comment = comment;
                given.at = at;
            }
        } else {
            deployment.approvals.push(Approval {
                user,
                approved,
                comment,
                at,
            });
        }
        let given = deployment
            .approvals
            .iter()
            .find(|a| a.user.id == user.id)
            .cloned()
            .expect("just given");
        if !approved && job.status == JobStatus::Manual {
            let rejected = self.jobs.get_mut(&d.job_id).expect("job");
            rejected.status = JobStatus::Failed;
            rejected.failure = Some(crate::scenario::Failure::DeploymentRejected);
            rejected.finished_at = Some(at);
            rejected.changed_at = at;
            self.refresh_pipeline_status(job.pipeline_id);
        }
        Ok(given)
    }

    pub fn deployments_of(&self, environment_id: u64) -> impl Iterator<Item = &Deployment> {
        self.deployments
            .values()
            .filter(move |d| d.environment_id == environment_id)
    }

    /// The last successful deployment (GitLab's `Environment#last_deployment`).
    pub fn last_deployment(&self, environment_id: u64) -> Option<&Deployment> {
        self.deployments_of(environment_id)
            .filter(|d| self.jobs[&d.job_id].status == JobStatus::Success)
            .last()
    }

    /// available, stopping or stopped.
    pub fn environment_state(&self, env: &Environment) -> &'static str {
        let Some(stopped_at) = env.stopped_at else {
            return "available";
        };
        // A deployment that ran after the stop makes it available again.
        let redeployed = self
            .deployments_of(env.id)
            .any(|d| self.jobs[&d.job_id].started_at.is_some_and(|t| t > stopped_at));
        if redeployed {
            return "available";
        }
        match env.stop_job.map(|j| self.jobs[&j].status) {
            None | Some(JobStatus::Success) => "stopped",
            Some(JobStatus::Failed | JobStatus::Canceled) => "available",
            Some(_) => "stopping",
        }
    }

    /// Review apps stop themselves a week after their last deployment (`auto_stop_in: 1 week`).
    pub fn auto_stop_at(&self, env: &Environment) -> Option<Time> {
        if !env.name.starts_with("review/") || self.environment_state(env) != "available" {
            return None;
        }
        let last = self.last_deployment(env.id)?;
        Some(self.jobs[&last.job_id].finished_at? + Duration::days(7))
    }

    /// `POST /environments/:id/stop`: runs the `on_stop` job of the last deployment's pipeline,
    /// or, forced or without one, stops at once.
    pub fn stop_environment(
        &mut self,
        environment_id: u64,
        force: bool,
        user: crate::scenario::Person,
        at: Time,
    ) -> Result<(), StopRefusal> {
        let env = self
            .environments
            .get(&environment_id)
            .ok_or(StopRefusal::NotFound)?
            .clone();
        let stop_job = if force {
            None
        } else {
            self.last_deployment(environment_id).and_then(|d| {
                let deploy: &Job = &self.jobs[&d.job_id];
                let on_stop = deploy.def.environment.and_then(|e| e.on_stop)?;
                self.current_jobs(deploy.pipeline_id)
                    .find(|j| j.name == on_stop)
                    .map(|j| j.id)
            })
        };
        if let Some(job) = stop_job {
            if self.jobs[&job].status == JobStatus::Manual {
                let _ = self.play_job(job, user, Vec::new(), at);
            } else {
                let _ = self.retry_job(job, user, at);
            }
        }
        // The job that actually runs (a retry has a new id).
        let running = stop_job.and_then(|j| {
            let name = self.jobs[&j].name.clone();
            let pipeline = self.jobs[&j].pipeline_id;
            self.current_jobs(pipeline).find(|c| c.name == name).map(|c| c.id)
        });
        let env = self.environments.get_mut(&env.id).expect("environment");
        env.stopped_at = Some(at);
        env.stop_job = running;
        Ok(())
    }

    /// The commits after `from` up to `to` in the project (`repository/compare`), oldest first.
    pub fn commits_between(&self, project_id: u64, from: &str, to: &str) -> Option<Vec<crate::world::Commit>> {
        let find = |sha: &str| {
            self.pipelines
                .values()
                .filter(|p| p.project_id == project_id)
                .find(|p| p.commit.sha == sha || p.git_ref == sha)
                .map(|p| p.commit.created_at)
        };
        let (start, end) = (find(from)?, find(to)?);
        let mut commits: Vec<crate::world::Commit> = Vec::new();
        for p in self
            .pipelines
            .values()
            .filter(|p| p.project_id == project_id && p.parent.is_none())
        {
            let t = p.commit.created_at;
            if t > start && t <= end && !commits.iter().any(|c| c.sha == p.commit.sha) {
                commits.push(p.commit.clone());
            }
        }
        commits.sort_by_key(|c| c.created_at);
        Some(commits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_deployment_fails_its_job_for_good_and_self_approval_is_refused() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .to_utc();
        let mut world = crate::world::with_history(7, now, 1, false, 0, crate::scenario::projects(3));
        let d = world
            .deployments
            .values()
            .rev()
            .find(|d| world.pending_approvals(d) > 0)
            .expect("the story has a deployment waiting for approval")
            .clone();
        let pusher = world.jobs[&d.job_id].user;
        assert_eq!(
            world
                .approve_deployment(d.id, pusher, crate::users::Role::Owner, true, None, now)
                .err(),
            Some(ApprovalRefusal::OwnDeployment)
        );
        let maintainer = crate::scenario::PEOPLE[1];
        let rejected = world
            .approve_deployment(
                d.id,
                maintainer,
                crate::users::Role::Maintainer,
                false,
                Some("Not on a Friday".into()),
                now,
            )
            .expect("a Maintainer may reject");
        assert!(!rejected.approved);
        let job = &world.jobs[&d.job_id];
        assert_eq!(
            (job.status, job.failure),
            (JobStatus::Failed, Some(crate::scenario::Failure::DeploymentRejected))
        );
        assert_eq!(deployment_status(job.status), "failed");
        assert_eq!(world.pending_approvals(&d), 0, "no longer waiting");
        assert_eq!(
            world
                .approve_deployment(
                    d.id,
                    crate::scenario::PEOPLE[0],
                    crate::users::Role::Owner,
                    true,
                    None,
                    now
                )
                .err(),
            Some(ApprovalRefusal::NotWaiting),
            "a rejected deployment is not approved afterwards"
        );
        assert!(
            world.retry_job(d.job_id, maintainer, now).is_err(),
            "a rejected deployment is not retried"
        );
    }

    #[test]
    fn slugs_follow_gitlabs_rules() {
        assert_eq!(slug("dev", 1), "dev");
        assert_eq!(slug("live", 2), "live");
        let review = slug("review/feature-login-page", 3);
        assert!(
            review.starts_with("review-feature-lo-") && review.len() == 24,
            "{review}"
        );
    }
}
