//! The environments portal in a real browser against the real binary in demo mode: the grid
//! with cluster health, stopping an environment, and a manual production deploy to 2/2.

use std::time::Duration;

use stageboard_e2e::fantoccini::Locator;
use stageboard_e2e::{Browser, Stageboard};

const WAIT: Duration = Duration::from_secs(30);

/// Moves the simulated runner and cluster on by `seconds`.
async fn advance_clock(browser: &Browser, seconds: u32) -> Result<(), String> {
    browser
        .js(&format!(
            "fetch('/api/v1/demo/advance', {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: JSON.stringify({{seconds: {seconds}}})}}); return null;"
        ))
        .await
        .map(drop)
}

async fn open_environment(browser: &Browser, app: &Stageboard, name: &str) -> Result<(), String> {
    browser
        .client
        .goto(&format!("{}/environments", app.url))
        .await
        .map_err(|e| e.to_string())?;
    let cell = format!("tr[data-project-id='1'] a.env-cell[data-env='{name}']");
    browser.click_text(&cell, name, WAIT).await?;
    browser.wait_text(".page-header h1", name, WAIT).await.map(drop)
}

/// A project's `.gitlab-ci.yml` writes its environments' URLs: a `javascript:` one is shown as
/// text, never as a link.
#[tokio::test]
async fn a_javascript_environment_url_is_text_not_a_link() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
        let status = browser
            .js("return fetch('/api/v1/demo/faults', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({hostile_urls: true})}).then(r => r.status);")
            .await?;
        open_environment(&browser, &app, "dev").await?;
        let shown = browser.wait_text(".page-header .external-url", "javascript:", WAIT).await?;
        let links = browser.count("a[href^='javascript'], a[href^='JAVASCRIPT'], a[href*='alert']").await;
        let buttons = browser.count("a.view-deployment").await;
        Ok::<_, String>((status, shown, links, buttons))
    }
    .await;
    browser.close().await;
    let (status, shown, links, buttons) = seen.expect("the environment page renders");
    assert_eq!(status, 200, "the simulated GitLab took the fault");
    // stageboard_sim::HOSTILE_URL
    assert_eq!(
        shown.trim(),
        "javascript:alert(document.domain)",
        "the address is shown as it is"
    );
    assert_eq!((links, buttons), (0, 0), "and is no link");
}

#[tokio::test]
async fn the_grid_shows_dev_and_live_with_their_cluster_health() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser
            .client
            .goto(&format!("{}/environments", app.url))
            .await
            .map_err(|e| e.to_string())?;
        let dev = browser
            .wait_text("tr[data-project-id='1'] a.env-cell[data-env='dev']", "ready", WAIT)
            .await?;
        let live = browser
            .wait_text("tr[data-project-id='1'] a.env-cell[data-env='live']", "waiting", WAIT)
            .await?;
        let columns = browser
            .texts("table.env-grid thead th", WAIT)
            .await
            .map_err(|e| e.to_string())?;
        let folder = browser
            .wait_text("tr[data-project-id='1'] .env-folder summary", "review/*", WAIT)
            .await?;
        browser.screenshot("environments").await.map_err(|e| e.to_string())?;
        Ok::<_, String>((dev, live, columns, folder))
    }
    .await;
    browser.close().await;
    let (dev, live, columns, folder) = seen.expect("the grid renders");
    let health = ["healthy", "progressing", "degraded", "missing", "suspended"];
    assert!(health.iter().any(|h| dev.contains(h)), "dev shows its health: {dev}");
    assert!(dev.contains("main"), "dev names the deployed ref: {dev}");
    assert!(health.iter().any(|h| live.contains(h)), "live shows its health: {live}");
    assert!(
        live.contains("waiting: deploy_live for v") && live.contains("commits)"),
        "live names the waiting deploy: {live}"
    );
    let columns: Vec<&str> = columns.iter().map(|c| c.trim()).collect();
    let (dev_at, live_at) = (
        columns.iter().position(|c| *c == "dev"),
        columns.iter().position(|c| *c == "live"),
    );
    assert!(
        dev_at.is_some() && live_at.is_some() && dev_at < live_at,
        "development comes before production: {columns:?}"
    );
    assert!(
        folder.contains("review/*"),
        "review apps fold into one column: {folder}"
    );
}

