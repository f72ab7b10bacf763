//! `/api/v1/wall` as a wall screen reads it, against the demo's story: gitlab-k8s-demo's main
//! is red and `deploy_live` waits to run; payments-api tags its releases.

mod common;

use common::TestApp;
use stageboard_protocol::{Status, Wall};

async fn wall(app: &TestApp, query: &str) -> Wall {
    let answer = app.get(&format!("/api/v1/wall{query}")).await;
    assert_eq!(answer.status, 200, "{query}: {}", answer.text);
    serde_json::from_str(&answer.text).expect("a Wall")
}

#[tokio::test]
async fn every_watched_project_gets_a_tile_red_first_with_who_broke_it() {
    let app = TestApp::start().await;
    let wall = wall(&app, "").await;
    assert_eq!((wall.title.as_str(), wall.projects), ("All projects", 3));
    let tiles: Vec<(&str, &str)> = wall
        .tiles
        .iter()
        .map(|t| (t.project.as_str(), t.git_ref.as_str()))
        .collect();
    assert_eq!(
        tiles,
        [
            ("demo/gitlab-k8s-demo", "main"),
            ("platform/payments-api", "main"),
            ("platform/web/monorepo", "main")
        ],
        "the red one first, then by name; default branches only"
    );
    let red = &wall.tiles[0];
    assert_eq!(red.status, Some(Status::Failed));
    let broken = red.broken.as_ref().expect("who broke it");
    assert!(broken.since.is_some() && !broken.by.is_empty(), "{broken:?}");
    assert!(!red.stages.is_empty(), "stage marks");
    assert!(red.last_duration.is_some_and(|d| d > 0), "what a run takes");
    let live = red
        .environments
        .iter()
        .find(|e| e.waiting.as_deref() == Some("deploy_live"))
        .expect("the waiting deploy_live on the strip");
    assert!(live.deployed.is_some(), "{live:?}");
    assert!(
        red.environments.iter().all(|e| !e.name.starts_with("review/")),
        "review apps are left off the strip: {:?}",
        red.environments
    );
    assert!(wall.tiles[1..].iter().all(|t| t.broken.is_none()));
    assert!(wall.last_failure.is_some());
    assert!(wall.version.starts_with(env!("CARGO_PKG_VERSION")), "{}", wall.version);
}

#[tokio::test]
async fn a_board_is_named_in_the_configuration_and_changed_by_the_address() {
    let app = TestApp::builder()
        .boards(&[
            "payments=projects=platform/payments-*&refs=main,v*&environments=production",
            "lobby=hide_green=1&rotate=payments&every=20",
        ])
        .start()
        .await;
    let payments = wall(&app, "?board=payments").await;
    assert_eq!((payments.title.as_str(), payments.projects), ("payments", 1));
    assert!(
        payments.tiles.len() >= 2,
        "main and a release tag: {:?}",
        payments.tiles
    );
    for tile in &payments.tiles {
        assert_eq!(tile.project, "platform/payments-api");
        assert!(
            tile.git_ref == "main" || tile.git_ref.starts_with('v'),
            "{}",
            tile.git_ref
        );
    }
    let main = payments.tiles.iter().find(|t| t.git_ref == "main").unwrap();
    let names: Vec<&str> = main.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["production"], "only the environments the board names");

    // Successes fold into a count; what is not green stays.
    let lobby = wall(&app, "?board=lobby").await;
    assert_eq!(
        (lobby.rotate.as_slice(), lobby.every),
        (["payments".to_owned()].as_slice(), 20)
    );
    assert_eq!(lobby.green, 2, "payments-api and the monorepo are green");
    assert_eq!(lobby.tiles.len(), 1);
    assert_eq!(lobby.tiles[0].project, "demo/gitlab-k8s-demo");
    // The address alone is a board too, and changes a named one.
    let unfolded = wall(&app, "?board=lobby&hide_green=0").await;
    assert_eq!((unfolded.green, unfolded.tiles.len()), (0, 3));
    let adhoc = wall(&app, "?projects=demo/*,platform/web/monorepo&columns=2").await;
    assert_eq!((adhoc.projects, adhoc.columns), (2, Some(2)));
}

#[tokio::test]
async fn a_wrong_parameter_says_what_is_wrong() {
    let app = TestApp::builder()
        .boards(&["payments=projects=platform/*"])
        .start()
        .await;
    let cases = [
        ("?board=lobby", 404, "the boards are payments"),
        ("?columns=40", 400, "columns is 40"),
        ("?hide_green=maybe", 400, "hide_green is `maybe`"),
        ("?rotate=elsewhere", 400, "`elsewhere`, which is not a configured board"),
        ("?colour=red", 400, "colour"),
    ];
    for (query, status, says) in cases {
        let answer = app.get(&format!("/api/v1/wall{query}")).await;
        assert_eq!(answer.status, status, "{query}: {}", answer.text);
        assert!(answer.text.contains(says), "{query}: {}", answer.text);
    }
}
