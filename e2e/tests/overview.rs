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
