//! Merge windows (`automerge_schedule`, in the service's `risk` section and in a repository's
//! `.github/globallm.yml`): a list of cron expressions, each read at a fixed offset from UTC.
//! A minute is inside the schedule when any window's cron matches it; an empty list is always
//! open. Offsets are fixed (`+01:00`), not time-zone names: GlobalLM carries no time-zone
//! database, so a window does not follow daylight saving time — write one window per offset
//! if both matter.

use crate::time::Millis;
use chrono::{DateTime, FixedOffset, Timelike as _};
use serde::{Deserialize, Serialize};

/// One window: `{ cron: "* 9-17 * * Mon-Fri", utc_offset: "+01:00" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeWindow {
    /// Five fields (minute hour day-of-month month day-of-week); a minute is inside the window
    /// when the expression matches it.
    pub cron: String,
    /// The offset from UTC the expression is read at: `UTC`, `Z`, `+01:00`, `-05:30`.
    #[serde(default = "utc")]
    pub utc_offset: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// How far ahead an opening is looked for.
const HORIZON_MS: Millis = 366 * 24 * 60 * 60 * 1000;
const MINUTE_MS: Millis = 60_000;

/// A parsed, checked list of windows.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    windows: Vec<(croner::Cron, FixedOffset)>,
}

impl Schedule {
    /// Parses `windows`; every problem names its place under `key` (`automerge_schedule[1].cron`).
    pub fn parse(key: &str, windows: &[MergeWindow]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut parsed = Vec::new();
        for (n, window) in windows.iter().enumerate() {
            let cron = parse_cron(&window.cron)
                .map_err(|why| problems.push(format!("`{key}[{n}].cron`: {why}")));
            let offset = parse_offset(&window.utc_offset)
                .map_err(|why| problems.push(format!("`{key}[{n}].utc_offset`: {why}")));
            if let (Ok(cron), Ok(offset)) = (cron, offset) {
                parsed.push((cron, offset));
            }
        }
        if problems.is_empty() {
            Ok(Self { windows: parsed })
        } else {
            Err(problems)
        }
    }

    /// Whether the schedule says nothing (always open).
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The window matching the minute of `at`, if any (with an empty schedule: UTC).
    fn matching(&self, at: Millis) -> Option<FixedOffset> {
        if self.windows.is_empty() {
            return Some(FixedOffset::east_opt(0).expect("UTC is an offset"));
        }
        let minute = at - at.rem_euclid(MINUTE_MS);
        self.windows.iter().find_map(|(cron, offset)| {
            let local = DateTime::from_timestamp_millis(minute)?.with_timezone(offset);
            cron.is_time_matching(&local)
                .unwrap_or(false)
                .then_some(*offset)
        })
    }

    /// Whether the minute of `at` is inside the schedule.
    pub fn is_open(&self, at: Millis) -> bool {
        self.matching(at).is_some()
    }

    /// The first minute at or after `at` inside the schedule.
    fn next_open(&self, at: Millis) -> Option<Millis> {
        if self.is_open(at) {
            return Some(at);
        }
        let minute = at - at.rem_euclid(MINUTE_MS) + MINUTE_MS;
        self.windows
            .iter()
            .filter_map(|(cron, offset)| {
                let local = DateTime::from_timestamp_millis(minute)?.with_timezone(offset);
                let next = cron.find_next_occurrence(&local, true).ok()?;
                Some(next.with_second(0)?.timestamp_millis())
            })
            .min()
    }
}

/// When merges may happen under every one of `schedules` (all must be open: the service's
/// schedule bounds every repository's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Open now.
    Now,
    /// Closed now; the first minute all are open, and the offset to show it at.
    At(Millis, FixedOffset),
    /// No minute in the next year is inside all of them.
    Never,
}

/// When `schedules` are open together, looking from `now`.
pub fn opening(schedules: &[&Schedule], now: Millis) -> Opening {
    if schedules.iter().all(|s| s.is_open(now)) {
        return Opening::Now;
    }
    let mut at = now;
    // Each round moves to the next opening of a schedule that is closed at `at`; when none
    // is closed, all are open there.
    while at - now <= HORIZON_MS {
        let Some(closed) = schedules.iter().find(|s| !s.is_open(at)) else {
            // Shown at the offset of the most specific schedule's window (the last given).
            let offset = schedules
                .iter()
                .rev()
                .find(|s| !s.is_empty())
                .and_then(|s| s.matching(at))
                .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC is an offset"));
            return Opening::At(at, offset);
        };
        match closed.next_open(at) {
            Some(next) if next > at => at = next,
            _ => return Opening::Never,
        }
    }
    Opening::Never
}

/// `at` as a reader of that offset sees it: `Mon 2037-01-12 09:00 +01:00`.
pub fn format_at(at: Millis, offset: FixedOffset) -> String {
    DateTime::from_timestamp_millis(at).map_or_else(
        || "an impossible time".to_owned(),
        |t| {
            let local = t.with_timezone(&offset);
            let zone = if offset.local_minus_utc() == 0 {
                "UTC".to_owned()
            } else {
                local.format("%:z").to_string()
            };
            format!("{} {zone}", local.format("%a %Y-%m-%d %H:%M"))
        },
    )
}

