//! Timestamps as stored in the database: Unix epoch milliseconds.

use chrono::{DateTime, Utc};

/// Milliseconds since the Unix epoch, UTC. The database stores every time this way.
pub type Millis = i64;

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// Formats a stored timestamp for people: RFC 3339, second precision, UTC.
pub fn format_ms(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| format!("{ms}ms"))
}

/// Formats a timestamp as GitHub's API takes it (ISO 8601, `2019-05-15T15:20:33Z`).
pub fn iso8601(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp as GitHub writes them (`2019-05-15T15:20:33Z`).
pub fn parse_rfc3339_ms(text: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_timestamps_round_trip_through_storage_format() {
        let ms = parse_rfc3339_ms("2019-05-15T15:20:33Z").expect("valid timestamp");
        assert_eq!(format_ms(ms), "2019-05-15 15:20:33Z");
        assert_eq!(iso8601(ms), "2019-05-15T15:20:33Z");
    }
}
