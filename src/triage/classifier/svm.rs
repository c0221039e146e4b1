//! The linear models: one-vs-rest L2-regularized, squared-hinge-loss SVMs (each trained by
//! `globallm_svm::train_binary`, dual coordinate descent), each class's SVM optionally over
//! features scaled by their naive-Bayes log-count ratio (NB-SVM, Wang & Manning 2012).

use super::features::SparseVec;
pub use globallm_svm::SvmParams;
use globallm_svm::train_binary;

/// The learned weights: one row of `n_features` weights and one bias per class.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// `weights[class][feature]`.
    pub weights: Vec<Vec<f32>>,
    /// The bias of each class.
    pub bias: Vec<f32>,
}

/// Trains one SVM per class (`labels[i]` is the class index of example `i`), class `c`'s SVM
/// over the features multiplied by `scales[c]` when given. The returned weights apply to the
/// unscaled features: the scale is folded back in.
pub fn train(
    xs: &[SparseVec],
    labels: &[usize],
    n_classes: usize,
    n_features: usize,
    params: &SvmParams,
    scales: Option<&[Vec<f32>]>,
) -> LinearModel {
    let mut weights = Vec::with_capacity(n_classes);
    let mut bias = Vec::with_capacity(n_classes);
    for class in 0..n_classes {
        let positive: Vec<bool> = labels.iter().map(|&l| l == class).collect();
        let (w, b) = match scales {
            Some(scales) => {
                let scale = &scales[class];
                let scaled: Vec<SparseVec> = xs
                    .iter()
                    .map(|x| x.iter().map(|&(j, v)| (j, v * scale[j as usize])).collect())
                    .collect();
                let (w, b) = train_binary(&scaled, &positive, n_features, params);
                let w = w
                    .into_iter()
                    .zip(scale)
                    .map(|(w, &s)| w * f64::from(s))
                    .collect::<Vec<f64>>();
                (w, b)
            }
            None => train_binary(xs, &positive, n_features, params),
        };
        weights.push(w.into_iter().map(|v| v as f32).collect());
        bias.push(b as f32);
    }
    LinearModel { weights, bias }
}

/// Per-class feature scales from the naive-Bayes log-count ratio of each feature's presence in
/// the class against the other classes (binarized document counts smoothed by 1):
/// `r = ln((1 + df_class) / (n_class + 2)) − ln((1 + df_rest) / (n_rest + 2))`, and the scale
/// is `(1 − strength) + strength · |r|`. Features that tell a class apart become cheaper for its
/// regularized SVM to use; features as common in the class as outside it fade. Computed on the
/// training issues only.
pub fn nb_scales(
    xs: &[SparseVec],
    labels: &[usize],
    n_classes: usize,
    n_features: usize,
    strength: f32,
) -> Vec<Vec<f32>> {
    let mut df = vec![vec![0u32; n_features]; n_classes];
    let mut n = vec![0u32; n_classes];
    for (x, &l) in xs.iter().zip(labels) {
        n[l] += 1;
        for &(j, v) in x {
            if v != 0.0 {
                df[l][j as usize] += 1;
            }
        }
    }
    let all: Vec<u32> = (0..n_features)
        .map(|j| df.iter().map(|d| d[j]).sum())
        .collect();
    let total: u32 = n.iter().sum();
    (0..n_classes)
        .map(|c| {
            let in_class = f64::from(n[c]);
            let rest = f64::from(total - n[c]);
            (0..n_features)
                .map(|j| {
                    let pos = f64::from(df[c][j]);
                    let neg = f64::from(all[j]) - pos;
                    let r =
                        ((1.0 + pos) / (in_class + 2.0)).ln() - ((1.0 + neg) / (rest + 2.0)).ln();
                    (1.0 - strength) + strength * r.abs() as f32
                })
                .collect()
        })
        .collect()
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
        let model = train(&xs, &labels, 3, 4, &params, None);
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
        assert_eq!(model, train(&xs, &labels, 3, 4, &params, None));
    }

    #[test]
    fn nb_scales_favour_features_that_tell_a_class_apart() {
        // Feature 0 is in every example; feature 1 only in class 0's; feature 2 in none.
        let xs: Vec<SparseVec> = (0..20)
            .map(|i| {
                if i % 2 == 0 {
                    vec![(0, 1.0), (1, 1.0)]
                } else {
                    vec![(0, 1.0)]
                }
            })
            .collect();
        let labels: Vec<usize> = (0..20).map(|i| i % 2).collect();
        let scales = nb_scales(&xs, &labels, 2, 3, 1.0);
        assert!(scales[0][0] < 0.01, "{:?}", scales[0]);
        assert!(scales[0][1] > 1.0 && scales[1][1] > 1.0, "{scales:?}");
        assert!(scales[0][2] < 0.01);
        let untouched = nb_scales(&xs, &labels, 2, 3, 0.0);
        assert!(untouched.iter().flatten().all(|&s| s == 1.0));
    }

    #[test]
    fn scaled_training_returns_weights_for_the_unscaled_features() {
        let xs: Vec<SparseVec> = (0..20).map(|i| vec![((i % 2) as u32, 1.0)]).collect();
        let labels: Vec<usize> = (0..20).map(|i| i % 2).collect();
        let params = SvmParams::default();
        let scales = vec![vec![2.0, 2.0], vec![2.0, 2.0]];
        let scaled = train(&xs, &labels, 2, 2, &params, Some(&scales));
        // Doubling every feature is the same problem with the weights halved, then doubled back.
        let doubled: Vec<SparseVec> = (0..20).map(|i| vec![((i % 2) as u32, 2.0)]).collect();
        let plain = train(&doubled, &labels, 2, 2, &params, None);
        for (a, b) in scaled
            .weights
            .iter()
            .flatten()
            .zip(plain.weights.iter().flatten())
        {
            assert!((a - 2.0 * b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
