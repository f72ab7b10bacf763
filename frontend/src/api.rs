//! The one way the app talks to the server: typed results, the server's error message on failure.

use gloo_net::http::Request;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use stageboard_protocol::reads;
use stageboard_protocol::{
    ActionOutcome, ApprovalRequest, AuditPage, EnvironmentDetail, EnvironmentGrid, Job, JobLog, PipelineDetail,
    PipelinePage, PlayRequest, PlayVariable, ProjectOverview, Runners, ServerInfo, Wall,
};
use stageboard_protocol::{KioskTokenRequest, KioskTokens, NewKioskToken};

/// A failed request, with what a person should read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub message: String,
    /// The server could not be reached, or answered that it (or GitLab behind it) is away for
    /// now (502, 503, 504): worth asking again, and no reason to stop showing what was read.
    pub transient: bool,
    /// The server's answer (0 when there was none, or it could not be read).
    pub status: u16,
}

impl ApiError {
    /// An error that asking again will not change (a bad address, a refusal).
    pub fn new(message: impl Into<String>) -> Self {
        ApiError {
            message: message.into(),
            transient: false,
            status: 0,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn unreachable(e: gloo_net::Error) -> ApiError {
    // The browser's own words. Not `e`'s Display: that brings serde_json's and std::io's error
    // texts into the wasm for a JSON error this app never has (it parses with `parse`).
    let why = match e {
        gloo_net::Error::JsError(js) => js.message,
        gloo_net::Error::GlooError(message) => message,
        _ => "no answer".into(),
    };
    ApiError {
        message: format!("stageboard's server could not be reached ({why}). Is it running?"),
        transient: true,
        status: 0,
    }
}

/// What the app reads of the server's error body ([`stageboard_protocol::ErrorBody`]): the
/// message a person reads. Its `code` and `retry_after` are for programs.
#[derive(serde::Deserialize)]
struct ErrorMessage {
    message: String,
}

/// Sends a request and reads the body of a 2xx answer; anything else becomes the server's
/// message. Not generic, so each answer type adds only its parsing to the wasm.
async fn send(request: Result<Request, gloo_net::Error>) -> Result<String, ApiError> {
    let response = request.map_err(unreachable)?.send().await.map_err(unreachable)?;
    let status = response.status();
    let text = response.text().await.map_err(unreachable)?;
    if (200..300).contains(&status) {
        return Ok(text);
    }
    let message = match parse::<ErrorMessage>(&text) {
        Ok(body) => body.message,
        Err(_) => format!("The server answered {status}."),
    };
    Err(ApiError {
        message,
        transient: matches!(status, 502..=504),
        status,
    })
}

/// Reads JSON with the browser's own parser; serde only walks the result (much less wasm than
/// parsing in Rust).
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_wasm_bindgen::from_value(json(text)?).map_err(unreadable)
}

// Not generic: one copy in the wasm for every answer type.
fn json(text: &str) -> Result<wasm_bindgen::JsValue, ApiError> {
    js_sys::JSON::parse(text).map_err(|e| unreadable(format!("{e:?}")))
}

fn unreadable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(format!("The server's answer could not be read ({e})."))
}

/// The body of a GET's 2xx answer. Not generic: each answer type adds only its parsing.
async fn get(path: &str) -> Result<String, ApiError> {
    send(Request::get(path).build()).await
}

async fn post(path: &str, body: Option<String>) -> Result<String, ApiError> {
    let request = Request::post(path).header("content-type", "application/json");
    let request = match body {
        Some(body) => request.body(body),
        None => request.build(),
    };
    send(request).await
}

pub async fn overview() -> Result<Vec<ProjectOverview>, ApiError> {
    parse(&get(reads::OVERVIEW).await?)
}

/// The runners, and the jobs that wait because no online runner takes them.
pub async fn runners() -> Result<Runners, ApiError> {
    parse(&get(reads::RUNNERS).await?)
}

/// Filters of the pipeline list, as in the page's URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineQuery {
    pub git_ref: String,
    pub status: String,
    pub source: String,
    pub page: u32,
}

impl PipelineQuery {
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("ref", &self.git_ref),
            ("status", &self.status),
            ("source", &self.source),
        ] {
            if !value.is_empty() {
                parts.push(format!("{key}={}", js_sys::encode_uri_component(value)));
            }
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        parts.join("&")
    }
}

pub async fn pipelines(project: u64, query: &PipelineQuery) -> Result<PipelinePage, ApiError> {
    let path = format!(
        "/api/v1/projects/{project}/pipelines?per_page=20&{}",
        query.to_query_string()
    );
    parse(&get(&path).await?)
}

pub async fn pipeline(project: u64, pipeline: u64) -> Result<PipelineDetail, ApiError> {
    parse(&get(&reads::pipeline(project, pipeline)).await?)
}

pub async fn environment_grid() -> Result<EnvironmentGrid, ApiError> {
    parse(&get(reads::ENVIRONMENTS).await?)
}

pub async fn environment(project: u64, environment: u64) -> Result<EnvironmentDetail, ApiError> {
    parse(&get(&reads::environment(project, environment)).await?)
}

pub async fn job(project: u64, job: u64) -> Result<Job, ApiError> {
    parse(&get(&reads::job(project, job)).await?)
}

