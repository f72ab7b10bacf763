//! `/cc.xml`: the watched projects' pipelines in cctray format, the feed build monitors read
//! (CCMenu, Nevergreen, BuildNotify), which GitLab does not offer. One `<Project>` per project
//! and ref: the default branch and the other recently active branches and tags, as the overview
//! shows them (the same cached reads: a monitor polling it costs GitLab nothing more). With
//! `?jobs=true`, each of those pipelines' jobs too (their jobs are read once per pipeline
//! change, however many monitors poll).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, Event};
use stageboard_protocol::{Pipeline, ProjectOverview, Status};

use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// One entry of the feed.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    /// `Building` or `Sleeping`.
    activity: &'static str,
    /// `Success`, `Failure`, `Exception` or `Unknown`.
    status: &'static str,
    label: String,
    time: Option<String>,
    url: String,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct FeedQuery {
    /// Also one entry per job of each pipeline (`group/project (ref) job`).
    jobs: Option<bool>,
    /// A kiosk token, where reads need a sign-in (HTTP Basic with the token as the password
    /// does the same, for monitors that keep passwords): the feed then shows its board.
    kiosk: Option<String>,
}

/// The kiosk token a monitor sends: HTTP Basic's password (any user name), or `?kiosk=`.
fn kiosk_token(headers: &axum::http::HeaderMap, query: &FeedQuery) -> Option<String> {
    use base64::Engine;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, password)| password.to_owned()));
    basic.or_else(|| query.kiosk.clone()).filter(|t| !t.is_empty())
}

/// The feed in cctray format.
#[utoipa::path(get, path = "/cc.xml", tag = "projects", params(FeedQuery),
    responses((status = 200, content_type = "application/xml", description = "cctray: `<Projects>` of `<Project name activity lastBuildStatus lastBuildLabel lastBuildTime webUrl>`, one per project and ref"),
        (status = 401, body = stageboard_protocol::ErrorBody), (status = 502, body = stageboard_protocol::ErrorBody)))]
pub async fn feed(
    State(state): State<AppState>,
    reader: Result<crate::access::Reader, AppError>,
    crate::client::ClientAddr(from): crate::client::ClientAddr,
    headers: axum::http::HeaderMap,
    super::extract::Query(query): super::extract::Query<FeedQuery>,
) -> AppResult<Response> {
    // The kiosk token counts only where reads need one (an HTTP Basic password meant for a
    // proxy in front, in `public` mode, is not stageboard's to judge).
    let reader = match (reader, kiosk_token(&headers, &query)) {
        (Ok(reader), _) => reader,
        (Err(_), Some(token)) => {
            let kiosk = crate::kiosk::of_token(&state, &token, from.map(|a| a.to_string())).await?;
            let projects = crate::kiosk::projects(&state, &kiosk).await?;
            crate::access::Reader::kiosk(kiosk.token.board, projects)
        }
        (Err(e), None) => {
            // A monitor asks for a password (the kiosk token) when told how.
            {
                let asks = e.status() == axum::http::StatusCode::UNAUTHORIZED;
                let mut response = e.into_response();
                if asks {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        axum::http::HeaderValue::from_static("Basic realm=\"stageboard\", charset=\"UTF-8\""),
                    );
                }
                return Ok(response);
            }
        }
    };
    let projects = state.readable_projects(&reader).await?;
    let cards = futures::future::join_all(projects.into_iter().map(|p| super::overview::card(&state, p))).await;
    let mut entries: Vec<Entry> = Vec::new();
    for card in &cards {
        entries.extend(project_entries(card));
        if query.jobs == Some(true) {
            entries.extend(job_entries(&state, card).await);
        }
    }
    let xml = write(&entries).map_err(|e| {
        AppError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            stageboard_protocol::ErrorCode::Internal,
            format!("The cctray feed could not be written: {e}"),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        xml,
    )
        .into_response())
}

