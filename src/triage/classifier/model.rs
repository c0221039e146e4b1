//! The trained model: its file format (JSON, weights quantized, committed under `models/`)
//! and the in-memory form that scores an issue (the member SVMs' scores, then the
//! meta-learner's).

use super::features::{BlockVocab, FeatureConfig, SparseVec, Vectorizer};
use super::stack::{Members, MetaModel};
use super::text::PreparedText;
use crate::triage::category::Category;
use anyhow::{Context as _, ensure};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The model file format this code reads and writes.
pub const FORMAT: u32 = 2;
/// IDF values are stored as integers in thousandths.
const IDF_SCALE: f32 = 1_000.0;
/// Weights are stored as integers in `[-WEIGHT_LEVELS, WEIGHT_LEVELS]` times their member's
/// `weight_scale`.
const WEIGHT_LEVELS: f32 = 32_767.0;

/// Where a model came from: written into the model file by `globallm classifier train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    /// The command that produced the model.
    pub command: String,
    /// The training data file, as given on the command line.
    pub data: String,
    /// The SHA-256 of the training data file.
    pub data_sha256: String,
    /// How many labelled issues it was trained on.
    pub examples: usize,
    /// The cross-validation run on the same data before the final fit.
    pub cross_validation: Option<CvSummary>,
    /// The GlobalLM version that trained it.
    pub trained_by: String,
}

/// The figures of a cross-validation, as recorded in a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvSummary {
    /// Number of folds.
    pub folds: usize,
    /// Seed of the stratified fold assignment.
    pub seed: u64,
    /// Macro-averaged F1 over the model's classes.
    pub macro_f1: f64,
    /// F1 of each class, in the model's class order.
    pub f1: Vec<(Category, f64)>,
}

/// One block's vocabulary as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredVocab {
    /// The tokens, sorted.
    pub tokens: Vec<String>,
    /// Each token's IDF in thousandths.
    pub idf: Vec<u16>,
}

/// The model file: everything needed to score an issue, nothing read from elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// The format version ([`FORMAT`]).
    pub format: u32,
    /// Where the model came from.
    pub provenance: Provenance,
    /// How features are built.
    pub features: FeatureConfig,
    /// The classes the model decides between.
    pub classes: Vec<Category>,
    /// Softmax temperature fitted on out-of-fold scores: `p = softmax(temperature · score)`.
    pub temperature: f64,
    /// Repositories with their own feature copies.
    pub repos: Vec<String>,
    /// One vocabulary per block of `features.blocks`.
    pub vocab: Vec<StoredVocab>,
    /// Each member SVM's bias for each class: the whole-vector member first, then one member
    /// per block of `features.blocks`.
    pub bias: Vec<Vec<f32>>,
    /// The size of one weight step of each member, in the same order.
    pub weight_scale: Vec<f32>,
    /// `[feature index, the whole-vector member's weight for each class in steps, then the
    /// weights of the member of the feature's block]`; features with small weights everywhere
    /// are pruned.
    pub weights: Vec<Vec<i32>>,
    /// The meta-learner over the members' scores.
    pub meta: MetaModel,
}

/// One feature's weights: the whole-vector member's for each class, then its block member's.
#[derive(Debug, Clone)]
struct Row {
    block: usize,
    weights: Vec<f32>,
}

/// A model ready to score issues.
#[derive(Debug, Clone)]
pub struct Model {
    /// The stored form it was built from (provenance, classes, temperature).
    pub file: ModelFile,
    vectorizer: Vectorizer,
    rows: FxHashMap<u32, Row>,
    /// The members' biases, laid out as the meta-learner's input.
    member_bias: Vec<f64>,
}

/// How a model scored an issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Raw scores (the meta-learner's logits), in class order.
    pub raw: Vec<f64>,
    /// Calibrated probabilities, in class order.
    pub probabilities: Vec<f64>,
    /// Index of the best class.
    pub best: usize,
    /// The features that pushed most towards the best class, strongest first.
    pub evidence: Vec<String>,
}

