//! From GitLab's entities to stageboard's wire types.

use stageboard_protocol as wire;

use crate::gitlab::types::{GlCommit, GlDeployment, GlJob, GlPipeline, GlProject, GlUser};

pub fn project(p: GlProject) -> wire::Project {
    wire::Project {
        id: p.id,
        name: p.name,
        path_with_namespace: p.path_with_namespace,
        description: p.description.filter(|d| !d.is_empty()),
        default_branch: p.default_branch,
        web_url: p.web_url,
    }
}

pub fn user(u: GlUser) -> wire::User {
    wire::User {
        id: u.id,
        username: u.username,
        name: u.name,
        avatar_url: u.avatar_url,
    }
}

pub fn commit(c: GlCommit) -> wire::Commit {
    let short_sha = c.short_id.unwrap_or_else(|| stageboard_protocol::short_sha(&c.id));
    wire::Commit {
        sha: c.id,
        short_sha,
        title: c.title.unwrap_or_default(),
        author_name: c.author_name.unwrap_or_default(),
    }
}

pub fn pipeline(p: GlPipeline, project_id: u64) -> wire::Pipeline {
    wire::Pipeline {
        id: p.id,
        iid: p.iid,
        project_id: p.project_id.unwrap_or(project_id),
        status: p.status,
        git_ref: p.git_ref.unwrap_or_default(),
        tag: p.tag,
        sha: p.sha,
        source: p.source,
        name: p.name,
        created_at: p.created_at.map(Into::into),
        updated_at: p.updated_at.map(Into::into),
        started_at: p.started_at.map(Into::into),
        finished_at: p.finished_at.map(Into::into),
        duration: p.duration.map(|d| d.max(0.0).round() as u64),
        queued_duration: p.queued_duration,
        user: p.user.map(user),
        commit: None,
        web_url: p.web_url.unwrap_or_default(),
        stages: Vec::new(),
        merge_request: None,
    }
}

pub fn job(j: GlJob, pipeline_id: u64, retried: bool, needs: Vec<String>) -> wire::Job {
    wire::Job {
        id: j.id,
        pipeline_id: j.pipeline.as_ref().map(|p| p.id).unwrap_or(pipeline_id),
        name: j.name,
        stage: j.stage,
        status: j.status,
        git_ref: j.git_ref.unwrap_or_default(),
        allow_failure: j.allow_failure.unwrap_or(false),
        retried,
        created_at: j.created_at.map(Into::into),
        started_at: j.started_at.map(Into::into),
        finished_at: j.finished_at.map(Into::into),
        duration: j.duration,
        queued_duration: j.queued_duration,
        failure_reason: j.failure_reason,
        needs,
        user: j.user.map(user),
        web_url: j.web_url.unwrap_or_default(),
        environment: None,
        refused: None,
    }
}

pub fn approval_rule(r: crate::gitlab::types::GlApprovalRule) -> wire::ApprovalRule {
    let rule = r.who;
    let who = rule
        .access_level_description
        .unwrap_or_else(|| match (rule.access_level, rule.user_id, rule.group_id) {
            (Some(level), _, _) => format!("access level {level}"),
            (_, Some(user), _) => format!("user #{user}"),
            (_, _, Some(group)) => format!("group #{group}"),
            _ => "approvers".into(),
        });
    wire::ApprovalRule {
        who,
        required: r.required_approvals,
        given: r
            .deployment_approvals
            .into_iter()
            .map(|a| wire::GivenApproval {
                approved: a.status == "approved",
                user: user(a.user),
                comment: a.comment,
                at: a.created_at.map(Into::into),
            })
            .collect(),
    }
}

pub fn deployment(d: GlDeployment) -> wire::DeploymentSummary {
    wire::DeploymentSummary {
        id: d.id,
        iid: d.iid,
        status: d.status.unwrap_or(wire::Status::Other("unknown".into())),
        git_ref: d.git_ref,
        sha: d.sha,
        created_at: d.created_at.map(Into::into),
        user: d.user.map(user),
        job_id: d.deployable.as_ref().map(|j| j.id),
        job_name: d.deployable.as_ref().map(|j| j.name.clone()),
        pipeline_id: d.deployable.as_ref().and_then(|j| j.pipeline.as_ref().map(|p| p.id)),
    }
}