#[tokio::test]
async fn stopping_dev_runs_its_stop_job_and_its_pods_go_away() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.sign_in(&app.url, "achen", "/").await?;
        open_environment(&browser, &app, "dev").await?;
        let pods_before = {
            browser.wait_text("table.pods tbody tr", "Running", WAIT).await?;
            browser.count("table.pods tbody tr").await
        };
        browser.click_text(".page-header .actions button", "Stop", WAIT).await?;
        let question = browser.wait_text(".dialog h2", "dev", WAIT).await?;
        browser.click_text(".dialog .confirm", "Yes", WAIT).await?;
        let answer = browser.wait_text(".notice", "", WAIT).await?;
        let stopping = browser
            .wait_text(".page-header h1 .env-state", "stopping", WAIT)
            .await?;
        // stop_review takes seconds; a minute is too short for main's next pipeline to deploy dev again.
        advance_clock(&browser, 60).await?;
        let stopped = browser.wait_text(".page-header h1 .env-state", "stopped", WAIT).await?;
        // The cluster follows: stop_review deleted the Deployment, and its pods are gone.
        // Told by a `cluster` event: the page polls only every 30 s.
        let pods_after = browser.wait_count("table.pods tbody tr", |n| n == 0, WAIT).await?;
        browser
            .client
            .goto(&format!("{}/environments", app.url))
            .await
            .map_err(|e| e.to_string())?;
        let cell = browser
            .wait_text("tr[data-project-id='1'] a.env-cell[data-env='dev']", "stopped", WAIT)
            .await?;
        Ok::<_, String>((pods_before, question, answer, stopping, stopped, pods_after, cell))
    }
    .await;
    browser.close().await;
    let (pods_before, question, answer, stopping, stopped, pods_after, cell) = seen.expect("dev stops");
    assert_eq!(pods_before, 2, "dev runs two pods before");
    assert!(question.contains("Stop environment dev"), "{question}");
    assert!(!answer.trim().is_empty(), "GitLab's answer is shown");
    assert!(stopping.contains("stopping"));
    assert!(stopped.contains("stopped"));
    assert_eq!(pods_after, 0, "the pods disappear once stop_review ran");
    assert!(cell.contains("stopped"), "the grid cell turns stopped: {cell}");
}

#[tokio::test]
async fn playing_deploy_live_through_the_confirmation_rolls_out_to_two_of_two() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.sign_in(&app.url, "achen", "/").await?;
        open_environment(&browser, &app, "live").await?;
        let waiting = browser.wait_text(".waiting-deploy h2", "deploy_live", WAIT).await?;
        let tag = waiting
            .split_whitespace()
            .find(|w| w.starts_with('v'))
            .unwrap_or_default()
            .to_owned();
        browser
            .click_text(".waiting-deploy .action button", "Run", WAIT)
            .await?;
        let changes = browser
            .texts(".dialog .deploy-changes li", WAIT)
            .await
            .map_err(|e| e.to_string())?;
        let confirm = browser
            .client
            .find(Locator::Css(".dialog .confirm"))
            .await
            .map_err(|e| e.to_string())?;
        let locked = !confirm.is_enabled().await.map_err(|e| e.to_string())?;
        browser
            .client
            .find(Locator::Css(".dialog .type-to-confirm-input"))
            .await
            .map_err(|e| e.to_string())?
            .send_keys("live")
            .await
            .map_err(|e| e.to_string())?;
        browser
            .screenshot("environment-deploy")
            .await
            .map_err(|e| e.to_string())?;
        browser.click_text(".dialog .confirm", "Yes", WAIT).await?;
        let answer = browser.wait_text(".notice", "deploy_live", WAIT).await?;
        advance_clock(&browser, 600).await?;
        let deployed = browser.wait_text(".env-facts .env-deployed", &tag, WAIT).await?;
        let rollout = browser.wait_text(".live-resources h2", "2/2 ready", WAIT).await?;
        let images = browser
            .texts("table.pods td.image", WAIT)
            .await
            .map_err(|e| e.to_string())?;
        browser.screenshot("environment").await.map_err(|e| e.to_string())?;
        Ok::<_, String>((tag, changes, locked, answer, deployed, rollout, images))
    }
    .await;
    browser.close().await;
    let (tag, changes, locked, answer, deployed, rollout, images) = seen.expect("deploy_live runs");
    assert!(tag.starts_with('v'), "the waiting deploy names its tag");
    assert!(changes[0].starts_with("Deployed now: v"), "{changes:?}");
    assert!(changes[1].starts_with(&format!("Will deploy: {tag}")), "{changes:?}");
    assert!(changes.len() > 2, "the commits between them are listed: {changes:?}");
    assert!(locked, "production waits for its name to be typed");
    assert!(answer.contains("deploy_live"), "{answer}");
    assert!(deployed.contains(&tag), "{deployed}");
    assert!(rollout.contains("healthy 2/2 ready"), "{rollout}");
    // "Will deploy: v1.5.0 (1a2b3c4d)": the pods run the image built from that commit.
    let sha = changes[1].rsplit('(').next().unwrap_or_default().trim_end_matches(')');
    assert_eq!(sha.len(), 8, "{changes:?}");
    assert!(
        !images.is_empty() && images.iter().all(|i| i.ends_with(sha)),
        "the pods run {tag} ({sha}): {images:?}"
    );
}
