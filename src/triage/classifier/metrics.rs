//! Classification quality: per-class precision, recall and F1, macro-F1, and the confusion
//! matrix, printed by `globallm classifier evaluate` and `test`.

use crate::triage::category::Category;
use serde::Serialize;
use std::fmt;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    /// The class.
    pub category: Category,
    /// Of the issues predicted as this class, the share that are.
    pub precision: f64,
    /// Of the issues of this class, the share predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of issues of this class.
    pub support: usize,
}

/// The quality of a set of predictions over some classes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// One entry per evaluated class.
    pub classes: Vec<ClassScores>,
    /// Unweighted mean of the classes' F1.
    pub macro_f1: f64,
    /// Share of issues predicted correctly.
    pub accuracy: f64,
    /// `confusion[truth][predicted]`, over the evaluated classes and a last column for any
    /// other predicted category.
    pub confusion: Vec<Vec<usize>>,
}

/// Scores predictions against the truth, over `classes`. A prediction outside `classes`
/// (security, docs, other) counts against the true class's recall.
pub fn report(classes: &[Category], truth: &[Category], predicted: &[Category]) -> Report {
    let k = classes.len();
    let mut confusion = vec![vec![0usize; k + 1]; k];
    for (t, p) in truth.iter().zip(predicted) {
        if let Some(row) = classes.iter().position(|c| c == t) {
            let col = classes.iter().position(|c| c == p).unwrap_or(k);
            confusion[row][col] += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let scores: Vec<ClassScores> = classes
        .iter()
        .enumerate()
        .map(|(i, &category)| {
            let hit = confusion[i][i];
            let support: usize = confusion[i].iter().sum();
            let predicted_as: usize = confusion.iter().map(|row| row[i]).sum();
            let (precision, recall) = (ratio(hit, predicted_as), ratio(hit, support));
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassScores {
                category,
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let total: usize = confusion.iter().flatten().sum();
    let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
    Report {
        macro_f1: scores.iter().map(|s| s.f1).sum::<f64>() / k.max(1) as f64,
        accuracy: ratio(correct, total),
        classes: scores,
        confusion,
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>9} {:>7} {:>7} {:>8}",
            "class", "precision", "recall", "f1", "support"
        )?;
        for s in &self.classes {
            writeln!(
                f,
                "{:<10} {:>9.4} {:>7.4} {:>7.4} {:>8}",
                s.category.as_str(),
                s.precision,
                s.recall,
                s.f1,
                s.support
            )?;
        }
        writeln!(
            f,
            "accuracy {:.4}   macro-F1 {:.4}",
            self.accuracy, self.macro_f1
        )?;
        write!(f, "confusion (rows: truth; columns:")?;
        for s in &self.classes {
            write!(f, " {}", s.category)?;
        }
        writeln!(f, " other-categories)")?;
        for (s, row) in self.classes.iter().zip(&self.confusion) {
            let cells: Vec<String> = row.iter().map(|n| format!("{n:>5}")).collect();
            writeln!(f, "  {:<10}{}", s.category.as_str(), cells.join(""))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::{Bug, Feature, Other};

    #[test]
    fn f1_counts_predictions_outside_the_classes_as_misses() {
        let truth = [Bug, Bug, Feature, Feature];
        let predicted = [Bug, Other, Feature, Bug];
        let r = report(&[Bug, Feature], &truth, &predicted);
        // bug: precision 1/2, recall 1/2; feature: precision 1, recall 1/2.
        assert!((r.classes[0].f1 - 0.5).abs() < 1e-12);
        assert!((r.classes[1].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.macro_f1 - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(r.confusion, vec![vec![1, 0, 1], vec![1, 1, 0]]);
        assert!((r.accuracy - 0.5).abs() < 1e-12);
    }
}
