//! Who may do what in the simulated GitLab: the people who can sign in, their role in each
//! project, and the protected environment. GitLab's rules in small: a Reporter reads, a
//! Developer runs pipelines and jobs, and only a Maintainer deploys to `live` (a protected
//! environment, GitLab Premium). `production` (payments-api's) any Developer may deploy, once a
//! Maintainer has approved the deployment (deployment approvals, GitLab Premium). The
//! configured access token belongs to the administrator.

use crate::rest::error::GitlabError;
use crate::scenario::{PEOPLE, Person, ProjectDef, TOKEN_OWNER};

/// A project member's role (GitLab's access levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Reporter = 20,
    Developer = 30,
    Maintainer = 40,
    Owner = 50,
}

impl Role {
    pub fn access_level(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Reporter => "Reporter",
            Role::Developer => "Developer",
            Role::Maintainer => "Maintainer",
            Role::Owner => "Owner",
        }
    }
}

/// The people offered on the sign-in page: Alice Chen maintains every project, Bruno Walker
/// develops on every one, and Chioma Okafor reports on all but the third.
pub const SIGN_IN: [u64; 3] = [2, 3, 4];

/// `user`'s role in `project`, or `None` when they are not a member (GitLab then answers as if
/// the project did not exist).
pub fn role(user: u64, project: &ProjectDef) -> Option<Role> {
    match user {
        1 => Some(Role::Owner),
        2 => Some(Role::Maintainer),
        3 => Some(Role::Developer),
        4 if project.id != 3 => Some(Role::Reporter),
        _ => None,
    }
}

pub fn person(user: u64) -> Option<Person> {
    PEOPLE.iter().find(|p| p.id == user).copied()
}

/// The role a deployment to `environment` needs: `live` is protected for Maintainers.
pub fn deploy_role(environment: &str) -> Role {
    if environment == "live" {
        Role::Maintainer
    } else {
        Role::Developer
    }
}

/// Who must approve a deployment to `environment` before it may run, and how many of them: a
/// protected environment's approval rule by role (GitLab's `approval_rules`).
pub fn approval_rule(environment: &str) -> Option<(Role, u32)> {
    (environment == "production").then_some((Role::Maintainer, 1))
}

/// Protected environments are GitLab's `live` and `production`: deployments to them are limited
/// by role or wait for approval.
pub fn is_protected(environment: &str) -> bool {
    deploy_role(environment) > Role::Developer || approval_rule(environment).is_some()
}

/// Who may push to and who may merge into a protected branch (GitLab's `push_access_levels`
/// and `merge_access_levels`): only they may run, retry or cancel its pipelines' jobs. `main` is
/// protected in every project as GitLab protects a default branch (Maintainers push,
/// Developers merge); payments-api's `main` takes merges from Maintainers only.
pub fn protected_branch(project: &ProjectDef, git_ref: &str) -> Option<(Role, Role)> {
    match git_ref {
        "main" if project.path == "payments-api" => Some((Role::Maintainer, Role::Maintainer)),
        "main" => Some((Role::Maintainer, Role::Developer)),
        _ => None,
    }
}

/// Who sent an API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The configured access token, the administrator's: everything is allowed.
    Token,
    /// A person signed in through OAuth, with the scopes they granted.
    Person { id: u64, scopes: Vec<String> },
}

impl Caller {
    /// Whom an action is recorded as.
    pub fn person(&self) -> Person {
        match self {
            Caller::Token => TOKEN_OWNER,
            Caller::Person { id, .. } => person(*id).unwrap_or(TOKEN_OWNER),
        }
    }

    pub fn role(&self, project: &ProjectDef) -> Option<Role> {
        match self {
            Caller::Token => Some(Role::Owner),
            Caller::Person { id, .. } => role(*id, project),
        }
    }

    /// The caller may update `git_ref` (push to or merge into it, where it is a protected
    /// branch), which running, retrying or canceling its jobs needs (`Ci::BuildPolicy`'s
    /// `protected_ref`); GitLab's plain 403 otherwise. Tags are not protected here.
    /// A job deploying to a protected environment the caller may deploy to is theirs whatever
    /// the branch (GitLab Premium's deployment-only access): pass its `environment`.
    pub fn require_ref(
        &self,
        project: &ProjectDef,
        git_ref: &str,
        tag: bool,
        environment: Option<&str>,
    ) -> Result<(), GitlabError> {
        let Some((push, merge)) = protected_branch(project, git_ref).filter(|_| !tag) else {
            return Ok(());
        };
        let role = self.role(project);
        let deploys = environment.filter(|e| is_protected(e)).map(deploy_role);
        match role {
            Some(role) if role >= push.min(merge) => Ok(()),
            Some(role) if deploys.is_some_and(|needed| role >= needed) => Ok(()),
            _ => Err(GitlabError::Denied),
        }
    }

    /// The caller's role in `project` is at least `needed`: a non-member is told the project
    /// does not exist, a member with too small a role gets GitLab's plain 403.
    pub fn require(&self, project: &ProjectDef, needed: Role) -> Result<(), GitlabError> {
        match self.role(project) {
            None => Err(GitlabError::NotFoundNamed("Project")),
            Some(role) if role < needed => Err(GitlabError::Denied),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protected_branch_lets_in_who_may_merge_and_who_may_deploy_its_job() {
        let projects = crate::scenario::projects(3);
        let payments = projects.iter().find(|p| p.path == "payments-api").unwrap();
        let developer = Caller::Person {
            id: 3,
            scopes: vec!["api".into()],
        };
        assert!(matches!(
            developer.require_ref(payments, "main", false, None),
            Err(GitlabError::Denied)
        ));
        assert!(
            developer
                .require_ref(payments, "main", false, Some("production"))
                .is_ok(),
            "deployment-only access: Developers deploy to production (once approved)"
        );
        assert!(matches!(
            developer.require_ref(payments, "main", false, Some("staging")),
            Err(GitlabError::Denied)
        ));
        assert!(
            developer.require_ref(payments, "main", true, None).is_ok(),
            "a tag named main is no branch"
        );
        assert!(developer.require_ref(payments, "feature/refunds", false, None).is_ok());
    }
}
