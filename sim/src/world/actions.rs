//! What people do to pipelines and jobs: retry, play, cancel (with GitLab's refusals).

use super::*;

impl World {
    /// `POST /jobs/:id/retry`: a new job with a new id; the old one becomes retried.
    pub fn retry_job(&mut self, id: u64, user: Person, at: Time) -> Result<u64, Refusal> {
        let job = self.jobs.get(&id).ok_or(Refusal::NotRetryable)?.clone();
        // A rejected deployment's job may not run again (`Ci::Processable#retryable?`).
        let retryable = matches!(job.status, JobStatus::Failed | JobStatus::Canceled | JobStatus::Success)
            && !job.retried
            && job.failure != Some(crate::scenario::Failure::DeploymentRejected);
        if !retryable {
            return Err(Refusal::NotRetryable);
        }
        self.jobs.get_mut(&id).expect("job").retried = true;
        let new_id = self.insert_job(
            job.pipeline_id,
            job.project_id,
            job.name.clone(),
            job.def,
            job.stage_idx,
            user,
            at,
            job.attempt + 1,
        );
        self.reset_skipped_after(job.pipeline_id, &job, at);
        self.reopen(job.pipeline_id);
        Ok(new_id)
    }

    /// Jobs skipped because of a failure go back to `created` when that failure is retried.
    fn reset_skipped_after(&mut self, pipeline_id: u64, retried: &Job, at: Time) {
        let ids = self.jobs_of.get(&pipeline_id).cloned().unwrap_or_default();
        for id in ids {
            let job = self.jobs.get_mut(&id).expect("job");
            if !job.retried && job.status == JobStatus::Skipped && job.stage_idx >= retried.stage_idx {
                job.status = JobStatus::Created;
                job.changed_at = at;
            }
        }
    }

    fn reopen(&mut self, pipeline_id: u64) {
        self.revive(pipeline_id);
        let pipeline = self.pipelines.get_mut(&pipeline_id).expect("pipeline");
        pipeline.finished_at = None;
        pipeline.status = JobStatus::Running;
        if let Some((parent, _)) = pipeline.parent {
            self.reopen(parent);
        }
    }

    /// `POST /jobs/:id/play` on a manual job; not while its deployment waits for approval.
    pub fn play_job(
        &mut self,
        id: u64,
        user: Person,
        variables: Vec<(String, String)>,
        at: Time,
    ) -> Result<(), Refusal> {
        if self
            .deployment_of_job(id)
            .is_some_and(|d| self.pending_approvals(d) > 0)
        {
            return Err(Refusal::Unplayable);
        }
        let job = self.jobs.get_mut(&id).ok_or(Refusal::Unplayable)?;
        if job.status != JobStatus::Manual || job.retried {
            return Err(Refusal::Unplayable);
        }
        job.status = JobStatus::Pending;
        job.queued_at = Some(at);
        job.changed_at = at;
        job.user = user;
        job.variables = variables;
        let pipeline_id = job.pipeline_id;
        self.reopen(pipeline_id);
        Ok(())
    }

    /// `POST /jobs/:id/cancel`.
    pub fn cancel_job(&mut self, id: u64, at: Time) -> Result<(), Refusal> {
        let job = self.jobs.get_mut(&id).ok_or(Refusal::NotCancelable)?;
        if !job.status.is_alive() {
            // GitLab answers with the job unchanged.
            return Ok(());
        }
        job.status = JobStatus::Canceled;
        job.finished_at = Some(at);
        job.changed_at = at;
        if let Some(child) = job.downstream {
            self.cancel_pipeline(child, at);
        }
        let pipeline_id = self.jobs[&id].pipeline_id;
        self.refresh_pipeline_status(pipeline_id);
        Ok(())
    }

    /// Cancels every job still alive, child pipelines included.
    pub fn cancel_pipeline(&mut self, pipeline_id: u64, at: Time) {
        let ids: Vec<u64> = self
            .current_jobs(pipeline_id)
            .filter(|j| j.status.is_alive())
            .map(|j| j.id)
            .collect();
        for id in ids {
            let _ = self.cancel_job(id, at);
        }
        self.refresh_pipeline_status(pipeline_id);
    }

    /// `POST /pipelines/:id/retry`: retries every failed or canceled job.
    pub fn retry_pipeline(&mut self, pipeline_id: u64, user: Person, at: Time) {
        let ids: Vec<u64> = self
            .current_jobs(pipeline_id)
            .filter(|j| matches!(j.status, JobStatus::Failed | JobStatus::Canceled) && !j.is_bridge())
            .map(|j| j.id)
            .collect();
        for id in ids {
            let _ = self.retry_job(id, user, at);
        }
    }

    /// The latest pipeline of a ref, as `pipelines/latest` finds it.
    pub fn latest_pipeline(&self, project_id: u64, git_ref: &str) -> Option<&Pipeline> {
        self.pipelines
            .values()
            .rev()
            .find(|p| p.project_id == project_id && p.git_ref == git_ref && p.parent.is_none())
    }
}
