//! The pipeline page, job logs and actions in a real browser against the real binary in demo mode.

use std::time::Duration;

use stageboard_e2e::{Browser, Stageboard};

const WAIT: Duration = Duration::from_secs(25);

/// From the overview to gitlab-k8s-demo's failing main pipeline.
async fn open_failing_pipeline(browser: &Browser, app: &Stageboard) -> Result<(), String> {
    browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
    browser
        .click_text("li[data-project-id='1'] .latest-link", "failed", WAIT)
        .await?;
    browser.wait_text(".stage-title", "Release", WAIT).await.map(drop)
}

#[tokio::test]
async fn the_failing_pipeline_shows_its_stages_in_order_and_its_log_reads_well() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        open_failing_pipeline(&browser, &app).await?;
        let stages = browser.texts(".stage-title", WAIT).await.map_err(|e| e.to_string())?;
        browser.screenshot("pipeline").await.map_err(|e| e.to_string())?;

        browser.click_text(".job-card .job-link", "image_build", WAIT).await?;
        let error_line = browser
            .wait_text(".log-line.error-line", "ERROR: Job failed", WAIT)
            .await?;
        let red = browser.count(".log-line.error-line .fg-1").await;
        let lines_before = browser.count(".log-line").await;
        browser
            .client
            .find(fantoccini_css(".log-line.section-header .toggle"))
            .await
            .map_err(|e| e.to_string())?
            .click()
            .await
            .map_err(|e| e.to_string())?;
        let lines_collapsed = browser.wait_count(".log-line", |n| n < lines_before, WAIT).await?;

        let search = browser
            .client
            .find(fantoccini_css(".search input"))
            .await
            .map_err(|e| e.to_string())?;
        search.send_keys("x509").await.map_err(|e| e.to_string())?;
        let count = browser.wait_text(".match-count", "of", WAIT).await?;
        let current = browser.wait_text(".log-line.current-match", "x509", WAIT).await?;
        browser.screenshot("job-log").await.map_err(|e| e.to_string())?;
        Ok::<_, String>((stages, error_line, red, lines_before, lines_collapsed, count, current))
    }
    .await;
    browser.close().await;
    let (stages, error_line, red, before, collapsed, count, current) = seen.expect("the pipeline and its log render");
    let stages: Vec<String> = stages.iter().map(|s| s.trim().to_lowercase()).collect();
    assert_eq!(stages, ["test", "build", "release", "review"]);
    assert!(error_line.contains("exit code 1"));
    assert!(red >= 1, "the error line is red");
    assert!(
        collapsed < before,
        "collapsing a section hides its lines ({before} -> {collapsed})"
    );
    assert_eq!(count.trim(), "1 of 1");
    assert!(current.contains("certificate signed by unknown authority"));
}

fn fantoccini_css(css: &str) -> stageboard_e2e::fantoccini::Locator<'_> {
    stageboard_e2e::fantoccini::Locator::Css(css)
}

#[tokio::test]
async fn a_collapsed_section_opens_and_html_in_a_log_stays_text() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        open_failing_pipeline(&browser, &app).await?;
        browser.click_text(".job-card .job-link", "test", WAIT).await?;
        browser
            .wait_text(".log-line", "Running with gitlab-runner", WAIT)
            .await?;
        let hidden_before = browser
            .wait_text(".log-line", "Resolving dependency graph", Duration::from_secs(1))
            .await
            .is_err();
        browser
            .click_text(".log-line.section-header .toggle", "▸", WAIT)
            .await?;
        let shown = browser
            .wait_text(".log-line", "Resolving dependency graph", WAIT)
            .await?;
        let html = browser.wait_text(".log-line", "<script>", WAIT).await?;
        let img_elements = browser.count(".log img").await + browser.count(".log script").await;
        let xss = browser
            .js("return window.__stageboard_xss === undefined ? null : window.__stageboard_xss;")
            .await?;
        Ok::<_, String>((hidden_before, shown, html, img_elements, xss))
    }
    .await;
    browser.close().await;
    let (hidden_before, shown, html, elements, xss) = seen.expect("the test job's log renders");
    assert!(hidden_before, "a [collapsed=true] section starts closed");
    assert!(shown.contains("Resolving dependency graph"));
    assert!(html.contains("<script>window.__stageboard_xss=1</script>") && html.contains("<img src=x onerror="));
    assert_eq!(elements, 0, "no element came out of the log text");
    assert!(xss.is_null(), "no script ran: {xss}");
}

