//! Times on the wire: RFC 3339 in UTC, as chrono writes them (`2026-11-26T08:00:00Z`).

use chrono::{DateTime, Utc};

/// A moment on the wire. Written and read as RFC 3339 (chrono's own reader: a hand-written one
/// saved under 1 KB of the front end's wasm, too little to keep, see docs/size.md); derefs to
/// the `DateTime<Utc>` it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Reads `2026-11-26T08:00:00Z`, with optional fractional seconds and a `Z` or `±HH:MM`
    /// offset.
    pub fn parse(s: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(s).ok().map(|d| Timestamp(d.to_utc()))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(time: DateTime<Utc>) -> Self {
        Timestamp(time)
    }
}

impl std::ops::Deref for Timestamp {
    type Target = DateTime<Utc>;

    fn deref(&self) -> &DateTime<Utc> {
        &self.0
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Timestamp::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn reads_what_chrono_writes() {
        for s in [
            "2026-11-26T08:00:00Z",
            "2026-11-26T08:00:00.5Z",
            "2026-11-26T08:00:00.123456789Z",
            "2026-02-28T23:59:59+01:00",
            "2026-03-01T00:30:00-05:30",
            "2024-02-29T12:00:00.000+00:00",
        ] {
            let ours = Timestamp::parse(s).unwrap_or_else(|| panic!("{s} should parse"));
            let chrono = chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
            assert_eq!(*ours, chrono, "{s}");
        }
        let now = Timestamp(chrono::Utc::now());
        let json = serde_json::to_string(&now).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), now);
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for s in [
            "",
            "2026-11-26",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-26T25:00:00Z",
            "2026-11-26T08:00:00",
            "2026-11-26T08:00:00.Z",
            "2026-11-26T08:00:00+0100",
            "2026-11-26T08:00:00*01:00",
            "2026-1a-26T08:00:00Z",
            "+026-11-26T08:00:00Z",
            "2026-11-26T08:00:00Zjunk",
        ] {
            assert_eq!(Timestamp::parse(s), None, "{s}");
        }
        let error = serde_json::from_str::<Timestamp>(r#""yesterday""#).unwrap_err();
        assert!(
            error.to_string().contains("`yesterday` is not an RFC 3339 time"),
            "{error}"
        );
    }
}
