//! Timestamps on the wire: RFC 3339, as chrono writes them. Reading them here rather than with
//! chrono's general parser keeps about 4 KB (brotli) out of the front end's wasm.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

/// Reads `2026-11-26T08:00:00Z`, with optional fractional seconds and a `Z` or `±HH:MM` offset.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        let digits = s.get(from..to)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let mut end = 19;
    let mut nanos = 0;
    if b[19] == b'.' {
        end = 20 + b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
        let digits = end.min(29);
        nanos = num(20, digits)? * 10u32.pow(9 - (digits - 20) as u32);
    }
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    let offset = match &s[end..] {
        "Z" | "z" => 0,
        o if o.len() == 6 && o.as_bytes()[3] == b':' => {
            let minutes = i64::from(num(end + 1, end + 3)? * 60 + num(end + 4, end + 6)?);
            match o.as_bytes()[0] {
                b'+' => minutes,
                b'-' => -minutes,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((date.and_time(time) - TimeDelta::minutes(offset)).and_utc())
}

/// `#[serde(with = "crate::time::opt")]` for `Option<DateTime<Utc>>`: written by chrono, read
/// by [`parse_rfc3339`].
pub mod opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(s) => super::parse_rfc3339(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not an RFC 3339 time"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339;

    #[test]
    fn reads_what_chrono_writes_and_agrees_with_chrono() {
        for s in [
            "2026-11-26T08:00:00Z",
            "2026-11-26T08:00:00.5Z",
            "2026-11-26T08:00:00.123456789Z",
            "2026-02-28T23:59:59+01:00",
            "2026-03-01T00:30:00-05:30",
            "2024-02-29T12:00:00.000+00:00",
        ] {
            let ours = parse_rfc3339(s).unwrap_or_else(|| panic!("{s} should parse"));
            let chrono = chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
            assert_eq!(ours, chrono, "{s}");
        }
        let now = chrono::Utc::now();
        assert_eq!(parse_rfc3339(&now.to_rfc3339()), Some(now));
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
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }
}
