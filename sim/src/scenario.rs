//! The reference story: the projects, their `.gitlab-ci.yml` as data, the people who push to them,
//! and what goes wrong how often.

use std::borrow::Cow;
use std::sync::Arc;

/// Which refs a job runs for (`only:` in the tutorial's `.gitlab-ci.yml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refs {
    All,
    Branches,
    Tags,
}

#[derive(Debug, Clone, Copy)]
pub enum JobKind {
    Script,
    /// A trigger job starting a child pipeline of the same project (`strategy: depend`).
    Trigger(&'static PipelineDef),
}

#[derive(Debug, Clone, Copy)]
pub struct JobDef {
    pub name: &'static str,
    pub stage: &'static str,
    /// `needs:`; `None` means the job waits for every earlier stage.
    pub needs: Option<&'static [&'static str]>,
    pub manual: bool,
    pub allow_failure: bool,
    pub refs: Refs,
    /// How long the script runs, in seconds (min, max).
    pub duration: (u32, u32),
    /// `parallel: N` expands into jobs named `name 1/N` .. `name N/N`.
    pub parallel: u8,
    pub image: &'static str,
    pub script: &'static [&'static str],
    pub kind: JobKind,
    /// `environment:` of a deploy or stop job.
    pub environment: Option<EnvironmentDef>,
    /// `tags:`: only a runner with every one of them picks the job up.
    pub tags: &'static [&'static str],
}

/// An environment a job deploys to (or stops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvironmentDef {
    /// The environment on the default branch (and on tags).
    pub name: &'static str,
    /// On other branches, deploy to `review/<branch>` instead (a folder of review apps).
    pub per_branch: bool,
    /// Runs to stop it (`on_stop:`), a manual job of the same pipeline.
    pub on_stop: Option<&'static str>,
    /// `action: stop`: this job stops the environment rather than deploying to it.
    pub stops: bool,
    /// GitLab's deployment tier: production, staging, testing, development or other.
    pub tier: &'static str,
    pub url: &'static str,
}

impl JobDef {
    const fn new(name: &'static str, stage: &'static str) -> Self {
        JobDef {
            name,
            stage,
            needs: None,
            manual: false,
            allow_failure: false,
            refs: Refs::All,
            duration: (20, 60),
            parallel: 1,
            image: "alpine:3.20",
            script: &[],
            kind: JobKind::Script,
            environment: None,
            tags: &[],
        }
    }
    const fn tags(mut self, tags: &'static [&'static str]) -> Self {
        self.tags = tags;
        self
    }
    const fn needs(mut self, needs: &'static [&'static str]) -> Self {
        self.needs = Some(needs);
        self
    }
    const fn manual(mut self) -> Self {
        self.manual = true;
        self.allow_failure = true;
        self
    }
    const fn refs(mut self, refs: Refs) -> Self {
        self.refs = refs;
        self
    }
    const fn runs(mut self, min: u32, max: u32) -> Self {
        self.duration = (min, max);
        self
    }
    const fn parallel(mut self, n: u8) -> Self {
        self.parallel = n;
        self
    }
    const fn image(mut self, image: &'static str) -> Self {
        self.image = image;
        self
    }
    const fn script(mut self, script: &'static [&'static str]) -> Self {
        self.script = script;
        self
    }
    const fn environment(mut self, name: &'static str, tier: &'static str, url: &'static str) -> Self {
        self.environment = Some(EnvironmentDef {
            name,
            per_branch: false,
            on_stop: None,
            stops: false,
            tier,
            url,
        });
        self
    }
    /// A review app: `name` on the default branch, `review/<branch>` elsewhere, stopped by `on_stop`.
    const fn review_environment(mut self, name: &'static str, url: &'static str, on_stop: &'static str) -> Self {
        self.environment = Some(EnvironmentDef {
            name,
            per_branch: true,
            on_stop: Some(on_stop),
            stops: false,
            tier: "development",
            url,
        });
        self
    }
    const fn stops_environment(mut self, name: &'static str, url: &'static str) -> Self {
        self.environment = Some(EnvironmentDef {
            name,
            per_branch: true,
            on_stop: None,
            stops: true,
            tier: "development",
            url,
        });
        self
    }
    const fn trigger(mut self, child: &'static PipelineDef) -> Self {
        self.kind = JobKind::Trigger(child);
        self
    }
}

#[derive(Debug)]
pub struct PipelineDef {
    pub stages: &'static [&'static str],
    pub jobs: &'static [JobDef],
}

