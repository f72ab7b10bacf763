//! Job logs as GitLab Runner writes them: ANSI colours, `section_start`/`section_end` markers
//! (some `[collapsed=true]`, some nested), `\r` progress lines, and the closing verdict.
//! A running job's log grows with time; logs are rendered from the job, never stored.

use crate::scenario::Failure;
use crate::world::{Job, JobStatus, Pipeline, Time};

const CLEAR: &str = "\x1b[0K";
const RESET: &str = "\x1b[0;m";
const CYAN: &str = "\x1b[36;1m";
const GREEN: &str = "\x1b[32;1m";
const RED: &str = "\x1b[31;1m";
const YELLOW: &str = "\x1b[0;33m";

/// Lines stamped with the second (after the job started) at which the runner wrote them.
struct Log {
    start: i64,
    lines: Vec<(i64, String)>,
}

impl Log {
    fn at(&mut self, secs: i64, text: impl Into<String>) {
        let mut text = text.into();
        text.push('\n');
        self.lines.push((secs, text));
    }

    fn section_start(&mut self, secs: i64, name: &str, header: &str, collapsed: bool) {
        let options = if collapsed { "[collapsed=true]" } else { "" };
        let ts = self.start + secs;
        self.at(
            secs,
            format!("{CLEAR}section_start:{ts}:{name}{options}\r{CLEAR}{CLEAR}{CYAN}{header}{RESET}{RESET}"),
        );
    }

    fn section_end(&mut self, secs: i64, name: &str) {
        let ts = self.start + secs;
        self.at(secs, format!("{CLEAR}section_end:{ts}:{name}\r{CLEAR}"));
    }

    fn command(&mut self, secs: i64, command: &str) {
        self.at(secs, format!("{GREEN}$ {command}{RESET}"));
    }
}

/// Projects whose runners have `FF_TIMESTAMPS` on (payments-api), so the demo shows both kinds.
fn timestamped(project_id: u64) -> bool {
    project_id == 2
}

/// The log of `job` as GitLab would return it at `now`: empty before the job starts, growing
/// while it runs, whole once it has finished.
pub fn render(job: &Job, pipeline: &Pipeline, project_path: &str, now: Time) -> String {
    let Some(started) = job.started_at else {
        return String::new();
    };
    if job.is_bridge() {
        return String::new();
    }
    let log = script_log(job, pipeline, project_path, started.timestamp());
    let elapsed = if job.status == JobStatus::Running {
        (now - started).num_seconds()
    } else {
        i64::MAX
    };
    let lines = log.lines.into_iter().take_while(|(secs, _)| *secs <= elapsed);
    if !timestamped(job.project_id) {
        return lines.map(|(_, line)| line).collect();
    }
    // FF_TIMESTAMPS: every physical line gets `<RFC 3339 with microseconds> <stream><O|E> `.
    let mut out = String::new();
    for (secs, line) in lines {
        let at = started + chrono::Duration::seconds(secs.min(86_400));
        let stamp = at.format("%Y-%m-%dT%H:%M:%S%.6fZ");
        let stream = if line.contains("ERROR") || line.contains("FAILED") {
            'E'
        } else {
            'O'
        };
        for physical in line.split_inclusive('\n') {
            out.push_str(&format!("{stamp} 00{stream} {physical}"));
        }
    }
    out
}

fn script_log(job: &Job, pipeline: &Pipeline, project_path: &str, start: i64) -> Log {
    let mut log = Log {
        start,
        lines: Vec::new(),
    };
    let end = job.run_secs.max(12);
    let short_sha = &pipeline.commit.sha[..8];
    log.at(0, format!("{CLEAR}Running with gitlab-runner 17.5.0 (bc7d9b3b){RESET}"));
    log.at(
        0,
        format!(
            "{CLEAR}  on docker-runner-{} t3Xk9aQz, system ID: s_7f3a2c91d0e4{RESET}",
            job.id % 3 + 1
        ),
    );
    log.section_start(0, "prepare_executor", "Preparing the \"docker\" executor", false);
    log.at(
        1,
        format!("{CLEAR}Using Docker executor with image {} ...{RESET}", job.def.image),
    );
    log.at(1, format!("{CLEAR}Pulling docker image {} ...{RESET}", job.def.image));
    log.at(2, format!("{CLEAR}Using docker image sha256:9c6f0724472873bb50a2ae67a9e7adcb57673a183cea8b06eb778dca859181b5 for {} ...{RESET}", job.def.image));
    log.section_end(2, "prepare_executor");
    log.section_start(2, "prepare_script", "Preparing environment", false);
    log.at(
        3,
        format!(
            "Running on runner-t3xk9aqz-project-{}-concurrent-0 via runner-host...",
            job.project_id
        ),
    );
    log.section_end(3, "prepare_script");
    log.section_start(3, "get_sources", "Getting source from Git repository", false);
    log.at(3, format!("{GREEN}Fetching changes with git depth set to 20...{RESET}"));
    log.at(
        4,
        format!("Initialized empty Git repository in /builds/{project_path}/.git/"),
    );
    log.at(4, "Receiving objects:  12% (31/254)\rReceiving objects:  58% (148/254)\rReceiving objects: 100% (254/254), 88.21 KiB | 4.20 MiB/s, done.");
    log.at(
        5,
        format!(
            "{GREEN}Checking out {short_sha} as detached HEAD (ref is {})...{RESET}",
            pipeline.git_ref
        ),
    );
    log.at(5, "");
    log.at(5, format!("{GREEN}Skipping Git submodules setup{RESET}"));
    log.section_end(5, "get_sources");
    log.section_start(
        6,
        "step_script",
        "Executing \"step_script\" stage of the job script",
        false,
    );
    log.at(6, format!("{CLEAR}Using docker image {} ...{RESET}", job.def.image));

    let body_end = end - 2;
    match job.def.name {
        "image_build" => image_build(&mut log, job, short_sha, body_end),
        "integration" => verbose_tests(&mut log, job, body_end),
        "deploy_review" | "deploy_live" | "deploy-staging" | "deploy-production" => deploy(&mut log, job, body_end),
        _ => generic(&mut log, job, body_end),
    }

    log.section_end(body_end, "step_script");
    log.section_start(
        body_end,
        "cleanup_file_variables",
        "Cleaning up project directory and file based variables",
        false,
    );
    log.section_end(body_end + 1, "cleanup_file_variables");
    log.at(end, "");
    if job.failure.is_some() {
        log.at(end, format!("{RED}ERROR: Job failed: exit code 1\n{RESET}"));
    } else {
        log.at(end, format!("{GREEN}Job succeeded{RESET}"));
    }
    log
}

