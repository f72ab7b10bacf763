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

/// Says on each of `environments` that the signed-in person may not deploy to it, where its
/// protection keeps their role out: what GitLab would answer, said before they press the
/// button. Nothing is said where GitLab does not tell (GitLab Free, or a shared token that may
/// not read protected environments), where nobody is signed in, or where a rule names a user
/// or a group (which might be them).
pub async fn refusals(
    state: &AppState,
    session: &tower_sessions::Session,
    project: u64,
    environments: Vec<&mut JobEnvironment>,
) {
    if environments.is_empty() {
        return;
    }
    let Some(person) = crate::auth::signed_in(state, session).await.filter(|p| !p.is_admin) else {
        return;
    };
    let Ok(protected) = state.gitlab().protected_environments(project).await else {
        return;
    };
    let rules = |name: &str| {
        protected
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.deploy_access_levels.as_slice())
            .filter(|rules| !rules.is_empty() && rules.iter().all(|r| r.user_id.is_none() && r.group_id.is_none()))
    };
    if !environments.iter().any(|e| rules(&e.name).is_some()) {
        return;
    }
    let Some(level) = access_level(state, session, &person, project).await else {
        return;
    };
    for environment in environments {
        let Some(rules) = rules(&environment.name) else {
            continue;
        };
        let Some(least) = rules.iter().filter_map(|r| r.access_level).min() else {
            continue;
        };
        if level < least {
            let who = rules
                .iter()
                .find(|r| r.access_level == Some(least))
                .and_then(|r| r.access_level_description.clone())
                .unwrap_or_else(|| format!("{}s", role(least)));
            environment.refused = Some(format!(
                "{} is a protected environment: only {who} may deploy to it, and you are {} {} on this project.",
                environment.name,
                article(role(level)),
                role(level)
            ));
        }
    }
}

/// Why the signed-in person may not answer a deployment's approval under `rules`, said before
/// they press: `.0` where no rule's role reaches theirs (GitLab would answer "You don't have
/// permission to approve this deployment"), `.1` where they started the deployment and the
/// project does not let them approve their own (they may still reject). Nothing where a rule
/// names a user or a group (which might be them) or where GitLab does not say.
pub async fn approval_refusals(
    state: &AppState,
    session: &tower_sessions::Session,
    project: u64,
    environment: &str,
    rules: &[crate::gitlab::types::GlApprovalRule],
    started_by: Option<u64>,
) -> (Option<String>, Option<String>) {
    let Some(person) = crate::auth::signed_in(state, session).await else {
        return (None, None);
    };
    let own = if started_by == Some(person.id) {
        let project = state.gitlab().project(&project.to_string()).await.ok();
        project
            .and_then(|p| p.allow_pipeline_trigger_approve_deployment)
            .is_some_and(|allowed| !allowed)
            .then(|| {
                "You started this deployment, and this project does not let its starter approve it: \
                 someone else must (you may still reject it)."
                    .to_owned()
            })
    } else {
        None
    };
    let by_role = !person.is_admin && rules.iter().all(|r| r.user_id.is_none() && r.group_id.is_none());
    let least = rules.iter().filter_map(|r| r.access_level).min();
    let refused = match least.filter(|_| by_role) {
        Some(least) => match access_level(state, session, &person, project).await {
            Some(level) if level < least => {
                let who = rules
                    .iter()
                    .find(|r| r.access_level == Some(least))
                    .and_then(|r| r.access_level_description.clone())
                    .unwrap_or_else(|| format!("{}s", role(least)));
                Some(format!(
                    "Only {who} may approve deployments to {environment}, and you are {} {} on this project.",
                    article(role(level)),
                    role(level)
                ))
            }
            _ => None,
        },
        None => None,
    };
    (refused, own)
}

/// GitLab's name of an access level.
fn role(level: u32) -> &'static str {
    match level {
        50.. => "Owner",
        40..=49 => "Maintainer",
        30..=39 => "Developer",
        20..=29 => "Reporter",
        15..=19 => "Planner",
        10..=14 => "Guest",
        _ => "non-member",
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Where a person's access level on a project is kept in their session (`access:<project>`).
const ACCESS: &str = "access";

/// A member as `members/all/:user_id` tells it.
#[derive(serde::Deserialize)]
struct Member {
    access_level: u32,
}

/// `person`'s access level on `project`, read with their own token: the higher of GitLab's
/// `permissions` (direct and group membership) and their membership with inherited and invited
/// groups (`members/all`, which also counts a project shared with one of their groups); kept in
/// their session for [`crate::access::FRESH`].
async fn access_level(
    state: &AppState,
    session: &tower_sessions::Session,
    person: &crate::auth::SignedIn,
    project: u64,
) -> Option<u32> {
    let key = format!("{ACCESS}:{project}");
    if let Some((level, age)) = crate::access::kept(session, &key, person.id).await
        && crate::access::fresh(age)
    {
        return Some(level);
    }
    let token = crate::auth::fresh_token(state, session, person).await?;
    let gitlab = state.gitlab_client().for_person(secrecy::SecretString::from(token));
    use crate::gitlab::Gitlab as _;
    use crate::gitlab::GitlabError::{Forbidden, NotFound};
    let (id, member_path) = (
        project.to_string(),
        format!("/projects/{project}/members/all/{}", person.id),
    );
    let (found, member) = tokio::join!(gitlab.project(&id), gitlab.get::<Member>(&member_path, &[]));
    let direct = match found {
        Ok(found) => found.permissions.map_or(0, |p| p.level()),
        // Not theirs to see: no role here (kept too, so a page view does not ask again).
        Err(NotFound { .. } | Forbidden { .. }) => 0,
        Err(_) => return None,
    };
    let through_groups = match member {
        Ok(member) => member.access_level,
        Err(NotFound { .. } | Forbidden { .. }) => 0,
        Err(_) => return None,
    };
    let level = direct.max(through_groups);
    crate::access::keep(session, &key, person.id, level).await;
    Some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_named_as_gitlab_names_them() {
        assert_eq!((role(30), article(role(30))), ("Developer", "a"));
        assert_eq!((role(50), article(role(50))), ("Owner", "an"));
        assert_eq!(role(0), "non-member");
    }
}
