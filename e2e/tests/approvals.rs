//! Deployment approvals in a real browser against the real binary in demo mode, where
//! payments-api's `production` (a protected environment, GitLab Premium) waits for one
//! Maintainer's approval: the Developer sees who must approve and is told he may not, the
//! Maintainer approves with a comment, and then the Developer deploys.

use std::time::Duration;

use stageboard_e2e::fantoccini::Locator;
use stageboard_e2e::{Browser, Stageboard};

const WAIT: Duration = Duration::from_secs(25);

/// payments-api's `production` page, from the environments grid.
async fn open_production(browser: &Browser, app: &Stageboard) -> Result<(), String> {
    browser
        .client
        .goto(&format!("{}/environments", app.url))
        .await
        .map_err(|e| e.to_string())?;
    browser
        .click_text("a.env-cell[data-env='production']", "", WAIT)
        .await?;
    browser
        .wait_text(".waiting-deploy h2", "deploy-production", WAIT)
        .await?;
    Ok(())
}

async fn type_into(browser: &Browser, css: &str, text: &str) -> Result<(), String> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let field = browser
            .client
            .find(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?;
        match field.send_keys(text).await {
            Ok(()) => return Ok(()),
            // Re-rendered between finding and typing (an event arrived): find it again.
            Err(e) if e.is_stale_element_reference() && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(150)).await
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Makes GitLab change (ten simulated minutes: new pipelines in every project), waits until
/// the page has re-rendered under the open dialog (its comment box replaced), and returns what
/// the comment box then holds.
async fn survives_a_rerender(browser: &Browser) -> Result<String, String> {
    let before = browser
        .client
        .find(Locator::Css(".dialog textarea"))
        .await
        .map_err(|e| e.to_string())?;
    browser
        .js("fetch('/api/v1/demo/advance', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({seconds: 600})}); return null;")
        .await?;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match before.prop("value").await {
            Err(e) if e.is_stale_element_reference() => break,
            _ if std::time::Instant::now() > deadline => return Err("the page never re-rendered".into()),
            _ => tokio::time::sleep(Duration::from_millis(150)).await,
        }
    }
    // More events may follow the first re-render: read the box again if it was replaced.
    loop {
        let after = browser
            .client
            .find(Locator::Css(".dialog textarea"))
            .await
            .map_err(|e| format!("the dialog closed when the page re-rendered: {e}"))?;
        match after.prop("value").await {
            Ok(value) => return Ok(value.unwrap_or_default()),
            Err(e) if e.is_stale_element_reference() && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(150)).await
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[tokio::test]
async fn a_maintainer_approves_the_production_deploy_then_the_developer_runs_it() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.sign_in(&app.url, "bwalker", "/environments").await?;
        open_production(&browser, &app).await?;
        let waiting = browser.wait_text(".approvals", "0 of 1 from Maintainers", WAIT).await?;
        browser.click_text(".approvals .action button", "Approve", WAIT).await?;
        let not_his = browser.wait_text(".notice", "", WAIT).await?;
        browser
            .click_text(".waiting-deploy > .action button", "Run", WAIT)
            .await?;
        let not_yet = browser.wait_text(".notice", "approval", WAIT).await?;
        let asked = browser.count(".dialog").await;

        browser.click_text(".topbar .sign-out", "Sign out", WAIT).await?;
        browser.wait_text(".topbar a.sign-in", "Sign in", WAIT).await?;
        browser.sign_in(&app.url, "achen", "/environments").await?;
        open_production(&browser, &app).await?;
        browser.click_text(".approvals .action button", "Approve", WAIT).await?;
        browser.wait_text(".dialog h2", "Approve", WAIT).await?;
        type_into(&browser, ".dialog textarea", "Change window open").await?;
        browser.screenshot("approval-dialog").await.map_err(|e| e.to_string())?;
        let kept = survives_a_rerender(&browser).await?;
        browser.click_text(".dialog .confirm", "Yes", WAIT).await?;
        let approved = browser.wait_text(".notice", "approved", WAIT).await?;
        let given = browser.wait_text(".approvals li.approved", "Alice Chen", WAIT).await?;
        browser
            .screenshot("approval-approved")
            .await
            .map_err(|e| e.to_string())?;

        browser.click_text(".topbar .sign-out", "Sign out", WAIT).await?;
        browser.wait_text(".topbar a.sign-in", "Sign in", WAIT).await?;
        browser.sign_in(&app.url, "bwalker", "/environments").await?;
        open_production(&browser, &app).await?;
        browser
            .click_text(".waiting-deploy > .action button", "Run", WAIT)
            .await?;
        browser.wait_text(".dialog h2", "deploy-production", WAIT).await?;
        type_into(&browser, ".dialog .type-to-confirm-input", "production").await?;
        browser.click_text(".dialog .confirm", "Yes", WAIT).await?;
        let deployed = browser.wait_text(".notice", "", WAIT).await?;
        Ok::<_, String>((waiting, not_his, not_yet, asked, kept, approved, given, deployed))
    }
    .await;
    browser.close().await;
    let (waiting, not_his, not_yet, asked, kept, approved, given, deployed) = seen.expect("approving and deploying");
    assert_eq!(
        kept, "Change window open",
        "the open dialog and its comment outlive the page re-rendering what changed"
    );
    assert!(waiting.contains("Waiting for approval"), "{waiting}");
    assert_eq!(
        not_his,
        "Only Maintainers may approve deployments to production, and you are a Developer on this project."
    );
    assert!(
        not_yet.contains("It waits for 1 more approval (Maintainers)"),
        "{not_yet}"
    );
    assert_eq!(asked, 0, "no confirmation for what GitLab would refuse");
    assert_eq!(approved, "Alice Chen approved the deployment to production.");
    assert!(given.contains("Change window open"), "{given}");
    assert!(
        deployed.contains("deploy-production") && !deployed.to_lowercase().contains("refused"),
        "{deployed}"
    );
}