/// Spreads a job's commands over its run time, with a little output after each.
fn generic(log: &mut Log, job: &Job, end: i64) {
    let commands = job.def.script;
    let step = ((end - 7) / (commands.len() as i64 + 1)).max(1);
    let mut t = 7;
    log.section_start(t, "install_deps", "Installing dependencies", true);
    log.at(t, "Resolving dependency graph...");
    for (i, pct) in [10, 35, 70, 100].iter().enumerate() {
        log.at(t + i as i64 / 2, format!("\rDownloading crates ... {pct}%"));
    }
    log.section_start(t + 1, "install_deps_cache", "Restoring cache", true);
    log.at(t + 1, "Checking cache for default-protected...");
    log.at(t + 1, format!("{YELLOW}WARNING: file does not exist{RESET}"));
    log.section_end(t + 1, "install_deps_cache");
    log.section_end(t + 2, "install_deps");
    t += 2;
    for (i, command) in commands.iter().enumerate() {
        log.command(t, command);
        let last = i + 1 == commands.len();
        if last && job.failure == Some(Failure::TestAssertion) {
            log.at(t + step / 2, "running 48 tests");
            log.at(
                t + step / 2,
                format!("test payments::refund_is_idempotent ... {GREEN}ok{RESET}"),
            );
            log.at(
                t + step,
                format!("test health::ready_after_warmup ... {RED}FAILED{RESET}"),
            );
            log.at(t + step, "");
            log.at(t + step, "failures:");
            log.at(
                t + step,
                "    assertion `left == right` failed: readiness probe returned 503",
            );
            log.at(
                t + step,
                format!("{RED}test result: FAILED. 47 passed; 1 failed; 0 ignored{RESET}"),
            );
        } else if last && job.failure == Some(Failure::Compile) {
            log.at(
                t + step / 2,
                format!("{RED}error[E0425]{RESET}: cannot find value `counter` in this scope"),
            );
            log.at(t + step / 2, "  --> src/metrics.rs:42:9");
            log.at(
                t + step,
                format!("{RED}error{RESET}: could not compile due to 1 previous error"),
            );
        } else {
            if job.def.name == "test" && last {
                // Test output quoting HTML, as template tests print it: a viewer must show it as text.
                log.at(
                    t + step / 3,
                    "=== RUN   TestIndexTemplate: escapes <script>window.__stageboard_xss=1</script> and <img src=x onerror=\"window.__stageboard_xss=2\">",
                );
            }
            for k in 0..3 {
                log.at(
                    t + step * (k + 1) / 4,
                    format!(
                        "ok  \t{}/pkg/{} \t0.{}s",
                        job.def.name,
                        ["api", "store", "health"][k as usize],
                        12 + k * 7
                    ),
                );
            }
        }
        t += step;
    }
}

