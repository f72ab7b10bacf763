/// How a cluster resource (or an environment) is doing, in Argo CD's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HealthStatus {
    Healthy,
    Suspended,
    Progressing,
    Missing,
    Degraded,
    Unknown,
}

impl HealthStatus {
    /// Worst first: Unknown > Degraded > Missing > Progressing > Suspended > Healthy.
    pub fn badness(self) -> u8 {
        match self {
            HealthStatus::Healthy => 0,
            HealthStatus::Suspended => 1,
            HealthStatus::Progressing => 2,
            HealthStatus::Missing => 3,
            HealthStatus::Degraded => 4,
            HealthStatus::Unknown => 5,
        }
    }
}

/// A health verdict and the reason a person reads (kubectl's words where it has them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: HealthStatus,
    pub message: String,
}

impl Health {
    pub fn new(status: HealthStatus, message: impl Into<String>) -> Self {
        Health {
            status,
            message: message.into(),
        }
    }

    /// The worst of several; `Missing` when there is nothing at all.
    pub fn worst(all: impl IntoIterator<Item = Health>) -> Health {
        all.into_iter()
            .max_by_key(|h| h.status.badness())
            .unwrap_or_else(|| Health::new(HealthStatus::Missing, "no resources found"))
    }
}
