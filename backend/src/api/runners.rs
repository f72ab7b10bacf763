//! `/api/v1/runners`: the runners serving the watched projects that have jobs waiting or
//! running, and the jobs that wait because no online runner takes them ("12 jobs pending, no
//! online runner with tag `docker`").

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use stageboard_protocol::{ErrorBody, Runner, Runners, Status, Timestamp, Waiting};

use crate::app::AppState;
use crate::error::AppResult;
use crate::gitlab::types::{GlJob, GlProject, GlRunner};

/// The runners serving the watched projects with jobs pending or running (status, busy, tags,
/// last contact), and the pending jobs no online runner takes, grouped by the tags they ask
/// for. GitLab lists a project's runners to its Maintainers only: projects whose runners the
/// token may not list are named in `unknown`.
#[utoipa::path(get, path = "/api/v1/runners", tag = "projects",
    responses((status = 200, body = Runners), (status = 502, body = ErrorBody)))]
pub async fn runners(State(state): State<AppState>, reader: crate::access::Reader) -> AppResult<Json<Runners>> {
    let projects = state.readable_projects(&reader).await?;
    let gitlab = state.gitlab();
    // Each project's jobs waiting or running: kept until the project changes, so an idle
    // organisation costs GitLab nothing here.
    let reads = projects
        .iter()
        .map(|p| async move { (p, gitlab.active_jobs(p.id).await) });
    let mut pending: Vec<(&GlProject, GlJob)> = Vec::new();
    let mut busy: HashSet<u64> = HashSet::new();
    let mut involved: Vec<&GlProject> = Vec::new();
    for (project, answer) in futures::future::join_all(reads).await {
        let Ok(jobs) = answer else { continue };
        if !jobs.is_empty() {
            involved.push(project);
        }
        for job in jobs {
            match job.status {
                Status::Pending => pending.push((project, job)),
                Status::Running => busy.extend(job.runner.as_ref().map(|r| r.id)),
                _ => {}
            }
        }
    }
    let lists = involved
        .iter()
        .map(|p| async move { (*p, gitlab.project_runners(p.id).await) });
    let mut serving: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut listed: BTreeMap<u64, GlRunner> = BTreeMap::new();
    let mut unknown = Vec::new();
    for (project, answer) in futures::future::join_all(lists).await {
        match answer {
            Ok(runners) => {
                serving.insert(project.id, runners.iter().map(|r| r.id).collect());
                for runner in runners {
                    listed.entry(runner.id).or_insert(runner);
                }
            }
            // A token below Maintainer gets 403 here; the others' waiting jobs still show.
            Err(_) => unknown.push(project.path_with_namespace.clone()),
        }
    }
    // The details (tags, last contact); the list's entry where GitLab will not give them.
    let details = listed
        .values()
        .map(|r| async move { gitlab.runner(r.id).await.unwrap_or_else(|_| r.clone()) });
    let runners: BTreeMap<u64, GlRunner> = futures::future::join_all(details)
        .await
        .into_iter()
        .map(|r| (r.id, r))
        .collect();

    let mut groups: BTreeMap<Vec<String>, Vec<(&GlProject, &GlJob)>> = BTreeMap::new();
    for (project, job) in &pending {
        let Some(ids) = serving.get(&project.id) else { continue };
        let mut tags = job.tag_list.clone().unwrap_or_default();
        tags.sort();
        let taken = ids
            .iter()
            .filter_map(|id| runners.get(id))
            .any(|r| r.fits(&tags) && r.takes_jobs());
        if !taken {
            groups.entry(tags).or_default().push((project, job));
        }
    }
    let waiting = groups
        .into_iter()
        .map(|(tags, jobs)| {
            let mut paths: Vec<String> = jobs.iter().map(|(p, _)| p.path_with_namespace.clone()).collect();
            paths.sort();
            paths.dedup();
            // The runners that would take them, were they online and not paused.
            let mut idle: Vec<&GlRunner> = runners.values().filter(|r| r.fits(&tags)).collect();
            idle.retain(|r| {
                jobs.iter()
                    .any(|(p, _)| serving.get(&p.id).is_some_and(|ids| ids.contains(&r.id)))
            });
            Waiting {
                message: message(jobs.len(), &tags, &idle),
                jobs: jobs.len() as u32,
                since: jobs
                    .iter()
                    .filter_map(|(_, j)| j.created_at)
                    .min_by_key(|t| t.0)
                    .map(Timestamp::from),
                projects: paths,
                tags,
            }
        })
        .collect();
    let mut shown: Vec<Runner> = runners
        .values()
        .map(|r| Runner {
            id: r.id,
            description: r.description.clone().unwrap_or_else(|| format!("runner {}", r.id)),
            kind: r
                .runner_type
                .as_deref()
                .map(|t| t.trim_end_matches("_type").to_owned())
                .unwrap_or_default(),
            // GitLab's word on a runner is kept a minute; one running a job is online.
            status: if r.is_paused() {
                "paused"
            } else if r.takes_jobs() || busy.contains(&r.id) {
                "online"
            } else {
                "offline"
            }
            .to_owned(),
            busy: busy.contains(&r.id),
            tags: r.tag_list.clone().unwrap_or_default(),
            run_untagged: r.run_untagged.unwrap_or(false),
            contacted_at: r.contacted_at.map(Timestamp::from),
        })
        .collect();
    // The ones that need a look first.
    shown.sort_by_key(|r| (r.status == "online", r.description.clone()));
    unknown.sort();
    Ok(Json(Runners {
        runners: shown,
        waiting,
        unknown,
    }))
}