#[tokio::test]
async fn retrying_image_build_makes_a_new_job_that_succeeds() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.sign_in(&app.url, "achen", "/").await?;
        open_failing_pipeline(&browser, &app).await?;
        browser.click_text(".job-card .job-link", "image_build", WAIT).await?;
        browser.wait_text(".job-header h1", "failed", WAIT).await?;
        browser.click_text(".job-header .actions button", "Retry", WAIT).await?;
        let answer = browser.wait_text(".job-header .answer", "New attempt", WAIT).await?;
        browser.click_text(".job-header a.new-job", "image_build", WAIT).await?;
        // Let the simulated runner finish the job now rather than in two minutes.
        browser.js("fetch('/api/v1/demo/advance', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({seconds: 600})}); return null;").await?;
        let status = browser.wait_text(".job-header h1", "passed", WAIT).await?;
        let log = browser.wait_text(".log-line", "Job succeeded", WAIT).await?;
        browser.screenshot("job-retried").await.map_err(|e| e.to_string())?;
        Ok::<_, String>((answer, status, log))
    }
    .await;
    browser.close().await;
    let (answer, status, log) = seen.expect("the retry goes through");
    assert!(answer.contains("image_build #"));
    assert!(status.contains("passed"));
    assert!(log.contains("Job succeeded"));
}

#[tokio::test]
async fn a_manual_deploy_runs_after_confirmation() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.sign_in(&app.url, "achen", "/").await?;
        browser
            .click_text("li[data-project-id='1'] .other-refs a", "tag v", WAIT)
            .await?;
        browser.wait_text(".job-card", "deploy_live", WAIT).await?;
        browser.click_text(".job-card .action button", "Run", WAIT).await?;
        let question = browser.wait_text(".dialog h2", "deploy_live", WAIT).await?;
        let target = browser.wait_text(".dialog .deploy-target", "live", WAIT).await?;
        let confirm = browser
            .client
            .find(stageboard_e2e::fantoccini::Locator::Css(".dialog .confirm"))
            .await
            .map_err(|e| e.to_string())?;
        let locked = !confirm.is_enabled().await.map_err(|e| e.to_string())?;
        let input = browser
            .client
            .find(stageboard_e2e::fantoccini::Locator::Css(
                ".dialog .type-to-confirm-input",
            ))
            .await
            .map_err(|e| e.to_string())?;
        input.send_keys("live").await.map_err(|e| e.to_string())?;
        let unlocked = confirm.is_enabled().await.map_err(|e| e.to_string())?;
        browser
            .screenshot("deploy-confirmation")
            .await
            .map_err(|e| e.to_string())?;
        browser.click_text(".dialog .confirm", "Yes", WAIT).await?;
        let answer = browser.wait_text(".notice", "deploy_live", WAIT).await?;
        Ok::<_, String>((question, target, locked, unlocked, answer))
    }
    .await;
    browser.close().await;
    let (question, target, locked, unlocked, answer) = seen.expect("the manual job runs");
    assert!(question.starts_with("Run deploy_live"));
    assert!(target.contains("This deploys to live (production)"), "{target}");
    assert!(locked, "production waits for its name to be typed");
    assert!(unlocked, "typing the environment's name unlocks the confirmation");
    assert!(answer.contains("pending") || answer.contains("running"), "{answer}");
}

