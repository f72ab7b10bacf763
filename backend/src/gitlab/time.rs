//! GitLab's dates. REST sends ISO 8601 (`2015-12-24T16:51:14.000+01:00`), webhooks send
//! `2016-08-12 15:23:28 UTC` or `2021-04-28 21:50:00 +0200`; all of them read as one type.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GitlabTime(pub DateTime<Utc>);

impl GitlabTime {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(GitlabTime(t.to_utc()));
        }
        if let Some(naive) = s.strip_suffix(" UTC")
            && let Ok(t) = NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S")
        {
            return Some(GitlabTime(t.and_utc()));
        }
        DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S %z")
            .ok()
            .map(|t| GitlabTime(t.to_utc()))
    }
}

impl<'de> Deserialize<'de> for GitlabTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        GitlabTime::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a date GitLab writes")))
    }
}

/// Written as RFC 3339, which [`GitlabTime::parse`] reads back (replicas pass answers on).
impl Serialize for GitlabTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339())
    }
}

impl fmt::Display for GitlabTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<GitlabTime> for DateTime<Utc> {
    fn from(t: GitlabTime) -> Self {
        t.0
    }
}

impl From<GitlabTime> for stageboard_protocol::Timestamp {
    fn from(t: GitlabTime) -> Self {
        stageboard_protocol::Timestamp(t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn reads_rest_and_webhook_dates() {
        assert_eq!(
            GitlabTime::parse("2015-12-24T16:51:14.000+01:00").unwrap().0,
            utc("2015-12-24T15:51:14Z")
        );
        assert_eq!(
            GitlabTime::parse("2022-09-21T01:05:07.200Z").unwrap().0,
            utc("2022-09-21T01:05:07.200Z")
        );
        assert_eq!(
            GitlabTime::parse("2016-08-12 15:23:28 UTC").unwrap().0,
            utc("2016-08-12T15:23:28Z")
        );
        assert_eq!(
            GitlabTime::parse("2021-04-28 21:50:00 +0200").unwrap().0,
            utc("2021-04-28T19:50:00Z")
        );
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        assert!(GitlabTime::parse("yesterday").is_none());
        assert!(serde_json::from_str::<GitlabTime>("\"2021-13-45\"").is_err());
    }
}
