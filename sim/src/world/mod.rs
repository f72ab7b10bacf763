//! The simulated GitLab's state and the engine that moves it through time.
//!
//! Every transition happens at the instant it is due (a job that should have finished at 10:03:12
//! finishes then, whenever the engine is asked to catch up), so reading the world at any moment
//! gives the same answer whether the clock moved in one jump or in many small steps.

use std::collections::BTreeMap;

use chrono::Duration;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use std::sync::Arc;

use crate::scenario::{self, Fate, JobDef, JobKind, Person, PipelineDef, ProjectDef, Refs};

mod actions;
mod history;
mod types;

pub use history::with_history;
pub use types::*;

#[derive(Debug)]
pub struct World {
    pub pipelines: BTreeMap<u64, Pipeline>,
    pub jobs: BTreeMap<u64, Job>,
    next_pipeline_id: u64,
    next_job_id: u64,
    rng: SmallRng,
    /// Up to when the engine has caught up.
    pub now: Time,
    /// When the next push or tag arrives, per project; `None` stops arrivals.
    next_arrival: BTreeMap<u64, Time>,
    tag_counter: BTreeMap<u64, u32>,
    pub environments: BTreeMap<u64, crate::environments::Environment>,
    pub deployments: BTreeMap<u64, crate::environments::Deployment>,
    /// The projects of this simulated GitLab.
    pub projects: Arc<[ProjectDef]>,
    /// Each pipeline's jobs, by id (retried ones included), so that reading a pipeline's jobs
    /// does not scan every job ever made.
    jobs_of: std::collections::HashMap<u64, Vec<u64>>,
    /// Pipelines that may still change: new, reopened, or with a job added. The rest are
    /// finished with no job alive, and time passing does nothing to them.
    live: std::collections::BTreeSet<u64>,
    /// Each project's last pipeline iid.
    last_iid: BTreeMap<u64, u64>,
    /// New pushes and tags keep arriving (`start_arrivals`).
    arriving: bool,
    /// When the world went live: its runner outages are counted from then.
    live_from: Option<Time>,
    /// Runners set online or offline by hand (`POST /-/sim/runners/:id`), and since when.
    forced: BTreeMap<u64, Vec<(Time, bool)>>,
}

impl World {
    pub fn empty(seed: u64, now: Time, projects: Arc<[ProjectDef]>) -> Self {
        World {
            projects,
            pipelines: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_pipeline_id: 1000,
            next_job_id: 5000,
            rng: SmallRng::seed_from_u64(seed),
            now,
            next_arrival: BTreeMap::new(),
            tag_counter: BTreeMap::new(),
            environments: BTreeMap::new(),
            deployments: BTreeMap::new(),
            jobs_of: std::collections::HashMap::new(),
            live: std::collections::BTreeSet::new(),
            last_iid: BTreeMap::new(),
            arriving: false,
            live_from: None,
            forced: BTreeMap::new(),
        }
    }

    /// The project with this id (a copy: the world changes while it is used).
    pub fn project(&self, id: u64) -> Option<ProjectDef> {
        self.projects.iter().find(|p| p.id == id).cloned()
    }

    /// Adds a project (made through the API); it gets pushes like the others when the world
    /// is live.
    pub fn add_project(&mut self, project: ProjectDef) {
        if self.arriving {
            let wait = self.rng.random_range(90..300);
            self.next_arrival.insert(project.id, self.now + Duration::seconds(wait));
        }
        let mut all = self.projects.to_vec();
        all.push(project);
        self.projects = all.into();
    }

    /// Changes one project (archiving, deleting); an archived or deleted project gets no more
    /// pushes. `None` when there is no such project.
    pub fn change_project(&mut self, id: u64, change: impl FnOnce(&mut ProjectDef)) -> Option<ProjectDef> {
        let mut all = self.projects.to_vec();
        let project = all.iter_mut().find(|p| p.id == id)?;
        change(project);
        let changed = project.clone();
        if changed.archived || changed.deleted {
            self.next_arrival.remove(&id);
        } else if self.arriving && !self.next_arrival.contains_key(&id) {
            let wait = self.rng.random_range(90..300);
            self.next_arrival.insert(id, self.now + Duration::seconds(wait));
        }
        self.projects = all.into();
        Some(changed)
    }

