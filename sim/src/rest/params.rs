//! Query parameters the way GitLab's Grape API validates them.

use chrono::{DateTime, Utc};

use super::error::GitlabError;

#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params(pairs)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A parameter given once (`scope=failed`) or as an array (`scope[]=failed&scope[]=manual`).
    pub fn list(&self, key: &str) -> Vec<&str> {
        let array_key = format!("{key}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == key || *k == array_key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, GitlabError> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| GitlabError::Param(format!("{key} is invalid")))
            })
            .transpose()
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, GitlabError> {
        self.get(key)
            // Grape's coercion (dry-types `Params::Bool`) accepts these spellings.
            .map(|v| match v {
                "1" | "on" | "On" | "ON" | "t" | "true" | "True" | "TRUE" | "T" | "y" | "yes" | "Yes" | "YES" | "Y" => {
                    Ok(true)
                }
                "0" | "off" | "Off" | "OFF" | "f" | "false" | "False" | "FALSE" | "F" | "n" | "no" | "No" | "NO"
                | "N" => Ok(false),
                _ => Err(GitlabError::Param(format!("{key} is invalid"))),
            })
            .transpose()
    }

    pub fn time(&self, key: &str) -> Result<Option<DateTime<Utc>>, GitlabError> {
        self.get(key)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.to_utc())
                    .map_err(|_| GitlabError::Param(format!("{key} is invalid")))
            })
            .transpose()
    }

    /// One of `allowed`, else GitLab's "does not have a valid value".
    pub fn choice(&self, key: &str, allowed: &[&str]) -> Result<Option<&str>, GitlabError> {
        match self.get(key) {
            Some(v) if !allowed.contains(&v) => Err(GitlabError::Param(format!("{key} does not have a valid value"))),
            other => Ok(other),
        }
    }

    pub fn choices(&self, key: &str, allowed: &[&str]) -> Result<Vec<&str>, GitlabError> {
        let values = self.list(key);
        if values.iter().any(|v| !allowed.contains(v)) {
            return Err(GitlabError::Param(format!("{key} does not have a valid value")));
        }
        Ok(values)
    }
}
