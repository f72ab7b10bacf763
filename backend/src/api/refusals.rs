//! What GitLab would refuse the signed-in person, said before they press the button: a deploy
//! to a protected environment their role may not deploy to, an approval their role may not
//! give (or of their own deployment), an action on a protected branch they may neither push to
//! nor merge into. Said only where GitLab tells (their role on the project, read with their own
//! token; the project's protections, read with the shared one); elsewhere GitLab's own answer
//! is shown after the press.

use stageboard_protocol::JobEnvironment;

use crate::app::AppState;

/// Says on each of `environments` that the signed-in person may not deploy to it, where its
/// protection keeps their role out: what GitLab would answer, said before they press the
/// button. Nothing is said where GitLab does not tell (GitLab Free, or a shared token that may
/// not read protected environments), where nobody is signed in, or where a rule names a user
/// or a group (which might be them).
pub async fn deploys(
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
            environment.refused = Some(format!(
                "{} is a protected environment: only {} may deploy to it, and you are {}.",
                environment.name,
                who(rules, least),
                you_are(level)
            ));
        }
    }
}

/// Why the signed-in person may not answer a deployment's approval under `rules`, said before
/// they press: `.0` where no rule's role reaches theirs (GitLab would answer "You don't have
/// permission to approve this deployment"), `.1` where they started the deployment and the
/// project does not let them approve their own (they may still reject). Nothing where a rule
/// names a user or a group (which might be them) or where GitLab does not say.
pub async fn approvals(
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
    let rules: Vec<crate::gitlab::types::GlDeployAccess> = rules.iter().map(|r| r.who.clone()).collect();
    let by_role = !person.is_admin && rules.iter().all(|r| r.user_id.is_none() && r.group_id.is_none());
    let least = rules.iter().filter_map(|r| r.access_level).min();
    let refused = match least.filter(|_| by_role) {
        Some(least) => match access_level(state, session, &person, project).await {
            Some(level) if level < least => Some(format!(
                "Only {} may approve deployments to {environment}, and you are {}.",
                who(&rules, least),
                you_are(level)
            )),
            _ => None,
        },
        None => None,
    };
    (refused, own)
}

/// Why the signed-in person may not run, retry or cancel the jobs of a pipeline of `project` on
/// `git_ref`: their role is below Developer (GitLab's `update_build`, whatever the ref), or the
/// ref is a protected branch they may not update ([`branch`]).
pub async fn acting(
    state: &AppState,
    session: &tower_sessions::Session,
    project: u64,
    git_ref: &str,
    tag: bool,
) -> Option<String> {
    if let Some(why) = below_developer(state, session, project, "Running, retrying and canceling jobs").await {
        return Some(why);
    }
    branch(state, session, project, git_ref, tag).await
}

/// Why the signed-in person may not do `what` (which needs the Developer role) on `project`.
pub async fn below_developer(
    state: &AppState,
    session: &tower_sessions::Session,
    project: u64,
    what: &str,
) -> Option<String> {
    let person = crate::auth::signed_in(state, session).await.filter(|p| !p.is_admin)?;
    let level = access_level(state, session, &person, project).await?;
    (level < DEVELOPER).then(|| {
        format!(
            "{what} needs the Developer role or more, and you are {}.",
            you_are(level)
        )
    })
}

/// GitLab's Developer access level: the least that runs, retries and cancels jobs.
const DEVELOPER: u32 = 30;

