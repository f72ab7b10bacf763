//! Which projects are watched: those listed, those of groups (with their subgroups), those with
//! a topic, narrowed by patterns on the path; archived ones never. Read again every `refresh`,
//! so a new project appears without a restart and a removed one disappears.

use std::collections::HashSet;
use std::time::Duration;

use crate::gitlab::types::GlProject;
use crate::gitlab::{Gitlab, GitlabError};
use crate::pattern::matches;

#[derive(Debug, Clone)]
pub struct Selection {
    /// Numeric ids or full paths, watched whatever the patterns say (unless archived).
    pub projects: Vec<String>,
    /// Ids or full paths of groups: their projects and their subgroups'.
    pub groups: Vec<String>,
    /// Topics: the token user's projects with any of them.
    pub topics: Vec<String>,
    /// Path patterns (`platform/*`): when any is given, a group's or topic's project must match one.
    pub include: Vec<String>,
    /// Path patterns a group's or topic's project must not match.
    pub exclude: Vec<String>,
    /// How often the selection is read again.
    pub refresh: Duration,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            projects: Vec::new(),
            groups: Vec::new(),
            topics: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            refresh: Duration::from_secs(600),
        }
    }
}

/// What a reading of the selection found.
#[derive(Debug)]
pub struct Found {
    /// The listed projects in their order, then the groups' and topics' (newest first).
    pub projects: Vec<GlProject>,
    /// Listed projects and groups GitLab does not have (or the token cannot see): named in the
    /// log, and left out rather than stopping the others.
    pub missing: Vec<String>,
    /// Listed projects left out because they are archived.
    pub archived: Vec<String>,
}

impl Selection {
    /// Nothing is selected: the token user's projects are watched.
    pub fn is_membership(&self) -> bool {
        self.projects.is_empty() && self.groups.is_empty() && self.topics.is_empty()
    }

    /// A project found by group, topic or membership passes the patterns.
    pub fn keeps(&self, path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| matches(p, path)))
            && !self.exclude.iter().any(|p| matches(p, path))
    }

    /// Whether `project` (an id) is one of the listed projects.
    pub fn lists(&self, project: u64) -> bool {
        self.projects.iter().any(|p| *p == project.to_string())
    }

    /// Reads the selection through `gitlab`. A listed project or group that GitLab does not
    /// have is left out (and reported); any other failure fails the whole reading, so that the
    /// last good one stays in force.
    pub async fn read(&self, gitlab: &dyn Gitlab) -> Result<Found, GitlabError> {
        let mut found = Found {
            projects: Vec::new(),
            missing: Vec::new(),
            archived: Vec::new(),
        };
        let mut seen = HashSet::new();
        let listed = self
            .projects
            .iter()
            .map(|p| async move { (p, gitlab.project(p).await) });
        for (name, answer) in futures::future::join_all(listed).await {
            match answer {
                Ok(project) if project.archived == Some(true) => found.archived.push(name.clone()),
                Ok(project) => {
                    if seen.insert(project.id) {
                        found.projects.push(project);
                    }
                }
                Err(GitlabError::NotFound { .. }) => found.missing.push(name.clone()),
                Err(e) => return Err(e),
            }
        }
        let mut discovered = Vec::new();
        if self.is_membership() {
            discovered = gitlab.member_projects().await?;
        }
        let groups = self
            .groups
            .iter()
            .map(|g| async move { (g, gitlab.group_projects(g).await) });
        for (name, answer) in futures::future::join_all(groups).await {
            match answer {
                Ok(projects) => discovered.extend(projects),
                Err(GitlabError::NotFound { .. }) => found.missing.push(format!("group {name}")),
                Err(e) => return Err(e),
            }
        }
        let topics = self.topics.iter().map(|t| gitlab.topic_projects(t));
        for answer in futures::future::join_all(topics).await {
            discovered.extend(answer?);
        }
        discovered.sort_by_key(|p| std::cmp::Reverse(p.id));
        for project in discovered {
            if project.archived != Some(true) && self.keeps(&project.path_with_namespace) && seen.insert(project.id) {
                found.projects.push(project);
            }
        }
        Ok(found)
    }

    /// What is selected, in words, for messages: "projects a, b; groups c; topics d".
    pub fn describe(&self) -> String {
        if self.is_membership() {
            return "the projects the token's user is a member of".into();
        }
        let mut parts = Vec::new();
        for (what, list) in [
            ("projects", &self.projects),
            ("groups", &self.groups),
            ("topics", &self.topics),
        ] {
            if !list.is_empty() {
                parts.push(format!("{what} {}", list.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// Which refs a project's card shows besides the default branch: those matching a pattern
/// (`release/*`, `v*`), and the protected branches. Unset: the refs that ran most recently.
#[derive(Debug, Clone, Default)]
pub struct RefSelection {
    pub patterns: Vec<String>,
    pub protected: bool,
    /// Merge requests' pipelines too, with their titles.
    pub merge_requests: bool,
}

impl RefSelection {
    /// Nothing configured: the most recent refs.
    pub fn is_recent(&self) -> bool {
        self.patterns.is_empty() && !self.protected
    }

    /// `git_ref` is shown: it matches a pattern, or is a protected branch (`protected` holds the
    /// project's protected branch names, which may be wildcards).
    pub fn shows(&self, git_ref: &str, tag: bool, protected: &[String]) -> bool {
        self.patterns.iter().any(|p| matches(p, git_ref))
            || (self.protected && !tag && protected.iter().any(|p| matches(p, git_ref)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_refs_are_patterns_and_protected_branches() {
        let refs = RefSelection {
            patterns: vec!["release/*".into(), "v*".into()],
            protected: true,
            merge_requests: false,
        };
        let protected = vec!["main".to_owned(), "stable-*".to_owned()];
        assert!(refs.shows("release/1.2", false, &protected));
        assert!(refs.shows("v2.0.0", true, &protected));
        assert!(refs.shows("stable-3", false, &protected));
        assert!(!refs.shows("feature/x", false, &protected));
        assert!(
            !refs.shows("stable-3", true, &protected),
            "a tag is no protected branch"
        );
        assert!(RefSelection::default().is_recent());
    }

    #[test]
    fn patterns_narrow_what_groups_and_topics_find() {
        let selection = Selection {
            groups: vec!["platform".into()],
            include: vec!["platform/*".into()],
            exclude: vec!["platform/web/*".into(), "*-sandbox".into()],
            ..Selection::default()
        };
        assert!(selection.keeps("platform/payments-api"));
        assert!(!selection.keeps("platform/web/monorepo"), "a subgroup excluded");
        assert!(!selection.keeps("platform/ops-sandbox"));
        assert!(!selection.keeps("demo/gitlab-k8s-demo"), "not included");
        let everything = Selection::default();
        assert!(everything.keeps("any/where"));
        assert!(everything.is_membership());
        assert_eq!(
            Selection {
                projects: vec!["42".into()],
                topics: vec!["service".into()],
                ..Selection::default()
            }
            .describe(),
            "projects 42; topics service"
        );
    }
}
