/// A project stageboard watches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    pub id: u64,
    pub name: String,
    /// `group/subgroup/project`.
    pub path_with_namespace: String,
    pub description: Option<String>,
    pub default_branch: Option<String>,
    pub web_url: String,
}

/// What the front end needs to know about the server it talks to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfo {
    /// Running against the built-in simulated GitLab rather than a real one.
    pub demo: bool,
    pub gitlab_url: String,
    pub version: String,
    /// Whether retry, cancel, play and stop are open to this visitor: they are signed in.
    pub actions_enabled: bool,
    /// People sign in with GitLab here (an OAuth application is configured, or demo mode).
    pub sign_in: bool,
    /// Who this visitor is signed in as.
    pub person: Option<crate::User>,
}
