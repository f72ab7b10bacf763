//! Which front-end bundle serves a page. The app is built as four bundles
//! (`scripts/build-frontend`), so each page downloads only what it shows: the team pages, the
//! job log viewer (its parser and virtual list are a tenth of the whole), the admin pages, and
//! the wall (small enough for the cheap computer behind a TV).
//! The server and every bundle read the same map: the server serves each page its bundle, and a
//! bundle asked for another's page loads it.

/// A front-end bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// Overview, pipelines, pipeline, environments (`frontend/index.html`, in `dist/`).
    Team,
    /// A job's log (`frontend/log.html`, in `dist/log/`).
    Log,
    /// The audit log and the kiosk screens (`frontend/admin.html`, in `dist/admin/`).
    Admin,
    /// The wall screen (`frontend/wall.html`, in `dist/wall/`): small enough for the cheap
    /// computer behind a TV.
    Wall,
}

impl Bundle {
    /// Its directory under `dist/` (the team app's is `dist/` itself).
    pub fn dir(self) -> &'static str {
        match self {
            Bundle::Team => "",
            Bundle::Log => "log/",
            Bundle::Admin => "admin/",
            Bundle::Wall => "wall/",
        }
    }

    /// The bundle that shows the page at `path` (a URL's path).
    pub fn of(path: &str) -> Bundle {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["audit", ..] | ["kiosk"] => Bundle::Admin,
            ["wall"] | ["wall", _] => Bundle::Wall,
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
        assert_eq!(Bundle::of("/kiosk"), Bundle::Admin);
        assert_eq!(Bundle::of("/wall"), Bundle::Wall);
        assert_eq!(Bundle::of("/wall/payments"), Bundle::Wall);
        assert_eq!(Bundle::of("/wall/payments/x"), Bundle::Team);
    }
}
