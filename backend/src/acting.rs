//! Whom an action is sent to GitLab as: the signed-in person with their own OAuth token, so
//! that GitLab's roles, protected branches and protected environments decide; or, in demo mode
//! without a sign-in, the shared token. Either way the hub hears that the project changed.

use secrecy::SecretString;

use crate::gitlab::types::{GlEnvironment, GlJob, GlPipeline};
use crate::gitlab::{Gitlab, GitlabClient, GitlabError, Result};
use crate::hub::Hub;

/// GitLab, as whoever acts.
pub enum Acting {
    /// The shared token, through the hub (demo mode only).
    Shared(Hub),
    /// A signed-in person.
    Person { client: Box<GitlabClient>, hub: Hub },
}

impl Acting {
    pub fn person(shared: &GitlabClient, hub: &Hub, access: SecretString) -> Acting {
        Acting::Person {
            client: Box::new(shared.for_person(access)),
            hub: hub.clone(),
        }
    }

    /// A person's answer: on success the hub learns the project changed; a refused token
    /// means the sign-in is no longer good.
    fn heard<T>(&self, project: u64, pipeline: Option<u64>, answer: Result<T>) -> Result<T> {
        let Acting::Person { hub, .. } = self else {
            return answer;
        };
        match answer {
            Ok(value) => {
                hub.acted(project, pipeline);
                Ok(value)
            }
            Err(GitlabError::Unauthorized { .. }) => Err(GitlabError::Refused {
                status: 401,
                message: "your GitLab sign-in has expired or was revoked; sign in again".into(),
            }),
            Err(e) => Err(e),
        }
    }

    fn gitlab(&self) -> &dyn Gitlab {
        match self {
            Acting::Shared(hub) => hub,
            Acting::Person { client, .. } => client.as_ref(),
        }
    }

    pub async fn retry_job(&self, project: u64, job: u64) -> Result<GlJob> {
        let answer = self.gitlab().retry_job(project, job).await;
        let pipeline = answer.as_ref().ok().and_then(|j| j.pipeline.as_ref().map(|p| p.id));
        self.heard(project, pipeline, answer)
    }

    pub async fn cancel_job(&self, project: u64, job: u64) -> Result<GlJob> {
        let answer = self.gitlab().cancel_job(project, job).await;
        let pipeline = answer.as_ref().ok().and_then(|j| j.pipeline.as_ref().map(|p| p.id));
        self.heard(project, pipeline, answer)
    }

    pub async fn play_job(&self, project: u64, job: u64, variables: &[(String, String)]) -> Result<GlJob> {
        let answer = self.gitlab().play_job(project, job, variables).await;
        let pipeline = answer.as_ref().ok().and_then(|j| j.pipeline.as_ref().map(|p| p.id));
        self.heard(project, pipeline, answer)
    }

    pub async fn retry_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        let answer = self.gitlab().retry_pipeline(project, pipeline).await;
        self.heard(project, Some(pipeline), answer)
    }

    pub async fn cancel_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        let answer = self.gitlab().cancel_pipeline(project, pipeline).await;
        self.heard(project, Some(pipeline), answer)
    }

    pub async fn stop_environment(&self, project: u64, environment: u64) -> Result<GlEnvironment> {
        let answer = self.gitlab().stop_environment(project, environment, false).await;
        self.heard(project, None, answer)
    }
}
