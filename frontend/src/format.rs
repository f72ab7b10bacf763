//! View logic without a browser: durations, relative times, job groups, orderings. Unit-tested
//! natively.

use chrono::{DateTime, Utc};
use stageboard_protocol::{Job, ProjectOverview, Status};

/// `42s`, `3m 05s`, `1h 02m`.
pub fn duration(secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs / 60 % 60),
    }
}

/// `url` when it is a web address (http or https), which may become a link; anything else that
/// GitLab's data carries (`javascript:`, `data:`, a bare word) is shown as text only.
pub fn web_link(url: &str) -> Option<&str> {
    let scheme = url.split_once("://").map(|(s, _)| s)?;
    (scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")).then_some(url)
}

/// `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`.
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    span((now - then).num_seconds()).map_or_else(|| "just now".into(), |s| format!("{s} ago"))
}

/// How long until a moment to come, in words: "in 3 hours" (for auto-stop times).
pub fn until(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    span((then - now).num_seconds()).map_or_else(|| "now".into(), |s| format!("in {s}"))
}

fn span(secs: i64) -> Option<String> {
    let (n, unit) = match secs {
        ..=44 => return None,
        45..=3599 => ((secs + 30) / 60, "minute"),
        3600..=86_399 => ((secs + 1800) / 3600, "hour"),
        _ => ((secs + 43_200) / 86_400, "day"),
    };
    let n = n.max(1);
    Some(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
}

/// A watched default branch that turned red, or green again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub project: String,
    pub branch: String,
    pub red: bool,
    /// Who broke it (red only).
    pub by: Option<String>,
}

/// What turned since the last look: `known` is each project's default branch as last seen
/// (red or not), updated here. A running or canceled pipeline changes nothing (a red branch
/// stays red until a pipeline passes); a project seen for the first time is not news.
pub fn turns(known: &mut Vec<(u64, bool)>, cards: &[ProjectOverview]) -> Vec<Turn> {
    let mut turned = Vec::new();
    for card in cards {
        let Some(latest) = &card.latest else { continue };
        let red = match latest.status {
            Status::Failed => true,
            Status::Success => false,
            _ => continue,
        };
        let id = card.project.id;
        match known.iter_mut().find(|(p, _)| *p == id) {
            Some((_, was)) if *was != red => {
                *was = red;
                turned.push(Turn {
                    project: card.project.name.clone(),
                    branch: latest.git_ref.clone(),
                    red,
                    by: red
                        .then(|| {
                            card.broken_since
                                .as_ref()
                                .and_then(|b| b.user.as_ref().map(|u| u.name.clone()))
                                .or_else(|| latest.user.as_ref().map(|u| u.name.clone()))
                        })
                        .flatten(),
                });
            }
            Some(_) => {}
            None => known.push((id, red)),
        }
    }
    turned
}

/// How long a span is, in the fewest words a wall shows: `5 min`, `3 h`, `2 d` (`now` under a
/// minute).
pub fn short_span(secs: i64) -> String {
    match secs {
        ..=59 => "now".into(),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

/// Tiles are about this many times as wide as tall at their best.
const TILE_ASPECT: f64 = 2.0;

/// Columns and rows that give `n` tiles the largest size on a `width` × `height` area: a
/// tile's size is what it can use of its cell at [`TILE_ASPECT`], so neither a row of slivers
/// nor a column of strips wins.
pub fn fit(n: usize, width: f64, height: f64) -> (usize, usize) {
    let n = n.max(1);
    let mut best = (1, n, f64::MIN);
    for columns in 1..=n {
        let rows = n.div_ceil(columns);
        let (w, h) = (width / columns as f64, height / rows as f64);
        let size = w.min(h * TILE_ASPECT);
        if size > best.2 {
            best = (columns, rows, size);
        }
    }
    (best.0, best.1)
}

/// The group of a job: GitLab groups `rspec 1/3` .. `rspec 3/3` (and `build [linux]`) as `rspec`.
pub fn group_name(name: &str) -> &str {
    if let Some((base, last)) = name.rsplit_once(' ')
        && let Some((a, b)) = last.split_once('/')
        && let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>())
        && (1..=b).contains(&a)
    {
        return base;
    }
    if let Some(open) = name.find(" [")
        && name.ends_with(']')
    {
        return &name[..open];
    }
    name
}

/// Jobs of a stage as GitLab's graph shows them: current attempts only, parallel jobs in one group,
/// groups in the order their first job appears. Returns (group name, jobs, attempts per job).
pub fn job_groups(jobs: &[Job]) -> Vec<(String, Vec<Job>)> {
    let mut groups: Vec<(String, Vec<Job>)> = Vec::new();
    for job in jobs.iter().filter(|j| !j.retried) {
        let name = group_name(&job.name);
        match groups.iter_mut().find(|(g, _)| g == name) {
            Some((_, members)) => members.push(job.clone()),
            None => groups.push((name.to_owned(), vec![job.clone()])),
        }
    }
    groups
}

/// The worst status of several (a group, a stage), by GitLab's order.
pub fn worst<'a>(statuses: impl IntoIterator<Item = &'a Status>) -> Status {
    statuses
        .into_iter()
        .max_by_key(|s| s.severity())
        .cloned()
        .unwrap_or(Status::Created)
}

