//! Training and cross-validation: building the vocabularies, the member SVMs and the
//! meta-learner from labelled issues (the meta-learner on an inner cross-validation of the
//! training issues), stratified k-fold evaluation, and the softmax temperature fitted on
//! out-of-fold scores. All the fits of a training or a cross-validation (members and inner
//! folds) share one pool of threads, as many as the CPU has; the models do not depend on how
//! the threads share the work.

use super::data::LabelledIssue;
use super::features::{CountedTexts, FeatureConfig, Vectorizer};
use super::metrics::{Report, report};
use super::model::{CvSummary, Model, ModelFile, Scores, softmax};
use super::stack::{self, Members, MetaModel, MetaParams};
use super::svm::{self, SvmParams};
use super::text::PreparedText;
use super::{IssueText, MIN_CONFIDENCE, decide};
use crate::triage::category::Category;
use anyhow::ensure;
use std::time::{Duration, Instant};

/// Everything that shapes a trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// The feature blocks.
    pub features: FeatureConfig,
    /// The member SVMs' settings.
    pub svm: SvmParams,
    /// How far each class's SVMs see the features scaled by their naive-Bayes log-count ratio
    /// (see [`svm::nb_scales`]): 0 leaves them as they are.
    pub nb_scaling: f32,
    /// The folds of the inner cross-validation that gives the meta-learner its training scores.
    pub inner_folds: usize,
    /// The meta-learner's settings.
    pub meta: MetaParams,
    /// At most this many weight rows are kept in the model file.
    pub max_rows: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            features: FeatureConfig::default(),
            svm: SvmParams::default(),
            nb_scaling: 1.0,
            inner_folds: 5,
            meta: MetaParams::default(),
            max_rows: 60_000,
        }
    }
}

/// The classes of a training set: its labels, in category order.
pub fn classes_of(issues: &[LabelledIssue]) -> Vec<Category> {
    let mut classes: Vec<Category> = issues.iter().map(|i| i.label).collect();
    classes.sort();
    classes.dedup();
    classes
}

/// Prepares every issue's text once.
pub fn prepare(issues: &[LabelledIssue]) -> Vec<PreparedText> {
    issues
        .iter()
        .map(|i| PreparedText::new(&i.title, &i.body))
        .collect()
}

fn repo_key(issue: &LabelledIssue) -> Option<String> {
    issue.repo.as_ref().map(|r| r.to_ascii_lowercase())
}

fn class_index(classes: &[Category], issue: &LabelledIssue) -> usize {
    classes
        .iter()
        .position(|&c| c == issue.label)
        .expect("classes come from the labels")
}

/// Fits a model on the issues at `rows` (temperature 1, empty provenance): the members on every
/// issue of `rows`, the meta-learner on their inner cross-validation.
pub fn fit(
    issues: &[LabelledIssue],
    texts: &[PreparedText],
    rows: &[usize],
    classes: &[Category],
    options: &TrainOptions,
) -> anyhow::Result<ModelFile> {
    let mut models = fit_many(issues, texts, &[rows.to_vec()], classes, options)?;
    Ok(models.pop().expect("one model per set of rows"))
}

