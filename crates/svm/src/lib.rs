//! The issue classifier's inner loop: one binary L2-regularized, squared-hinge-loss SVM trained
//! by dual coordinate descent (the algorithm of LIBLINEAR, Hsieh et al. 2008), with a bias
//! feature. Deterministic: the visiting order comes from a seeded generator.
//!
//! A crate of its own so that debug builds can optimize it (`[profile.dev.package]` in the
//! root `Cargo.toml`): training runs it millions of times, and the classifier's
//! cross-validation test would otherwise spend minutes in unoptimized loops. Floating-point
//! results do not depend on the optimization level (no fast-math), so debug and release train
//! the same model. Tested through its one caller, `globallm`'s `triage::classifier::svm`.

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

fn dot(w: &[f64], x: &[(u32, f32)], bias: f64) -> f64 {
    x.iter()
        .map(|&(i, v)| w[i as usize] * f64::from(v))
        .sum::<f64>()
        + bias
}

/// Trains one binary SVM on sparse examples (`(feature, value)` pairs): `positive[i]` says
/// whether example `i` is in the class. The feature weights and the bias.
pub fn train_binary(
    xs: &[Vec<(u32, f32)>],
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
