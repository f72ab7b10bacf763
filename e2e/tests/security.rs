//! The app under its Content-Security-Policy in a real browser: every page runs without a
//! violation, and a violation is seen (so none seen means none happened).

use std::time::Duration;

use stageboard_e2e::{Browser, Stageboard};

const WAIT: Duration = Duration::from_secs(25);

/// `stageboard_csp_violations_total`, as the page's own server counts it.
async fn violations(browser: &Browser) -> Result<u64, String> {
    let line = browser
        .js("return fetch('/metrics').then(r => r.text()).then(t => t.split('\\n').find(l => l.startsWith('stageboard_csp_violations_total ')) || '');")
        .await?;
    Ok(line
        .as_str()
        .and_then(|l| l.split(' ').nth(1)?.parse::<f64>().ok())
        .map_or(0, |n| n as u64))
}

#[tokio::test]
async fn every_page_runs_under_the_content_security_policy() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        browser.client.goto(&app.url).await.map_err(|e| e.to_string())?;
        browser.wait_count("li.project", |n| n > 0, WAIT).await?;
        let ids = browser
            .js("return fetch('/api/v1/projects/1/pipelines?per_page=1').then(r => r.json()).then(async p => { const id = p.pipelines[0].id; const d = await (await fetch('/api/v1/projects/1/pipelines/' + id)).json(); const e = await (await fetch('/api/v1/projects/1/environments')).json(); return [id, d.stages[0].jobs[0].id, e.environments[0].id]; });")
            .await?;
        let id = |i: usize| ids[i].as_u64().unwrap_or_default();
        let pages = [
            ("/projects/1/pipelines".to_owned(), "table tbody tr"),
            (format!("/projects/1/pipelines/{}", id(0)), ".stage"),
            (format!("/projects/1/jobs/{}", id(1)), ".log-line"),
            ("/environments".to_owned(), "table.env-grid"),
            (format!("/projects/1/environments/{}", id(2)), ".page-header h1"),
        ];
        for (path, shown) in &pages {
            browser
                .client
                .goto(&format!("{}{path}", app.url))
                .await
                .map_err(|e| e.to_string())?;
            browser.wait_count(shown, |n| n > 0, WAIT).await.map_err(|e| format!("{path}: {e}"))?;
        }
        // Reports are sent as the page runs; give the last page's a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let clean = violations(&browser).await?;
        // The control: an inline script the policy must block, and report.
        let ran = browser
            .js("const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.appendChild(s); return window.injected === 1;")
            .await?;
        let mut reported = 0;
        for _ in 0..50 {
            reported = violations(&browser).await?;
            if reported > clean {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<_, String>((clean, ran, reported))
    }
    .await;
    browser.close().await;
    let (clean, ran, reported) = seen.expect("every page renders");
    assert_eq!(clean, 0, "no page violates the policy");
    assert_eq!(
        ran,
        serde_json::Value::Bool(false),
        "an injected inline script does not run"
    );
    assert!(reported > clean, "and is reported: the count above is not blind");
}