#[tokio::test]
async fn needs_are_drawn_as_links_and_timing_shows_a_waterfall() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser
            .client
            .goto(&format!("{}/projects/2/pipelines?ref=main&status=success", app.url))
            .await
            .map_err(|e| e.to_string())?;
        browser.click_text("table.pipelines td a", "#", WAIT).await?;
        browser.wait_text(".stage-title", "Package", WAIT).await?;
        let group = browser.wait_text(".job-group summary", "rspec", WAIT).await?;
        browser.click_text(".tab", "Needs", WAIT).await?;
        browser.wait_text(".dag-card", "package-api", WAIT).await?;
        let cards = browser.count(".dag-card").await;
        let links = browser.count(".dag-links path").await;
        browser.screenshot("needs").await.map_err(|e| e.to_string())?;
        browser.click_text(".tab", "Timing", WAIT).await?;
        browser.wait_text(".waterfall-row", "integration", WAIT).await?;
        let rows = browser.count(".waterfall-row").await;
        browser.screenshot("timing").await.map_err(|e| e.to_string())?;
        // payments-api's runner writes FF_TIMESTAMPS: they show on demand.
        browser.click_text(".waterfall-name", "lint", WAIT).await?;
        browser
            .wait_text(".log-line", "Running with gitlab-runner", WAIT)
            .await?;
        let before = browser.count(".log-line .ts").await;
        browser.click_text(".log-toolbar .check", "Timestamps", WAIT).await?;
        let stamp = browser.wait_text(".log-line .ts", "Z", WAIT).await?;
        Ok::<_, String>((group, cards, links, rows, before, stamp))
    }
    .await;
    browser.close().await;
    let (group, cards, links, rows, before, stamp) = seen.expect("the needs and timing views render");
    assert_eq!(before, 0, "timestamps start hidden");
    assert!(stamp.len() == 27 && stamp.ends_with('Z'), "{stamp}");
    assert!(
        group.contains("rspec") && group.contains('3'),
        "parallel jobs form one group: {group}"
    );
    assert!(cards >= 10, "{cards} cards");
    assert!(links >= 9, "{links} links");
    assert!(rows >= 10, "{rows} rows");
}

#[tokio::test]
async fn a_change_made_elsewhere_reaches_an_open_page_by_server_sent_events() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        // Someone who may retry (actions need a sign-in) watches the page.
        browser.sign_in(&app.url, "achen", "/").await?;
        open_failing_pipeline(&browser, &app).await?;
        let before = browser.wait_text(".job-card", "image_build", WAIT).await?;
        // Someone else retries the pipeline: this page did nothing, and it polls only every 30 s.
        browser
            .js("const id = location.pathname.split('/').pop(); fetch(`/api/v1/projects/1/pipelines/${id}/retry`, {method: 'POST', headers: {'content-type': 'application/json'}}); return null;")
            .await?;
        let after = browser
            .wait_text(".job-card", "↻ 3", Duration::from_secs(5))
            .await?;
        let clients = browser
            .js("return fetch('/metrics').then(r => r.text()).then(t => t.split('\\n').find(l => l.startsWith('stageboard_sse_clients ')));")
            .await?;
        Ok::<_, String>((before, after, clients))
    }
    .await;
    browser.close().await;
    let (before, after, clients) = seen.expect("the page hears of the retry");
    assert!(before.contains("↻ 2"), "two attempts before: {before}");
    assert!(after.contains("image_build"), "{after}");
    let clients: u64 = clients
        .as_str()
        .and_then(|l| l.split(' ').nth(1)?.parse().ok())
        .unwrap_or(0);
    assert!(clients >= 1, "the page holds an event stream");
}

/// Browsers give a host six connections over HTTP/1.1: the app holds one event stream, however
/// many views on the page listen (a job page follows its project and its log).
#[tokio::test]
async fn a_job_page_holds_one_event_stream() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        open_failing_pipeline(&browser, &app).await?;
        browser.click_text(".job-card .job-link", "image_build", WAIT).await?;
        browser.wait_text(".log-line", "ERROR: Job failed", WAIT).await?;
        // The pipeline page's stream is closed by the browser; the server notices it at its
        // next keep-alive (15 s) at the latest.
        let mut clients = None;
        for _ in 0..70 {
            let line = browser
                .js("return fetch('/metrics').then(r => r.text()).then(t => t.split('\\n').find(l => l.startsWith('stageboard_sse_clients ')));")
                .await?;
            clients = line.as_str().and_then(|l| l.split(' ').nth(1)?.parse::<u64>().ok());
            if clients == Some(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok::<_, String>(clients)
    }
    .await;
    browser.close().await;
    let clients = seen.expect("the job page renders");
    assert_eq!(clients, Some(1), "event streams held by one job page");
}
