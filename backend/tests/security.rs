//! What stageboard does with its GitLab token when something tries to take it elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::SecretString;
use stageboard::error::AppError;
use stageboard::gitlab::{ClientOptions, GitlabClient, GitlabError};
use url::Url;

const CANARY: &str = "glpat-canary-7f3a9c1e5b";

async fn serve(app: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// A GitLab whose every answer redirects to another port; that port counts the requests it
/// gets, and those that carry the token.
#[tokio::test]
async fn a_redirect_to_another_port_never_carries_the_token_there() {
    let (seen, with_token) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let elsewhere = {
        let (seen, with_token) = (seen.clone(), with_token.clone());
        Router::new().fallback(move |headers: HeaderMap| {
            let (seen, with_token) = (seen.clone(), with_token.clone());
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                let carried = headers
                    .values()
                    .any(|v| v.as_bytes().windows(CANARY.len()).any(|w| w == CANARY.as_bytes()));
                if carried {
                    with_token.fetch_add(1, Ordering::SeqCst);
                }
                "[]"
            }
        })
    };
    let other = serve(elsewhere).await;
    for status in [
        StatusCode::FOUND,
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ] {
        let gitlab = serve(Router::new().fallback(move || async move {
            (
                status,
                [(
                    header::LOCATION,
                    format!("http://127.0.0.1:{other}/api/v4/projects?secret=x"),
                )],
            )
                .into_response()
        }))
        .await;
        let client = GitlabClient::new(
            Url::parse(&format!("http://127.0.0.1:{gitlab}")).unwrap(),
            SecretString::from(CANARY),
            ClientOptions::default(),
        )
        .unwrap();
        let answer = client.get::<serde_json::Value>("/projects/1", &[]).await;
        let Err(error @ GitlabError::Redirected { .. }) = answer else {
            panic!("{status}: a redirect is an error, not followed: {answer:?}");
        };
        let told = AppError::from(error).message().to_owned();
        assert!(
            told.contains(&format!("http://127.0.0.1:{other}")) && told.contains("GITLAB_URL"),
            "says where it points and what to set: {told}"
        );
        assert!(!told.contains("secret=x") && !told.contains(CANARY), "{told}");
    }
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the other port was never asked");
    assert_eq!(with_token.load(Ordering::SeqCst), 0);
}
