//! Filling in what GitLab's REST pipeline list leaves out (stage marks, commit, user, duration)
//! with one GraphQL request per batch of pipelines.

use stageboard_protocol::{Commit, Pipeline, StageMark, User};

use crate::app::AppState;

/// Adds GraphQL's details to `pipelines`; on failure they keep what REST gave.
pub async fn enrich(state: &AppState, project_path: &str, pipelines: &mut [Pipeline]) {
    let mut iids: Vec<u64> = pipelines.iter().filter_map(|p| p.iid).collect();
    iids.sort_unstable();
    iids.dedup();
    if iids.is_empty() {
        return;
    }
    // Small batches stay under GitLab's GraphQL query complexity limit.
    let batches = iids
        .chunks(5)
        .map(|chunk| state.gitlab().pipeline_summaries(project_path, chunk));
    let mut summaries = std::collections::HashMap::new();
    for answer in futures::future::join_all(batches).await {
        match answer {
            Ok(found) => summaries.extend(found),
            Err(e) => {
                // The hub logs what GitLab lacks or refuses, once per change.
                tracing::debug!(project_path, error = %e, "no pipeline summaries; pipelines shown without stage marks")
            }
        }
    }
    for pipeline in pipelines.iter_mut() {
        let Some(summary) = pipeline.iid.and_then(|iid| summaries.get(&iid)) else {
            continue;
        };
        pipeline.stages = summary
            .stages
            .iter()
            .map(|(name, status)| StageMark {
                name: name.clone(),
                status: status.clone(),
            })
            .collect();
        if pipeline.user.is_none() {
            pipeline.user = summary.user.clone().map(|(id, username, name)| User {
                id,
                username,
                name,
                avatar_url: None,
            });
        }
        if pipeline.commit.is_none() {
            pipeline.commit = summary.commit.clone().map(|c| Commit {
                short_sha: c.short_id.unwrap_or_else(|| stageboard_protocol::short_sha(&c.sha)),
                sha: c.sha,
                title: c.title.unwrap_or_default(),
                author_name: c.author_name.unwrap_or_default(),
            });
        }
        if pipeline.duration.is_none() {
            pipeline.duration = summary.duration;
        }
    }
}
