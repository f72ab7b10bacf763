//! The GraphQL view of a pipeline: its stages in GitLab's order and each job's `needs`, which
//! the REST API cannot give (CONTRACT.md §2).

use serde::Deserialize;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineGraph {
    pub stages: Vec<GraphStage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphStage {
    pub name: String,
    pub jobs: Vec<GraphJob>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
        let answer: Answer =
            serde_json::from_value(data).map_err(|e| GitlabError::InvalidResponse {
                what: "graphql pipeline".into(),
                reason: e.to_string(),
            })?;
        let pipeline =
            answer
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