fn parse_cron(text: &str) -> Result<croner::Cron, String> {
    let fields = text.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "`{text}` has {fields} fields; a window needs five (minute hour day-of-month month day-of-week)"
        ));
    }
    let cron: croner::Cron = text
        .parse()
        .map_err(|err| format!("`{text}` is not a cron expression: {err}"))?;
    // A window that never opens is a mistake (`0 9 31 2 *`), not a freeze: say so. (The
    // search runs to the year 5000 and then gives up.)
    let epoch = DateTime::from_timestamp_millis(0)
        .expect("the epoch is a time")
        .with_timezone(&FixedOffset::east_opt(0).expect("UTC is an offset"));
    if cron.find_next_occurrence(&epoch, true).is_ok() {
        return Ok(cron);
    }
    Err(format!("`{text}` matches no minute"))
}

fn parse_offset(text: &str) -> Result<FixedOffset, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("utc") || text == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("UTC is an offset"));
    }
    let refuse = || {
        format!(
            "`{text}` is not an offset from UTC; write `UTC` or `+HH:MM` / `-HH:MM` (time-zone names are not supported: the offset is fixed, daylight saving time is not followed)"
        )
    };
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(refuse()),
    };
    let (hours, minutes) = rest.split_once(':').ok_or_else(refuse)?;
    let (Ok(hours), Ok(minutes)) = (hours.parse::<i32>(), minutes.parse::<i32>()) else {
        return Err(refuse());
    };
    if hours.to_string().len() > 2 || !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
        return Err(format!("`{text}` is out of range (from -14:00 to +14:00)"));
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(refuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Millis {
        crate::time::parse_rfc3339_ms(text).expect("a time")
    }

    fn working_hours() -> Schedule {
        Schedule::parse(
            "automerge_schedule",
            &[MergeWindow {
                cron: "* 9-17 * * Mon-Fri".to_owned(),
                utc_offset: "+01:00".to_owned(),
            }],
        )
        .expect("valid")
    }

    #[test]
    fn a_minute_is_inside_when_the_cron_matches_it_at_the_windows_offset() {
        let s = working_hours();
        // Friday 2037-01-09 17:59 +01:00 is inside; 18:00 is not.
        assert!(s.is_open(at("2037-01-09T16:59:30Z")));
        assert!(!s.is_open(at("2037-01-09T17:00:00Z")));
        assert!(!s.is_open(at("2037-01-10T10:00:00Z")), "a Saturday");
        assert!(Schedule::default().is_open(at("2037-01-10T10:00:00Z")));
    }

    #[test]
    fn the_next_opening_after_a_friday_evening_is_monday_morning() {
        let s = working_hours();
        let Opening::At(when, offset) = opening(&[&s], at("2037-01-09T17:30:00Z")) else {
            panic!("closed on a Friday evening");
        };
        assert_eq!(when, at("2037-01-12T08:00:00Z"));
        assert_eq!(format_at(when, offset), "Mon 2037-01-12 09:00 +01:00");
        assert_eq!(opening(&[&s], at("2037-01-12T08:00:00Z")), Opening::Now);
    }

    #[test]
    fn the_service_and_the_repository_must_both_be_open() {
        let weekdays = working_hours();
        let mornings = |hours: &str| {
            Schedule::parse(
                "risk.automerge_schedule",
                &[MergeWindow {
                    cron: format!("* {hours} * * *"),
                    utc_offset: "UTC".to_owned(),
                }],
            )
            .expect("valid")
        };
        // Saturday 07:00 UTC: the mornings are open, the weekdays not. Their first common
        // minute is Monday 08:00 UTC (09:00 +01:00).
        let early = mornings("6-8");
        let saturday = at("2037-01-10T07:00:00Z");
        assert_eq!(
            opening(&[&early, &weekdays], saturday),
            Opening::At(at("2037-01-12T08:00:00Z"), weekdays.windows[0].1)
        );
        // 06:00–07:59 UTC is before 09:00 +01:00: no common minute at all.
        assert_eq!(
            opening(&[&mornings("6-7"), &weekdays], saturday),
            Opening::Never
        );
    }

    #[test]
    fn bad_windows_are_refused_naming_their_place() {
        let problems = Schedule::parse(
            "automerge_schedule",
            &[
                MergeWindow {
                    cron: "0 9 * *".to_owned(),
                    utc_offset: "Europe/Berlin".to_owned(),
                },
                MergeWindow {
                    cron: "0 9 31 2 *".to_owned(),
                    utc_offset: "+25:00".to_owned(),
                },
            ],
        )
        .expect_err("invalid");
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("`automerge_schedule[0].cron`: `0 9 * *` has 4 fields"));
        assert!(problems[1].contains("time-zone names are not supported"));
        assert!(problems[2].contains("matches no minute"), "{problems:?}");
        assert!(problems[3].contains("out of range"));
    }

    #[test]
    fn an_invalid_service_schedule_stops_the_configuration_from_loading() {
        let mut config = crate::config::Config::default();
        config.risk.automerge_schedule = vec![MergeWindow {
            cron: "* 9-17 * *".to_owned(),
            utc_offset: "UTC".to_owned(),
        }];
        let invalid = super::super::validate::validate(&config).expect_err("refused");
        assert_eq!(invalid.key, "risk.automerge_schedule");
        assert!(
            invalid
                .reason
                .starts_with("`risk.automerge_schedule[0].cron`"),
            "{}",
            invalid.reason
        );
    }
}
