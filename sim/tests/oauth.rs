//! The simulated GitLab as an OAuth provider, over real HTTP (CONTRACT.md §6): signing in with
//! PKCE, tokens that expire, rotate and are revoked, Doorkeeper's errors, and the API acting
//! as the signed-in person with their role: a Reporter reads, a Developer retries, only a
//! Maintainer deploys to `live`, and a deployment to `production` waits for a Maintainer's
//! approval.

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::Engine;
use chrono::DateTime;
use reqwest::StatusCode;
use serde_json::Value;
use stageboard_sim::oauth::OAuthApp;
use stageboard_sim::{Clock, RunningSim, SimConfig};

const CALLBACK: &str = "http://127.0.0.1:9/auth/callback";
const VERIFIER: &str = "a-verifier-of-enough-length-for-pkce-0123456789-abcdefghijk";

struct Provider {
    sim: RunningSim,
    http: reqwest::Client,
}

async fn start(secret: Option<&str>) -> Provider {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let start = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().to_utc();
    let config = SimConfig {
        live: false,
        history_days: 1,
        ..SimConfig::default()
    };
    let sim = RunningSim::start(config, Clock::manual(start), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    sim.sim.register_oauth_app(OAuthApp {
        client_id: "stageboard".into(),
        client_secret: secret.map(Into::into),
        redirect_uri: CALLBACK.into(),
        scopes: vec!["api".into(), "read_api".into(), "read_user".into(), "openid".into()],
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Provider { sim, http }
}

fn challenge(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn authorize_params(scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", "stageboard".into()),
        ("redirect_uri", CALLBACK.into()),
        ("response_type", "code".into()),
        ("state", "st<at>e\"1".into()),
        ("scope", scope.into()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

impl Provider {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.url())
    }

    /// Signs `user` in through the form, as a browser would; returns the code.
    async fn code_for(&self, user: u64, scope: &str) -> String {
        let mut form = authorize_params(scope);
        form.push(("user", user.to_string()));
        let answer = self
            .http
            .post(self.url("/oauth/authorize"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FOUND);
        let back = query_of(answer.headers()["location"].to_str().unwrap());
        assert_eq!(back["state"], "st<at>e\"1", "the state comes back as it went");
        back["code"].clone()
    }

    async fn exchange(&self, code: &str, verifier: &str) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("client_id", "stageboard"),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn token_for(&self, user: u64) -> Value {
        let code = self.code_for(user, "api read_user").await;
        let answer = self.exchange(&code, VERIFIER).await;
        assert_eq!(answer.status(), StatusCode::OK);
        answer.json().await.unwrap()
    }

    /// A signed-in person's access token.
    async fn access_token(&self, user: u64) -> String {
        self.token_for(user).await["access_token"].as_str().unwrap().to_owned()
    }

    async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", "stageboard"),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn api(&self, method: reqwest::Method, path: &str, token: &str) -> (StatusCode, Value) {
        let answer = self
            .http
            .request(method, self.url(&format!("/api/v4{path}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn post_json(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let answer = self
            .http
            .post(self.url(&format!("/api/v4{path}")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// GET with the configured token (the administrator's).
    async fn as_admin(&self, path: &str) -> Value {
        self.http
            .get(self.url(&format!("/api/v4{path}")))
            .header("PRIVATE-TOKEN", &self.sim.sim.config().token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A manual `deploy_live` waiting in project 1.
    async fn waiting_deploy(&self) -> u64 {
        let jobs = self.as_admin("/projects/1/jobs?scope=manual&per_page=100").await;
        jobs.as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == "deploy_live")
            .expect("the story has a deploy_live waiting")["id"]
            .as_u64()
            .unwrap()
    }

    async fn a_finished_job(&self) -> u64 {
        let jobs = self.as_admin("/projects/1/jobs?scope=success&per_page=5").await;
        jobs[0]["id"].as_u64().unwrap()
    }
}

const MAINTAINER: u64 = 2;
const DEVELOPER: u64 = 3;
const REPORTER: u64 = 4;

#[tokio::test]
async fn a_person_signs_in_with_pkce_and_the_api_knows_who_they_are() {
    let gitlab = start(None).await;
    let page = gitlab
        .http
        .get(gitlab.url("/oauth/authorize"))
        .query(&authorize_params("api read_user"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    for name in ["Alice Chen", "Bruno Walker", "Chioma Okafor"] {
        assert!(page.contains(name), "{name} can sign in");
    }
    assert!(
        page.contains("st&lt;at&gt;e&quot;1"),
        "the state is escaped in the page"
    );

    let code = gitlab.code_for(DEVELOPER, "api read_user").await;
    let wrong = gitlab
        .exchange(&code, "another-verifier-of-enough-length-0123456789-abcdefgh")
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let token: Value = gitlab.exchange(&code, VERIFIER).await.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 7200);
    assert_eq!(token["scope"], "api read_user");
    let again = gitlab.exchange(&code, VERIFIER).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a code is used once");

    let access = token["access_token"].as_str().unwrap();
    let (status, me) = gitlab.api(reqwest::Method::GET, "/user", access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "bwalker");
    let (_, project) = gitlab.api(reqwest::Method::GET, "/projects/1", access).await;
    assert_eq!(project["permissions"]["project_access"]["access_level"], 30);
}

#[tokio::test]
async fn gitlab_decides_by_role_who_may_retry_deploy_and_see() {
    let gitlab = start(None).await;
    let deploy = gitlab.waiting_deploy().await;
    let finished = gitlab.a_finished_job().await;
    let developer = gitlab.access_token(DEVELOPER).await;
    let maintainer = gitlab.access_token(MAINTAINER).await;
    let reporter = gitlab.access_token(REPORTER).await;
    let post = reqwest::Method::POST;

    let (status, body) = gitlab
        .api(post.clone(), &format!("/projects/1/jobs/{deploy}/play"), &developer)
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("403 Forbidden"))
    );
    let (status, body) = gitlab
        .api(post.clone(), &format!("/projects/1/jobs/{deploy}/play"), &maintainer)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["username"], "achen", "played in the Maintainer's name");

    let (status, body) = gitlab
        .api(post.clone(), &format!("/projects/1/jobs/{finished}/retry"), &developer)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["username"], "bwalker");
    let (status, _) = gitlab
        .api(post.clone(), &format!("/projects/1/jobs/{finished}/retry"), &reporter)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a Reporter may not retry");

    let (status, body) = gitlab.api(reqwest::Method::GET, "/projects/3", &reporter).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("404 Project Not Found")),
        "a project they are not a member of does not exist for them"
    );
    let (_, listed) = gitlab
        .api(reqwest::Method::GET, "/projects?membership=true", &reporter)
        .await;
    let ids: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert!(!ids.contains(&3) && ids.len() == 2, "{ids:?}");
    let (_, at_least_developer) = gitlab
        .api(
            reqwest::Method::GET,
            "/projects?membership=true&min_access_level=30",
            &reporter,
        )
        .await;
    assert_eq!(
        at_least_developer,
        serde_json::json!([]),
        "a Reporter is below min_access_level=30"
    );

    // Who is what on a project, as its members see it; protected environments for Maintainers.
    let (status, member) = gitlab
        .api(reqwest::Method::GET, "/projects/1/members/all/3", &reporter)
        .await;
    assert_eq!(
        (status, member["access_level"].as_u64()),
        (StatusCode::OK, Some(30)),
        "{member}"
    );
    let (status, _) = gitlab
        .api(reqwest::Method::GET, "/projects/1/members/all/99", &reporter)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = gitlab
        .api(reqwest::Method::GET, "/projects/1/protected_environments", &developer)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only Maintainers read protected environments"
    );
    let (status, protected) = gitlab
        .api(reqwest::Method::GET, "/projects/1/protected_environments", &maintainer)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(protected[0]["name"], "live", "{protected}");
    assert_eq!(protected[0]["deploy_access_levels"][0]["access_level"], 40);
}

#[tokio::test]
async fn tokens_expire_rotate_on_refresh_and_can_be_revoked() {
    let gitlab = start(None).await;
    let first = gitlab.token_for(DEVELOPER).await;
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();

    let renewed = gitlab.refresh(refresh).await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewed: Value = renewed.json().await.unwrap();
    assert_ne!(renewed["access_token"], first["access_token"]);
    let (status, body) = gitlab.api(reqwest::Method::GET, "/user", access).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    assert_eq!(
        gitlab.refresh(refresh).await.status(),
        StatusCode::BAD_REQUEST,
        "a refresh token is used once"
    );

    let current = renewed["access_token"].as_str().unwrap();
    assert_eq!(
        gitlab.api(reqwest::Method::GET, "/user", current).await.0,
        StatusCode::OK
    );
    gitlab.sim.sim.clock().advance(chrono::Duration::seconds(7200));
    let answer = gitlab
        .http
        .get(gitlab.url("/api/v4/user"))
        .bearer_auth(current)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(
        answer.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let body: Value = answer.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "Token is expired. You can either do re-authorization or token refresh."
    );

    // An expired token is refreshed; then signing out revokes the new pair.
    let latest: Value = gitlab
        .refresh(renewed["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let latest_access = latest["access_token"].as_str().unwrap();
    assert_eq!(
        gitlab.api(reqwest::Method::GET, "/user", latest_access).await.0,
        StatusCode::OK
    );
    let revoked = gitlab
        .http
        .post(gitlab.url("/oauth/revoke"))
        .form(&[("token", latest_access), ("client_id", "stageboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        gitlab.api(reqwest::Method::GET, "/user", latest_access).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        gitlab.refresh(latest["refresh_token"].as_str().unwrap()).await.status(),
        StatusCode::BAD_REQUEST,
        "revoking the access token spends its refresh token"
    );
}

#[tokio::test]
async fn doorkeeper_refuses_what_it_should_as_gitlab_does() {
    let gitlab = start(Some("a-client-secret")).await;
    let mut unknown = authorize_params("api");
    unknown[0].1 = "someone-else".into();
    let page = gitlab
        .http
        .get(gitlab.url("/oauth/authorize"))
        .query(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::UNAUTHORIZED,
        "an unknown client is not sent anywhere"
    );

    let mut elsewhere = authorize_params("api");
    elsewhere[1].1 = "http://evil.example/callback".into();
    let page = gitlab
        .http
        .get(gitlab.url("/oauth/authorize"))
        .query(&elsewhere)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::BAD_REQUEST,
        "nor to a redirect URI not registered"
    );

    let page = gitlab
        .http
        .get(gitlab.url("/oauth/authorize"))
        .query(&authorize_params("api sudo"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FOUND);
    let back = query_of(page.headers()["location"].to_str().unwrap());
    assert_eq!(back["error"], "invalid_scope");

    // A confidential application must send its secret.
    let code = gitlab.code_for(DEVELOPER, "api").await;
    let answer = gitlab.exchange(&code, VERIFIER).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json::<Value>().await.unwrap()["error"], "invalid_client");
    let answer = gitlab
        .http
        .post(gitlab.url("/oauth/token"))
        .basic_auth("stageboard", Some("a-client-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);

    // A token without `api` may not act, and one with only read_user may not read projects.
    let code = gitlab.code_for(DEVELOPER, "read_user").await;
    let token: Value = gitlab
        .http
        .post(gitlab.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("client_id", "stageboard"),
            ("client_secret", "a-client-secret"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(
        gitlab.api(reqwest::Method::GET, "/user", access).await.0,
        StatusCode::OK
    );
    let (status, body) = gitlab.api(reqwest::Method::GET, "/projects/1", access).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn a_deployment_to_production_waits_for_a_maintainers_approval() {
    let gitlab = start(None).await;
    let developer = gitlab.access_token(DEVELOPER).await;
    let maintainer = gitlab.access_token(MAINTAINER).await;
    // The story's newest payments-api tag waits: its deployment is blocked, as every manual
    // deploy job's is, and only the single deployment says what it waits for.
    let blocked = gitlab
        .as_admin("/projects/2/deployments?environment=production&status=blocked&sort=desc")
        .await;
    let listed = &blocked[0];
    assert!(
        listed.get("approval_summary").is_none(),
        "the list has no approvals: {listed}"
    );
    let (id, job) = (
        listed["id"].as_u64().unwrap(),
        listed["deployable"]["id"].as_u64().unwrap(),
    );
    assert_eq!(listed["deployable"]["status"], "manual");
    let one = gitlab.as_admin(&format!("/projects/2/deployments/{id}")).await;
    assert_eq!(one["pending_approval_count"], 1, "{one}");
    let rule = &one["approval_summary"]["rules"][0];
    assert_eq!(
        (rule["access_level"].as_u64(), rule["required_approvals"].as_u64()),
        (Some(40), Some(1))
    );
    assert_eq!(rule["deployment_approvals"], serde_json::json!([]));

    let (status, body) = gitlab
        .api(
            reqwest::Method::POST,
            &format!("/projects/2/jobs/{job}/play"),
            &developer,
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("400 Bad request - Unplayable Job")),
        "not before it is approved"
    );
    let approval = format!("/projects/2/deployments/{id}/approval");
    let (status, body) = gitlab
        .post_json(&approval, &developer, serde_json::json!({ "status": "approved" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "You don't have permission to approve this deployment. Contact the project or group owner for help."
    );
    let (status, body) = gitlab
        .post_json(&approval, &maintainer, serde_json::json!({ "status": "maybe" }))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status does not have a valid value"))
    );
    let (status, body) = gitlab
        .post_json(
            &approval,
            &maintainer,
            serde_json::json!({ "status": "approved", "comment": "x".repeat(256) }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"][0], "Comment is too long (maximum is 255 characters)");

    let (status, body) = gitlab
        .post_json(
            &approval,
            &maintainer,
            serde_json::json!({ "status": "approved", "comment": "Change window open" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["user"]["username"].as_str(), body["status"].as_str()),
        (Some("achen"), Some("approved"))
    );
    assert_eq!(body["comment"], "Change window open");
    let one = gitlab.as_admin(&format!("/projects/2/deployments/{id}")).await;
    assert_eq!(one["pending_approval_count"], 0);
    assert_eq!(one["approvals"][0]["user"]["username"], "achen");
    let (status, body) = gitlab
        .post_json(&approval, &maintainer, serde_json::json!({ "status": "rejected" }))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("This deployment is not waiting for approvals.")
        ),
        "too late to change her mind"
    );

    // Approved, a Developer may deploy it (production is protected only by approval).
    let (status, body) = gitlab
        .api(
            reqwest::Method::POST,
            &format!("/projects/2/jobs/{job}/play"),
            &developer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["username"], "bwalker");
    let (_, protected) = gitlab
        .api(reqwest::Method::GET, "/projects/2/protected_environments", &maintainer)
        .await;
    assert_eq!(protected[0]["name"], "production", "{protected}");
    assert_eq!(protected[0]["deploy_access_levels"][0]["access_level"], 30);
    assert_eq!(protected[0]["approval_rules"][0]["access_level"], 40);
}

#[tokio::test]
async fn a_protected_branch_keeps_its_jobs_to_those_who_may_merge_into_it() {
    let gitlab = start(None).await;
    let developer = gitlab.access_token(DEVELOPER).await;
    let maintainer = gitlab.access_token(MAINTAINER).await;
    let reporter = gitlab.access_token(REPORTER).await;
    let (status, branches) = gitlab
        .api(reqwest::Method::GET, "/projects/2/protected_branches", &reporter)
        .await;
    assert_eq!(status, StatusCode::OK, "whoever reads the code reads them");
    assert_eq!(branches[0]["name"], "main");
    assert_eq!(branches[0]["merge_access_levels"][0]["access_level"], 40, "{branches}");
    let (_, demo) = gitlab
        .api(reqwest::Method::GET, "/projects/1/protected_branches", &reporter)
        .await;
    assert_eq!(demo[0]["merge_access_levels"][0]["access_level"], 30, "{demo}");

    let on_main = |project: u64| {
        let gitlab = &gitlab;
        async move {
            let jobs = gitlab
                .as_admin(&format!("/projects/{project}/jobs?scope=success&per_page=100"))
                .await;
            jobs.as_array()
                .unwrap()
                .iter()
                .find(|j| j["ref"] == "main")
                .expect("a finished job on main")["id"]
                .as_u64()
                .unwrap()
        }
    };
    let payments = on_main(2).await;
    let (status, body) = gitlab
        .api(
            reqwest::Method::POST,
            &format!("/projects/2/jobs/{payments}/retry"),
            &developer,
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("403 Forbidden")),
        "payments-api's main takes merges from Maintainers only"
    );
    let (status, _) = gitlab
        .api(
            reqwest::Method::POST,
            &format!("/projects/2/jobs/{payments}/retry"),
            &maintainer,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let demo = on_main(1).await;
    let (status, body) = gitlab
        .api(
            reqwest::Method::POST,
            &format!("/projects/1/jobs/{demo}/retry"),
            &developer,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "Developers merge into gitlab-k8s-demo's main: {body}"
    );
}
