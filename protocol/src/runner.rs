//! Runners: which serve the watched projects, and which jobs wait because none takes them.

/// A runner serving the watched projects that have jobs waiting or running.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Runner {
    pub id: u64,
    pub description: String,
    /// `instance`, `group` or `project`.
    pub kind: String,
    /// `online`, `offline` or `paused`.
    pub status: String,
    /// Running a job of a watched project now.
    pub busy: bool,
    pub tags: Vec<String>,
    /// It takes jobs without tags.
    pub run_untagged: bool,
    /// When it last asked GitLab for a job.
    pub contacted_at: Option<crate::Timestamp>,
}

/// Jobs pending because no online runner takes their tags.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Waiting {
    /// The tags the jobs ask for (empty: untagged jobs).
    pub tags: Vec<String>,
    pub jobs: u32,
    /// The projects they belong to (full paths).
    pub projects: Vec<String>,
    /// When the longest-waiting of them was queued.
    pub since: Option<crate::Timestamp>,
    /// In words: "12 jobs pending, no online runner with tag `docker`".
    pub message: String,
}

/// `GET /api/v1/runners`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Runners {
    pub runners: Vec<Runner>,
    pub waiting: Vec<Waiting>,
    /// Projects whose runners GitLab would not list (the token needs the Maintainer role), so
    /// their waiting jobs cannot be explained.
    pub unknown: Vec<String>,
}