fn image_build(log: &mut Log, job: &Job, short_sha: &str, end: i64) {
    let registry = "registry.example.com";
    log.command(
        7,
        &format!("docker login -u gitlab-ci-token -p $CI_JOB_TOKEN {registry}"),
    );
    log.at(
        8,
        format!("{YELLOW}WARNING! Using --password via the CLI is insecure. Use --password-stdin.{RESET}"),
    );
    match job.failure {
        Some(Failure::DockerUnauthorized) => {
            log.at(9, format!("Error response from daemon: Get \"https://{registry}/v2/\": unauthorized: incorrect username or password"));
            return;
        }
        Some(Failure::DockerX509) => {
            log.at(9, format!("Error response from daemon: Get \"https://{registry}/v2/\": x509: certificate signed by unknown authority"));
            return;
        }
        _ => log.at(9, "Login Succeeded"),
    }
    let image = format!("{registry}/demo/gitlab-k8s-demo:{short_sha}");
    let span = (end - 10).max(4);
    log.command(10, &format!("docker build -t {image} ."));
    log.section_start(10, "docker_build", "Building the image", true);
    let steps = [
        "FROM golang:1.22 AS build",
        "COPY . /src",
        "RUN go build -o /app ./cmd/app",
        "FROM gcr.io/distroless/static",
        "COPY --from=build /app /app",
    ];
    for (i, step) in steps.iter().enumerate() {
        log.at(
            10 + span * i as i64 / 10,
            format!("Step {}/{} : {step}", i + 1, steps.len()),
        );
        log.at(
            10 + span * i as i64 / 10,
            format!(
                " ---> {:x}",
                0x3f2a9c1d_u64.wrapping_mul(job.id + i as u64) & 0xffff_ffff_ffff
            ),
        );
    }
    log.section_end(10 + span / 2, "docker_build");
    log.at(10 + span / 2, format!("Successfully tagged {image}"));
    log.command(10 + span / 2, &format!("docker push {image}"));
    let layers = ["5f70bf18a086", "c2adabaecedb", "a3ed95caeb02"];
    for (i, layer) in layers.iter().enumerate() {
        let t = 10 + span / 2 + span * i as i64 / 8;
        log.at(
            t,
            format!("{layer}: Pushing [=>      ]  4.1MB/52.3MB\r{layer}: Pushing [====>   ]  28.4MB/52.3MB\r{layer}: Pushing [=======>]  52.3MB/52.3MB\r{layer}: Pushed"),
        );
    }
    log.at(end, format!("{short_sha}: digest: sha256:4b3f6c1e0f9a sized 1574"));
}

fn deploy(log: &mut Log, job: &Job, end: i64) {
    let span = (end - 7).max(4);
    log.command(7, "kubectl config get-contexts");
    if job.failure == Some(Failure::NoCluster) {
        log.at(
            8,
            format!("{RED}error: no context exists with the name: \"gitlab-k8s-demo\"{RESET}"),
        );
        log.at(
            8,
            "The connection to the server localhost:8080 was refused - did you specify the right host or port?",
        );
        return;
    }
    log.command(8, "kubectl apply -f manifests/");
    log.at(9, "deployment.apps/gitlab-k8s-demo configured");
    log.at(9, "service/gitlab-k8s-demo unchanged");
    log.at(9, "ingress.networking.k8s.io/gitlab-k8s-demo configured");
    log.command(10, "kubectl rollout status deployment/gitlab-k8s-demo");
    log.at(
        10 + span / 3,
        "Waiting for deployment \"gitlab-k8s-demo\" rollout to finish: 0 of 2 updated replicas are available...",
    );
    log.at(
        10 + span * 2 / 3,
        "Waiting for deployment \"gitlab-k8s-demo\" rollout to finish: 1 of 2 updated replicas are available...",
    );
    log.at(end, "deployment \"gitlab-k8s-demo\" successfully rolled out");
}

/// GitLab Runner's `output_limit` default: past it the log ends with a notice.
const OUTPUT_LIMIT: usize = 4 * 1024 * 1024;

/// A verbose integration suite that runs into the runner's 4 MB log limit, as chatty suites do.
fn verbose_tests(log: &mut Log, job: &Job, end: i64) {
    log.command(7, "docker compose up -d postgres");
    log.at(8, "Container payments-postgres-1  Started");
    log.command(9, "cargo test --test integration -- --nocapture");
    let span = (end - 10).max(1);
    let mut written = 0;
    let mut case = 0u64;
    let mut suite = 0;
    while written < OUTPUT_LIMIT {
        let t = 10 + span * written as i64 / OUTPUT_LIMIT as i64;
        if case.is_multiple_of(2000) {
            if suite > 0 {
                log.section_end(t, &format!("suite_{suite}"));
            }
            suite += 1;
            log.section_start(
                t,
                &format!("suite_{suite}"),
                &format!("suite {suite}: payments::scenario_{suite}"),
                suite > 1,
            );
        }
        case += 1;
        let line = if case.is_multiple_of(97) {
            format!(
                "test payments::scenario_{suite}::case_{case:06} ... {YELLOW}slow (2.1 s){RESET} job={} seed={:x}",
                job.id,
                case * 2_654_435_761 % 0xffff_ffff
            )
        } else {
            format!(
                "test payments::scenario_{suite}::case_{case:06} ... {GREEN}ok{RESET} ({} ms) ledger balanced, idempotency key reused",
                case % 37
            )
        };
        // The limit counts what the runner sends, timestamp prefixes included.
        written += line.len() + 1 + if timestamped(job.project_id) { 32 } else { 0 };
        log.at(t, line);
    }
    log.section_end(end, &format!("suite_{suite}"));
    log.at(
        end,
        format!("{YELLOW}Job's log exceeded limit of {OUTPUT_LIMIT} bytes.{RESET}"),
    );
    log.at(
        end,
        format!("{YELLOW}Job execution will continue but no more output will be collected.{RESET}"),
    );
}
