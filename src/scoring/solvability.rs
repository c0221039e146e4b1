//! Solvability S: how likely an automated fix is to be right, from the issue's complexity,
//! whether the repository has tests, the size of the code the fix would touch, how many files
//! the localizer expects it to touch, the breaking risk (a public symbol in those files), and
//! GlobalLM's record on similar issues in the repository once there are enough outcomes.
//! A term that was not measured leaves both sums of the weighted mean, so S from complexity
//! alone is still `(10 − complexity) / 9`.

use super::{Part, mean_of_parts, norm, round2};
use crate::config::ScoringConfig;
use serde::{Deserialize, Serialize};

/// What solvability is computed from; only the complexity is always known.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SolvabilityInputs {
    /// The issue's complexity, 1–10.
    pub complexity: u8,
    /// Whether the repository has tests (from its tree).
    #[serde(default)]
    pub has_tests: Option<bool>,
    /// Bytes of code in the files the fix would likely touch.
    #[serde(default)]
    pub code_bytes: Option<f64>,
    /// Files the localizer expects the fix to touch.
    #[serde(default)]
    pub expected_files: Option<f64>,
    /// Whether those files declare public symbols (a change there may break callers).
    #[serde(default)]
    pub public_api: Option<bool>,
    /// GlobalLM's own record on issues like this one in the repository.
    #[serde(default)]
    pub track_record: Option<TrackRecord>,
}

/// How GlobalLM's fixes of similar issues (same category, complexity within one) in a
/// repository ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrackRecord {
    /// Merged and not reverted.
    pub merged: u32,
    /// Decided: merged (reverted or not), closed unmerged, or failed.
    pub decided: u32,
}

impl SolvabilityInputs {
    /// Inputs from the complexity and the repository's tests only.
    pub fn basic(complexity: u8, has_tests: Option<bool>) -> Self {
        Self {
            complexity,
            has_tests,
            ..Self::default()
        }
    }
}

/// Every term of solvability with its value and weight.
pub fn solvability_parts(inputs: &SolvabilityInputs, config: &ScoringConfig) -> Vec<Part> {
    let mix = &config.solvability;
    let complexity = inputs.complexity.clamp(1, 10);
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    vec![
        Part::new(
            "complexity",
            Some(format!("{complexity}/10")),
            Some((10.0 - f64::from(complexity)) / 9.0),
            mix.complexity,
        ),
        Part::new(
            "tests",
            inputs.has_tests.map(yes_no),
            inputs.has_tests.map(|t| if t { 1.0 } else { 0.0 }),
            mix.tests,
        ),
        Part::new(
            "code_size",
            inputs
                .code_bytes
                .map(|b| format!("{} KiB in the likely files", round2(b / 1024.0))),
            inputs
                .code_bytes
                .map(|b| 1.0 - norm(b, mix.code_size_threshold_bytes)),
            mix.code_size,
        ),
        Part::new(
            "expected_files",
            inputs.expected_files.map(|f| format!("{f:.0} files")),
            // One file is the easiest scope: the count above one is what is penalized.
            inputs
                .expected_files
                .map(|f| 1.0 - norm((f - 1.0).max(0.0), mix.files_threshold)),
            mix.files,
        ),
        Part::new(
            "breaking_risk",
            inputs.public_api.map(|p| {
                if p {
                    "public symbols in the likely files"
                } else {
                    "internal code only"
                }
                .to_owned()
            }),
            inputs.public_api.map(|p| if p { 0.0 } else { 1.0 }),
            mix.breaking,
        ),
        Part::new(
            "track_record",
            inputs.track_record.map(|r| {
                if r.decided >= mix.min_outcomes {
                    format!("{} of {} similar fixes merged here", r.merged, r.decided)
                } else {
                    format!(
                        "{} similar fixes decided here, {} needed before it counts",
                        r.decided, mix.min_outcomes
                    )
                }
            }),
            inputs
                .track_record
                .filter(|r| r.decided >= mix.min_outcomes.max(1))
                .map(|r| f64::from(r.merged) / f64::from(r.decided)),
            mix.track_record,
        ),
    ]
}

/// Solvability in [0, 1]: the weighted mean of the measured terms.
pub fn solvability(inputs: &SolvabilityInputs, config: &ScoringConfig) -> f64 {
    mean_of_parts(&solvability_parts(inputs, config)).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_track_record_counts_once_there_are_enough_outcomes() {
        let config = ScoringConfig::default();
        let base = SolvabilityInputs::basic(4, Some(true));
        let record = |merged, decided| SolvabilityInputs {
            track_record: Some(TrackRecord { merged, decided }),
            ..base.clone()
        };
        // Too few outcomes: said, not counted.
        assert_eq!(
            solvability(&record(0, 4), &config),
            solvability(&base, &config)
        );
        let parts = solvability_parts(&record(0, 4), &config);
        let part = parts
            .iter()
            .find(|p| p.name == "track_record")
            .expect("a part");
        assert_eq!(
            part.measured.as_deref(),
            Some("4 similar fixes decided here, 5 needed before it counts")
        );
        assert_eq!(part.value, None);
        // Enough: a good record raises S, a bad one lowers it.
        assert!(solvability(&record(6, 6), &config) > solvability(&base, &config));
        assert!(solvability(&record(0, 6), &config) < solvability(&base, &config));
    }

    #[test]
    fn simpler_issues_are_more_solvable() {
        let config = ScoringConfig::default();
        let of = |c, t| solvability(&SolvabilityInputs::basic(c, t), &config);
        assert!(of(2, Some(true)) > of(8, Some(true)));
        assert!(of(2, Some(true)) > of(2, Some(false)));
        assert_eq!(of(1, None), 1.0, "complexity alone: (10 − 1) / 9");
        assert_eq!(of(10, None), 0.0);
        let mix = &config.solvability;
        let expected = (mix.complexity * (7.0 / 9.0) + mix.tests) / (mix.complexity + mix.tests);
        assert!((of(3, Some(true)) - expected).abs() < 1e-12);
    }

    #[test]
    fn a_small_scope_without_public_symbols_is_easier_to_fix() {
        let config = ScoringConfig::default();
        let small = SolvabilityInputs {
            complexity: 4,
            has_tests: Some(true),
            code_bytes: Some(3_000.0),
            expected_files: Some(1.0),
            public_api: Some(false),
            track_record: None,
        };
        let wide = SolvabilityInputs {
            code_bytes: Some(400_000.0),
            expected_files: Some(12.0),
            public_api: Some(true),
            ..small.clone()
        };
        assert!(solvability(&small, &config) > solvability(&wide, &config));
        let parts = solvability_parts(&wide, &config);
        let named = |name: &str| parts.iter().find(|p| p.name == name).expect("a part");
        assert_eq!(
            named("code_size").value,
            Some(0.0),
            "saturates at the threshold"
        );
        assert_eq!(named("breaking_risk").value, Some(0.0));
        assert_eq!(
            named("expected_files").value,
            Some(0.0),
            "11 above one saturates"
        );
        assert_eq!(named("expected_files").weight, config.solvability.files);
        let one_file = solvability_parts(&small, &config);
        assert_eq!(
            one_file
                .iter()
                .find(|p| p.name == "expected_files")
                .and_then(|p| p.value),
            Some(1.0)
        );
    }

    #[test]
    fn weights_of_zero_leave_a_term_out() {
        let mut config = ScoringConfig::default();
        config.solvability.tests = 0.0;
        let without_tests = solvability(&SolvabilityInputs::basic(3, Some(false)), &config);
        assert!((without_tests - 7.0 / 9.0).abs() < 1e-12);
    }
}