pub async fn job_log(project: u64, job: u64, offset: u64) -> Result<JobLog, ApiError> {
    parse(&get(&reads::job_log(project, job, offset)).await?)
}

/// A wall's tiles; `query` is the board's parameters (`board=payments&hide_green=1`).
pub async fn wall(query: String) -> Result<Wall, ApiError> {
    parse(&get(&format!("/api/v1/wall?{query}")).await?)
}

pub fn raw_log_url(project: u64, job: u64) -> String {
    format!("/api/v1/projects/{project}/jobs/{job}/raw")
}

/// An action on a job or pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    RetryJob(u64),
    CancelJob(u64),
    PlayJob(u64),
    RetryPipeline(u64),
    CancelPipeline(u64),
    StopEnvironment(u64),
    /// Approve or reject a deployment waiting for approval (by deployment id).
    ApproveDeployment(u64),
    RejectDeployment(u64),
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::RetryJob(_) => "Retry",
            Action::CancelJob(_) => "Cancel",
            Action::PlayJob(_) => "Run",
            Action::RetryPipeline(_) => "Retry pipeline",
            Action::CancelPipeline(_) => "Cancel pipeline",
            Action::StopEnvironment(_) => "Stop",
            Action::ApproveDeployment(_) => "Approve",
            Action::RejectDeployment(_) => "Reject",
        }
    }
}

fn json_body<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_wasm_bindgen::to_value(value)
        .ok()
        .and_then(|v| js_sys::JSON::stringify(&v).ok())
        .map(String::from)
}

/// Sends `action`; `input` is what the person typed in its confirmation: a run's variables
/// (one `KEY=value` per line) or an approval's comment.
pub async fn act(project: u64, action: Action, input: String) -> Result<ActionOutcome, ApiError> {
    let base = format!("/api/v1/projects/{project}");
    let approval = |approve: bool| ApprovalRequest {
        approve,
        comment: Some(input.trim().to_owned()).filter(|c| !c.is_empty()),
    };
    let answer = match action {
        Action::RetryJob(id) => post(&format!("{base}/jobs/{id}/retry"), None).await,
        Action::CancelJob(id) => post(&format!("{base}/jobs/{id}/cancel"), None).await,
        Action::PlayJob(id) => {
            let variables: Vec<PlayVariable> = input
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| PlayVariable {
                    key: k.trim().to_owned(),
                    value: v.trim().to_owned(),
                })
                .filter(|v| !v.key.is_empty())
                .collect();
            post(&format!("{base}/jobs/{id}/play"), json_body(&PlayRequest { variables })).await
        }
        Action::ApproveDeployment(id) | Action::RejectDeployment(id) => {
            let body = json_body(&approval(matches!(action, Action::ApproveDeployment(_))));
            post(&format!("{base}/deployments/{id}/approval"), body).await
        }
        Action::RetryPipeline(id) => post(&format!("{base}/pipelines/{id}/retry"), None).await,
        Action::CancelPipeline(id) => post(&format!("{base}/pipelines/{id}/cancel"), None).await,
        Action::StopEnvironment(id) => post(&format!("{base}/environments/{id}/stop"), None).await,
    };
    parse(&answer?)
}

/// A page of the audit log; `query` is the page's own query string (its filters).
pub async fn audit(query: &str) -> Result<AuditPage, ApiError> {
    parse(&get(&format!("/api/v1/audit?{query}")).await?)
}

/// The kiosk tokens of the boards the signed-in person maintains.
pub async fn kiosk_tokens() -> Result<KioskTokens, ApiError> {
    parse(&get("/api/v1/kiosk-tokens").await?)
}

/// Makes a kiosk token for `board`; its token is in this answer only.
pub async fn make_kiosk_token(board: String, label: String) -> Result<NewKioskToken, ApiError> {
    parse(&post("/api/v1/kiosk-tokens", json_body(&KioskTokenRequest { board, label })).await?)
}

/// Revokes a kiosk token.
pub async fn revoke_kiosk_token(id: i64) -> Result<(), ApiError> {
    let request = Request::delete(&format!("/api/v1/kiosk-tokens/{id}"))
        .header("content-type", "application/json")
        .build();
    send(request).await.map(drop)
}

/// Signs out (GitLab takes the token back), then shows the page again as nobody.
pub async fn sign_out() -> Result<(), ApiError> {
    post("/auth/logout", None).await?;
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
    Ok(())
}

/// Where signing in starts, coming back to the page the person is on.
pub fn sign_in_href() -> String {
    let here = web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.pathname().ok()?, l.search().ok()?))
        })
        .unwrap_or_else(|| "/".into());
    format!("/auth/login?return_to={}", js_sys::encode_uri_component(&here))
}

/// The server's facts (demo mode, GitLab URL, who is signed in), loaded once for the whole app.
#[derive(Debug, Clone, Copy)]
pub struct ServerInfoContext(pub RwSignal<Option<ServerInfo>>);

pub fn provide_server_info() {
    let info = RwSignal::new(None);
    leptos::task::spawn_local(async move {
        if let Ok(found) = get(reads::INFO).await.and_then(|text| parse::<ServerInfo>(&text)) {
            let _ = info.try_set(Some(found));
        }
    });
    provide_context(ServerInfoContext(info));
}

pub fn use_server_info() -> RwSignal<Option<ServerInfo>> {
    expect_context::<ServerInfoContext>().0
}
