use std::fmt;

/// A pipeline or job status as GitLab reports it.
///
/// GitLab adds statuses over time (`waiting_for_callback` and `canceling` are recent), so any
/// string it sends is kept: an unknown one becomes [`Status::Other`] and still round-trips.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Status {
    Created,
    WaitingForResource,
    Preparing,
    WaitingForCallback,
    Pending,
    Running,
    Success,
    Failed,
    Canceling,
    Canceled,
    Skipped,
    Manual,
    Scheduled,
    Other(String),
}

impl Status {
    pub const KNOWN: [Status; 13] = [
        Status::Created,
        Status::WaitingForResource,
        Status::Preparing,
        Status::WaitingForCallback,
        Status::Pending,
        Status::Running,
        Status::Success,
        Status::Failed,
        Status::Canceling,
        Status::Canceled,
        Status::Skipped,
        Status::Manual,
        Status::Scheduled,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Status::Created => "created",
            Status::WaitingForResource => "waiting_for_resource",
            Status::Preparing => "preparing",
            Status::WaitingForCallback => "waiting_for_callback",
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Success => "success",
            Status::Failed => "failed",
            Status::Canceling => "canceling",
            Status::Canceled => "canceled",
            Status::Skipped => "skipped",
            Status::Manual => "manual",
            Status::Scheduled => "scheduled",
            Status::Other(s) => s,
        }
    }

    /// Not finished yet: moving, or created and about to be (what a job can still be
    /// cancelled in, and what keeps a page or the hub looking often).
    pub fn is_unfinished(&self) -> bool {
        self.is_active() || *self == Status::Created
    }

    /// Still moving: queued, preparing or running (GitLab's `ACTIVE_STATUSES`).
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            Status::WaitingForResource
                | Status::Preparing
                | Status::WaitingForCallback
                | Status::Pending
                | Status::Running
                | Status::Canceling
        )
    }

    /// Done for good: nothing will change unless someone retries (GitLab's `COMPLETED_STATUSES`).
    pub fn is_completed(&self) -> bool {
        matches!(
            self,
            Status::Success | Status::Failed | Status::Canceled | Status::Skipped
        )
    }

    /// How bad a status is when several are summarised into one (a stage, a pipeline), worst
    /// highest; follows the order of GitLab's `ORDERED_STATUSES`.
    pub fn severity(&self) -> u8 {
        match self {
            Status::Failed => 13,
            Status::Canceling => 12,
            Status::Running => 11,
            Status::Preparing => 10,
            Status::WaitingForCallback => 9,
            Status::Pending => 8,
            Status::WaitingForResource => 7,
            Status::Manual => 6,
            Status::Scheduled => 5,
            Status::Created => 4,
            Status::Canceled => 3,
            Status::Success => 2,
            Status::Skipped => 1,
            Status::Other(_) => 0,
        }
    }

    /// The label a person reads ("passed" rather than "success", as GitLab's UI says).
    pub fn label(&self) -> &str {
        match self {
            Status::Success => "passed",
            Status::WaitingForResource => "waiting for resource",
            Status::WaitingForCallback => "waiting for callback",
            other => other.as_str(),
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Status {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "GitLab's status string: created, waiting_for_resource, preparing, waiting_for_callback, pending, running, success, failed, canceling, canceled, skipped, manual, scheduled, or a newer one",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Status {}

impl From<String> for Status {
    fn from(s: String) -> Self {
        Status::KNOWN
            .iter()
            .find(|known| known.as_str() == s)
            .cloned()
            .unwrap_or(Status::Other(s))
    }
}

impl From<&str> for Status {
    fn from(s: &str) -> Self {
        Status::from(s.to_owned())
    }
}

impl From<Status> for String {
    fn from(s: Status) -> Self {
        match s {
            Status::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_survive_a_round_trip() {
        let s: Status = serde_json::from_str("\"waiting_for_approval\"").unwrap();
        assert_eq!(s, Status::Other("waiting_for_approval".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"waiting_for_approval\"");
    }

    #[test]
    fn every_known_status_parses_to_itself() {
        for status in Status::KNOWN {
            assert_eq!(Status::from(status.as_str()), status);
        }
    }

    #[test]
    fn failure_outranks_running_and_success() {
        let worst = [Status::Success, Status::Failed, Status::Running]
            .into_iter()
            .max_by_key(Status::severity)
            .unwrap();
        assert_eq!(worst, Status::Failed);
    }
}
