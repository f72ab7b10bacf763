//! The API reads a page makes as it opens. The front end builds these reads with the functions
//! here, and the server names the same reads in the page's `Link: …; rel=preload` header
//! ([`first_reads`]), so a browser starts them beside the app's own download rather than after
//! it: on a phone's network the page shows a round trip and the server's answer sooner.

/// The server's facts (demo mode, sign-in, who): read by every bundle but the wall's.
pub const INFO: &str = "/api/v1/info";
/// The overview's projects.
pub const OVERVIEW: &str = "/api/v1/overview";
/// The runners, and the jobs waiting for one (the overview's notice).
pub const RUNNERS: &str = "/api/v1/runners";
/// The environments grid.
pub const ENVIRONMENTS: &str = "/api/v1/environments";

pub fn pipeline(project: u64, pipeline: u64) -> String {
    format!("/api/v1/projects/{project}/pipelines/{pipeline}")
}

pub fn environment(project: u64, environment: u64) -> String {
    format!("/api/v1/projects/{project}/environments/{environment}")
}

pub fn job(project: u64, job: u64) -> String {
    format!("/api/v1/projects/{project}/jobs/{job}")
}

pub fn job_log(project: u64, job: u64, offset: u64) -> String {
    format!("/api/v1/projects/{project}/jobs/{job}/log?offset={offset}")
}

/// What the page at `path` (a URL's path) reads as it opens, exactly as its bundle asks for it;
/// nothing for a page whose first reads depend on more than its path (the wall's board, a
/// pipeline list's filters).
pub fn first_reads(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ids = |a: &str, b: &str| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?));
    let own = match segments.as_slice() {
        [""] => vec![OVERVIEW.to_owned()],
        ["environments"] => vec![ENVIRONMENTS.to_owned()],
        ["runners"] => vec![RUNNERS.to_owned()],
        ["projects", p, "pipelines", q] => ids(p, q).map(|(p, q)| vec![pipeline(p, q)]).unwrap_or_default(),
        ["projects", p, "environments", e] => ids(p, e).map(|(p, e)| vec![environment(p, e)]).unwrap_or_default(),
        ["projects", p, "jobs", j] => ids(p, j)
            .map(|(p, j)| vec![job_log(p, j, 0), job(p, j)])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if crate::Bundle::of(path) == crate::Bundle::Wall {
        return own;
    }
    std::iter::once(INFO.to_owned()).chain(own).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_names_the_reads_its_bundle_makes_first() {
        assert_eq!(first_reads("/"), [INFO, OVERVIEW]);
        assert_eq!(first_reads("/runners"), [INFO, RUNNERS]);
        assert_eq!(first_reads("/environments"), [INFO, ENVIRONMENTS]);
        assert_eq!(
            first_reads("/projects/1/pipelines/5"),
            [INFO, "/api/v1/projects/1/pipelines/5"]
        );
        assert_eq!(
            first_reads("/projects/1/environments/7/"),
            [INFO, "/api/v1/projects/1/environments/7"]
        );
        assert_eq!(
            first_reads("/projects/2/jobs/9"),
            [
                INFO,
                "/api/v1/projects/2/jobs/9/log?offset=0",
                "/api/v1/projects/2/jobs/9"
            ]
        );
        // Only the server's facts where the path does not say what the page reads.
        assert_eq!(first_reads("/projects/1/pipelines"), [INFO]);
        assert_eq!(first_reads("/projects/x/pipelines/5"), [INFO]);
        assert_eq!(first_reads("/audit"), [INFO]);
        assert!(first_reads("/wall/payments").is_empty());
    }
}
