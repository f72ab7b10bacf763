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
    use futures::StreamExt;
    let projects = state.readable_projects(&reader).await?;
    let gitlab = state.gitlab();
    // The jobs waiting or running of the projects with a pipeline not finished, as the hub
    // last saw them: an idle organisation costs GitLab nothing here, and a busy one a read per
    // project and change (a few at a time: GitLab limits this list to 600 a minute).
    let unfinished = state.hub().unfinished();
    let by_id: HashMap<u64, &GlProject> = projects.iter().map(|p| (p.id, p)).collect();
    // By id, so that the futures borrow nothing but GitLab (a handler's future must be `Send`
    // for any lifetime).
    let ids: Vec<u64> = projects
        .iter()
        .map(|p| p.id)
        .filter(|id| unfinished.contains(id))
        .collect();
    let answers: Vec<(u64, _)> = futures::stream::iter(ids)
        .map(|id| async move { (id, gitlab.active_jobs(id).await) })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut pending: Vec<(&GlProject, GlJob)> = Vec::new();
    let mut busy: HashSet<u64> = HashSet::new();
    let mut involved: Vec<u64> = Vec::new();
    for (id, answer) in answers {
        let (Some(project), Ok(jobs)) = (by_id.get(&id).copied(), answer) else {
            continue;
        };
        if !jobs.is_empty() {
            involved.push(id);
        }
        for job in jobs {
            match job.status {
                Status::Pending => pending.push((project, job)),
                Status::Running => busy.extend(job.runner.as_ref().map(|r| r.id)),
                _ => {}
            }
        }
    }
    let lists: Vec<(u64, _)> = futures::stream::iter(involved)
        .map(|id| async move { (id, gitlab.project_runners(id).await) })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut serving: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut listed: BTreeMap<u64, GlRunner> = BTreeMap::new();
    let mut unknown = Vec::new();
    for (id, answer) in lists {
        match answer {
            Ok(runners) => {
                serving.insert(id, runners.iter().map(|r| r.id).collect());
                for runner in runners {
                    listed.entry(runner.id).or_insert(runner);
                }
            }
            // A token below Maintainer gets 403 here; the others' waiting jobs still show.
            Err(_) => unknown.extend(by_id.get(&id).map(|p| p.path_with_namespace.clone())),
        }
    }
    // The selected groups' runners serve their projects whether or not jobs run: one read per
    // group, for a reader who may read every watched project (a person limited to some, or a
    // kiosk screen, sees only the runners of the projects above).
    if reader.only().is_none() {
        let groups = state.selection().groups.clone();
        let answers: Vec<_> = futures::stream::iter(groups)
            .map(|g| async move { gitlab.group_runners(&g).await })
            .buffer_unordered(4)
            .collect()
            .await;
        for runner in answers.into_iter().flatten().flatten() {
            listed.entry(runner.id).or_insert(runner);
        }
    }
    // The details (tags, last contact); the list's entry where GitLab will not give them.
    let runner_ids: Vec<u64> = listed.keys().copied().collect();
    let details: Vec<(u64, _)> = futures::stream::iter(runner_ids)
        .map(|id| async move { (id, gitlab.runner(id).await) })
        .buffer_unordered(4)
        .collect()
        .await;
    let runners: BTreeMap<u64, GlRunner> = details
        .into_iter()
        .filter_map(|(id, answer)| answer.ok().or_else(|| listed.get(&id).cloned()))
        .map(|r| (r.id, r))
        .collect();
    // Where anyone may read, a group's or project's runner is named by its kind alone: GitLab
    // shows those to the project's Maintainers.
    let public = state.access() == crate::access::Access::Public;
    let named = |r: &GlRunner| {
        let shared = r.runner_type.as_deref() == Some("instance_type");
        match &r.description {
            Some(d) if shared || !public => d.clone(),
            _ => format!(
                "{} runner {}",
                r.runner_type.as_deref().unwrap_or("a").trim_end_matches("_type"),
                r.id
            ),
        }
    };

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
                message: message(
                    jobs.len(),
                    &tags,
                    &idle.iter().map(|r| (named(r), r.is_paused())).collect::<Vec<_>>(),
                ),
                jobs: jobs.len() as u32,
                // Queued for `queued_duration` so far (a manual job played later was created
                // long before).
                since: jobs
                    .iter()
                    .filter_map(|(_, j)| match j.queued_duration {
                        Some(s) => Some(chrono::Utc::now() - chrono::Duration::milliseconds((s * 1000.0) as i64)),
                        None => j.created_at.map(|t| t.0),
                    })
                    .min()
                    .map(Timestamp),
                projects: paths,
                tags,
            }
        })
        .collect();
    let mut shown: Vec<Runner> = runners
        .values()
        .map(|r| Runner {
            id: r.id,
            description: named(r),
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
fn message(jobs: usize, tags: &[String], fitting: &[(String, bool)]) -> String {
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
    let paused: Vec<String> = fitting.iter().filter(|(_, p)| *p).map(|(n, _)| n.clone()).collect();
    let offline: Vec<String> = fitting.iter().filter(|(_, p)| !*p).map(|(n, _)| n.clone()).collect();
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
        let one = ("shared-docker-1".to_owned(), false);
        let two = ("shared-docker-2".to_owned(), false);
        assert_eq!(
            message(12, &docker, &[one, two]),
            "12 jobs pending, no online runner with tag `docker` (shared-docker-1, shared-docker-2 offline)"
        );
        assert_eq!(
            message(1, &docker, &[]),
            "1 job pending, no online runner with tag `docker`"
        );
        let mac = ("macos-m2".to_owned(), true);
        assert_eq!(
            message(2, &["macos".into(), "arm64".into()], &[mac]),
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
        let unknown = GlRunner {
            tag_list: None,
            run_untagged: None,
            ..r.clone()
        };
        assert!(
            unknown.fits(&["gpu".into()]) && unknown.fits(&[]),
            "without its details, it may"
        );
        assert!(r.takes_jobs());
        assert!(!runner("r", &[], true, true).takes_jobs());
        assert!(!runner("r", &[], false, false).takes_jobs());
    }
}