/// How the overview is ordered; the choice is remembered in the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    FailuresFirst,
    Name,
    Recent,
}

impl Order {
    pub const ALL: [Order; 3] = [Order::FailuresFirst, Order::Name, Order::Recent];

    pub fn key(self) -> &'static str {
        match self {
            Order::FailuresFirst => "failures",
            Order::Name => "name",
            Order::Recent => "recent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Order::FailuresFirst => "Failures first",
            Order::Name => "Name",
            Order::Recent => "Most recent",
        }
    }

    pub fn from_key(key: &str) -> Order {
        Order::ALL
            .into_iter()
            .find(|o| o.key() == key)
            .unwrap_or(Order::FailuresFirst)
    }

    pub fn sort(self, cards: &mut [ProjectOverview]) {
        let rank = |c: &ProjectOverview| match c.latest.as_ref().map(|p| &p.status) {
            _ if c.error.is_some() => 0,
            Some(Status::Failed) => 1,
            Some(s) if s.is_active() => 2,
            Some(Status::Canceled) => 3,
            _ => 4,
        };
        let updated = |c: &ProjectOverview| c.latest.as_ref().and_then(|p| p.updated_at);
        let by_name = |a: &ProjectOverview, b: &ProjectOverview| {
            let name = |c: &ProjectOverview| c.project.name.to_ascii_lowercase();
            name(a).cmp(&name(b))
        };
        // One sort call with the order chosen inside: each `sort_by` instance costs the wasm ~2 KB.
        cards.sort_by(|a, b| match self {
            Order::FailuresFirst => rank(a)
                .cmp(&rank(b))
                .then(updated(b).cmp(&updated(a)))
                .then(by_name(a, b)),
            Order::Name => by_name(a, b),
            Order::Recent => updated(b).cmp(&updated(a)),
        })
    }
}