impl ModelFile {
    /// Stores a trained vectorizer, its members and meta-learner, keeping at most `max_rows`
    /// weight rows (those with the largest weight in any member and class).
    pub fn build(
        vectorizer: &Vectorizer,
        members: &Members,
        meta: MetaModel,
        classes: Vec<Category>,
        features: FeatureConfig,
        max_rows: usize,
    ) -> Self {
        let n_features = vectorizer.len() as usize;
        let largest_in =
            |w: &[Vec<f32>], j: usize| w.iter().map(|w| w[j].abs()).fold(0.0, f32::max);
        let block_weights = |j: usize| &members.blocks[vectorizer.block_of(j as u32)].weights;
        let strength =
            |j: usize| largest_in(&members.whole.weights, j).max(largest_in(block_weights(j), j));
        let mut order: Vec<usize> = (0..n_features).filter(|&j| strength(j) > 0.0).collect();
        order.sort_by(|&a, &b| strength(b).total_cmp(&strength(a)).then(a.cmp(&b)));
        order.truncate(max_rows);
        order.sort_unstable();
        let step = |largest: f32| {
            if largest > 0.0 {
                largest / WEIGHT_LEVELS
            } else {
                1.0
            }
        };
        let whole_scale = step(
            order
                .iter()
                .map(|&j| largest_in(&members.whole.weights, j))
                .fold(0.0, f32::max),
        );
        let mut block_largest = vec![0.0f32; members.blocks.len()];
        for &j in &order {
            let block = vectorizer.block_of(j as u32);
            block_largest[block] = block_largest[block].max(largest_in(block_weights(j), j));
        }
        let block_scales: Vec<f32> = block_largest.into_iter().map(step).collect();
        let weights = order
            .iter()
            .map(|&j| {
                let block = vectorizer.block_of(j as u32);
                let quantize = |w: &[f32], scale: f32| (w[j] / scale).round() as i32;
                let mut row = vec![j as i32];
                row.extend(
                    members
                        .whole
                        .weights
                        .iter()
                        .map(|w| quantize(w, whole_scale)),
                );
                row.extend(
                    block_weights(j)
                        .iter()
                        .map(|w| quantize(w, block_scales[block])),
                );
                row
            })
            .collect();
        let vocab = vectorizer
            .blocks
            .iter()
            .map(|b| StoredVocab {
                tokens: b.tokens.clone(),
                idf: b
                    .idf
                    .iter()
                    .map(|v| (v * IDF_SCALE).round().clamp(0.0, f32::from(u16::MAX)) as u16)
                    .collect(),
            })
            .collect();
        let bias = std::iter::once(&members.whole)
            .chain(&members.blocks)
            .map(|m| m.bias.clone())
            .collect();
        ModelFile {
            format: FORMAT,
            provenance: Provenance::default(),
            features,
            classes,
            temperature: 1.0,
            repos: vectorizer.repos.clone(),
            vocab,
            bias,
            weight_scale: std::iter::once(whole_scale).chain(block_scales).collect(),
            weights,
            meta,
        }
    }
}

impl Model {
    /// Checks a stored model and builds its lookup tables.
    pub fn from_file(file: ModelFile) -> anyhow::Result<Self> {
        ensure!(
            file.format == FORMAT,
            "model format {} is not the supported format {FORMAT}",
            file.format
        );
        let classes = file.classes.len();
        ensure!(classes > 0, "the model has no classes");
        let members = 1 + file.features.blocks.len();
        ensure!(
            file.vocab.len() == file.features.blocks.len()
                && file.bias.len() == members
                && file.bias.iter().all(|b| b.len() == classes)
                && file.weight_scale.len() == members,
            "the model's vocabularies, biases or weight scales do not match its blocks and classes"
        );
        let inputs = members * classes;
        let meta = &file.meta;
        let meta_shape_ok =
            |w: &[Vec<f32>]| w.len() == classes && w.iter().all(|w| w.len() == inputs);
        ensure!(
            meta.bias.len() == classes
                && meta_shape_ok(&meta.shared)
                && meta.repos.len() == file.repos.len()
                && meta.repos.iter().all(|w| meta_shape_ok(w)),
            "the meta-learner's weights do not match the model's members, classes and repositories"
        );
        let mut offset = 0u32;
        let mut blocks = Vec::with_capacity(file.vocab.len());
        for (spec, stored) in file.features.blocks.iter().zip(&file.vocab) {
            ensure!(
                stored.tokens.len() == stored.idf.len(),
                "a vocabulary has {} tokens but {} IDF values",
                stored.tokens.len(),
                stored.idf.len()
            );
            let idf = stored
                .idf
                .iter()
                .map(|&v| f32::from(v) / IDF_SCALE)
                .collect();
            blocks.push(BlockVocab::new(*spec, stored.tokens.clone(), idf, offset));
            offset += stored.tokens.len() as u32;
        }
        let vectorizer = Vectorizer {
            blocks,
            repos: file.repos.clone(),
            copy_weight: file.features.repo_copy_weight,
        };
        let mut rows = FxHashMap::default();
        rows.reserve(file.weights.len());
        for row in &file.weights {
            ensure!(
                row.len() == 1 + 2 * classes,
                "a weight row has {} values, expected {}",
                row.len(),
                1 + 2 * classes
            );
            let index = u32::try_from(row[0]).context("a negative feature index")?;
            ensure!(
                index < vectorizer.len(),
                "feature index {index} out of range"
            );
            let block = vectorizer.block_of(index);
            let weights = row[1..]
                .iter()
                .enumerate()
                .map(|(k, &q)| {
                    let member = if k < classes { 0 } else { 1 + block };
                    q as f32 * file.weight_scale[member]
                })
                .collect();
            rows.insert(index, Row { block, weights });
        }
        let member_bias = file.bias.iter().flatten().map(|&b| f64::from(b)).collect();
        Ok(Model {
            file,
            vectorizer,
            rows,
            member_bias,
        })
    }