/// [`fit`] for each set of rows, as one pool of independent fits (every set's members and each
/// of its inner folds') on as many threads as the CPU has, then the meta-learners: the same
/// models as one `fit` after another, without a thread idle while another finishes.
fn fit_many(
    issues: &[LabelledIssue],
    texts: &[PreparedText],
    row_sets: &[Vec<usize>],
    classes: &[Category],
    options: &TrainOptions,
) -> anyhow::Result<Vec<ModelFile>> {
    ensure!(classes.len() >= 2, "training needs at least two classes");
    for rows in row_sets {
        ensure!(rows.len() >= 2, "training needs at least two issues");
    }
    let inner: Vec<(usize, Vec<usize>)> = row_sets
        .iter()
        .map(|rows| {
            let folds = options.inner_folds.clamp(2, rows.len());
            let labels: Vec<Category> = rows.iter().map(|&i| issues[i].label).collect();
            (folds, stratified_folds(&labels, folds, options.svm.seed))
        })
        .collect();
    // (set, None): the set's members on all its rows; (set, Some(fold)): an inner fold's.
    let jobs: Vec<(usize, Option<usize>)> = inner
        .iter()
        .enumerate()
        .flat_map(|(set, &(folds, _))| {
            std::iter::once((set, None)).chain((0..folds).map(move |f| (set, Some(f))))
        })
        .collect();
    let refs: Vec<&PreparedText> = texts.iter().collect();
    let counted = CountedTexts::new(&options.features, &refs);
    let mut wholes: Vec<Option<(Vectorizer, Members)>> = row_sets.iter().map(|_| None).collect();
    let mut z: Vec<Vec<Vec<f64>>> = row_sets.iter().map(|r| vec![Vec::new(); r.len()]).collect();
    let fitted = on_threads(&jobs, |&(set, fold)| match fold {
        None => {
            let (vectorizer, members, _) =
                fit_members(issues, &counted, &row_sets[set], classes, options);
            Fitted::Whole((vectorizer, members))
        }
        Some(fold) => Fitted::HeldOut(held_out_scores(
            issues,
            &counted,
            &row_sets[set],
            &inner[set].1,
            fold,
            classes,
            options,
        )),
    });
    for (&(set, _), fitted) in jobs.iter().zip(fitted) {
        match fitted {
            Fitted::Whole(members) => wholes[set] = Some(members),
            Fitted::HeldOut(scores) => {
                for (k, scores) in scores {
                    z[set][k] = scores;
                }
            }
        }
    }
    let sets: Vec<usize> = (0..row_sets.len()).collect();
    let metas = on_threads(&sets, |&set| {
        let (vectorizer, _) = wholes[set].as_ref().expect("every set's members are a job");
        fit_meta(
            issues,
            &row_sets[set],
            classes,
            vectorizer,
            &z[set],
            options,
        )
    });
    Ok(wholes
        .into_iter()
        .zip(metas)
        .map(|(whole, meta)| {
            let (vectorizer, members) = whole.expect("every set's members are a job");
            ModelFile::build(
                &vectorizer,
                &members,
                meta,
                classes.to_vec(),
                options.features.clone(),
                options.max_rows,
            )
        })
        .collect())
}

/// The vocabularies and the member SVMs fitted on the issues at `rows`: one SVM over the whole
/// vector and one per block, the block's alone at unit norm (its weight in the vector only
/// matters to the whole-vector member), its weights then mapped back onto the weighted vector;
/// with each token id's local index per block, to transform more texts of `counted`.
fn fit_members(
    issues: &[LabelledIssue],
    counted: &CountedTexts,
    rows: &[usize],
    classes: &[Category],
    options: &TrainOptions,
) -> (Vectorizer, Members, Vec<Vec<u32>>) {
    let repos: Vec<Option<String>> = rows.iter().map(|&i| repo_key(&issues[i])).collect();
    let (vectorizer, locals) = Vectorizer::fit_counted(&options.features, counted, rows, &repos);
    let xs: Vec<_> = rows
        .iter()
        .map(|&i| {
            let repo = vectorizer.repo_index(issues[i].repo.as_deref());
            vectorizer.transform_counted(counted, &locals, i, repo)
        })
        .collect();
    let labels: Vec<usize> = rows
        .iter()
        .map(|&i| class_index(classes, &issues[i]))
        .collect();
    let n_features = vectorizer.len() as usize;
    let n_classes = classes.len();
    let scales = (options.nb_scaling > 0.0)
        .then(|| svm::nb_scales(&xs, &labels, n_classes, n_features, options.nb_scaling));
    let train = |xs: &[_]| {
        svm::train(
            xs,
            &labels,
            n_classes,
            n_features,
            &options.svm,
            scales.as_deref(),
        )
    };
    let whole = train(&xs);
    // The block of every entry, looked up once rather than once per block.
    let block_of: Vec<Vec<usize>> = xs
        .iter()
        .map(|x| x.iter().map(|&(j, _)| vectorizer.block_of(j)).collect())
        .collect();
    let blocks = (0..vectorizer.blocks.len())
        .map(|b| {
            let weight = vectorizer.blocks[b].spec.weight;
            let own: Vec<_> = xs
                .iter()
                .zip(&block_of)
                .map(|(x, of)| {
                    x.iter()
                        .zip(of)
                        .filter(|&(_, &block)| weight > 0.0 && block == b)
                        .map(|(&(j, v), _)| (j, v / weight))
                        .collect()
                })
                .collect();
            let mut member = train(&own);
            if weight > 0.0 {
                member
                    .weights
                    .iter_mut()
                    .flatten()
                    .for_each(|w| *w /= weight);
            }
            member
        })
        .collect();
    (vectorizer, Members { whole, blocks }, locals)
}

