//! The days of history a simulated GitLab starts with, ending with the reference story.

use super::*;

/// Builds days of history for every project, ending with the reference story's failure on
/// `gitlab-k8s-demo`'s main branch, then lets new pushes arrive from `now` on.
pub fn with_history(
    seed: u64,
    now: Time,
    days: i64,
    live: bool,
    review_apps: usize,
    projects: Arc<[ProjectDef]>,
) -> World {
    let start = now - Duration::days(days);
    let mut world = World::empty(seed, start, projects);
    // Events of all projects, in time order, so ids grow with time as in a real GitLab.
    let mut events: Vec<(Time, u64)> = Vec::new();
    for project in world.projects.clone().iter() {
        let mut t = start + Duration::minutes(world.rng().random_range(0..60));
        while t < now - Duration::minutes(50) {
            events.push((t, project.id));
            t += Duration::minutes(world.rng().random_range(45..240));
        }
    }
    events.sort();
    for (at, project_id) in events {
        world.advance(at);
        world.arrive(project_id, at);
    }

    // Someone deployed the earlier tags of gitlab-k8s-demo to live, twenty minutes after each
    // tag's pipeline started.
    let tags: Vec<(u64, Time)> = world
        .pipelines
        .values()
        .filter(|p| p.project_id == world.projects[0].id && p.tag && p.parent.is_none())
        .map(|p| (p.id, p.created_at))
        .collect();
    for &(pipeline, created) in tags.iter().take(tags.len().saturating_sub(1)) {
        let at = created + Duration::minutes(20);
        let deploy = world
            .current_jobs(pipeline)
            .find(|j| j.name == "deploy_live" && j.status == JobStatus::Manual)
            .map(|j| j.id);
        if let Some(job) = deploy.filter(|_| at < now - Duration::minutes(50)) {
            let person = scenario::PEOPLE[1 + (pipeline as usize % (scenario::PEOPLE.len() - 1))];
            let _ = world.play_job(job, person, Vec::new(), at);
        }
    }

    // payments-api's earlier tags went to production: approved by a Maintainer (not the one
    // who pushed the tag: GitLab refuses self-approval), then deployed by a Developer.
    let payments: Vec<u64> = world
        .pipelines
        .values()
        .filter(|p| p.tag && p.parent.is_none() && p.def.jobs.iter().any(|j| j.name == "deploy-production"))
        .map(|p| p.id)
        .collect();
    for pipeline in payments {
        let at = world.pipelines[&pipeline].created_at + Duration::minutes(30);
        let deploy = world
            .current_jobs(pipeline)
            .find(|j| j.name == "deploy-production" && j.status == JobStatus::Manual)
            .map(|j| (j.id, j.user));
        let Some((job, pusher)) = deploy.filter(|_| at < now - Duration::minutes(50)) else {
            continue;
        };
        let approver = if pusher.id == scenario::PEOPLE[1].id {
            scenario::PEOPLE[0]
        } else {
            scenario::PEOPLE[1]
        };
        let deployment = world
            .deployment_of_job(job)
            .map(|d| d.id)
            .expect("a deploy job has a deployment");
        let _ = world.approve_deployment(deployment, approver, crate::users::Role::Maintainer, true, None, at);
        let _ = world.play_job(job, scenario::PEOPLE[2], Vec::new(), at + Duration::minutes(2));
    }

    // Load for benchmarks: more feature branches, each with a green pipeline and a review app.
    let demo = &world.projects[0].clone();
    for i in 0..review_apps {
        let at = now - Duration::minutes(48) + Duration::seconds(i as i64);
        world.advance(at);
        world.create_pipeline(demo, &format!("feature/load-{i:03}"), false, Fate::Green, at);
    }

    // The story on gitlab-k8s-demo: a tag waiting for its manual deploy to live, then main turns
    // red at image_build: docker login refused; the retry fails on the registry's certificate.
    let demo = &world.projects[0].clone();
    let tag = world.next_tag(demo.id);
    world.advance(now - Duration::minutes(40));
    world.create_pipeline(demo, &tag, true, Fate::Green, now - Duration::minutes(40));
    // payments-api's newest tag, pushed by Dmitri Petrov, waits for a Maintainer's approval
    // before production.
    if let Some(payments) = world
        .projects
        .iter()
        .find(|p| p.pipeline.jobs.iter().any(|j| j.name == "deploy-production"))
        .cloned()
    {
        let tag = world.next_tag(payments.id);
        world.advance(now - Duration::minutes(38));
        let pipeline = world.create_pipeline(&payments, &tag, true, Fate::Green, now - Duration::minutes(38));
        world.pushed_by(pipeline, scenario::PEOPLE[4]);
    }
    world.advance(now - Duration::minutes(25));
    let failing = world.create_pipeline(demo, "main", false, Fate::RegistryLogin, now - Duration::minutes(25));
    world.advance(now - Duration::minutes(8));
    let first = world
        .current_jobs(failing)
        .find(|j| j.name == "image_build")
        .map(|j| j.id)
        .expect("image_build exists");
    let author = world.pipelines[&failing].commit.author;
    world
        .retry_job(first, author, now - Duration::minutes(8))
        .expect("a failed image_build is retryable");
    world.advance(now);
    if live {
        world.start_arrivals(now);
    }
    world
}