    /// The live world's latest runner outage begun by `at`: the runners that have them go
    /// offline for 20 minutes, two hours after the world went live and every six hours after.
    fn last_outage(&self, at: Time) -> Option<(Time, Time)> {
        const AFTER: i64 = 2 * 3600;
        const EVERY: i64 = 6 * 3600;
        const LASTS: i64 = 20 * 60;
        let from = self.live_from?;
        let since = (at - from).num_seconds() - AFTER;
        if since < 0 {
            return None;
        }
        let start = from + Duration::seconds(AFTER + since / EVERY * EVERY);
        Some((start, start + Duration::seconds(LASTS)))
    }

    /// Whether `runner` is online at `at`, and since when it has been online or offline.
    pub fn runner_state(&self, runner: &scenario::RunnerDef, at: Time) -> (bool, Time) {
        let switched = self
            .forced
            .get(&runner.id)
            .and_then(|switches| switches.iter().rev().find(|(when, _)| *when <= at));
        if let Some(&(since, online)) = switched {
            // Brought back by hand: online until its next scheduled outage.
            let outage_since = runner.outages && self.last_outage(at).is_some_and(|(start, _)| start > since);
            if !(online && outage_since) {
                return (online, since);
            }
        }
        if runner.outages
            && let Some((start, end)) = self.last_outage(at)
        {
            return if at < end { (false, start) } else { (true, end) };
        }
        // Registered 2025-09-01T10:00:00Z, online ever since.
        let registered = chrono::DateTime::from_timestamp(1_756_720_800, 0).expect("a valid time");
        (true, registered)
    }

    /// Sets a runner online or offline from `at` on (the simulator's control endpoint).
    pub fn force_runner(&mut self, id: u64, online: bool, at: Time) {
        // Kept in order, so that the state at any earlier time can still be told (a job that
        // fell due while its runner was off).
        let switches = self.forced.entry(id).or_default();
        switches.push((at, online));
        if switches.len() > 64 {
            switches.remove(0);
        }
    }

    /// The runners running a job now (only live pipelines have running jobs).
    pub fn busy_runners(&self) -> std::collections::HashSet<u64> {
        self.live
            .iter()
            .flat_map(|p| self.current_jobs(*p))
            .filter(|j| j.status == JobStatus::Running)
            .filter_map(|j| j.runner)
            .collect()
    }

    /// The first runner that serves `project`, runs jobs with `tags`, is not paused and is
    /// online at `at`, with the time it came online.
    fn pick_runner(&self, project_id: u64, tags: &[&str], at: Time) -> Option<(u64, Time)> {
        let project = self.projects.iter().find(|p| p.id == project_id)?;
        scenario::RUNNERS
            .iter()
            .filter(|r| !r.paused && r.serves(project) && r.takes(tags))
            .find_map(|r| match self.runner_state(r, at) {
                (true, since) => Some((r.id, since)),
                (false, _) => None,
            })
    }

    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// Keeps new pushes and tags arriving every few minutes after `from`.
    pub fn start_arrivals(&mut self, from: Time) {
        self.arriving = true;
        self.live_from = Some(from);
        for project in self.projects.clone().iter() {
            let wait = self.rng.random_range(90..300);
            self.next_arrival.insert(project.id, from + Duration::seconds(wait));
        }
    }

    /// Moves the world to `now`: arrivals, queueing, running, finishing, all at their due times.
    pub fn advance(&mut self, now: Time) {
        loop {
            let due = self
                .next_arrival
                .iter()
                .filter(|(_, at)| **at <= now)
                .min_by_key(|(_, at)| **at)
                .map(|(id, at)| (*id, *at));
            let Some((project_id, at)) = due else { break };
            self.settle(at);
            self.arrive(project_id, at);
            let wait = self.rng.random_range(150..420);
            self.next_arrival.insert(project_id, at + Duration::seconds(wait));
        }
        self.settle(now);
    }