/// What one training job gives: the members fitted on all the rows, or one inner fold's
/// out-of-fold member scores.
enum Fitted {
    Whole((Vectorizer, Members)),
    HeldOut(Vec<(usize, Vec<f64>)>),
}

/// The inner stratified cross-validation's fold `fold`: vocabularies, NB scales and members
/// fitted on the other folds of `rows`, scoring this one's issues (by their place in `rows`).
fn held_out_scores(
    issues: &[LabelledIssue],
    counted: &CountedTexts,
    rows: &[usize],
    fold_of: &[usize],
    fold: usize,
    classes: &[Category],
    options: &TrainOptions,
) -> Vec<(usize, Vec<f64>)> {
    let inner: Vec<usize> = rows
        .iter()
        .zip(fold_of)
        .filter(|&(_, &f)| f != fold)
        .map(|(&i, _)| i)
        .collect();
    let (vectorizer, members, locals) = fit_members(issues, counted, &inner, classes, options);
    rows.iter()
        .enumerate()
        .filter(|&(k, _)| fold_of[k] == fold)
        .map(|(k, &i)| {
            let repo = vectorizer.repo_index(issues[i].repo.as_deref());
            let x = vectorizer.transform_counted(counted, &locals, i, repo);
            (k, members.scores(&x))
        })
        .collect()
}

/// `job` over `items` on as many threads as the CPU has (at most one per item), each thread
/// taking the next item when it is done; the results in the items' order. As many fits in
/// memory at once as threads.
fn on_threads<T: Sync, R: Send>(items: &[T], job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, job(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a training thread panicked"))
            .collect()
    });
    done.sort_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// The meta-learner fitted on the out-of-fold member scores `z` of the issues at `rows` (from
/// the inner cross-validation). `vectorizer` is the final model's (its repositories are the
/// meta-learner's).
fn fit_meta(
    issues: &[LabelledIssue],
    rows: &[usize],
    classes: &[Category],
    vectorizer: &Vectorizer,
    z: &[Vec<f64>],
    options: &TrainOptions,
) -> MetaModel {
    let repos: Vec<Option<usize>> = rows
        .iter()
        .map(|&i| vectorizer.repo_index(issues[i].repo.as_deref()))
        .collect();
    let labels: Vec<usize> = rows
        .iter()
        .map(|&i| class_index(classes, &issues[i]))
        .collect();
    stack::fit(
        z,
        &repos,
        &labels,
        classes.len(),
        vectorizer.repos.len(),
        &options.meta,
    )
}

/// Stratified fold assignment: each class's issues are shuffled with `seed` and dealt to the
/// folds in turn, so every fold has the classes in the same proportions.
pub fn assign_folds(issues: &[LabelledIssue], folds: usize, seed: u64) -> Vec<usize> {
    let labels: Vec<Category> = issues.iter().map(|i| i.label).collect();
    stratified_folds(&labels, folds, seed)
}

/// [`assign_folds`] over the labels alone.
fn stratified_folds(labels: &[Category], folds: usize, seed: u64) -> Vec<usize> {
    let mut fold_of = vec![0; labels.len()];
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut next = 0;
    let mut classes = labels.to_vec();
    classes.sort();
    classes.dedup();
    for class in classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut members);
        for i in members {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    fold_of
}

