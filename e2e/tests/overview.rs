//! The overview in a real browser against the real binary in demo mode.

use std::time::Duration;

use stageboard_e2e::{Browser, Stageboard};

#[tokio::test]
async fn the_overview_lists_the_demo_projects() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.client.goto(&app.url).await?;
        let names = browser
            .texts("li.project .project-name", Duration::from_secs(20))
            .await?;
        let badge = browser.texts(".badge.demo", Duration::from_secs(5)).await?;
        let title = browser.client.title().await?;
        browser.screenshot("overview").await?;
        Ok::<_, stageboard_e2e::fantoccini::error::CmdError>((names, badge, title))
    }
    .await;
    browser.close().await;
    let (names, badge, title) = seen.expect("the overview renders");
    // Failures first: gitlab-k8s-demo's main is red in the reference story.
    assert_eq!(names[0], "gitlab-k8s-demo");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["gitlab-k8s-demo", "monorepo", "payments-api"]);
    assert_eq!(badge, ["demo"]);
    assert!(title.ends_with("stageboard") && title.contains("failing"), "{title}");
}

#[tokio::test]
async fn a_deep_link_opens_the_app_on_that_page() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser
            .client
            .goto(&format!("{}/projects/1/pipelines", app.url))
            .await?;
        let statuses = browser
            .texts("table.pipelines tbody .status", Duration::from_secs(20))
            .await?;
        browser.screenshot("pipelines").await?;
        Ok::<_, stageboard_e2e::fantoccini::error::CmdError>(statuses)
    }
    .await;
    browser.close().await;
    let statuses = seen.expect("the pipelines page renders");
    assert!(statuses.len() >= 10, "{statuses:?}");
    assert!(statuses.iter().any(|s| s.contains("failed")), "{statuses:?}");
}

/// Posts JSON to one of the demo's control routes from the page.
async fn demo_control(browser: &Browser, route: &str, json: &str) -> Result<u16, String> {
    let status = browser
        .js(&format!(
            "return fetch('/api/v1/demo/{route}', {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: '{json}'}}).then(r => r.status);"
        ))
        .await?;
    Ok(status.as_u64().unwrap_or(0) as u16)
}

/// Sets the simulated GitLab's faults through the demo's control route.
async fn faults(browser: &Browser, json: &str) -> Result<(), String> {
    demo_control(browser, "faults", json).await.map(drop)
}

#[tokio::test]
async fn while_gitlab_is_down_the_overview_keeps_its_state_and_says_how_old_it_is() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let wait = Duration::from_secs(20);
    let seen = async {
        browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
        browser
            .texts("li.project .project-name", wait)
            .await
            .map_err(|e| e.to_string())?;
        faults(&browser, r#"{"status": 503}"#).await?;
        let banner = browser
            .wait_text(".upstream-down", "GitLab stopped answering", wait)
            .await?;
        let projects_meanwhile = browser.count("li.project").await;
        browser.screenshot("gitlab-down").await.map_err(|e| e.to_string())?;
        faults(&browser, "{}").await?;
        let gone = browser
            .wait_count(".upstream-down", |n| n == 0, Duration::from_secs(10))
            .await
            .is_ok();
        Ok::<_, String>((banner, projects_meanwhile, gone))
    }
    .await;
    browser.close().await;
    let (banner, projects, gone) = seen.expect("the outage is shown");
    assert!(banner.contains("last known state"), "{banner}");
    assert_eq!(projects, 3, "the projects stay on screen");
    assert!(gone, "the banner goes when GitLab answers again");
}

#[tokio::test]
async fn a_browser_that_asked_is_notified_when_main_turns_green_again() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
        browser.texts("li.project .project-name", Duration::from_secs(20)).await.map_err(|e| e.to_string())?;
        // The browser's notifications as the page calls them (headless Chromium shows none),
        // and, once `window.fixed` is set, gitlab-k8s-demo's main as a fix would leave it.
        browser
            .js(r#"
                window.notified = [];
                window.Notification = function (title, options) { window.notified.push([title, options.body]); };
                window.Notification.permission = 'granted';
                window.Notification.requestPermission = () => Promise.resolve('granted');
                const original = window.fetch;
                window.fetch = (input, init) => original(input, init).then(async r => {
                  if (!window.fixed || !String(input.url || input).endsWith('/api/v1/overview')) return r;
                  const cards = await r.json();
                  for (const c of cards) if (c.project.name === 'gitlab-k8s-demo' && c.latest) c.latest.status = 'success';
                  return new Response(JSON.stringify(cards), { status: r.status, headers: r.headers });
                });
                const select = [...document.querySelectorAll('select')].find(s => s.querySelector('option[value=sound]'));
                select.value = 'on';
                select.dispatchEvent(new Event('change'));
                return true;
            "#)
            .await?;
        // The first look is not news; then main is fixed, and something changes in GitLab.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let first = browser.js("return window.notified.length").await?;
        browser
            .js("window.fixed = true; fetch('/api/v1/demo/advance', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({seconds: 120})}); return null;")
            .await?;
        let mut notified = serde_json::Value::Null;
        for _ in 0..100 {
            notified = browser.js("return window.notified").await?;
            if notified.to_string().contains("gitlab-k8s-demo") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let kept = browser.js("return localStorage.getItem('stageboard.notify')").await?;
        Ok::<_, String>((first, notified, kept))
    }
    .await;
    browser.close().await;
    let (first, notified, kept) = seen.expect("the overview notifies");
    assert_eq!(first, 0, "what is already red is not news");
    let titles: Vec<&str> = notified
        .as_array()
        .expect("notifications")
        .iter()
        .filter_map(|n| n[0].as_str())
        .collect();
    assert!(titles.contains(&"✓ gitlab-k8s-demo: main is green again"), "{notified}");
    assert_eq!(kept, "on", "the choice is this browser's, kept");
}

