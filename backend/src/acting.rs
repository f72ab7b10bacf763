//! Actions are sent to GitLab as the signed-in person, with their own OAuth token, so that
//! GitLab's roles, protected branches and protected environments decide (never with the shared
//! read token). The hub hears that the project changed.
//! A person's token GitLab no longer takes (it expired: they last two hours) is renewed with
//! the refresh token and the action sent once more; a refused renewal signs the person out.

use std::future::Future;

use secrecy::{ExposeSecret, SecretString};
use tower_sessions::Session;

use crate::app::AppState;
use crate::gitlab::types::{GlApproval, GlEnvironment, GlJob, GlPipeline};
use crate::gitlab::{Gitlab, GitlabClient, GitlabError, Result};

/// GitLab, as the signed-in person who acts.
pub struct Acting {
    client: GitlabClient,
    state: AppState,
    token: SecretString,
    /// Their session, to keep a renewed token in.
    session: Option<Session>,
}

const EXPIRED: &str = "your GitLab sign-in has expired and could not be renewed; sign in again";

impl Acting {
    pub fn person(state: &AppState, token: SecretString, session: Option<Session>) -> Acting {
        Acting {
            client: state.gitlab_client().for_person(token.clone()),
            state: state.clone(),
            token,
            session,
        }
    }

    fn gitlab(&self) -> &dyn Gitlab {
        &self.client
    }

    /// After GitLab refused a person's token: the action once more with a renewed one.
    async fn again<T, F, Fut>(&self, first: Result<T>, call: F) -> Result<T>
    where
        F: FnOnce(GitlabClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let Err(GitlabError::Unauthorized { .. }) = &first else {
            return first;
        };
        let renewed = match (self.state.auth(), &self.session) {
            (Some(auth), Some(session)) => auth.renew(&self.state, session, self.token.expose_secret()).await,
            _ => None,
        };
        match renewed {
            Some(access) => {
                let client = self.state.gitlab_client().for_person(SecretString::from(access));
                match call(client).await {
                    Err(GitlabError::Unauthorized { .. }) => Err(expired()),
                    other => other,
                }
            }
            None => Err(expired()),
        }
    }

    /// A success: the hub learns the project changed.
    fn heard<T>(&self, project: u64, pipeline: Option<u64>, answer: Result<T>) -> Result<T> {
        if answer.is_ok() {
            self.state.hub().acted(project, pipeline);
        }
        answer
    }

    pub async fn retry_job(&self, project: u64, job: u64) -> Result<GlJob> {
        let answer = self.gitlab().retry_job(project, job).await;
        let answer = self
            .again(answer, move |c| async move { c.retry_job(project, job).await })
            .await;
        let pipeline = answer.as_ref().ok().and_then(|j| j.pipeline.as_ref().map(|p| p.id));
        self.heard(project, pipeline, answer)
    }

    pub async fn cancel_job(&self, project: u64, job: u64) -> Result<GlJob> {
        let answer = self.gitlab().cancel_job(project, job).await;
        let answer = self
            .again(answer, move |c| async move { c.cancel_job(project, job).await })
            .await;
        let pipeline = answer.as_ref().ok().and_then(|j| j.pipeline.as_ref().map(|p| p.id));
        self.heard(project, pipeline, answer)
    }

    pub async fn play_job(&self, project: u64, job: u64, variables: &[(String, String)]) -> Result<GlJob> {
        let answer = self.gitlab().play_job(project, job, variables).await;
        let again = variables.to_vec();
        let answer = self
            .again(answer, move |c| async move { c.play_job(project, job, &again).await })
            .await;
        let pipeline = answer.as_ref().ok().and_then(|j| j.pipeline.as_ref().map(|p| p.id));
        self.heard(project, pipeline, answer)
    }

    pub async fn retry_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        let answer = self.gitlab().retry_pipeline(project, pipeline).await;
        let answer = self
            .again(
                answer,
                move |c| async move { c.retry_pipeline(project, pipeline).await },
            )
            .await;
        self.heard(project, Some(pipeline), answer)
    }

    pub async fn cancel_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        let answer = self.gitlab().cancel_pipeline(project, pipeline).await;
        let answer = self
            .again(
                answer,
                move |c| async move { c.cancel_pipeline(project, pipeline).await },
            )
            .await;
        self.heard(project, Some(pipeline), answer)
    }

    pub async fn approve_deployment(
        &self,
        project: u64,
        deployment: u64,
        approved: bool,
        comment: Option<String>,
    ) -> Result<GlApproval> {
        let answer = self
            .gitlab()
            .approve_deployment(project, deployment, approved, comment.as_deref())
            .await;
        let answer = self
            .again(answer, move |c| async move {
                c.approve_deployment(project, deployment, approved, comment.as_deref())
                    .await
            })
            .await;
        self.heard(project, None, answer)
    }

    pub async fn stop_environment(&self, project: u64, environment: u64) -> Result<GlEnvironment> {
        let answer = self.gitlab().stop_environment(project, environment, false).await;
        let answer = self
            .again(answer, move |c| async move {
                c.stop_environment(project, environment, false).await
            })
            .await;
        self.heard(project, None, answer)
    }
}

fn expired() -> GitlabError {
    GitlabError::Refused {
        status: 401,
        message: EXPIRED.into(),
    }
}