/// What goes wrong in one pipeline, decided when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Green,
    /// The tutorial's classic: `docker login` is refused, then the registry's certificate is
    /// not trusted; once both are fixed, a retry succeeds.
    RegistryLogin,
    /// A flaky test fails once; its retry passes.
    Flaky(&'static str),
    /// deploy_review runs without a connected cluster.
    NoCluster,
    /// The code does not compile (fixed by the next push).
    CompileError(&'static str),
}

/// Why a job's log ends the way it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    DockerUnauthorized,
    DockerX509,
    TestAssertion,
    NoCluster,
    Compile,
    /// A deployment waiting for approval was rejected: the job fails without running.
    DeploymentRejected,
}

impl Fate {
    /// The outcome of attempt `attempt` (1-based) of job `name` in a pipeline with this fate.
    pub fn failure_of(self, name: &str, attempt: u32) -> Option<Failure> {
        match self {
            Fate::Green => None,
            Fate::RegistryLogin if name == "image_build" => match attempt {
                1 => Some(Failure::DockerUnauthorized),
                2 => Some(Failure::DockerX509),
                _ => None,
            },
            Fate::Flaky(job) if name == job && attempt == 1 => Some(Failure::TestAssertion),
            Fate::NoCluster if name == "deploy_review" && attempt == 1 => Some(Failure::NoCluster),
            Fate::CompileError(job) if name == job => Some(Failure::Compile),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectDef {
    pub id: u64,
    pub name: Cow<'static, str>,
    pub path: Cow<'static, str>,
    pub group: &'static GroupDef,
    pub description: &'static str,
    pub pipeline: &'static PipelineDef,
    /// Branches people push to besides the default one.
    pub branches: &'static [&'static str],
    /// Possible fates, with weights.
    pub fates: &'static [(Fate, u32)],
    pub created_at: Cow<'static, str>,
    /// GitLab's topics (`topics`, and the older `tag_list`).
    pub topics: Cow<'static, [Cow<'static, str>]>,
    /// Archived (`POST /projects/:id/archive`): read-only, left out of lists asking
    /// `archived=false`.
    pub archived: bool,
    /// Deleted (`DELETE /projects/:id`): gone from every answer; the world keeps its records.
    pub deleted: bool,
}

impl ProjectDef {
    pub fn full_path(&self) -> String {
        format!("{}/{}", self.group.full_path, self.path)
    }
}

#[derive(Debug)]
pub struct GroupDef {
    pub id: u64,
    pub name: &'static str,
    pub full_path: &'static str,
    pub parent: Option<&'static GroupDef>,
}

pub static GROUP_DEMO: GroupDef = GroupDef {
    id: 10,
    name: "Demo",
    full_path: "demo",
    parent: None,
};
pub static GROUP_PLATFORM: GroupDef = GroupDef {
    id: 20,
    name: "Platform",
    full_path: "platform",
    parent: None,
};
pub static GROUP_PLATFORM_WEB: GroupDef = GroupDef {
    id: 21,
    name: "Web",
    full_path: "platform/web",
    parent: Some(&GROUP_PLATFORM),
};
pub static GROUPS: [&GroupDef; 3] = [&GROUP_DEMO, &GROUP_PLATFORM, &GROUP_PLATFORM_WEB];

/// `gitlab-k8s-demo`'s `.gitlab-ci.yml`, as in the tutorial.
static K8S_DEMO: PipelineDef = PipelineDef {
    stages: &["test", "build", "release", "review", "deploy"],
    jobs: &[
        JobDef::new("test", "test")
            .image("golang:1.22")
            .runs(25, 50)
            .script(&["go test ./..."]),
        JobDef::new("test2", "test")
            .image("golang:1.22")
            .runs(15, 40)
            .script(&["go vet ./...", "go test -race ./..."]),
        JobDef::new("compile", "build")
            .image("golang:1.22")
            .runs(40, 80)
            .script(&["go build -race -ldflags \"-extldflags '-static'\" -o app"]),
        JobDef::new("image_build", "release")
            .tags(&["docker"])
            .image("docker:27")
            .runs(60, 120)
            .script(&[
                "docker login -u gitlab-ci-token -p $CI_JOB_TOKEN registry.example.com",
                "docker build -t registry.example.com/demo/gitlab-k8s-demo:$CI_COMMIT_SHORT_SHA .",
                "docker push registry.example.com/demo/gitlab-k8s-demo:$CI_COMMIT_SHORT_SHA",
            ]),
        JobDef::new("deploy_review", "review")
            .tags(&["kubernetes"])
            .review_environment("dev", "https://dev-gitlab-k8s-demo.example.com", "stop_review")
            .image("bitnami/kubectl:1.31")
            .refs(Refs::Branches)
            .runs(30, 70)
            .script(&[
                "kubectl apply -f manifests/",
                "kubectl rollout status -n gitlab deployment/gitlab-k8s-demo-$CI_ENVIRONMENT_SLUG",
            ]),
        JobDef::new("stop_review", "review")
            .tags(&["kubernetes"])
            .stops_environment("dev", "https://dev-gitlab-k8s-demo.example.com")
            .image("bitnami/kubectl:1.31")
            .refs(Refs::Branches)
            .manual()
            .runs(8, 15)
            .script(&["kubectl delete all,ing -l ref=$CI_ENVIRONMENT_SLUG -n gitlab"]),
        JobDef::new("deploy_live", "deploy")
            .tags(&["kubernetes"])
            .environment("live", "production", "https://gitlab-k8s-demo.example.com")
            .image("bitnami/kubectl:1.31")
            .refs(Refs::Tags)
            .manual()
            .runs(30, 70)
            .script(&[
                "kubectl apply -f manifests/",
                "kubectl rollout status -n gitlab deployment/gitlab-k8s-demo-live",
            ]),
    ],
};

/// A service whose jobs use `needs`, so jobs start before their stage would let them.
static PAYMENTS: PipelineDef = PipelineDef {
    stages: &["build", "test", "package", "deploy"],
    jobs: &[
        JobDef::new("build-api", "build")
            .image("rust:1.95")
            .runs(50, 90)
            .script(&["cargo build --release -p payments-api"]),
        JobDef::new("build-worker", "build")
            .image("rust:1.95")
            .runs(90, 150)
            .script(&["cargo build --release -p payments-worker"]),
        JobDef::new("lint", "test")
            .image("rust:1.95")
            .needs(&[])
            .runs(20, 40)
            .script(&["cargo clippy --all-targets -- -D warnings"]),
        JobDef::new("rspec", "test")
            .image("ruby:3.3")
            .needs(&["build-api"])
            .parallel(3)
            .runs(30, 70)
            .script(&["bundle exec rspec --format progress"]),
        JobDef::new("unit-worker", "test")
            .image("rust:1.95")
            .needs(&["build-worker"])
            .runs(20, 45)
            .script(&["cargo test -p payments-worker"]),
        JobDef::new("integration", "test")
            .image("rust:1.95")
            .needs(&["build-api", "build-worker"])
            .runs(120, 200)
            .script(&["docker compose up -d postgres", "cargo test --test integration"]),
        JobDef::new("package-api", "package")
            .tags(&["docker"])
            .image("docker:27")
            .needs(&["rspec"])
            .runs(30, 50)
            .script(&["docker build -t payments-api ."]),
        JobDef::new("deploy-staging", "deploy")
            .tags(&["kubernetes"])
            .environment("staging", "staging", "https://staging.payments.example.com")
            .image("bitnami/kubectl:1.31")
            .needs(&["package-api", "integration"])
            .refs(Refs::Branches)
            .runs(20, 40)
            .script(&["kubectl apply -k overlays/staging"]),
        JobDef::new("deploy-production", "deploy")
            .tags(&["kubernetes"])
            .environment("production", "production", "https://payments.example.com")
            .image("bitnami/kubectl:1.31")
            .needs(&["package-api", "integration"])
            .refs(Refs::Tags)
            .manual()
            .runs(25, 45)
            .script(&["kubectl apply -k overlays/production"]),
    ],
};

/// The child pipeline the monorepo's `frontend` trigger job starts.
static MONOREPO_FRONTEND: PipelineDef = PipelineDef {
    stages: &["lint", "build", "test"],
    jobs: &[
        JobDef::new("fe-lint", "lint")
            .image("node:22")
            .runs(15, 30)
            .script(&["npm ci", "npm run lint"]),
        JobDef::new("fe-build", "build")
            .image("node:22")
            .runs(40, 80)
            .script(&["npm ci", "npm run build"]),
        JobDef::new("fe-test", "test")
            .image("node:22")
            .runs(30, 60)
            .script(&["npm ci", "npm test -- --ci"]),
    ],
};

/// A monorepo whose pipeline triggers a child pipeline through a bridge job.
static MONOREPO: PipelineDef = PipelineDef {
    stages: &["prepare", "triggers", "verify"],
    jobs: &[
        JobDef::new("generate-config", "prepare")
            .image("python:3.12")
            .runs(10, 20)
            .script(&["python ci/generate.py > frontend.yml"]),
        JobDef::new("frontend", "triggers").trigger(&MONOREPO_FRONTEND),
        JobDef::new("smoke", "verify")
            .image("curlimages/curl:8.10")
            .runs(10, 25)
            .script(&["./ci/smoke.sh"]),
    ],
};

/// An open merge request: one for each branch a project's people push to.
#[derive(Debug, Clone)]
pub struct MergeRequestDef {
    pub iid: u64,
    pub title: String,
    pub source_branch: &'static str,
    pub author: Person,
}

/// A project's open merge requests, their iids in branch order: `feature/login-page` is "Login
/// page".
pub fn merge_requests(project: &ProjectDef) -> Vec<MergeRequestDef> {
    project
        .branches
        .iter()
        .enumerate()
        .map(|(i, branch)| {
            let words = branch.rsplit('/').next().unwrap_or(branch).replace('-', " ");
            let mut chars = words.chars();
            let title = chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default();
            MergeRequestDef {
                iid: i as u64 + 1,
                title,
                source_branch: branch,
                author: PEOPLE[1 + (project.id as usize + i) % (PEOPLE.len() - 1)],
            }
        })
        .collect()
}

/// A runner registered with the simulated GitLab.
#[derive(Debug, Clone, Copy)]
pub struct RunnerDef {
    pub id: u64,
    pub description: &'static str,
    /// Whom it serves: every project, a group's (and its subgroups'), or one project.
    pub scope: RunnerScope,
    pub tags: &'static [&'static str],
    /// Picks up jobs without tags.
    pub run_untagged: bool,
    pub paused: bool,
    /// Goes offline in the live world's outages (`World::runner_online`).
    pub outages: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum RunnerScope {
    Instance,
    Group(&'static GroupDef),
    Project(u64),
}

impl RunnerDef {
    pub fn serves(&self, project: &ProjectDef) -> bool {
        match self.scope {
            RunnerScope::Instance => true,
            RunnerScope::Group(group) => {
                project.group.id == group.id || project.group.full_path.starts_with(&format!("{}/", group.full_path))
            }
            RunnerScope::Project(id) => project.id == id,
        }
    }

    /// It may run a job with these tags (paused or online aside).
    pub fn takes(&self, tags: &[&str]) -> bool {
        if tags.is_empty() {
            self.run_untagged
        } else {
            tags.iter().all(|t| self.tags.contains(t))
        }
    }

    pub fn runner_type(&self) -> &'static str {
        match self.scope {
            RunnerScope::Instance => "instance_type",
            RunnerScope::Group(_) => "group_type",
            RunnerScope::Project(_) => "project_type",
        }
    }
}

/// The runners: small shared ones for untagged jobs, two shared `docker` ones (which go
/// offline together now and then in the live world), a `kubernetes` runner per group for the
/// deploys, and a paused macOS runner.
pub static RUNNERS: [RunnerDef; 6] = [
    RunnerDef {
        id: 11,
        description: "shared-small-1",
        scope: RunnerScope::Instance,
        tags: &[],
        run_untagged: true,
        paused: false,
        outages: false,
    },
    RunnerDef {
        id: 12,
        description: "shared-docker-1",
        scope: RunnerScope::Instance,
        tags: &["docker"],
        run_untagged: false,
        paused: false,
        outages: true,
    },
    RunnerDef {
        id: 13,
        description: "shared-docker-2",
        scope: RunnerScope::Instance,
        tags: &["docker"],
        run_untagged: false,
        paused: false,
        outages: true,
    },
    RunnerDef {
        id: 14,
        description: "demo-k8s",
        scope: RunnerScope::Group(&GROUP_DEMO),
        tags: &["kubernetes"],
        run_untagged: false,
        paused: false,
        outages: false,
    },
    RunnerDef {
        id: 15,
        description: "platform-k8s",
        scope: RunnerScope::Group(&GROUP_PLATFORM),
        tags: &["kubernetes"],
        run_untagged: false,
        paused: false,
        outages: false,
    },
    RunnerDef {
        id: 16,
        description: "macos-m2",
        scope: RunnerScope::Project(3),
        tags: &["macos"],
        run_untagged: false,
        paused: true,
        outages: false,
    },
];

/// The most projects a simulated GitLab starts with or is given.
pub const MAX_PROJECTS: usize = 1000;

/// A project made through the API (`POST /projects`): built like payments-api, in `group`.
pub fn new_project(
    id: u64,
    name: &str,
    path: &str,
    group: &'static GroupDef,
    topics: Vec<String>,
    created_at: String,
) -> ProjectDef {
    ProjectDef {
        id,
        name: Cow::Owned(name.to_owned()),
        path: Cow::Owned(path.to_owned()),
        group,
        topics: topics.into_iter().map(Cow::Owned).collect::<Vec<_>>().into(),
        created_at: Cow::Owned(created_at),
        ..STORY[1].clone()
    }
}

/// The projects of the reference story.
static STORY: [ProjectDef; 3] = [
    ProjectDef {
        id: 1,
        name: Cow::Borrowed("gitlab-k8s-demo"),
        path: Cow::Borrowed("gitlab-k8s-demo"),
        group: &GROUP_DEMO,
        description: "Go app deployed to Kubernetes with review apps (the GitLab + Kubernetes tutorial)",
        pipeline: &K8S_DEMO,
        branches: &["feature/login-page", "fix/health-probe", "chore/bump-go"],
        fates: &[
            (Fate::Green, 70),
            (Fate::RegistryLogin, 12),
            (Fate::Flaky("test2"), 8),
            (Fate::NoCluster, 5),
            (Fate::CompileError("compile"), 5),
        ],
        created_at: Cow::Borrowed("2026-03-02T09:12:44.000Z"),
        topics: Cow::Borrowed(&[Cow::Borrowed("go"), Cow::Borrowed("kubernetes")]),
        archived: false,
        deleted: false,
    },
    ProjectDef {
        id: 2,
        name: Cow::Borrowed("payments-api"),
        path: Cow::Borrowed("payments-api"),
        group: &GROUP_PLATFORM,
        description: "Payments service: its jobs use needs, so the graph does not follow stage order",
        pipeline: &PAYMENTS,
        branches: &["feature/refunds", "fix/idempotency-keys"],
        fates: &[
            (Fate::Green, 80),
            (Fate::Flaky("rspec 2/3"), 12),
            (Fate::CompileError("build-worker"), 8),
        ],
        created_at: Cow::Borrowed("2025-11-18T14:03:10.000Z"),
        topics: Cow::Borrowed(&[Cow::Borrowed("payments"), Cow::Borrowed("service")]),
        archived: false,
        deleted: false,
    },
    ProjectDef {
        id: 3,
        name: Cow::Borrowed("monorepo"),
        path: Cow::Borrowed("monorepo"),
        group: &GROUP_PLATFORM_WEB,
        description: "Web monorepo: a trigger job runs the frontend as a child pipeline",
        pipeline: &MONOREPO,
        branches: &["feature/dark-mode"],
        fates: &[(Fate::Green, 85), (Fate::Flaky("fe-test"), 15)],
        created_at: Cow::Borrowed("2026-01-20T08:30:00.000Z"),
        topics: Cow::Borrowed(&[Cow::Borrowed("web")]),
        archived: false,
        deleted: false,
    },
];

/// The simulated projects, `total` of them (3 to 1000): the story's three, then `service-04`..
/// built like payments-api and monorepo (in their groups, with the topic `service`), as load for
/// benchmarks. Each simulated GitLab has its own list (`SimConfig::projects`).
pub fn projects(total: usize) -> Arc<[ProjectDef]> {
    let total = total.clamp(STORY.len(), MAX_PROJECTS);
    let mut all = STORY.to_vec();
    for id in STORY.len() + 1..=total {
        let like = &STORY[1 + id % 2];
        all.push(ProjectDef {
            id: id as u64,
            name: Cow::Owned(format!("service-{id:02}")),
            path: Cow::Owned(format!("service-{id:02}")),
            topics: Cow::Borrowed(&[Cow::Borrowed("service")]),
            ..like.clone()
        });
    }
    all.into()
}

#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub id: u64,
    pub username: &'static str,
    pub name: &'static str,
}

pub static PEOPLE: [Person; 5] = [
    Person {
        id: 1,
        username: "root",
        name: "Administrator",
    },
    Person {
        id: 2,
        username: "achen",
        name: "Alice Chen",
    },
    Person {
        id: 3,
        username: "bwalker",
        name: "Bruno Walker",
    },
    Person {
        id: 4,
        username: "cokafor",
        name: "Chioma Okafor",
    },
    Person {
        id: 5,
        username: "dpetrov",
        name: "Dmitri Petrov",
    },
];

/// The person the simulated token belongs to: actions are done in their name.
pub const TOKEN_OWNER: Person = PEOPLE[0];

pub static COMMIT_TITLES: [&str; 16] = [
    "Add readiness probe on /health",
    "Bump Go to 1.22",
    "Fix race in request counter",
    "Render build info on the index page",
    "Retry registry login with backoff",
    "Move manifests to manifests/",
    "Add refund endpoint",
    "Make idempotency keys expire after 24h",
    "Log request ids",
    "Cache dependencies between jobs",
    "Update README with review app steps",
    "Split integration tests by domain",
    "Use distroless base image",
    "Dark mode for the dashboard",
    "Tighten CSP headers",
    "Remove unused feature flag",
];