    /// Parses a model file; one of another format is refused as such, before its fields
    /// are read.
    pub fn from_json(bytes: &[u8]) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let Format { format } = serde_json::from_slice(bytes).context("parsing the model file")?;
        ensure!(
            format == FORMAT,
            "model format {format} is not the supported format {FORMAT}"
        );
        let file: ModelFile = serde_json::from_slice(bytes).context("parsing the model file")?;
        Self::from_file(file)
    }

    /// The vector an issue is scored on.
    pub fn vectorize(&self, text: &PreparedText, repo: Option<&str>) -> SparseVec {
        self.vectorizer
            .transform(text, self.vectorizer.repo_index(repo))
    }

    /// Scores an issue: raw scores, calibrated probabilities and the strongest evidence.
    pub fn score(&self, text: &PreparedText, repo: Option<&str>) -> Scores {
        let repo = self.vectorizer.repo_index(repo);
        let x = self.vectorizer.transform(text, repo);
        let classes = self.file.classes.len();
        // The members' scores: the whole-vector member's, then each block member's.
        let mut z = self.member_bias.clone();
        let mut matched: Vec<(u32, f32, &Row)> = Vec::new();
        for &(index, value) in &x {
            if let Some(row) = self.rows.get(&index) {
                let own = classes * (1 + row.block);
                for c in 0..classes {
                    z[c] += f64::from(row.weights[c] * value);
                    z[own + c] += f64::from(row.weights[classes + c] * value);
                }
                matched.push((index, value, row));
            }
        }
        let meta = &self.file.meta;
        let raw = meta.logits(&z, repo);
        let best = (0..classes)
            .max_by(|&a, &b| raw[a].total_cmp(&raw[b]).then(b.cmp(&a)))
            .expect("a model has classes");
        let probabilities = softmax(&raw, self.file.temperature);
        // The features that pushed most towards the best class, through both their members.
        let mut contributions: Vec<(u32, f64)> = matched
            .iter()
            .map(|&(index, value, row)| {
                let own = classes * (1 + row.block);
                let weight: f64 = (0..classes)
                    .map(|c| {
                        meta.weight(best, c, repo) * f64::from(row.weights[c])
                            + meta.weight(best, own + c, repo) * f64::from(row.weights[classes + c])
                    })
                    .sum();
                (index, weight * f64::from(value))
            })
            .filter(|&(_, c)| c > 0.0)
            .collect();
        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let evidence = contributions
            .iter()
            .take(3)
            .map(|(index, _)| self.vectorizer.describe(*index))
            .collect();
        Scores {
            raw,
            probabilities,
            best,
            evidence,
        }
    }

    /// Number of features in the vocabulary and number of weight rows kept.
    pub fn size(&self) -> (u32, usize) {
        (self.vectorizer.base_len(), self.rows.len())
    }
}

/// `softmax(temperature · scores)`.
pub fn softmax(scores: &[f64], temperature: f64) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = scores
        .iter()
        .map(|s| ((s - max) * temperature).exp())
        .collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_sharpens_with_temperature() {
        let soft = softmax(&[1.0, 0.0, -1.0], 1.0);
        let sharp = softmax(&[1.0, 0.0, -1.0], 5.0);
        assert!((soft.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(sharp[0] > soft[0] && soft[0] > soft[1]);
    }

    #[test]
    fn a_model_of_another_format_is_refused() {
        let json = br#"{"format":99,"provenance":{"command":"","data":"","data_sha256":"","examples":0,"cross_validation":null,"trained_by":""},"features":{"blocks":[],"repo_copy_weight":0.0},"classes":["bug"],"temperature":1.0,"repos":[],"vocab":[],"bias":[0.0],"weight_scale":1.0,"weights":[]}"#;
        let err = Model::from_json(json).expect_err("format 99 is unknown");
        assert!(err.to_string().contains("format 99"));
    }
}
