//! The stacked decision: the member SVMs (one over the whole vector, one per feature block) each
//! score an issue, and a multinomial logistic regression over those scores, with a copy of its
//! weights for every repository seen in training, turns them into the class scores. The
//! regression is fitted on out-of-fold member scores (an inner cross-validation of the training
//! issues), so it learns how far to trust each block, and in which repository, from scores
//! like those of issues the members never saw.

use super::features::SparseVec;
use super::svm::LinearModel;
use serde::{Deserialize, Serialize};

/// The member SVMs as trained, their weights applying to the whole feature vector (a block
/// member's are zero outside its block).
#[derive(Debug, Clone, PartialEq)]
pub struct Members {
    /// The SVM over every block.
    pub whole: LinearModel,
    /// One SVM per block, in block order.
    pub blocks: Vec<LinearModel>,
}

impl Members {
    /// The members' scores of a vector, laid out as the meta-learner's input: the whole-vector
    /// member's score for each class, then each block member's.
    pub fn scores(&self, x: &SparseVec) -> Vec<f64> {
        std::iter::once(&self.whole)
            .chain(&self.blocks)
            .flat_map(|m| {
                m.weights.iter().zip(&m.bias).map(|(w, &b)| {
                    f64::from(b)
                        + x.iter()
                            .map(|&(j, v)| f64::from(w[j as usize] * v))
                            .sum::<f64>()
                })
            })
            .collect()
    }
}

/// The meta-learner's weights. Its input is the members' scores in order: the whole-vector
/// member's score for each class, then each block member's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaModel {
    /// The bias of each class.
    pub bias: Vec<f32>,
    /// `shared[class][input]`: the weights every issue is scored with.
    pub shared: Vec<Vec<f32>>,
    /// `repos[repo][class][input]`: added to the shared weights for an issue of that repository
    /// (in the model's repository order).
    pub repos: Vec<Vec<Vec<f32>>>,
}

/// How the meta-learner is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetaParams {
    /// L2 penalty on the weights (not the biases), per issue.
    pub l2: f64,
    /// At most this many gradient steps.
    pub max_iterations: usize,
    /// Stop when no gradient component exceeds this.
    pub tolerance: f64,
}

impl Default for MetaParams {
    fn default() -> Self {
        MetaParams {
            l2: 0.01,
            max_iterations: 5_000,
            tolerance: 1e-6,
        }
    }
}

impl MetaModel {
    /// The weight of `input` towards `class` for an issue of `repo`.
    pub fn weight(&self, class: usize, input: usize, repo: Option<usize>) -> f64 {
        let own = repo
            .and_then(|r| self.repos.get(r))
            .map_or(0.0, |w| f64::from(w[class][input]));
        f64::from(self.shared[class][input]) + own
    }

    /// The class scores (logits) of the member scores `z` of an issue of `repo`.
    pub fn logits(&self, z: &[f64], repo: Option<usize>) -> Vec<f64> {
        (0..self.bias.len())
            .map(|c| {
                f64::from(self.bias[c])
                    + z.iter()
                        .enumerate()
                        .map(|(f, v)| self.weight(c, f, repo) * v)
                        .sum::<f64>()
            })
            .collect()
    }
}

/// Weights during fitting: `[class][part][input]`, part 0 shared and part `1 + r` repository
/// `r`'s, and the biases.
struct Weights {
    parts: Vec<Vec<Vec<f64>>>,
    bias: Vec<f64>,
}

impl Weights {
    fn zeros(classes: usize, parts: usize, inputs: usize) -> Self {
        Weights {
            parts: vec![vec![vec![0.0; inputs]; parts]; classes],
            bias: vec![0.0; classes],
        }
    }

    fn logits(&self, z: &[f64], repo: Option<usize>) -> Vec<f64> {
        self.parts
            .iter()
            .zip(&self.bias)
            .map(|(parts, b)| {
                let dot = |w: &[f64]| w.iter().zip(z).map(|(w, v)| w * v).sum::<f64>();
                b + dot(&parts[0]) + repo.map_or(0.0, |r| dot(&parts[1 + r]))
            })
            .collect()
    }

    /// `self + a · (other − self)`, component-wise.
    fn towards(&self, other: &Weights, a: f64) -> Weights {
        let mix = |x: f64, y: f64| x + a * (y - x);
        Weights {
            parts: self
                .parts
                .iter()
                .zip(&other.parts)
                .map(|(p, q)| {
                    p.iter()
                        .zip(q)
                        .map(|(u, v)| u.iter().zip(v).map(|(&x, &y)| mix(x, y)).collect())
                        .collect()
                })
                .collect(),
            bias: self
                .bias
                .iter()
                .zip(&other.bias)
                .map(|(&x, &y)| mix(x, y))
                .collect(),
        }
    }
}

