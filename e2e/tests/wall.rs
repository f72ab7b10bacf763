//! The wall in a real browser against the real binary: fitted to the screen at the sizes TVs
//! have, from one tile to sixty, worst first, readable, with no controls.

use std::time::Duration;

use serde_json::Value;
use stageboard_e2e::soak::open_wall;
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
            open_wall(&app, &browser, query).await?;
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

#[tokio::test]
async fn the_wall_outlives_a_server_restart_and_reloads_for_a_new_version() {
    let mut app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let seen = async {
        open_wall(&app, &browser, "").await?;
        // The server goes away: the last picture stays, saying how old it is.
        assert!(app.terminate(Duration::from_secs(15)).is_some(), "stageboard stops");
        let away = browser
            .wait_text(".wall-state", "reconnecting – data from ", Duration::from_secs(30))
            .await?;
        let tiles_while_away = browser.count(".tiles > li").await;
        browser
            .screenshot("wall-reconnecting")
            .await
            .map_err(|e| e.to_string())?;
        // It comes back: the wall catches up by itself, and says nothing more.
        app.restart_stopped();
        let mut state = away.clone();
        for _ in 0..100 {
            state = browser
                .js("return document.querySelector('.wall-state').textContent")
                .await?
                .to_string();
            if state == "\"\"" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // A new version of the server: the wall loads itself again. The answer's version is
        // changed in the page, as an upgraded server's would be.
        browser
            .js(r#"
                window.beforeUpgrade = true;
                const original = window.fetch;
                window.fetch = (input, init) => original(input, init).then(async r => {
                  if (!String(input.url || input).includes('/api/v1/wall')) return r;
                  const body = await r.json();
                  body.version = 'a-newer-build';
                  return new Response(JSON.stringify(body), { status: r.status, headers: r.headers });
                });
                return true;
            "#)
            .await?;
        let mut reloaded = false;
        // Said twice (not one replica behind a balancer): the wall reads every 10 s at most.
        for _ in 0..150 {
            // A reload loses the page's own variables.
            if browser.js("return window.beforeUpgrade === undefined").await? == true {
                reloaded = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Ok::<_, String>((away, tiles_while_away, state, reloaded))
    }
    .await;
    browser.close().await;
    let (away, tiles_while_away, state, reloaded) = seen.expect("the wall lives on");
    assert_eq!(tiles_while_away, 3, "the last picture stays while the server is away");
    assert!(away.starts_with("reconnecting – data from "), "{away}");
    assert_eq!(state, "\"\"", "back to live after the restart");
    assert!(reloaded, "a new version loads the wall again");
}

#[tokio::test]
async fn all_green_is_one_large_mark_and_a_rotation_stops_on_a_failure() {
    let app = Stageboard::start_with(&[(
        "STAGEBOARD_BOARDS",
        "calm=projects=platform/*&hide_green=1&rotate=red&every=10;red=projects=demo/*",
    )]);
    let browser = Browser::start().await;
    let seen = async {
        browser
            .client
            .goto(&format!("{}/wall/calm", app.url))
            .await
            .map_err(|e| e.to_string())?;
        let green = browser
            .wait_text(".all-green", "All green", Duration::from_secs(20))
            .await?;
        browser.viewport(1920, 1080).await?;
        browser.screenshot("wall-all-green").await.map_err(|e| e.to_string())?;
        // After ten seconds the next board; it shows a failure, so the rotation stops there.
        let red = browser
            .wait_text(".tiles .tile-word", "FAILED", Duration::from_secs(30))
            .await?;
        tokio::time::sleep(Duration::from_secs(15)).await;
        let still = browser
            .texts("h1", Duration::from_secs(5))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((green, red, still))
    }
    .await;
    browser.close().await;
    let (green, red, still) = seen.expect("the boards show");
    assert!(green.contains("2 projects"), "{green}");
    assert!(red.contains("FAILED"), "{red}");
    assert_eq!(still, ["red"], "the rotation stops on the board showing a failure");
}

#[tokio::test]
async fn a_maintainer_sets_up_a_kiosk_screen_and_revokes_it() {
    use stageboard_e2e::fantoccini::Locator;
    let app = Stageboard::start_with(&[("STAGEBOARD_BOARDS", "lobby=projects=demo/*")]);
    let admin = Browser::start().await;
    let screen = Browser::start().await;
    let seen = async {
        let e = |e: stageboard_e2e::fantoccini::error::CmdError| e.to_string();
        admin.sign_in(&app.url, "achen", "/kiosk").await?;
        admin
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(".kiosk-form input"))
            .await
            .map_err(e)?
            .send_keys("lobby TV")
            .await
            .map_err(e)?;
        admin.click_text(".kiosk-form button", "Make a kiosk token", Duration::from_secs(10)).await?;
        let address = admin.wait_text(".kiosk-address", "/wall/lobby?kiosk=sbk_", Duration::from_secs(20)).await?;
        admin.screenshot("kiosk-made").await.map_err(e)?;

        // The screen opens it once: the board shows, and the token has left the address bar.
        screen.client.goto(&address).await.map_err(e)?;
        screen.wait_text(".tiles .tile-name", "gitlab-k8s-demo", Duration::from_secs(20)).await?;
        let at = screen.client.current_url().await.map_err(e)?;
        let acted = screen
            .js("return fetch('/api/v1/projects/1/pipelines/1/retry', {method: 'POST', headers: {'content-type': 'application/json'}}).then(r => r.status);")
            .await?;

        // Revoked: the screen says so at its next read.
        admin.wait_text("table.kiosk-tokens", "lobby TV", Duration::from_secs(10)).await?;
        admin.click_text("button.revoke", "Revoke token", Duration::from_secs(10)).await?;
        admin.client.accept_alert().await.map_err(e)?;
        admin.wait_text("table.kiosk-tokens", "revoked", Duration::from_secs(10)).await?;
        let gone = screen.wait_text(".wall-message", "revoked", Duration::from_secs(30)).await?;
        Ok::<_, String>((address, at, acted, gone))
    }
    .await;
    admin.close().await;
    screen.close().await;
    let (address, at, acted, gone) = seen.expect("the kiosk screen is set up and revoked");
    assert!(address.starts_with(&app.url), "{address}");
    assert_eq!(at.path(), "/wall/lobby");
    assert!(
        at.query().is_none_or(|q| !q.contains("kiosk")),
        "the token left the address: {at}"
    );
    assert_eq!(acted, 403, "a kiosk screen never acts");
    assert!(gone.contains("ask a Maintainer"), "{gone}");
}

/// Six simulated hours with a change every minute: a wall tab that runs for weeks must not
/// grow. `wall-soak` runs the whole day by hand (10 minutes here; README, "Measured").
#[tokio::test]
async fn hours_of_changes_leave_the_wall_no_bigger() {
    let mut app = Stageboard::start_demo();
    let browser = Browser::start_with(&stageboard_e2e::soak::FLAGS).await;
    let figures = stageboard_e2e::soak::wall(&app, &browser, 6 * 60).await;
    browser.close().await;
    app.terminate(Duration::from_secs(10));
    let figures = figures.expect("the wall lives through the day");
    eprintln!("wall soak: {figures}");
    let (heap, nodes) = figures.growth();
    assert!(heap.abs() <= 0.10, "the JS heap changed by more than 10 %: {figures}");
    assert!(
        nodes.abs() <= 0.10,
        "the DOM changed by more than 10 % beyond what the board shows: {figures}"
    );
}