/// Why the signed-in person may not run, retry or cancel the jobs of a pipeline on `git_ref`:
/// a protected branch they may neither push to nor merge into (GitLab's `protected_ref`: its
/// answer would be "403 Forbidden", which says nothing of why). Nothing for tags (protected
/// tags are not read), for administrators, or where a matching rule names a user or a group
/// (which might be them).
async fn branch(
    state: &AppState,
    session: &tower_sessions::Session,
    project: u64,
    git_ref: &str,
    tag: bool,
) -> Option<String> {
    if tag {
        return None;
    }
    let person = crate::auth::signed_in(state, session).await.filter(|p| !p.is_admin)?;
    let protected = state.gitlab().protected_branches(project).await.ok()?;
    let matching: Vec<&crate::gitlab::types::GlProtectedBranch> = protected
        .iter()
        .filter(|b| crate::pattern::matches(&b.name, git_ref))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let rules = || {
        matching
            .iter()
            .flat_map(|b| b.push_access_levels.iter().chain(&b.merge_access_levels))
    };
    // Deploy keys are not people: their rules let nobody in.
    let rules = || rules().filter(|r| r.deploy_key_id.is_none());
    if rules().any(|r| r.user_id.is_some() || r.group_id.is_some() || r.access_level.is_none()) {
        return None;
    }
    // Level 0 is "No one".
    let least = rules().filter_map(|r| r.access_level).filter(|l| *l > 0).min();
    let level = access_level(state, session, &person, project).await?;
    match least {
        Some(least) if level >= least => None,
        Some(least) => Some(format!(
            "{git_ref} is a protected branch: only {}s may push to it or merge into it, and so run, retry or cancel its jobs; you are {}.",
            role(least),
            you_are(level)
        )),
        None => Some(format!(
            "{git_ref} is a protected branch nobody may push to or merge into, so nobody may run, retry or cancel its jobs."
        )),
    }
}

/// What a job's buttons say beforehand, given the protected branch's refusal `on_branch`: a
/// deploy job to a protected environment the person may deploy to is theirs even on a branch
/// they may not update (GitLab Premium's deployment-only access); one they may not deploy to
/// already says why; where GitLab does not say which environments are protected, nothing is
/// said of a deploy job.
pub fn job(
    environment: Option<&JobEnvironment>,
    on_branch: Option<&String>,
    protected: Option<&[String]>,
) -> Option<String> {
    let on_branch = on_branch?;
    let Some(environment) = environment else {
        return Some(on_branch.clone());
    };
    match protected {
        Some(names) if !names.contains(&environment.name) => Some(on_branch.clone()),
        _ => None,
    }
}

/// The environments GitLab protects in `project`: none on a GitLab without them (Free, an
/// older one), `None` where it does not say (a shared token below Maintainer, GitLab away).
pub async fn protected_environments(state: &AppState, project: u64) -> Option<Vec<String>> {
    match state.gitlab().protected_environments(project).await {
        Ok(protected) => Some(protected.into_iter().map(|p| p.name).collect()),
        Err(crate::gitlab::GitlabError::Unsupported { .. }) => Some(Vec::new()),
        Err(_) => None,
    }
}

/// Who a rule of access level `least` lets in, in GitLab's words ("Maintainers").
fn who(rules: &[crate::gitlab::types::GlDeployAccess], least: u32) -> String {
    rules
        .iter()
        .find(|r| r.access_level == Some(least))
        .and_then(|r| r.access_level_description.clone())
        .unwrap_or_else(|| format!("{}s", role(least)))
}

/// What a person of access `level` is on the project: "a Developer on this project".
fn you_are(level: u32) -> String {
    match level {
        0 => "not a member of this project".to_owned(),
        level => format!("{} {} on this project", article(role(level)), role(level)),
    }
}

/// GitLab's name of an access level.
fn role(level: u32) -> &'static str {
    match level {
        60.. => "Administrator",
        50..=59 => "Owner",
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

/// A member as `members/all/:user_id` tells it.
#[derive(serde::Deserialize)]
struct Member {
    access_level: u32,
}

/// `person`'s access level on `project`, read with their own token: the higher of GitLab's
/// `permissions` (direct and group membership) and their membership with inherited and invited
/// groups (`members/all`, which also counts a project shared with one of their groups); kept
/// for [`crate::access::FRESH`] and asked once however many requests want it at once.
pub(super) async fn access_level(
    state: &AppState,
    session: &tower_sessions::Session,
    person: &crate::auth::SignedIn,
    project: u64,
) -> Option<u32> {
    state
        .roles()
        .get_or_read(person.id, project, || {
            read_access_level(state, session, person, project)
        })
        .await
}

async fn read_access_level(
    state: &AppState,
    session: &tower_sessions::Session,
    person: &crate::auth::SignedIn,
    project: u64,
) -> Option<u32> {
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
    Some(direct.max(through_groups))
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