/// "12 jobs pending, no online runner with tag `docker` (shared-docker-1, shared-docker-2
/// offline)".
fn message(jobs: usize, tags: &[String], fitting: &[&GlRunner]) -> String {
    let count = if jobs == 1 {
        "1 job pending".to_owned()
    } else {
        format!("{jobs} jobs pending")
    };
    let wanted = match tags {
        [] => "no online runner takes untagged jobs".to_owned(),
        [one] => format!("no online runner with tag `{one}`"),
        many => format!(
            "no online runner with tags {}",
            many.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
        ),
    };
    let name = |r: &&GlRunner| r.description.clone().unwrap_or_else(|| format!("runner {}", r.id));
    let paused: Vec<String> = fitting.iter().filter(|r| r.is_paused()).map(name).collect();
    let offline: Vec<String> = fitting.iter().filter(|r| !r.is_paused()).map(name).collect();
    let mut notes = Vec::new();
    if !offline.is_empty() {
        notes.push(format!("{} offline", offline.join(", ")));
    }
    if !paused.is_empty() {
        notes.push(format!("{} paused", paused.join(", ")));
    }
    if notes.is_empty() {
        format!("{count}, {wanted}")
    } else {
        format!("{count}, {wanted} ({})", notes.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(description: &str, tags: &[&str], online: bool, paused: bool) -> GlRunner {
        GlRunner {
            id: 1,
            description: Some(description.into()),
            paused: Some(paused),
            active: None,
            runner_type: Some("instance_type".into()),
            online: Some(online),
            status: None,
            tag_list: Some(tags.iter().map(|t| t.to_string()).collect()),
            contacted_at: None,
            run_untagged: Some(false),
        }
    }

    #[test]
    fn the_message_says_how_many_wait_for_what_and_why() {
        let docker = ["docker".to_owned()];
        let one = runner("shared-docker-1", &["docker"], false, false);
        let two = runner("shared-docker-2", &["docker"], false, false);
        assert_eq!(
            message(12, &docker, &[&one, &two]),
            "12 jobs pending, no online runner with tag `docker` (shared-docker-1, shared-docker-2 offline)"
        );
        assert_eq!(
            message(1, &docker, &[]),
            "1 job pending, no online runner with tag `docker`"
        );
        let mac = runner("macos-m2", &["macos"], true, true);
        assert_eq!(
            message(2, &["macos".into(), "arm64".into()], &[&mac]),
            "2 jobs pending, no online runner with tags `macos`, `arm64` (macos-m2 paused)"
        );
        assert_eq!(
            message(3, &[], &[]),
            "3 jobs pending, no online runner takes untagged jobs"
        );
    }

    #[test]
    fn a_runner_fits_a_job_by_every_tag_and_takes_it_only_online_and_unpaused() {
        let r = runner("r", &["docker", "linux"], true, false);
        assert!(r.fits(&["docker".into()]));
        assert!(r.fits(&["docker".into(), "linux".into()]));
        assert!(!r.fits(&["docker".into(), "gpu".into()]));
        assert!(!r.fits(&[]), "run_untagged is false");
        assert!(r.takes_jobs());
        assert!(!runner("r", &[], true, true).takes_jobs());
        assert!(!runner("r", &[], false, false).takes_jobs());
    }
}