fn softmax_in_place(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    scores.iter_mut().for_each(|s| *s = (*s - max).exp());
    let sum: f64 = scores.iter().sum();
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// Fits the meta-learner: mean cross-entropy plus `l2 / 2 · ‖w‖²`, minimized by Nesterov's
/// accelerated gradient with the step `1 / L` from a bound on the curvature (deterministic, and
/// the problem is convex). `z[i]` are issue `i`'s out-of-fold member scores, `repos[i]` its
/// repository (an index below `n_repos`), `labels[i]` its class.
pub fn fit(
    z: &[Vec<f64>],
    repos: &[Option<usize>],
    labels: &[usize],
    n_classes: usize,
    n_repos: usize,
    params: &MetaParams,
) -> MetaModel {
    let inputs = z.first().map_or(0, Vec::len);
    let n = z.len().max(1) as f64;
    // The softmax's Hessian is at most 1/2; each issue's feature vector is its scores, once more
    // in its repository's part when it has one, and the bias.
    let curvature = z
        .iter()
        .zip(repos)
        .map(|(x, r)| {
            let norm: f64 = x.iter().map(|v| v * v).sum();
            norm * if r.is_some() { 2.0 } else { 1.0 } + 1.0
        })
        .sum::<f64>()
        / n;
    let step = 1.0 / (0.5 * curvature + params.l2);
    let mut current = Weights::zeros(n_classes, 1 + n_repos, inputs);
    let mut lookahead = Weights::zeros(n_classes, 1 + n_repos, inputs);
    let mut momentum = 1.0f64;
    for _ in 0..params.max_iterations {
        let mut grad = Weights::zeros(n_classes, 1 + n_repos, inputs);
        for ((x, &repo), &label) in z.iter().zip(repos).zip(labels) {
            let mut p = lookahead.logits(x, repo);
            softmax_in_place(&mut p);
            for (c, &pc) in p.iter().enumerate() {
                let residual = (pc - if c == label { 1.0 } else { 0.0 }) / n;
                grad.bias[c] += residual;
                let parts = &mut grad.parts[c];
                for (g, v) in parts[0].iter_mut().zip(x) {
                    *g += residual * v;
                }
                if let Some(r) = repo {
                    for (g, v) in parts[1 + r].iter_mut().zip(x) {
                        *g += residual * v;
                    }
                }
            }
        }
        let mut largest = 0.0f64;
        let mut next = Weights::zeros(n_classes, 1 + n_repos, inputs);
        for c in 0..n_classes {
            largest = largest.max(grad.bias[c].abs());
            next.bias[c] = lookahead.bias[c] - step * grad.bias[c];
            for (part, (g, w)) in grad.parts[c].iter().zip(&lookahead.parts[c]).enumerate() {
                for (f, (g, w)) in g.iter().zip(w).enumerate() {
                    let g = g + params.l2 * w;
                    largest = largest.max(g.abs());
                    next.parts[c][part][f] = w - step * g;
                }
            }
        }
        if largest < params.tolerance {
            current = lookahead;
            break;
        }
        let following = (1.0 + (1.0 + 4.0 * momentum * momentum).sqrt()) / 2.0;
        // Past `next`, away from `current`: the momentum.
        lookahead = current.towards(&next, 1.0 + (momentum - 1.0) / following);
        current = next;
        momentum = following;
    }
    let to_f32 = |w: &[f64]| w.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    MetaModel {
        bias: to_f32(&current.bias),
        shared: current.parts.iter().map(|p| to_f32(&p[0])).collect(),
        repos: (0..n_repos)
            .map(|r| current.parts.iter().map(|p| to_f32(&p[1 + r])).collect())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argmax(v: &[f64]) -> usize {
        (0..v.len())
            .max_by(|&a, &b| v[a].total_cmp(&v[b]))
            .expect("non-empty")
    }

    #[test]
    fn the_meta_learner_trusts_the_input_that_is_right_in_each_repository() {
        // Two members, two classes: member 0 is right in repository 0, member 1 in repository 1;
        // the other member's scores point the wrong way there.
        let mut z = Vec::new();
        let mut repos = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            let label = i % 2;
            let repo = (i / 2) % 2;
            let right = if label == 0 { [1.0, -1.0] } else { [-1.0, 1.0] };
            let wrong = [right[1], right[0]];
            let (m0, m1) = if repo == 0 {
                (right, wrong)
            } else {
                (wrong, right)
            };
            z.push(vec![m0[0], m0[1], m1[0], m1[1]]);
            repos.push(Some(repo));
            labels.push(label);
        }
        let meta = fit(&z, &repos, &labels, 2, 2, &MetaParams::default());
        for ((x, &repo), &label) in z.iter().zip(&repos).zip(&labels) {
            assert_eq!(argmax(&meta.logits(x, repo)), label);
        }
        // Without a repository only the shared weights count, and they cannot tell.
        let unknown = meta.logits(&z[0], None);
        assert!((unknown[0] - unknown[1]).abs() < 0.5, "{unknown:?}");
        assert_eq!(meta, fit(&z, &repos, &labels, 2, 2, &MetaParams::default()));
    }
}