    fn arrive(&mut self, project_id: u64, at: Time) {
        let project = &self.project(project_id).expect("known project");
        let roll = self.rng.random_range(0..100);
        let (git_ref, tag) = if roll < 12 {
            (self.next_tag(project_id), true)
        } else if roll < 50 {
            let i = self.rng.random_range(0..project.branches.len());
            (project.branches[i].to_owned(), false)
        } else {
            ("main".to_owned(), false)
        };
        let fate = self.pick_fate(project);
        self.cancel_redundant(project_id, &git_ref, at);
        self.create_pipeline(project, &git_ref, tag, fate, at);
    }

    /// GitLab's "auto-cancel redundant pipelines": a new push supersedes the unfinished
    /// pipelines of the same ref.
    fn cancel_redundant(&mut self, project_id: u64, git_ref: &str, at: Time) {
        let redundant: Vec<u64> = self
            .live
            .iter()
            .map(|id| &self.pipelines[id])
            .filter(|p| p.project_id == project_id && p.git_ref == git_ref && p.parent.is_none() && !p.is_finished())
            .map(|p| p.id)
            .collect();
        for pipeline in redundant {
            self.cancel_pipeline(pipeline, at);
        }
    }

    pub fn next_tag(&mut self, project_id: u64) -> String {
        let n = self.tag_counter.entry(project_id).or_insert(0);
        *n += 1;
        format!("v1.{}.0", *n)
    }

    pub fn pick_fate(&mut self, project: &ProjectDef) -> Fate {
        let total: u32 = project.fates.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.random_range(0..total);
        for (fate, weight) in project.fates {
            if roll < *weight {
                return *fate;
            }
            roll -= weight;
        }
        Fate::Green
    }

