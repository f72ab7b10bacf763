//! What the simulated GitLab holds: pipelines, jobs, their commits and statuses.

use chrono::{DateTime, Utc};

use crate::scenario::{Failure, Fate, JobDef, JobKind, Person, PipelineDef};

pub type Time = DateTime<Utc>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Created,
    Pending,
    Running,
    Success,
    Failed,
    Canceled,
    Skipped,
    Manual,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "created",
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Success => "success",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
            JobStatus::Skipped => "skipped",
            JobStatus::Manual => "manual",
        }
    }

    pub fn is_completed(self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::Failed | JobStatus::Canceled | JobStatus::Skipped
        )
    }

    pub fn is_alive(self) -> bool {
        matches!(self, JobStatus::Created | JobStatus::Pending | JobStatus::Running)
    }
}

#[derive(Debug, Clone)]
pub struct Commit {
    pub sha: String,
    pub title: String,
    pub author: Person,
    pub created_at: Time,
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub id: u64,
    pub iid: u64,
    pub project_id: u64,
    pub git_ref: String,
    pub tag: bool,
    pub commit: Commit,
    pub before_sha: String,
    pub source: &'static str,
    pub user: Person,
    pub created_at: Time,
    pub updated_at: Time,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    pub status: JobStatus,
    pub fate: Fate,
    pub def: &'static PipelineDef,
    /// For a child pipeline: the parent pipeline and the bridge job that started it.
    pub parent: Option<(u64, u64)>,
}

impl Pipeline {
    pub fn is_finished(&self) -> bool {
        self.status.is_completed()
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub pipeline_id: u64,
    pub project_id: u64,
    pub name: String,
    pub def: &'static JobDef,
    pub stage_idx: usize,
    pub status: JobStatus,
    pub created_at: Time,
    /// When the status last changed.
    pub changed_at: Time,
    pub queued_at: Option<Time>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    /// Seconds between queued and picked up by a runner.
    pub queue_secs: i64,
    /// Seconds the script runs.
    pub run_secs: i64,
    pub attempt: u32,
    pub retried: bool,
    pub failure: Option<Failure>,
    pub user: Person,
    pub variables: Vec<(String, String)>,
    /// For a trigger job: the child pipeline it started.
    pub downstream: Option<u64>,
    /// The runner that picked it up.
    pub runner: Option<u64>,
}

impl Job {
    pub fn stage(&self) -> &'static str {
        self.def.stage
    }
    pub fn is_bridge(&self) -> bool {
        matches!(self.def.kind, JobKind::Trigger(_))
    }
    pub fn duration(&self, now: Time) -> Option<f64> {
        let start = self.started_at?;
        let end = self.finished_at.unwrap_or(now);
        Some((end - start).num_milliseconds() as f64 / 1000.0)
    }
    pub fn queued_duration(&self, now: Time) -> Option<f64> {
        let queued = self.queued_at?;
        let end = self.started_at.unwrap_or(now);
        Some((end - queued).num_milliseconds() as f64 / 1000.0)
    }
}

/// Why an action on a job was refused, in GitLab's words.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotRetryable,
    Unplayable,
    NotCancelable,
}
