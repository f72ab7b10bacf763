//! Which front-end bundle serves a page. The app is built as three bundles
//! (`scripts/build-frontend`), so each page downloads only what it shows: the team pages, the
//! job log viewer (its parser and virtual list are a tenth of the whole), and the admin pages.
//! The server and every bundle read the same map: the server serves each page its bundle, and a
//! bundle asked for another's page loads it.

/// A front-end bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// Overview, pipelines, pipeline, environments (`frontend/index.html`, in `dist/`).
    Team,
    /// A job's log (`frontend/log.html`, in `dist/log/`).
    Log,
    /// The audit log (`frontend/admin.html`, in `dist/admin/`).
    Admin,
}

impl Bundle {
    /// Its directory under `dist/` (the team app's is `dist/` itself).
    pub fn dir(self) -> &'static str {
        match self {
            Bundle::Team => "",
            Bundle::Log => "log/",
            Bundle::Admin => "admin/",
        }
    }

    /// The bundle that shows the page at `path` (a URL's path).
    pub fn of(path: &str) -> Bundle {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["audit", ..] => Bundle::Admin,
            ["projects", _, "jobs", _] => Bundle::Log,
            _ => Bundle::Team,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_has_its_bundle() {
        assert_eq!(Bundle::of("/"), Bundle::Team);
        assert_eq!(Bundle::of("/projects/1/pipelines/5"), Bundle::Team);
        assert_eq!(Bundle::of("/projects/1/jobs/5"), Bundle::Log);
        assert_eq!(Bundle::of("/projects/1/jobs/5/"), Bundle::Log);
        assert_eq!(Bundle::of("/projects/1/jobs"), Bundle::Team);
        assert_eq!(Bundle::of("/audit"), Bundle::Admin);
        assert_eq!(Bundle::of("/audit/anything"), Bundle::Admin);
        assert_eq!(Bundle::of("/auditor"), Bundle::Team);
    }
}
