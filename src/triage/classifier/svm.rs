//! The linear model: one-vs-rest L2-regularized, squared-hinge-loss SVMs trained by dual
//! coordinate descent (the algorithm of LIBLINEAR, Hsieh et al. 2008), with a bias feature.
//! Deterministic: the visiting order comes from a seeded generator.

use super::features::SparseVec;

/// The learned weights: one row of `n_features` weights and one bias per class.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// `weights[class][feature]`.
    pub weights: Vec<Vec<f32>>,
    /// The bias of each class.
    pub bias: Vec<f32>,
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvmParams {
    /// Inverse regularization strength (larger fits the training data more closely).
    pub c: f64,
    /// Stop when the projected gradient's spread falls below this.
    pub tolerance: f64,
    /// At most this many passes over the data.
    pub max_passes: usize,
    /// Seeds the visiting order.
    pub seed: u64,
}

impl Default for SvmParams {
    fn default() -> Self {
        SvmParams {
            c: 0.3,
            tolerance: 0.1,
            max_passes: 1_000,
            seed: 42,
        }
    }
}

fn dot(w: &[f64], x: &SparseVec, bias: f64) -> f64 {
    x.iter()
        .map(|&(i, v)| w[i as usize] * f64::from(v))
        .sum::<f64>()
        + bias
}

/// Trains one binary SVM: `positive[i]` says whether example `i` is in the class.
fn train_binary(
    xs: &[SparseVec],
    positive: &[bool],
    n_features: usize,
    params: &SvmParams,
) -> (Vec<f64>, f64) {
    let n = xs.len();
    // Squared hinge loss: the dual's diagonal gains 1 / (2C) and alpha has no upper bound.
    let diag = 0.5 / params.c;
    let mut w = vec![0.0f64; n_features];
    let mut bias = 0.0f64;
    let mut alpha = vec![0.0f64; n];
    // The bias is a constant feature 1, regularized like the others (as LIBLINEAR does).
    let q: Vec<f64> = xs
        .iter()
        .map(|x| x.iter().map(|&(_, v)| f64::from(v).powi(2)).sum::<f64>() + 1.0 + diag)
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = fastrand::Rng::with_seed(params.seed);
    for _ in 0..params.max_passes {
        rng.shuffle(&mut order);
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        for &i in &order {
            let y = if positive[i] { 1.0 } else { -1.0 };
            let gradient = y * dot(&w, &xs[i], bias) - 1.0 + diag * alpha[i];
            let projected = if alpha[i] == 0.0 {
                gradient.min(0.0)
            } else {
                gradient
            };
            pg_max = pg_max.max(projected);
            pg_min = pg_min.min(projected);
            if projected.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - gradient / q[i]).max(0.0);
                let step = (alpha[i] - old) * y;
                for &(j, v) in &xs[i] {
                    w[j as usize] += step * f64::from(v);
                }
                bias += step;
            }
        }
        if pg_max - pg_min < params.tolerance {
            break;
        }
    }
    (w, bias)
}

/// Trains one SVM per class (`labels[i]` is the class index of example `i`).
pub fn train(
    xs: &[SparseVec],
    labels: &[usize],
    n_classes: usize,
    n_features: usize,
    params: &SvmParams,
) -> LinearModel {
    let mut weights = Vec::with_capacity(n_classes);
    let mut bias = Vec::with_capacity(n_classes);
    for class in 0..n_classes {
        let positive: Vec<bool> = labels.iter().map(|&l| l == class).collect();
        let (w, b) = train_binary(xs, &positive, n_features, params);
        weights.push(w.into_iter().map(|v| v as f32).collect());
        bias.push(b as f32);
    }
    LinearModel { weights, bias }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_classes_are_learned_and_training_is_deterministic() {
        // Feature 0 marks class 0, feature 1 class 1, feature 2 class 2; feature 3 is noise.
        let xs: Vec<SparseVec> = (0..30)
            .map(|i| vec![((i % 3) as u32, 1.0), (3, 0.5)])
            .collect();
        let labels: Vec<usize> = (0..30).map(|i| i % 3).collect();
        let params = SvmParams::default();
        let model = train(&xs, &labels, 3, 4, &params);
        for (x, &label) in xs.iter().zip(&labels) {
            let scores: Vec<f32> = (0..3)
                .map(|c| {
                    x.iter()
                        .map(|&(j, v)| model.weights[c][j as usize] * v)
                        .sum::<f32>()
                        + model.bias[c]
                })
                .collect();
            let best = (0..3)
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .expect("three classes");
            assert_eq!(best, label);
        }
        assert_eq!(model, train(&xs, &labels, 3, 4, &params));
    }
}
