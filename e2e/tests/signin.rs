//! Signing in with GitLab in a real browser against the real binary in demo mode: through the
//! simulated GitLab's sign-in page (the same code path as a real GitLab's), the Developer told
//! why `deploy_live` is not theirs to run (the environment's protection, as GitLab keeps it),
//! the Maintainer deploying it, the audit log showing it, signing out, and a session that
//! outlives a restart.

use std::time::Duration;

use stageboard_e2e::fantoccini::Locator;
use stageboard_e2e::{Browser, Stageboard};

const WAIT: Duration = Duration::from_secs(25);

/// From the overview to the release tag's pipeline, whose `deploy_live` waits to be run.
async fn open_release(browser: &Browser, app: &Stageboard) -> Result<String, String> {
    browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
    browser
        .click_text("li[data-project-id='1'] .other-refs a", "tag v", WAIT)
        .await?;
    browser.wait_text(".job-card", "deploy_live", WAIT).await?;
    Ok(browser
        .client
        .current_url()
        .await
        .map_err(|e| e.to_string())?
        .path()
        .to_owned())
}

/// Presses `deploy_live`'s Run without going further; returns what the page says.
async fn press_run(browser: &Browser) -> Result<String, String> {
    browser.click_text(".job-card .action button", "Run", WAIT).await?;
    browser.wait_text(".notice", "", WAIT).await
}

/// Runs `deploy_live` through its confirmation; returns the answer shown.
async fn deploy_live(browser: &Browser) -> Result<String, String> {
    browser.click_text(".job-card .action button", "Run", WAIT).await?;
    browser.wait_text(".dialog h2", "deploy_live", WAIT).await?;
    browser
        .client
        .find(Locator::Css(".dialog .type-to-confirm-input"))
        .await
        .map_err(|e| e.to_string())?
        .send_keys("live")
        .await
        .map_err(|e| e.to_string())?;
    browser.click_text(".dialog .confirm", "Yes", WAIT).await?;
    browser.wait_text(".notice", "", WAIT).await
}

/// Signs in through the top bar's button on the page the person is on, choosing `username` on
/// GitLab's page; returns the name the top bar then shows.
async fn sign_in_here(browser: &Browser, username: &str) -> Result<String, String> {
    browser.click_text(".topbar a.sign-in", "Sign in", WAIT).await?;
    browser
        .click_text("button[name=user]", &format!("(@{username})"), WAIT)
        .await?;
    browser.wait_text(".topbar .who .person", "", WAIT).await
}

#[tokio::test]
async fn the_developer_is_told_deploy_live_is_not_theirs_and_the_maintainer_deploys_it_in_her_name() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        let release = open_release(&browser, &app).await?;
        // Nobody signed in: the button says what to do rather than sending what would be refused.
        browser.click_text(".job-card .action button", "Run", WAIT).await?;
        let anonymous = browser.wait_text(".notice", "Sign in", WAIT).await?;

        let developer = sign_in_here(&browser, "bwalker").await?;
        let back_on = browser
            .client
            .current_url()
            .await
            .map_err(|e| e.to_string())?
            .path()
            .to_owned();
        let refused = press_run(&browser).await?;
        let asked = browser.count(".dialog").await;
        browser
            .screenshot("signin-developer-refused")
            .await
            .map_err(|e| e.to_string())?;

        browser.click_text(".topbar .sign-out", "Sign out", WAIT).await?;
        browser.wait_text(".topbar a.sign-in", "Sign in", WAIT).await?;
        let maintainer = sign_in_here(&browser, "achen").await?;
        let deployed = deploy_live(&browser).await?;
        browser
            .screenshot("signin-maintainer-deployed")
            .await
            .map_err(|e| e.to_string())?;

        browser.click_text(".topbar .nav a", "Audit", WAIT).await?;
        browser.wait_text("table.audit tbody tr", "achen", WAIT).await?;
        let audit = browser
            .texts("table.audit tbody tr", WAIT)
            .await
            .map_err(|e| e.to_string())?;
        browser.screenshot("audit").await.map_err(|e| e.to_string())?;
        Ok::<_, String>((
            release,
            anonymous,
            developer,
            back_on,
            (refused, asked),
            maintainer,
            deployed,
            audit,
        ))
    }
    .await;
    browser.close().await;
    let (release, anonymous, developer, back_on, (refused, asked), maintainer, deployed, audit) =
        seen.expect("signing in, deploying and the audit log");
    assert!(anonymous.contains("Sign in with GitLab"), "{anonymous}");
    assert_eq!(developer, "Bruno Walker");
    assert_eq!(back_on, release, "back on the page where sign-in started");
    assert_eq!(
        refused,
        "live is a protected environment: only Maintainers may deploy to it, and you are a Developer on this project."
    );
    assert_eq!(asked, 0, "no confirmation for what GitLab would refuse");
    assert_eq!(maintainer, "Alice Chen");
    assert!(
        deployed.contains("deploy_live") && !deployed.contains("refused"),
        "{deployed}"
    );
    assert_eq!(audit.len(), 1, "nothing was sent for the Developer: {audit:?}");
    assert!(
        audit[0].contains("achen") && audit[0].contains("play job") && audit[0].contains("done"),
        "the Maintainer's deploy: {}",
        audit[0]
    );
}

/// The session outlives the restart. (The demo's simulated GitLab starts afresh and forgets the
/// tokens it gave, so there the first action after a restart signs the person out with a
/// message; a real GitLab keeps them.)
#[tokio::test]
async fn a_session_from_before_a_restart_still_signs_the_person_in_after_it() {
    let mut app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let before = async {
        browser.sign_in(&app.url, "achen", "/environments").await?;
        browser.wait_text(".topbar .who .person", "Alice Chen", WAIT).await
    }
    .await;
    app.restart();
    let after = async {
        browser
            .client
            .goto(&format!("{}/audit", app.url))
            .await
            .map_err(|e| e.to_string())?;
        let person = browser.wait_text(".topbar .who .person", "", WAIT).await?;
        let sign_out = browser.wait_text(".topbar .sign-out", "Sign out", WAIT).await?;
        Ok::<_, String>((person, sign_out))
    }
    .await;
    browser.close().await;
    before.expect("signed in before the restart");
    let (person, _) = after.expect("still signed in after it");
    assert_eq!(person, "Alice Chen");
}

/// payments-api's `main` takes merges from Maintainers only (a protected branch): its jobs'
/// buttons tell the Developer so, and send nothing.
#[tokio::test]
async fn a_protected_branch_tells_the_developer_before_he_retries() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.sign_in(&app.url, "bwalker", "/projects/2/pipelines").await?;
        browser
            .client
            .goto(&format!("{}/projects/2/pipelines?ref=main&status=success", app.url))
            .await
            .map_err(|e| e.to_string())?;
        browser.click_text("table.pipelines td a", "#", WAIT).await?;
        browser.click_text(".job-card .action button", "Retry", WAIT).await?;
        let said = browser.wait_text(".notice", "", WAIT).await?;
        let asked = browser.count(".dialog").await;
        Ok::<_, String>((said, asked))
    }
    .await;
    browser.close().await;
    let (said, asked) = seen.expect("the pipeline page");
    assert_eq!(
        said,
        "main is a protected branch: only Maintainers may push to it or merge into it, and so run, retry or cancel its jobs; you are a Developer on this project."
    );
    assert_eq!(asked, 0);
}
