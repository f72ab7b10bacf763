use std::time::Duration;

/// What went wrong talking to GitLab. Never carries the token.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum GitlabError {
    #[error("GitLab at {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("GitLab is rate-limiting stageboard; retry after {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("GitLab refused the token (401): {message}")]
    Unauthorized { message: String },
    #[error("GitLab refused access (403): {message}")]
    Forbidden { message: String },
    #[error("GitLab has no such resource (404): {message}")]
    NotFound { message: String },
    #[error("GitLab rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("GitLab failed ({status}): {message}")]
    Server { status: u16, message: String },
    #[error("GitLab sent a response stageboard could not read ({what}): {reason}")]
    InvalidResponse { what: String, reason: String },
    /// GitLab refused an action (4xx on a POST) in its own words, which the person must read:
    /// "Job is not retryable", "Unplayable Job".
    #[error("GitLab refused ({status}): {message}")]
    Refused { status: u16, message: String },
    /// GitLab (or something in front of it) answered with a redirect, which the client does
    /// not follow: the token would go along to wherever it points.
    #[error(
        "GitLab at {url} answered {status}, a redirect to {to}; stageboard does not follow redirects, so that its token goes only to GITLAB_URL. Set GITLAB_URL to GitLab's own address"
    )]
    Redirected { url: String, status: u16, to: String },
    /// The answer is larger than stageboard reads ([`super::MAX_ANSWER`]): a job log past it.
    #[error("GitLab's answer ({what}) is larger than {} MB, more than stageboard reads", limit >> 20)]
    TooLarge { what: String, limit: usize },
    /// The endpoint itself is missing (GitLab's `404 Not Found` for an unknown route): an older
    /// or locked-down instance. Learned once by the hub rather than asked per page view.
    #[error("GitLab does not offer {feature} (it answered 404)")]
    Unsupported { feature: String },
}

impl GitlabError {
    /// Worth trying the same read again: GitLab or the way to it failed, not the request.
    pub fn is_transient(&self) -> bool {
        matches!(self, GitlabError::Unreachable { .. } | GitlabError::Server { .. })
    }
}

/// GitLab's error bodies come in several shapes (CONTRACT.md §3): `{"message": "..."}`,
/// `{"message": {"field": ["..."]}}`, `{"error": "..."}`, OAuth's `error_description`, or
/// plain text (429, proxies). This reads whichever is there.
pub fn error_message(body: &[u8]) -> String {
    summary(&read_message(body))
}

/// What of GitLab's words goes on: one line, at most 300 characters, no control characters.
fn summary(message: &str) -> String {
    let line: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

fn read_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = text.trim();
        return if text.starts_with('<') || text.starts_with('{') || text.is_empty() {
            "no readable message".to_owned()
        } else {
            text.chars().take(300).collect()
        };
    };
    let flatten = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::Array(items) => {
                    let items: Vec<String> = items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string()))
                        .collect();
                    format!("{k} {}", items.join(", "))
                }
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    if let Some(description) = json.get("error_description") {
        return flatten(description);
    }
    json.get("message")
        .or_else(|| json.get("error"))
        .map(flatten)
        .unwrap_or_else(|| "no readable message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_s_words_are_summarised_not_passed_on_whole() {
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(10_000));
        let said = error_message(long.as_bytes());
        assert_eq!(said.chars().count(), 301, "300 characters and an ellipsis");
        assert_eq!(
            error_message(b"{\"message\":\"403 Forbidden\\n\\u001b[31mred\\r\"}"),
            "403 Forbidden [31mred"
        );
    }

    #[test]
    fn reads_every_error_body_shape() {
        assert_eq!(
            error_message(br#"{"message":"403 Forbidden - Job is not retryable"}"#),
            "403 Forbidden - Job is not retryable"
        );
        assert_eq!(
            error_message(br#"{"error":"scope does not have a valid value"}"#),
            "scope does not have a valid value"
        );
        assert_eq!(
            error_message(br#"{"message":{"name":["can't be blank"]}}"#),
            "name can't be blank"
        );
        assert_eq!(
            error_message(br#"{"message":{"error":"This endpoint has been requested too many times."}}"#),
            "error: This endpoint has been requested too many times."
        );
        assert_eq!(
            error_message(br#"{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}"#),
            "Token is expired. You can either do re-authorization or token refresh."
        );
        assert_eq!(error_message(b"Retry later\n"), "Retry later");
        assert_eq!(
            error_message(b"<html><body>502 Bad Gateway</body></html>"),
            "no readable message"
        );
    }
}
