//! The offline issue classifier compiled into the binary: NB-SVMs over TF-IDF word and
//! character n-grams of the title and body, issue-template and phrasing features (one over
//! every block, one per block) stacked under a per-repository logistic regression (`text`,
//! `features`, `svm`, `stack`, `model`), with a rule layer for security and documentation
//! markers (`rules`) and a confidence floor below which an issue is `other`. Trained and
//! cross-validated by `globallm classifier` (`train`, `data`, `metrics`); the committed model
//! is `models/issue-classifier.json`.

pub mod data;
pub mod features;
pub mod metrics;
pub mod model;
pub mod rules;
pub mod stack;
pub mod svm;
pub mod text;
pub mod train;

use crate::triage::category::Category;
use model::{Model, Scores};
use serde::Serialize;
use std::sync::OnceLock;
use text::PreparedText;

/// Below this calibrated probability the model's best class is not trusted: `other`.
pub const MIN_CONFIDENCE: f64 = 0.45;

/// The model shipped inside the binary.
static EMBEDDED_MODEL: &[u8] = include_bytes!("../../../models/issue-classifier.json");

/// An issue to categorize.
#[derive(Debug, Clone, Copy)]
pub struct IssueText<'a> {
    /// `owner/name`: a repository seen in training adds its own learned habits.
    pub repo: Option<&'a str>,
    /// The title.
    pub title: &'a str,
    /// The body (Markdown), possibly empty.
    pub body: &'a str,
}

/// The model's probability for one of its classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CategoryScore {
    /// The class.
    pub category: Category,
    /// Calibrated probability.
    pub probability: f64,
}

/// What the classifier decided, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Categorization {
    /// The category.
    pub category: Category,
    /// How sure: the model's calibrated probability for a model class, the rule's strength
    /// for security and docs, and `1 − best probability` for `other`.
    pub confidence: f64,
    /// The model's probabilities for its classes (bug, feature, question), best first.
    pub scores: Vec<CategoryScore>,
    /// One line per reason: the rule markers found, or the model's strongest features.
    pub rationale: Vec<String>,
}

/// The offline classifier: a trained model and the rule layer.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Model,
    min_confidence: f64,
}

impl Classifier {
    /// A classifier over a loaded model.
    pub fn new(model: Model) -> Self {
        Classifier {
            model,
            min_confidence: MIN_CONFIDENCE,
        }
    }

    /// The classifier with the model compiled into the binary, loaded on first use.
    pub fn embedded() -> &'static Classifier {
        static EMBEDDED: OnceLock<Classifier> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            // The file is checked by the test suite; a broken one cannot ship.
            let model = Model::from_json(EMBEDDED_MODEL).expect("the embedded model is valid");
            Classifier::new(model)
        })
    }

    /// Loads a classifier from a model file's bytes.
    pub fn from_json(bytes: &[u8]) -> anyhow::Result<Self> {
        Ok(Self::new(Model::from_json(bytes)?))
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Categorizes an issue.
    pub fn classify(&self, issue: &IssueText<'_>) -> Categorization {
        let prepared = PreparedText::new(issue.title, issue.body);
        let scores = self.model.score(&prepared, issue.repo);
        self.decide(issue, &scores)
    }

    /// Applies the rule layer and the confidence floor to the model's scores.
    pub fn decide(&self, issue: &IssueText<'_>, scores: &Scores) -> Categorization {
        decide(&self.model.file.classes, self.min_confidence, issue, scores)
    }
}

/// The classifier's decision from the model's `scores` over `classes`: a security or
/// documentation rule wins, an empty issue or a best probability below `min_confidence` is
/// `other`, and otherwise the model's best class.
pub fn decide(
    classes: &[Category],
    min_confidence: f64,
    issue: &IssueText<'_>,
    scores: &Scores,
) -> Categorization {
    let mut ranked: Vec<CategoryScore> = classes
        .iter()
        .zip(&scores.probabilities)
        .map(|(&category, &probability)| CategoryScore {
            category,
            probability,
        })
        .collect();
    ranked.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    let best = classes[scores.best];
    let best_p = scores.probabilities[scores.best];
    let model_line = format!("model: {best} {best_p:.2}");
    let rule = rules::find(issue.title, issue.body);
    let (category, confidence, mut rationale) = if let Some(hit) = rule {
        let line = format!("{} markers: {}", hit.category, hit.markers.join(", "));
        (hit.category, hit.confidence(), vec![line, model_line])
    } else if issue.title.trim().is_empty() && issue.body.trim().is_empty() {
        (
            Category::Other,
            1.0,
            vec!["empty title and body".to_owned()],
        )
    } else if best_p < min_confidence {
        let line =
            format!("no category is likely enough ({model_line}, below {min_confidence:.2})");
        (Category::Other, 1.0 - best_p, vec![line])
    } else {
        (best, best_p, vec![model_line])
    };
    if !scores.evidence.is_empty() {
        rationale.push(format!(
            "strongest features: {}",
            scores.evidence.join(", ")
        ));
    }
    Categorization {
        category,
        confidence,
        scores: ranked,
        rationale,
    }
}