    fn new_sha(&mut self) -> String {
        (0..40)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).expect("hex digit"))
            .collect()
    }

    /// A merge request's pipeline (`refs/merge-requests/:iid/head`, source
    /// `merge_request_event`): its branch's jobs, less those that deploy (they run on the
    /// branch's own pipelines).
    pub fn create_merge_request_pipeline(&mut self, project: &ProjectDef, iid: u64, at: Time) -> u64 {
        let fate = self.pick_fate(project);
        let id = self.create_pipeline(project, &format!("refs/merge-requests/{iid}/head"), false, fate, at);
        self.pipelines.get_mut(&id).expect("just made").source = "merge_request_event";
        id
    }

    /// A push (or tag) creates a pipeline with its jobs, all `created`.
    pub fn create_pipeline(&mut self, project: &ProjectDef, git_ref: &str, tag: bool, fate: Fate, at: Time) -> u64 {
        let author = scenario::PEOPLE[self.rng.random_range(1..scenario::PEOPLE.len())];
        let title = scenario::COMMIT_TITLES[self.rng.random_range(0..scenario::COMMIT_TITLES.len())];
        let previous = self
            .pipelines
            .values()
            .rev()
            .find(|p| p.project_id == project.id && p.git_ref == git_ref)
            .map(|p| p.commit.sha.clone())
            .unwrap_or_else(|| "0".repeat(40));
        let commit = Commit {
            sha: self.new_sha(),
            title: title.to_owned(),
            author,
            created_at: at - Duration::seconds(self.rng.random_range(20..600)),
        };
        self.insert_pipeline(
            project.id,
            project.pipeline,
            git_ref,
            tag,
            commit,
            previous,
            author,
            fate,
            at,
            None,
        )
    }

    #[expect(clippy::too_many_arguments, reason = "a pipeline has this many facts")]
    fn insert_pipeline(
        &mut self,
        project_id: u64,
        def: &'static PipelineDef,
        git_ref: &str,
        tag: bool,
        commit: Commit,
        before_sha: String,
        user: Person,
        fate: Fate,
        at: Time,
        parent: Option<(u64, u64)>,
    ) -> u64 {
        let id = self.next_pipeline_id;
        self.next_pipeline_id += 1;
        let iid = {
            let last = self.last_iid.entry(project_id).or_insert(0);
            *last += 1;
            *last
        };
        self.live.insert(id);
        self.pipelines.insert(
            id,
            Pipeline {
                id,
                iid,
                project_id,
                git_ref: git_ref.to_owned(),
                tag,
                commit,
                before_sha,
                source: if parent.is_some() { "parent_pipeline" } else { "push" },
                user,
                created_at: at,
                updated_at: at,
                started_at: None,
                finished_at: None,
                status: JobStatus::Created,
                fate,
                def,
                parent,
            },
        );
        for (stage_idx, stage) in def.stages.iter().enumerate() {
            for job_def in def.jobs.iter().filter(|j| j.stage == *stage) {
                let runs = match job_def.refs {
                    Refs::All => true,
                    Refs::Branches => !tag,
                    Refs::Tags => tag,
                } && !(git_ref.starts_with("refs/merge-requests/") && job_def.environment.is_some());
                if !runs {
                    continue;
                }
                let names: Vec<String> = if job_def.parallel > 1 {
                    (1..=job_def.parallel)
                        .map(|i| format!("{} {}/{}", job_def.name, i, job_def.parallel))
                        .collect()
                } else {
                    vec![job_def.name.to_owned()]
                };
                for name in names {
                    self.insert_job(id, project_id, name, job_def, stage_idx, user, at, 1);
                }
            }
        }
        id
    }

    #[expect(clippy::too_many_arguments, reason = "a job has this many facts")]
    fn insert_job(
        &mut self,
        pipeline_id: u64,
        project_id: u64,
        name: String,
        def: &'static JobDef,
        stage_idx: usize,
        user: Person,
        at: Time,
        attempt: u32,
    ) -> u64 {
        let id = self.next_job_id;
        self.next_job_id += 1;
        let fate = self.pipelines[&pipeline_id].fate;
        let failure = fate.failure_of(&name, attempt);
        let run_secs = self.rng.random_range(def.duration.0..=def.duration.1) as i64;
        let queue_secs = self.rng.random_range(1..8);
        self.jobs_of.entry(pipeline_id).or_default().push(id);
        self.live.insert(pipeline_id);
        self.jobs.insert(
            id,
            Job {
                id,
                pipeline_id,
                project_id,
                name,
                def,
                stage_idx,
                status: JobStatus::Created,
                created_at: at,
                changed_at: at,
                queued_at: None,
                started_at: None,
                finished_at: None,
                queue_secs,
                // A failing script stops early.
                run_secs: if failure.is_some() {
                    (run_secs / 2).max(5)
                } else {
                    run_secs
                },
                attempt,
                retried: false,
                failure,
                user,
                variables: Vec::new(),
                downstream: None,
                runner: None,
            },
        );
        self.record_deployment(id);
        id
    }

    /// The current (not retried) jobs of a pipeline, bridges included, by id.
    /// Says `person` pushed the commit of `pipeline` and started it, and its jobs.
    pub fn pushed_by(&mut self, pipeline_id: u64, person: Person) {
        let pipeline = self.pipelines.get_mut(&pipeline_id).expect("pipeline");
        pipeline.user = person;
        pipeline.commit.author = person;
        for job in self.jobs.values_mut().filter(|j| j.pipeline_id == pipeline_id) {
            job.user = person;
        }
    }

    pub fn current_jobs(&self, pipeline_id: u64) -> impl Iterator<Item = &Job> {
        self.jobs_of
            .get(&pipeline_id)
            .into_iter()
            .flatten()
            .map(|id| &self.jobs[id])
            .filter(|j| !j.retried)
    }

    /// A pipeline may change again (reopened by a retry or a play).
    fn revive(&mut self, pipeline_id: u64) {
        self.live.insert(pipeline_id);
    }

    /// Runs every due transition up to `now`.
    fn settle(&mut self, now: Time) {
        loop {
            let active: Vec<u64> = self.live.iter().copied().collect();
            let mut changed = false;
            for pipeline_id in active {
                changed |= self.step_pipeline(pipeline_id, now);
            }
            if !changed {
                break;
            }
        }
        let settled: Vec<u64> = self
            .live
            .iter()
            .copied()
            .filter(|id| self.pipelines[id].is_finished() && !self.current_jobs(*id).any(|j| j.status.is_alive()))
            .collect();
        for id in settled {
            self.live.remove(&id);
        }
        self.now = self.now.max(now);
    }

    /// When a created job may start, and whether something it waits for failed.
    fn readiness(&self, job: &Job) -> Option<(Time, bool)> {
        let pipeline = &self.pipelines[&job.pipeline_id];
        let mut ready = job.created_at.max(pipeline.created_at);
        let mut blocked = false;
        for dep in self.current_jobs(job.pipeline_id) {
            let waits_for = match job.def.needs {
                Some(needs) => needs.contains(&dep.def.name),
                None => dep.stage_idx < job.stage_idx,
            };
            if !waits_for {
                continue;
            }
            match dep.status {
                // A manual job that may fail does not hold up later stages.
                JobStatus::Manual if dep.def.allow_failure => ready = ready.max(dep.changed_at),
                JobStatus::Success => ready = ready.max(dep.changed_at),
                JobStatus::Failed if dep.def.allow_failure => ready = ready.max(dep.changed_at),
                JobStatus::Failed | JobStatus::Canceled | JobStatus::Skipped => {
                    ready = ready.max(dep.changed_at);
                    blocked = true;
                }
                _ => return None,
            }
        }
        Some((ready, blocked))
    }

    fn step_pipeline(&mut self, pipeline_id: u64, now: Time) -> bool {
        let ids: Vec<u64> = self.current_jobs(pipeline_id).map(|j| j.id).collect();
        let mut changed = false;
        for id in ids {
            changed |= self.step_job(id, now);
        }
        changed | self.refresh_pipeline_status(pipeline_id)
    }

    fn step_job(&mut self, id: u64, now: Time) -> bool {
        let job = self.jobs[&id].clone();
        match job.status {
            JobStatus::Created => {
                let Some((ready, blocked)) = self.readiness(&job) else {
                    return false;
                };
                if ready > now {
                    return false;
                }
                let job = self.jobs.get_mut(&id).expect("job");
                job.changed_at = ready;
                if blocked {
                    job.status = JobStatus::Skipped;
                } else if job.def.manual {
                    job.status = JobStatus::Manual;
                } else {
                    job.status = JobStatus::Pending;
                    job.queued_at = Some(ready);
                }
                true
            }
            JobStatus::Pending => {
                let mut start = job.queued_at.unwrap_or(job.changed_at) + Duration::seconds(job.queue_secs);
                if start > now {
                    return false;
                }
                // A script job waits for a runner that takes its tags (a trigger needs none).
                let mut runner = None;
                if !matches!(job.def.kind, JobKind::Trigger(_)) {
                    // A runner online when the job fell due takes it then; else the first to
                    // come back, when it does.
                    let picked = match self.pick_runner(job.project_id, job.def.tags, start) {
                        Some((picked, _)) => picked,
                        None => {
                            let Some((picked, online_since)) = self.pick_runner(job.project_id, job.def.tags, now)
                            else {
                                return false;
                            };
                            start = start.max(online_since);
                            picked
                        }
                    };
                    runner = Some(picked);
                }
                if let JobKind::Trigger(child) = job.def.kind {
                    let parent = self.pipelines[&job.pipeline_id].clone();
                    let child_id = self.insert_pipeline(
                        parent.project_id,
                        child,
                        &parent.git_ref,
                        parent.tag,
                        parent.commit.clone(),
                        parent.before_sha.clone(),
                        parent.user,
                        parent.fate,
                        start,
                        Some((parent.id, id)),
                    );
                    self.jobs.get_mut(&id).expect("job").downstream = Some(child_id);
                }
                let job = self.jobs.get_mut(&id).expect("job");
                job.status = JobStatus::Running;
                job.runner = runner;
                job.started_at = Some(start);
                job.changed_at = start;
                true
            }
            JobStatus::Running => {
                let (end, status) = match job.downstream {
                    Some(child) => {
                        let child = &self.pipelines[&child];
                        if !child.is_finished() {
                            return false;
                        }
                        let status = match child.status {
                            JobStatus::Success | JobStatus::Skipped => JobStatus::Success,
                            other => other,
                        };
                        (child.finished_at.unwrap_or(child.updated_at), status)
                    }
                    None => {
                        let end = job.started_at.unwrap_or(job.changed_at) + Duration::seconds(job.run_secs);
                        let status = if job.failure.is_some() {
                            JobStatus::Failed
                        } else {
                            JobStatus::Success
                        };
                        (end, status)
                    }
                };
                if end > now {
                    return false;
                }
                let job = self.jobs.get_mut(&id).expect("job");
                job.status = status;
                job.finished_at = Some(end);
                job.changed_at = end;
                true
            }
            _ => false,
        }
    }

    /// GitLab's composite status of a pipeline's current jobs. Returns whether it changed.
    pub(crate) fn refresh_pipeline_status(&mut self, pipeline_id: u64) -> bool {
        let jobs: Vec<&Job> = self.current_jobs(pipeline_id).collect();
        let any = |s: JobStatus| jobs.iter().any(|j| j.status == s);
        let started = jobs.iter().any(|j| j.started_at.is_some());
        let status = if any(JobStatus::Running) {
            JobStatus::Running
        } else if any(JobStatus::Pending) || any(JobStatus::Created) {
            if started {
                JobStatus::Running
            } else {
                JobStatus::Pending
            }
        } else if jobs
            .iter()
            .any(|j| j.status == JobStatus::Failed && !j.def.allow_failure)
        {
            JobStatus::Failed
        } else if any(JobStatus::Canceled) {
            JobStatus::Canceled
        } else if !jobs.is_empty() && jobs.iter().all(|j| j.status == JobStatus::Skipped) {
            JobStatus::Skipped
        } else {
            JobStatus::Success
        };
        let started_at = jobs.iter().filter_map(|j| j.started_at).min();
        let updated_at = jobs.iter().map(|j| j.changed_at).max();
        let finished_at = if status.is_completed() {
            jobs.iter().filter_map(|j| j.finished_at).max().or(updated_at)
        } else {
            None
        };
        let pipeline = self.pipelines.get_mut(&pipeline_id).expect("pipeline");
        let changed = pipeline.status != status || pipeline.finished_at != finished_at;
        pipeline.status = status;
        pipeline.started_at = started_at;
        pipeline.finished_at = finished_at;
        if let Some(updated_at) = updated_at {
            pipeline.updated_at = pipeline.updated_at.max(updated_at);
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::scenario::Failure;

    fn t0() -> Time {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().to_utc()
    }

    fn job<'a>(world: &'a World, pipeline: u64, name: &str) -> &'a Job {
        world.current_jobs(pipeline).find(|j| j.name == name).unwrap()
    }

    #[test]
    fn a_green_pipeline_runs_stage_by_stage_and_passes() {
        let mut world = World::empty(1, t0(), scenario::projects(3));
        let p = world.create_pipeline(&world.projects[0].clone(), "main", false, Fate::Green, t0());
        world.advance(t0() + Duration::seconds(2));
        assert_eq!(job(&world, p, "test").status, JobStatus::Pending);
        assert_eq!(job(&world, p, "compile").status, JobStatus::Created);
        world.advance(t0() + Duration::hours(1));
        assert_eq!(world.pipelines[&p].status, JobStatus::Success);
        let compile = job(&world, p, "compile");
        let test = job(&world, p, "test");
        assert!(compile.started_at.unwrap() >= test.finished_at.unwrap());
        // deploy_live runs on tags only; deploy_review waits on branches.
        assert!(world.current_jobs(p).all(|j| j.name != "deploy_live"));
    }

    #[test]
    fn the_registry_story_fails_twice_then_a_retry_succeeds() {
        let mut world = World::empty(1, t0(), scenario::projects(3));
        let p = world.create_pipeline(&world.projects[0].clone(), "main", false, Fate::RegistryLogin, t0());
        world.advance(t0() + Duration::hours(1));
        assert_eq!(world.pipelines[&p].status, JobStatus::Failed);
        let first = job(&world, p, "image_build").clone();
        assert_eq!(first.failure, Some(Failure::DockerUnauthorized));
        assert_eq!(job(&world, p, "deploy_review").status, JobStatus::Skipped);

        let second = world.retry_job(first.id, scenario::TOKEN_OWNER, world.now).unwrap();
        assert!(world.jobs[&first.id].retried);
        assert_eq!(job(&world, p, "deploy_review").status, JobStatus::Created);
        world.advance(t0() + Duration::hours(2));
        assert_eq!(world.jobs[&second].failure, Some(Failure::DockerX509));

        let third = world.retry_job(second, scenario::TOKEN_OWNER, world.now).unwrap();
        world.advance(t0() + Duration::hours(3));
        assert_eq!(world.jobs[&third].status, JobStatus::Success);
        assert_eq!(world.pipelines[&p].status, JobStatus::Success);
        assert_eq!(
            world.retry_job(second, scenario::TOKEN_OWNER, world.now),
            Err(Refusal::NotRetryable)
        );
    }

    #[test]
    fn needs_let_a_job_start_before_its_stage_would() {
        let mut world = World::empty(7, t0(), scenario::projects(3));
        let p = world.create_pipeline(&world.projects[1].clone(), "main", false, Fate::Green, t0());
        world.advance(t0() + Duration::hours(1));
        let package = job(&world, p, "package-api");
        let integration = job(&world, p, "integration");
        assert!(
            package.started_at.unwrap() < integration.finished_at.unwrap(),
            "package-api (stage package) needs only rspec, so it starts while integration (stage test) runs"
        );
        assert_eq!(
            world.current_jobs(p).filter(|j| j.name.starts_with("rspec ")).count(),
            3
        );
    }

    #[test]
    fn a_trigger_job_follows_its_child_pipeline() {
        let mut world = World::empty(3, t0(), scenario::projects(3));
        let p = world.create_pipeline(&world.projects[2].clone(), "main", false, Fate::Green, t0());
        world.advance(t0() + Duration::hours(1));
        let bridge = job(&world, p, "frontend");
        let child = bridge.downstream.expect("child pipeline started");
        assert_eq!(world.pipelines[&child].parent, Some((p, bridge.id)));
        assert_eq!(world.pipelines[&child].status, JobStatus::Success);
        assert_eq!(bridge.status, JobStatus::Success);
        assert!(job(&world, p, "smoke").started_at.unwrap() >= world.pipelines[&child].finished_at.unwrap());
    }

    #[test]
    fn manual_jobs_wait_until_played() {
        let mut world = World::empty(3, t0(), scenario::projects(3));
        let p = world.create_pipeline(&world.projects[0].clone(), "v1.0.0", true, Fate::Green, t0());
        world.advance(t0() + Duration::hours(1));
        let deploy = job(&world, p, "deploy_live").id;
        assert_eq!(world.jobs[&deploy].status, JobStatus::Manual);
        assert_eq!(world.pipelines[&p].status, JobStatus::Success);
        assert_eq!(
            world.play_job(job(&world, p, "test").id, scenario::TOKEN_OWNER, vec![], world.now),
            Err(Refusal::Unplayable)
        );
        world
            .play_job(deploy, scenario::TOKEN_OWNER, vec![("K".into(), "V".into())], world.now)
            .unwrap();
        assert_eq!(world.pipelines[&p].status, JobStatus::Running);
        world.advance(t0() + Duration::hours(2));
        assert_eq!(world.jobs[&deploy].status, JobStatus::Success);
    }

    #[test]
    fn a_new_push_cancels_the_running_pipeline_of_its_ref() {
        let mut world = World::empty(5, t0(), scenario::projects(3));
        let old = world.create_pipeline(&world.projects[0].clone(), "main", false, Fate::Green, t0());
        let other = world.create_pipeline(&world.projects[0].clone(), "fix/health-probe", false, Fate::Green, t0());
        let later = t0() + Duration::seconds(40);
        world.advance(later);
        world.cancel_redundant(1, "main", later);
        world.create_pipeline(&world.projects[0].clone(), "main", false, Fate::Green, later);
        assert_eq!(world.pipelines[&old].status, JobStatus::Canceled);
        assert_ne!(world.pipelines[&other].status, JobStatus::Canceled);
        assert!(world.current_jobs(old).any(|j| j.status == JobStatus::Canceled));
    }

    #[test]
    fn history_ends_with_the_failing_main_pipeline() {
        let world = with_history(42, t0(), 3, true, 0, scenario::projects(3));
        let main = world.latest_pipeline(1, "main").unwrap();
        assert_eq!(main.status, JobStatus::Failed);
        let attempts: Vec<&Job> = world
            .jobs
            .values()
            .filter(|j| j.pipeline_id == main.id && j.name == "image_build")
            .collect();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[1].failure, Some(Failure::DockerX509));
        assert!(world.pipelines.len() > 30, "days of history: {}", world.pipelines.len());
    }
}