/// Positions on a timeline: (queued from, started, finished) as fractions of the pipeline's span.
pub fn waterfall(jobs: &[Job], now: DateTime<Utc>) -> Vec<(Job, f64, f64, f64)> {
    let mut timed: Vec<&Job> = jobs.iter().filter(|j| j.started_at.is_some()).collect();
    timed.sort_by_key(|j| (j.started_at, j.id));
    let queued_at = |j: &Job| {
        let start = *j.started_at.expect("timed");
        start - chrono::Duration::milliseconds((j.queued_duration.unwrap_or(0.0) * 1000.0) as i64)
    };
    let Some(begin) = timed.iter().map(|j| queued_at(j)).min() else {
        return Vec::new();
    };
    let end = timed
        .iter()
        .map(|j| j.finished_at.map_or(now, |t| *t))
        .max()
        .unwrap_or(now);
    let span = ((end - begin).num_milliseconds() as f64).max(1.0);
    let at = |t: DateTime<Utc>| ((t - begin).num_milliseconds() as f64 / span).clamp(0.0, 1.0);
    timed
        .into_iter()
        .map(|j| {
            (
                j.clone(),
                at(queued_at(j)),
                at(*j.started_at.expect("timed")),
                at(j.finished_at.map_or(now, |t| *t)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_fill_the_screen_in_rows_and_columns() {
        assert_eq!(fit(1, 1920.0, 1080.0), (1, 1));
        assert_eq!(fit(2, 1920.0, 1080.0), (1, 2), "two wide tiles, one above the other");
        assert_eq!(fit(4, 1920.0, 1080.0), (2, 2));
        assert_eq!(fit(12, 1920.0, 1080.0), (3, 4));
        for n in 1..=60 {
            for (w, h) in [(1280.0, 720.0), (1920.0, 1080.0), (3840.0, 2160.0), (1080.0, 1920.0)] {
                let (columns, rows) = fit(n, w, h);
                assert!(columns * rows >= n, "{n} tiles fit in {columns}×{rows}");
                assert!(columns * rows - n < columns, "no empty row: {n} in {columns}×{rows}");
            }
        }
        assert_eq!(fit(0, 1280.0, 720.0), (1, 1), "nothing to show is one cell");
    }

    #[test]
    fn a_branch_turning_red_or_green_again_is_news_once() {
        let card = |id: u64, status: Status| -> ProjectOverview {
            serde_json::from_value(serde_json::json!({
                "project": {"id": id, "name": format!("p{id}"), "path_with_namespace": format!("g/p{id}"),
                    "description": null, "default_branch": "main", "web_url": "https://gitlab.example/g"},
                "latest": {"id": 1, "iid": 1, "project_id": id, "status": status.as_str(), "ref": "main",
                    "tag": false, "sha": "abc", "source": "push", "name": null, "created_at": null,
                    "updated_at": null, "started_at": null, "finished_at": null, "duration": null,
                    "queued_duration": null, "user": {"id": 3, "username": "b", "name": "Bruno", "avatar_url": null},
                    "commit": null, "web_url": "https://gitlab.example/g/-/pipelines/1"},
                "broken_since": null, "other_refs": [], "error": null
            }))
            .unwrap()
        };
        let mut known = Vec::new();
        assert!(
            turns(&mut known, &[card(1, Status::Success), card(2, Status::Failed)]).is_empty(),
            "first look"
        );
        let turned = turns(&mut known, &[card(1, Status::Failed), card(2, Status::Failed)]);
        assert_eq!(
            turned,
            [Turn {
                project: "p1".into(),
                branch: "main".into(),
                red: true,
                by: Some("Bruno".into())
            }]
        );
        assert!(
            turns(&mut known, &[card(1, Status::Running)]).is_empty(),
            "running changes nothing"
        );
        assert!(
            turns(&mut known, &[card(1, Status::Failed)]).is_empty(),
            "still red is not news"
        );
        let green = turns(&mut known, &[card(1, Status::Success), card(2, Status::Success)]);
        assert_eq!(
            green.iter().map(|t| (t.project.as_str(), t.red)).collect::<Vec<_>>(),
            [("p1", false), ("p2", false)]
        );
    }

    #[test]
    fn spans_are_short_for_a_wall() {
        assert_eq!(short_span(30), "now");
        assert_eq!(short_span(150), "2 min");
        assert_eq!(short_span(7300), "2 h");
        assert_eq!(short_span(200_000), "2 d");
    }

    #[test]
    fn only_web_addresses_become_links() {
        for url in [
            "https://dev.example.com",
            "HTTP://dev.example.com/a?b=c",
            "http://10.0.0.1:8080",
        ] {
            assert_eq!(web_link(url), Some(url));
        }
        for url in [
            "javascript:alert(document.domain)",
            "JavaScript://%0aalert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "//evil.example.com",
            "dev.example.com",
            "",
        ] {
            assert_eq!(web_link(url), None, "{url}");
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn job(id: u64, name: &str, status: &str, retried: bool) -> Job {
        Job {
            id,
            name: name.into(),
            stage: "test".into(),
            status: status.into(),
            pipeline_id: 1,
            git_ref: "main".into(),
            allow_failure: false,
            retried,
            created_at: None,
            started_at: None,
            finished_at: None,
            duration: None,
            queued_duration: None,
            failure_reason: None,
            needs: vec![],
            user: None,
            web_url: String::new(),
            environment: None,
            refused: None,
        }
    }

    #[test]
    fn durations_read_like_gitlab() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(185.0), "3m 05s");
        assert_eq!(duration(3725.0), "1h 02m");
        assert_eq!(duration(-3.0), "0s");
    }

    #[test]
    fn relative_times() {
        let now = t("2026-01-02T12:00:00Z");
        assert_eq!(ago(t("2026-01-02T11:59:50Z"), now), "just now");
        assert_eq!(ago(t("2026-01-02T11:59:00Z"), now), "1 minute ago");
        assert_eq!(ago(t("2026-01-02T11:35:00Z"), now), "25 minutes ago");
        assert_eq!(ago(t("2026-01-02T09:00:00Z"), now), "3 hours ago");
        assert_eq!(ago(t("2025-12-30T12:00:00Z"), now), "3 days ago");
        assert_eq!(
            ago(t("2026-01-03T12:00:00Z"), now),
            "just now",
            "clock skew is not the future"
        );
    }

    #[test]
    fn parallel_jobs_form_one_group_and_retried_attempts_hide() {
        assert_eq!(group_name("rspec 2/3"), "rspec");
        assert_eq!(group_name("build [linux, amd64]"), "build");
        assert_eq!(group_name("deploy 2024/05"), "deploy 2024/05");
        assert_eq!(group_name("compile"), "compile");
        let jobs = [
            job(1, "rspec 1/3", "success", false),
            job(2, "lint", "failed", true),
            job(3, "rspec 2/3", "failed", false),
            job(4, "rspec 3/3", "running", false),
            job(5, "lint", "success", false),
        ];
        let groups = job_groups(&jobs);
        let shape: Vec<(&str, usize)> = groups.iter().map(|(n, j)| (n.as_str(), j.len())).collect();
        assert_eq!(shape, [("rspec", 3), ("lint", 1)]);
        assert_eq!(groups[1].1[0].id, 5);
        assert_eq!(worst(groups[0].1.iter().map(|j| &j.status)), Status::Failed);
    }

    #[test]
    fn the_waterfall_spans_the_pipeline() {
        let mut a = job(1, "a", "success", false);
        a.started_at = Some(t("2026-01-01T00:00:10Z").into());
        a.finished_at = Some(t("2026-01-01T00:00:20Z").into());
        a.queued_duration = Some(10.0);
        let mut b = job(2, "b", "running", false);
        b.started_at = Some(t("2026-01-01T00:00:20Z").into());
        let bars = waterfall(&[b, a, job(3, "c", "created", false)], t("2026-01-01T00:00:40Z"));
        let shape: Vec<(&str, f64, f64, f64)> = bars.iter().map(|(j, q, s, e)| (j.name.as_str(), *q, *s, *e)).collect();
        assert_eq!(shape, [("a", 0.0, 0.25, 0.5), ("b", 0.5, 0.5, 1.0)]);
    }
}
