//! Budget windows: weeks starting at the configured weekday and hour, UTC.

use crate::config::Weekday;
use crate::time::Millis;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

/// One budget window, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// Its first millisecond.
    pub start: Millis,
    /// The first millisecond of the next window.
    pub end: Millis,
}

const WEEK_MS: Millis = 7 * 24 * 3_600 * 1_000;

fn weekday_index(weekday: Weekday) -> i64 {
    match weekday {
        Weekday::Monday => 0,
        Weekday::Tuesday => 1,
        Weekday::Wednesday => 2,
        Weekday::Thursday => 3,
        Weekday::Friday => 4,
        Weekday::Saturday => 5,
        Weekday::Sunday => 6,
    }
}

/// The window holding `now`, for windows starting on `weekday` at `hour`:00 UTC.
pub fn window_at(now: Millis, weekday: Weekday, hour: u32) -> Window {
    let now_time: DateTime<Utc> = Utc
        .timestamp_millis_opt(now)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let days_back = (i64::from(now_time.weekday().num_days_from_monday()) - weekday_index(weekday))
        .rem_euclid(7);
    let day = now_time.date_naive() - Duration::days(days_back);
    let start = day
        .and_hms_opt(hour.min(23), 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(now);
    // On the start weekday before the start hour, the window began a week earlier.
    let start = if start > now { start - WEEK_MS } else { start };
    Window {
        start,
        end: start + WEEK_MS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_ms, parse_rfc3339_ms};

    fn at(text: &str) -> Millis {
        parse_rfc3339_ms(text).expect("a timestamp")
    }

    #[test]
    fn a_window_is_the_week_since_the_last_start() {
        // 2026-11-25 is a Wednesday.
        let w = window_at(at("2026-11-25T10:30:00Z"), Weekday::Monday, 0);
        assert_eq!(format_ms(w.start), "2026-11-23 00:00:00Z");
        assert_eq!(format_ms(w.end), "2026-11-30 00:00:00Z");
        let w = window_at(at("2026-11-25T10:30:00Z"), Weekday::Thursday, 6);
        assert_eq!(format_ms(w.start), "2026-11-19 06:00:00Z");
    }

    #[test]
    fn the_window_rolls_over_exactly_at_the_start_hour() {
        let before = window_at(at("2026-11-23T08:59:59.999Z"), Weekday::Monday, 9);
        let after = window_at(at("2026-11-23T09:00:00Z"), Weekday::Monday, 9);
        assert_eq!(format_ms(before.start), "2026-11-16 09:00:00Z");
        assert_eq!(format_ms(after.start), "2026-11-23 09:00:00Z");
        assert_eq!(before.end, after.start);
    }
}
