//! Which environment a manual job deploys to, and its tier: what the confirmation before running
//! it names (and, for production, asks the person to type).

use std::collections::HashMap;

use stageboard_protocol::JobEnvironment;

use crate::app::AppState;

/// Environments of a pipeline's jobs by job id; empty when GitLab cannot tell (older GitLab
/// without `expandedEnvironmentName`, or no access to environments).
pub async fn of_pipeline(
    state: &AppState,
    project: u64,
    project_path: &str,
    pipeline_iid: u64,
) -> HashMap<u64, JobEnvironment> {
    let gitlab = state.gitlab();
    let (names, environments) = tokio::join!(
        gitlab.job_environments(project_path, pipeline_iid),
        gitlab.environments(project)
    );
    let names = match names {
        Ok(names) => names,
        Err(e) => {
            // The hub logs what GitLab lacks or refuses, once per change.
            tracing::debug!(project, error = %e, "GitLab does not say which environments jobs deploy to");
            return HashMap::new();
        }
    };
    let environments = environments.unwrap_or_default();
    names
        .into_iter()
        .map(|(job, name)| {
            let known = environments.iter().find(|e| e.name == name);
            let environment = JobEnvironment {
                tier: known.and_then(|e| e.tier.clone()),
                external_url: known.and_then(|e| e.external_url.clone()),
                name,
                refused: None,
            };
            (job, environment)
        })
        .collect()
}
