//! The wall in a real browser against the real binary: fitted to the screen at the sizes TVs
//! have, from one tile to sixty, worst first, readable, with no controls.

use std::time::Duration;

use serde_json::Value;
use stageboard_e2e::{Browser, SimProcess, Stageboard};

/// Where each tile and its name are on screen, and whether the page scrolls.
const MEASURE: &str = r#"
const tiles = [...document.querySelectorAll('.tiles > li')].map(t => {
  const r = t.getBoundingClientRect();
  const name = t.querySelector('.tile-name');
  const word = t.querySelector('.tile-word');
  return {
    left: r.left, top: r.top, right: r.right, bottom: r.bottom,
    name: name ? name.textContent : null,
    name_width: name ? name.getBoundingClientRect().width : null,
    name_font: name ? parseFloat(getComputedStyle(name).fontSize) : null,
    word: word.innerText,
    word_font: parseFloat(getComputedStyle(word).fontSize),
  };
});
return {
  width: innerWidth, height: innerHeight,
  scroll_height: document.scrollingElement.scrollHeight, scroll_width: document.scrollingElement.scrollWidth,
  tiles,
  controls: document.querySelectorAll('a, button, input, select, textarea').length,
};
"#;

const SIZES: [(u32, u32); 3] = [(1280, 720), (1920, 1080), (3840, 2160)];

/// Every tile on screen, no scrolling, nothing to press, and text no smaller than `least`
/// pixels at 1280×720 (in proportion at larger sizes).
fn assert_fitted(screen: &Value, tiles: usize, least: f64) {
    let (width, height) = (screen["width"].as_f64().unwrap(), screen["height"].as_f64().unwrap());
    let at = format!("at {width}×{height}");
    assert_eq!(screen["tiles"].as_array().unwrap().len(), tiles, "{at}: {screen}");
    assert!(
        screen["scroll_height"].as_f64().unwrap() <= height,
        "{at}: the page scrolls"
    );
    assert!(
        screen["scroll_width"].as_f64().unwrap() <= width,
        "{at}: the page scrolls sideways"
    );
    assert_eq!(screen["controls"], 0, "{at}: a wall has nothing to press");
    let least = least * height / 720.0;
    for tile in screen["tiles"].as_array().unwrap() {
        for (edge, limit) in [("left", 0.0), ("top", 0.0)] {
            assert!(tile[edge].as_f64().unwrap() >= limit, "{at}: off screen {tile}");
        }
        assert!(tile["right"].as_f64().unwrap() <= width, "{at}: off screen {tile}");
        assert!(tile["bottom"].as_f64().unwrap() <= height, "{at}: off screen {tile}");
        assert!(
            tile["word_font"].as_f64().unwrap() >= least,
            "{at}: status too small {tile}"
        );
        if let Some(font) = tile["name_font"].as_f64() {
            assert!(font >= least, "{at}: name too small {tile}");
            assert!(
                tile["name_width"].as_f64().unwrap() >= 4.0 * font,
                "{at}: a name cut to nothing {tile}"
            );
        }
    }
}

#[tokio::test]
async fn the_demo_board_fits_every_screen_size_red_first() {
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        let mut seen = Vec::new();
        for query in ["", "?projects=demo/gitlab-k8s-demo"] {
            browser
                .client
                .goto(&format!("{}/wall{query}", app.url))
                .await
                .map_err(|e| e.to_string())?;
            browser
                .wait_text(".tiles .tile-name", "gitlab-k8s-demo", Duration::from_secs(20))
                .await?;
            for (w, h) in SIZES {
                browser.viewport(w, h).await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
                seen.push((query, browser.js(MEASURE).await?));
                if query.is_empty() {
                    browser
                        .screenshot(&format!("wall-{w}x{h}"))
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        let title = browser.client.title().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((seen, title))
    }
    .await;
    browser.close().await;
    let (seen, title) = seen.expect("the wall renders");
    for (query, screen) in &seen {
        let tiles = if query.is_empty() { 3 } else { 1 };
        assert_fitted(screen, tiles, 24.0);
        let first = &screen["tiles"][0];
        assert_eq!(first["name"], "demo/gitlab-k8s-demo", "red first: {screen}");
        assert!(first["word"].as_str().unwrap().contains("FAILED"), "{first}");
    }
    assert!(title.contains("1 failing"), "the tab says it too: {title}");
}

#[tokio::test]
async fn sixty_projects_fit_on_one_screen() {
    let sim = SimProcess::start(&[
        "--projects",
        "60",
        "--history-days",
        "1",
        "--rate-limit",
        "100000",
        "--quiet",
    ]);
    let app = Stageboard::start_with(&[("GITLAB_URL", &sim.url), ("GITLAB_TOKEN", &sim.token)]);
    let browser = Browser::start().await;
    let seen = async {
        let mut seen = Vec::new();
        browser
            .client
            .goto(&format!("{}/wall", app.url))
            .await
            .map_err(|e| e.to_string())?;
        browser
            .wait_count(".tiles > li", |n| n == 60, Duration::from_secs(60))
            .await?;
        for (w, h) in SIZES {
            browser.viewport(w, h).await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            seen.push(browser.js(MEASURE).await?);
            browser
                .screenshot(&format!("wall-60-{w}x{h}"))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(seen)
    }
    .await;
    browser.close().await;
    for screen in seen.expect("the wall renders") {
        assert_fitted(&screen, 60, 10.0);
    }
}