/// A project card's entries: its default branch (an `Exception` when it could not be read),
/// then its other refs.
fn project_entries(card: &ProjectOverview) -> Vec<Entry> {
    let project = &card.project;
    let branch = project.default_branch.clone().unwrap_or_else(|| "main".into());
    let name = |git_ref: &str| format!("{} ({git_ref})", project.path_with_namespace);
    let link = |url: &str| web_url(url).or_else(|| web_url(&project.web_url)).unwrap_or_default();
    let mut entries = Vec::new();
    if card.error.is_some() {
        entries.push(Entry {
            name: name(&branch),
            activity: "Sleeping",
            status: "Exception",
            label: String::new(),
            time: None,
            url: link(""),
        });
    } else if let Some(latest) = &card.latest {
        // A running pipeline says how the branch stood before it: red while it is broken.
        let before = if card.broken_since.is_some() {
            "Failure"
        } else {
            "Success"
        };
        entries.push(entry(name(&branch), latest, before, link(&latest.web_url)));
    }
    for other in &card.other_refs {
        entries.push(entry(name(&other.git_ref), other, "Unknown", link(&other.web_url)));
    }
    entries
}

/// The jobs of a card's pipelines, the latest attempt of each, in pipeline then job order. A
/// pipeline whose jobs cannot be read is left out (its own entry still shows).
async fn job_entries(state: &AppState, card: &ProjectOverview) -> Vec<Entry> {
    let project = &card.project;
    let pipelines: Vec<&Pipeline> = card.latest.iter().chain(&card.other_refs).collect();
    let gitlab = state.gitlab();
    let read = futures::future::join_all(pipelines.iter().map(|p| gitlab.pipeline_jobs(p.project_id, p.id))).await;
    let mut entries = Vec::new();
    for (pipeline, jobs) in pipelines.into_iter().zip(read) {
        let Ok(mut jobs) = jobs else { continue };
        // Retried jobs keep their name with a higher id: the latest attempt counts.
        jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
        let mut seen = std::collections::HashSet::new();
        jobs.retain(|j| seen.insert(j.name.clone()));
        jobs.sort_by_key(|j| j.id);
        for job in jobs {
            let building = job.status.is_unfinished();
            let status = match job.status {
                Status::Success => "Success",
                Status::Failed => "Failure",
                _ => "Unknown",
            };
            let time = job.finished_at.or(job.started_at).or(job.created_at);
            entries.push(Entry {
                name: format!("{} ({}) {}", project.path_with_namespace, pipeline.git_ref, job.name),
                activity: if building { "Building" } else { "Sleeping" },
                status,
                label: job.id.to_string(),
                time: time.map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                }),
                url: job
                    .web_url
                    .as_deref()
                    .and_then(web_url)
                    .or_else(|| web_url(&pipeline.web_url))
                    .unwrap_or_default(),
            });
        }
    }
    entries
}

fn entry(name: String, p: &Pipeline, while_running: &'static str, url: String) -> Entry {
    let building = p.status.is_unfinished();
    let status = match &p.status {
        Status::Success => "Success",
        Status::Failed => "Failure",
        _ if building => while_running,
        _ => "Unknown",
    };
    Entry {
        name,
        activity: if building { "Building" } else { "Sleeping" },
        status,
        label: p.iid.unwrap_or(p.id).to_string(),
        time: p
            .finished_at
            .or(p.updated_at)
            .or(p.created_at)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        url,
    }
}

/// Links from GitLab's data are http(s) or nothing.
fn web_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

fn write(entries: &[Entry]) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("Projects").write_inner_content(|w| {
        for e in entries {
            let mut project = w
                .create_element("Project")
                .with_attribute(("name", e.name.as_str()))
                .with_attribute(("activity", e.activity))
                .with_attribute(("lastBuildStatus", e.status))
                .with_attribute(("lastBuildLabel", e.label.as_str()));
            if let Some(time) = &e.time {
                project = project.with_attribute(("lastBuildTime", time.as_str()));
            }
            project.with_attribute(("webUrl", e.url.as_str())).write_empty()?;
        }
        Ok(())
    })?;
    Ok(w.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_links_are_escaped_and_only_http_links_kept() {
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(
            web_url("https://gitlab.example.com/a/-/pipelines/1").as_deref(),
            Some("https://gitlab.example.com/a/-/pipelines/1")
        );
        let xml = write(&[Entry {
            name: "a/<b> & \"c\" (main)".into(),
            activity: "Sleeping",
            status: "Success",
            label: "7".into(),
            time: None,
            url: String::new(),
        }])
        .unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(
            xml.contains(r#"name="a/&lt;b&gt; &amp; &quot;c&quot; (main)""#),
            "{xml}"
        );
        assert!(!xml.contains("lastBuildTime"), "no time, no attribute: {xml}");
    }
}