/// Each page's first API reads are named in its `Link` header for preloading, so a phone starts
/// them while it downloads the app; the app must then take those answers rather than ask again
/// (a read asked twice shows twice in the page's resource timings, the second by `fetch`).
#[tokio::test]
async fn each_page_takes_the_reads_the_server_preloaded() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
        browser.wait_text("li.project .project-name", "gitlab-k8s-demo", Duration::from_secs(20)).await?;
        let ids = browser
            .js("return fetch('/api/v1/overview').then(r => r.json()).then(async cards => {
                   const card = cards.find(c => c.latest && c.latest.status === 'failed');
                   const p = await fetch(`/api/v1/projects/${card.project.id}/pipelines/${card.latest.id}`).then(r => r.json());
                   const job = p.stages.flatMap(s => s.jobs).find(j => j.status === 'failed');
                   const grid = await fetch('/api/v1/environments').then(r => r.json());
                   const env = grid.rows.flatMap(r => r.environments)[0];
                   return [card.project.id, card.latest.id, job.id, env.project_id, env.id, env.name];
                 });")
            .await?;
        let id = |i: usize| ids[i].as_u64().unwrap_or_default();
        let (project, pipeline, job) = (id(0), id(1), id(2));
        let (env_project, environment) = (id(3), id(4));
        let env_name = ids[5].as_str().unwrap_or_default().to_owned();
        let pages = [
            ("/".to_owned(), "li.project .project-name", "gitlab-k8s-demo"),
            ("/environments".to_owned(), "table.env-grid th", "gitlab-k8s-demo"),
            (format!("/projects/{project}/pipelines/{pipeline}"), ".stage-title", "Test"),
            (format!("/projects/{project}/jobs/{job}"), ".log-line", "$"),
            (format!("/projects/{env_project}/environments/{environment}"), "h1", env_name.as_str()),
        ];
        let mut reads = Vec::new();
        for (path, css, text) in pages {
            browser.client.goto(&format!("{}{path}", app.url)).await.map_err(|e| e.to_string())?;
            browser.wait_text(css, text, Duration::from_secs(20)).await?;
            let timings = browser
                .js("return performance.getEntriesByType('resource')
                       .filter(e => e.name.includes('/api/v1/') && !e.name.includes('/api/v1/events'))
                       .map(e => { const u = new URL(e.name); return [u.pathname + u.search, e.initiatorType]; });")
                .await?;
            reads.push((path, timings));
        }
        Ok::<_, String>(reads)
    }
    .await;
    browser.close().await;
    for (path, timings) in seen.expect("the pages open") {
        let timings: Vec<(String, String)> = serde_json::from_value(timings).expect("pairs");
        let expected = stageboard_protocol::reads::first_reads(&path);
        assert!(
            expected.len() >= 2,
            "{path} preloads its own read and the server's facts"
        );
        for read in &expected {
            let times: Vec<&(String, String)> = timings.iter().filter(|(url, _)| url == read).collect();
            assert_eq!(
                times.len(),
                1,
                "{path}: {read} was read once, from its preload: {timings:?}"
            );
            assert_ne!(
                times[0].1, "fetch",
                "{path}: {read} was read by the app, not preloaded: {timings:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_overview_says_which_jobs_wait_for_an_offline_runner() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let wait = Duration::from_secs(20);
    let seen = async {
        browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
        browser
            .texts("li.project .project-name", wait)
            .await
            .map_err(|e| e.to_string())?;
        let before = browser.count(".runners-waiting p").await;
        // The runners with the `docker` tag go offline, and half an hour of pushes goes by:
        // the image builds among them wait.
        let offline = demo_control(&browser, "runners", r#"{"tag": "docker", "online": false}"#).await?;
        demo_control(&browser, "advance", r#"{"seconds": 1800}"#).await?;
        let notice = browser
            .wait_text(".runners-waiting", "no online runner with tag `docker`", wait)
            .await?;
        browser.screenshot("runners-waiting").await.map_err(|e| e.to_string())?;
        // The runners page says which are offline.
        browser
            .client
            .goto(&format!("{}/runners", app.url))
            .await
            .map_err(|e| e.to_string())?;
        let rows = browser.wait_text("table.runners", "shared-docker-1", wait).await?;
        browser.screenshot("runners").await.map_err(|e| e.to_string())?;
        demo_control(&browser, "runners", r#"{"tag": "docker", "online": true}"#).await?;
        demo_control(&browser, "advance", r#"{"seconds": 120}"#).await?;
        let gone = browser
            .wait_count(".runners-waiting p", |n| n == 0, Duration::from_secs(90))
            .await
            .is_ok();
        Ok::<_, String>((before, offline, notice, gone, rows))
    }
    .await;
    browser.close().await;
    let (before, offline, notice, gone, rows) = seen.expect("the waiting jobs are shown");
    assert!(rows.contains("offline") && rows.contains("docker"), "{rows}");
    assert_eq!(before, 0, "nothing waits at first");
    assert_eq!(offline, 200);
    assert!(
        notice.contains("jobs pending") || notice.contains("job pending"),
        "{notice}"
    );
    assert!(notice.contains("shared-docker-1, shared-docker-2 offline"), "{notice}");
    assert!(gone, "the notice goes once a runner is back and the jobs run");
}
