//! The GraphQL view of a pipeline: its stages in GitLab's order and each job's `needs`, which
//! the REST API cannot give (CONTRACT.md §2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{GitlabError, Result};

pub const QUERY: &str = r#"
query stageboardPipelineGraph($fullPath: ID!, $iid: ID!) {
  project(fullPath: $fullPath) {
    pipeline(iid: $iid) {
      stages {
        nodes {
          name
          groups {
            nodes {
              name
              size
              jobs { nodes { id name needs { nodes { name } } } }
            }
          }
        }
      }
    }
  }
}"#;

/// Stages in order, each with its jobs' names and needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineGraph {
    pub stages: Vec<GraphStage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphStage {
    pub name: String,
    pub jobs: Vec<GraphJob>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphJob {
    /// From the global id `gid://gitlab/Ci::Build/123`.
    pub id: Option<u64>,
    pub name: String,
    pub needs: Vec<String>,
}

#[derive(Deserialize)]
struct Answer {
    project: Option<ProjectNode>,
}
#[derive(Deserialize)]
struct ProjectNode {
    pipeline: Option<PipelineNode>,
}
#[derive(Deserialize)]
struct PipelineNode {
    stages: Nodes<StageNode>,
}
#[derive(Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}
#[derive(Deserialize)]
struct StageNode {
    name: String,
    groups: Nodes<GroupNode>,
}
#[derive(Deserialize)]
struct GroupNode {
    jobs: Nodes<JobNode>,
}
#[derive(Deserialize)]
struct JobNode {
    id: String,
    name: String,
    #[serde(default)]
    needs: Option<Nodes<NeedNode>>,
}
#[derive(Deserialize)]
struct NeedNode {
    name: String,
}

impl PipelineGraph {
    pub fn from_answer(data: Value) -> Result<Self> {
        let answer: Answer = serde_json::from_value(data).map_err(|e| GitlabError::InvalidResponse {
            what: "graphql pipeline".into(),
            reason: e.to_string(),
        })?;
        let pipeline = answer
            .project
            .and_then(|p| p.pipeline)
            .ok_or_else(|| GitlabError::NotFound {
                message: "GraphQL knows no such pipeline".into(),
            })?;
        let stages = pipeline
            .stages
            .nodes
            .into_iter()
            .map(|stage| GraphStage {
                name: stage.name,
                jobs: stage
                    .groups
                    .nodes
                    .into_iter()
                    .flat_map(|g| g.jobs.nodes)
                    .map(|job| GraphJob {
                        id: job.id.rsplit('/').next().and_then(|n| n.parse().ok()),
                        name: job.name,
                        needs: job
                            .needs
                            .map(|n| n.nodes.into_iter().map(|n| n.name).collect())
                            .unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        Ok(PipelineGraph { stages })
    }
}

/// What the REST pipeline list lacks, for many pipelines in one GraphQL request (one aliased
/// `pipeline(iid:)` field per pipeline): stage marks, commit, user, duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineSummary {
    pub stages: Vec<(String, stageboard_protocol::Status)>,
    /// (id, username, name)
    pub user: Option<(u64, String, String)>,
    pub commit: Option<SummaryCommit>,
    pub duration: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryCommit {
    pub sha: String,
    pub short_id: Option<String>,
    pub title: Option<String>,
    pub author_name: Option<String>,
}

pub fn summaries_query(iids: &[u64]) -> String {
    let fields = iids
        .iter()
        .map(|iid| {
            format!(
                "p{iid}: pipeline(iid: \"{iid}\") {{ iid duration user {{ id username name }} \
                 commit {{ sha shortId title authorName }} \
                 stages {{ nodes {{ name detailedStatus {{ group }} }} }} }}"
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("query stageboardPipelineSummaries($fullPath: ID!) {{ project(fullPath: $fullPath) {{ {fields} }} }}")
}

#[derive(Deserialize)]
struct SummaryNode {
    iid: String,
    duration: Option<f64>,
    user: Option<SummaryUser>,
    commit: Option<SummaryCommit>,
    stages: Option<Nodes<SummaryStage>>,
}
#[derive(Deserialize)]
struct SummaryUser {
    id: String,
    username: String,
    name: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryStage {
    name: String,
    detailed_status: Option<SummaryStatus>,
}
#[derive(Deserialize)]
struct SummaryStatus {
    group: String,
}

/// Reads the answer to [`summaries_query`], keyed by pipeline iid.
pub fn summaries_from_answer(data: Value) -> Result<std::collections::HashMap<u64, PipelineSummary>> {
    let invalid = |reason: String| GitlabError::InvalidResponse {
        what: "graphql pipeline summaries".into(),
        reason,
    };
    let project = data
        .get("project")
        .and_then(Value::as_object)
        .ok_or_else(|| GitlabError::NotFound {
            message: "GraphQL knows no such project".into(),
        })?;
    let mut out = std::collections::HashMap::new();
    for node in project.values() {
        if node.is_null() {
            continue;
        }
        let node: SummaryNode = serde_json::from_value(node.clone()).map_err(|e| invalid(e.to_string()))?;
        let Ok(iid) = node.iid.parse::<u64>() else { continue };
        out.insert(
            iid,
            PipelineSummary {
                stages: node
                    .stages
                    .map(|s| s.nodes)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| (s.name, s.detailed_status.map(|d| d.group).unwrap_or_default().into()))
                    .collect(),
                user: node.user.map(|u| {
                    (
                        u.id.rsplit('/').next().and_then(|n| n.parse().ok()).unwrap_or(0),
                        u.username,
                        u.name,
                    )
                }),
                commit: node.commit,
                duration: node.duration.map(|d| d.max(0.0) as u64),
            },
        );
    }
    Ok(out)
}

/// Which environment each job of a pipeline deploys to (`CiJob.expandedEnvironmentName`, GitLab
/// 18.x; older instances answer with an error, and stageboard goes without).
pub const ENVIRONMENTS_QUERY: &str = r#"
query stageboardJobEnvironments($fullPath: ID!, $iid: ID!) {
  project(fullPath: $fullPath) {
    pipeline(iid: $iid) {
      stages { nodes { groups { nodes { jobs { nodes { id expandedEnvironmentName } } } } } }
    }
  }
}"#;

pub fn environments_from_answer(data: Value) -> Result<std::collections::HashMap<u64, String>> {
    let invalid = |reason: String| GitlabError::InvalidResponse {
        what: "graphql job environments".into(),
        reason,
    };
    let stages = data
        .pointer("/project/pipeline/stages/nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no stages".into()))?;
    let mut out = std::collections::HashMap::new();
    for stage in stages {
        for group in stage
            .pointer("/groups/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for job in group
                .pointer("/jobs/nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = job
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|g| g.rsplit('/').next())
                    .and_then(|n| n.parse().ok());
                let env = job.get("expandedEnvironmentName").and_then(Value::as_str);
                if let (Some(id), Some(env)) = (id, env) {
                    out.insert(id, env.to_owned());
                }
            }
        }
    }
    Ok(out)
}