/// The outcome of a cross-validation.
#[derive(Debug, Clone)]
pub struct CrossValidation {
    /// The model's classes.
    pub classes: Vec<Category>,
    /// Out-of-fold raw scores of every issue.
    pub raw: Vec<Vec<f64>>,
    /// The temperature fitted on the out-of-fold scores.
    pub temperature: f64,
    /// The model alone: its best class for every issue.
    pub model: Report,
    /// The model alone with the repository withheld: only the shared weights, as for an issue
    /// from a repository the model never saw.
    pub without_repo: Report,
    /// The whole classifier: rules, confidence floor and model (security, docs and other
    /// count as misses).
    pub pipeline: Report,
    /// How many issues the classifier put in each category.
    pub decided: Vec<(Category, usize)>,
    /// Time to classify one held-out issue (preparing its text included), per issue.
    pub timings: Vec<Duration>,
}

impl CrossValidation {
    /// The figures recorded in a model's provenance.
    pub fn summary(&self, folds: usize, seed: u64) -> CvSummary {
        CvSummary {
            folds,
            seed,
            macro_f1: self.model.macro_f1,
            f1: self
                .model
                .classes
                .iter()
                .map(|c| (c.category, c.f1))
                .collect(),
        }
    }
}

/// Runs a stratified `folds`-fold cross-validation: for each fold a model is fitted on the
/// others exactly as `train` would and scores the held-out issues.
pub fn cross_validate(
    issues: &[LabelledIssue],
    options: &TrainOptions,
    folds: usize,
    seed: u64,
) -> anyhow::Result<CrossValidation> {
    ensure!(folds >= 2, "cross-validation needs at least 2 folds");
    ensure!(issues.len() >= folds, "fewer issues than folds");
    let classes = classes_of(issues);
    let texts = prepare(issues);
    let fold_of = assign_folds(issues, folds, seed);
    // Every fold's fits in one pool, then each fold's issues scored and timed in turn.
    let train_rows: Vec<Vec<usize>> = (0..folds)
        .map(|fold| (0..issues.len()).filter(|&i| fold_of[i] != fold).collect())
        .collect();
    let models = fit_many(issues, &texts, &train_rows, &classes, options)?;
    let mut outcomes: Vec<FoldOutcome> = Vec::with_capacity(issues.len());
    for (fold, file) in models.into_iter().enumerate() {
        outcomes.extend(score_fold(issues, &fold_of, fold, &Model::from_file(file)?));
    }
    outcomes.sort_by_key(|o| o.index);
    let raw: Vec<Vec<f64>> = outcomes.iter().map(|o| o.raw.clone()).collect();
    let timings = outcomes.iter().map(|o| o.elapsed).collect();
    let without_repo: Vec<Category> = outcomes
        .iter()
        .map(|o| classes[argmax(&o.raw_without_repo)])
        .collect();
    let labels: Vec<usize> = issues
        .iter()
        .map(|i| classes.iter().position(|&c| c == i.label).expect("a class"))
        .collect();
    let temperature = fit_temperature(&raw, &labels);
    let truth: Vec<Category> = issues.iter().map(|i| i.label).collect();
    let best: Vec<Category> = raw.iter().map(|r| classes[argmax(r)]).collect();
    // The rule layer and the floor, on the calibrated out-of-fold scores.
    let decisions: Vec<Category> = issues
        .iter()
        .zip(&raw)
        .map(|(issue, r)| {
            let scores = Scores {
                raw: r.clone(),
                probabilities: softmax(r, temperature),
                best: argmax(r),
                evidence: Vec::new(),
            };
            let text = IssueText {
                repo: issue.repo.as_deref(),
                title: &issue.title,
                body: &issue.body,
            };
            decide(&classes, MIN_CONFIDENCE, &text, &scores).category
        })
        .collect();
    let decided = Category::ALL
        .iter()
        .map(|&c| (c, decisions.iter().filter(|&&d| d == c).count()))
        .collect();
    Ok(CrossValidation {
        model: report(&classes, &truth, &best),
        without_repo: report(&classes, &truth, &without_repo),
        pipeline: report(&classes, &truth, &decisions),
        classes,
        raw,
        temperature,
        decided,
        timings,
    })
}

/// One held-out issue's scores.
struct FoldOutcome {
    index: usize,
    raw: Vec<f64>,
    raw_without_repo: Vec<f64>,
    elapsed: Duration,
}

