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

    /// The worst of several (the first of equals, so a Deployment speaks before its Ingress);
    /// `Missing` when there is nothing at all.
    pub fn worst(all: impl IntoIterator<Item = Health>) -> Health {
        all.into_iter()
            .fold(None, |worst: Option<Health>, h| match worst {
                Some(w) if w.status.badness() >= h.status.badness() => Some(w),
                _ => Some(h),
            })
            .unwrap_or_else(|| Health::new(HealthStatus::Missing, "no resources found"))
    }
}

/// What the cluster runs for one environment, read from the reflector stores.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentCluster {
    /// The worst of the environment's Deployments, Services and Ingresses.
    pub health: Health,
    /// Pods in trouble that a finished rollout does not show (crash loops, image pulls).
    pub pod_warnings: Vec<PodWarning>,
    /// Ready replicas out of those wanted, over all Deployments ("2/2").
    pub ready: i32,
    pub desired: i32,
    /// Images the containers run (their tags are what was deployed).
    pub images: Vec<String>,
    pub deployments: Vec<ClusterDeployment>,
    pub pods: Vec<ClusterPod>,
    pub services: Vec<ClusterService>,
    pub ingresses: Vec<ClusterIngress>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodWarning {
    pub pod: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterDeployment {
    pub name: String,
    pub health: Health,
    pub desired: i32,
    pub updated: i32,
    pub ready: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterPod {
    pub name: String,
    pub phase: String,
    pub ready: bool,
    pub restarts: i32,
    #[serde(default)]
    pub created_at: Option<crate::Timestamp>,
    pub images: Vec<String>,
    pub health: Health,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterService {
    pub name: String,
    pub kind: String,
    pub ports: Vec<i32>,
    pub health: Health,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterIngress {
    pub name: String,
    /// The hosts it serves: the real "View deployment" targets.
    pub hosts: Vec<String>,
    pub health: Health,
}

/// Whether stageboard can see the cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterLink {
    /// A cluster is configured at all.
    pub configured: bool,
    /// Every watch has had an answer and none is failing now.
    pub connected: bool,
    /// Since when the watches fail (the state shown is the last known one).
    #[serde(default)]
    pub unreachable_since: Option<crate::Timestamp>,
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_wins_and_the_first_of_equals_speaks() {
        let h = |s, m: &str| Health::new(s, m);
        let worst = Health::worst([
            h(HealthStatus::Healthy, "rolled out"),
            h(HealthStatus::Degraded, "crash"),
            h(HealthStatus::Progressing, "p"),
        ]);
        assert_eq!(worst.message, "crash");
        let calm = Health::worst([
            h(HealthStatus::Healthy, "rolled out"),
            h(HealthStatus::Healthy, "ingress"),
        ]);
        assert_eq!(calm.message, "rolled out");
        assert_eq!(Health::worst([]).status, HealthStatus::Missing);
        assert!(HealthStatus::Unknown.badness() > HealthStatus::Degraded.badness());
        assert!(HealthStatus::Missing.badness() > HealthStatus::Progressing.badness());
        assert!(HealthStatus::Suspended.badness() > HealthStatus::Healthy.badness());
    }
}