/// Scores and times the issues of `fold` with `model`, fitted on the other folds.
fn score_fold(
    issues: &[LabelledIssue],
    fold_of: &[usize],
    fold: usize,
    model: &Model,
) -> Vec<FoldOutcome> {
    (0..issues.len())
        .filter(|&i| fold_of[i] == fold)
        .map(|i| {
            let started = Instant::now();
            let text = PreparedText::new(&issues[i].title, &issues[i].body);
            let scores = model.score(&text, issues[i].repo.as_deref());
            let elapsed = started.elapsed();
            FoldOutcome {
                index: i,
                raw: scores.raw,
                raw_without_repo: model.score(&text, None).raw,
                elapsed,
            }
        })
        .collect()
}

fn argmax(values: &[f64]) -> usize {
    (0..values.len())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]).then(b.cmp(&a)))
        .expect("non-empty scores")
}

/// The softmax temperature that minimizes the log-loss of the out-of-fold scores (golden-section
/// search on a log scale between 0.05 and 50).
pub fn fit_temperature(raw: &[Vec<f64>], labels: &[usize]) -> f64 {
    let loss = |log_t: f64| -> f64 {
        let t = log_t.exp();
        raw.iter()
            .zip(labels)
            .map(|(r, &l)| -softmax(r, t)[l].max(1e-12).ln())
            .sum()
    };
    let (mut lo, mut hi) = (0.05f64.ln(), 50f64.ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let a = hi - ratio * (hi - lo);
        let b = lo + ratio * (hi - lo);
        if loss(a) < loss(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// Cross-validates, then fits the final model on every issue, with the temperature from the
/// cross-validation and its figures in the provenance.
pub fn train(
    issues: &[LabelledIssue],
    options: &TrainOptions,
    folds: usize,
    seed: u64,
) -> anyhow::Result<(ModelFile, CrossValidation)> {
    let cv = cross_validate(issues, options, folds, seed)?;
    let texts = prepare(issues);
    let rows: Vec<usize> = (0..issues.len()).collect();
    let mut file = fit(issues, &texts, &rows, &cv.classes, options)?;
    file.temperature = cv.temperature;
    file.provenance.examples = issues.len();
    file.provenance.cross_validation = Some(cv.summary(folds, seed));
    Ok((file, cv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_on_threads_each_run_once_and_come_back_in_order() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let items: Vec<u64> = (0..25).collect();
        let squares = on_threads(&items, |&n| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Uneven jobs, so the threads finish out of order.
            std::thread::sleep(std::time::Duration::from_millis((n * 7) % 5));
            n * n
        });
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert_eq!(calls.into_inner(), 25);
        assert!(on_threads(&[] as &[u64], |&n| n).is_empty());
    }

    fn issue(label: Category, i: usize) -> LabelledIssue {
        LabelledIssue {
            repo: None,
            title: format!("issue {i}"),
            body: String::new(),
            label,
        }
    }

    #[test]
    fn folds_are_stratified_and_seeded() {
        let issues: Vec<_> = (0..30)
            .map(|i| {
                issue(
                    if i < 20 {
                        Category::Bug
                    } else {
                        Category::Question
                    },
                    i,
                )
            })
            .collect();
        let folds = assign_folds(&issues, 5, 7);
        for fold in 0..5 {
            let bugs = (0..20).filter(|&i| folds[i] == fold).count();
            let questions = (20..30).filter(|&i| folds[i] == fold).count();
            assert_eq!((bugs, questions), (4, 2));
        }
        assert_eq!(folds, assign_folds(&issues, 5, 7));
        assert_ne!(folds, assign_folds(&issues, 5, 8));
    }

    #[test]
    fn the_temperature_sharpens_scores_that_are_right_and_too_timid() {
        let raw: Vec<Vec<f64>> = (0..20)
            .map(|i| {
                if i % 2 == 0 {
                    vec![0.2, -0.2]
                } else {
                    vec![-0.2, 0.2]
                }
            })
            .collect();
        let labels: Vec<usize> = (0..20).map(|i| i % 2).collect();
        assert!(fit_temperature(&raw, &labels) > 10.0);
    }
}
