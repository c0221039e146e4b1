//! `globallm classifier`: train the offline issue classifier, cross-validate it, test a trained
//! model on labelled issues, and categorize one issue by hand.

use crate::triage::category::Category;
use crate::triage::classifier::data::{LabelledIssue, read_csv};
use crate::triage::classifier::metrics::{Report, report};
use crate::triage::classifier::model::Model;
use crate::triage::classifier::text::PreparedText;
use crate::triage::classifier::train::{self, CrossValidation, TrainOptions};
use crate::triage::classifier::{Classifier, IssueText};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The `classifier` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClassifierCommand {
    /// Cross-validate, then train on all the data and write the model file
    Train {
        /// Labelled issues: CSV with columns title, body, label and optionally repo
        #[arg(long, value_name = "CSV")]
        data: PathBuf,
        /// Where to write the model
        #[arg(
            long,
            value_name = "PATH",
            default_value = "models/issue-classifier.json"
        )]
        out: PathBuf,
        #[command(flatten)]
        cv: CvArgs,
    },
    /// Stratified k-fold cross-validation: per-class precision, recall, F1 and macro-F1
    Evaluate {
        /// Labelled issues: CSV with columns title, body, label and optionally repo
        #[arg(long, value_name = "CSV")]
        data: PathBuf,
        #[command(flatten)]
        cv: CvArgs,
        /// Repeat the cross-validation with these seeds too (comma-separated) and print the
        /// macro-F1 of each and their mean: one fold assignment's figure moves by about ±0.01
        #[arg(long, value_name = "SEEDS", value_delimiter = ',')]
        repeat: Vec<u64>,
        /// Print the figures as JSON
        #[arg(long)]
        json: bool,
    },
    /// Score a trained model (the embedded one by default) on labelled issues it has not seen
    Test {
        /// Labelled issues: CSV with columns title, body, label and optionally repo
        #[arg(long, value_name = "CSV")]
        data: PathBuf,
        /// A model file instead of the embedded model
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        /// Print the figures as JSON
        #[arg(long)]
        json: bool,
    },
    /// Categorize one issue
    Classify {
        /// The issue's title
        #[arg(long)]
        title: String,
        /// The issue's body
        #[arg(long, default_value = "", conflicts_with = "body_file")]
        body: String,
        /// Read the body from this file
        #[arg(long, value_name = "PATH")]
        body_file: Option<PathBuf>,
        /// The repository, `owner/name`
        #[arg(long, value_name = "OWNER/NAME")]
        repo: Option<String>,
        /// A model file instead of the embedded model
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

/// Cross-validation and training settings.
#[derive(Debug, Clone, Args)]
pub struct CvArgs {
    /// Number of folds
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the fold assignment and of the training order
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The SVM's C (inverse regularization)
    #[arg(long)]
    pub c: Option<f64>,
    /// At most this many weight rows in the model file
    #[arg(long, value_name = "N")]
    pub max_weights: Option<usize>,
    /// A feature configuration (JSON, the `features` object of a model file) to use instead
    /// of the default, for tuning
    #[arg(long, value_name = "PATH")]
    pub features: Option<PathBuf>,
}

impl CvArgs {
    fn options(&self) -> anyhow::Result<TrainOptions> {
        let mut options = TrainOptions::default();
        if let Some(path) = &self.features {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            options.features = serde_json::from_str(&text)
                .with_context(|| format!("parsing the feature configuration {}", path.display()))?;
        }
        options.svm.seed = self.seed;
        if let Some(c) = self.c {
            options.svm.c = c;
        }
        if let Some(max) = self.max_weights {
            options.max_rows = max;
        }
        Ok(options)
    }

    /// The flags as they would be typed, for the provenance.
    fn flags(&self) -> String {
        let mut flags = format!("--folds {} --seed {}", self.folds, self.seed);
        if let Some(c) = self.c {
            flags.push_str(&format!(" --c {c}"));
        }
        if let Some(max) = self.max_weights {
            flags.push_str(&format!(" --max-weights {max}"));
        }
        if let Some(path) = &self.features {
            flags.push_str(&format!(" --features {}", path.display()));
        }
        flags
    }
}

/// Runs a `classifier` subcommand.
pub fn run(command: ClassifierCommand) -> anyhow::Result<()> {
    match command {
        ClassifierCommand::Train { data, out, cv } => command_train(&data, &out, &cv),
        ClassifierCommand::Evaluate {
            data,
            cv,
            repeat,
            json,
        } => command_evaluate(&data, &cv, &repeat, json),
        ClassifierCommand::Test { data, model, json } => {
            command_test(&data, model.as_deref(), json)
        }
        ClassifierCommand::Classify {
            title,
            body,
            body_file,
            repo,
            model,
            json,
        } => {
            let body = match body_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the body from {}", path.display()))?,
                None => body,
            };
            command_classify(&title, &body, repo.as_deref(), model.as_deref(), json)
        }
    }
}

fn load_classifier(path: Option<&Path>) -> anyhow::Result<Classifier> {
    match path {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading the model {}", path.display()))?;
            Classifier::from_json(&bytes)
                .with_context(|| format!("loading the model {}", path.display()))
        }
        None => Ok(Classifier::embedded().clone()),
    }
}

fn command_train(data: &Path, out: &Path, args: &CvArgs) -> anyhow::Result<()> {
    let dataset = read_csv(data)?;
    let started = Instant::now();
    let (mut file, cv) = train::train(&dataset.issues, &args.options()?, args.folds, args.seed)?;
    file.provenance.command = format!(
        "globallm classifier train --data {} --out {} {}",
        data.display(),
        out.display(),
        args.flags()
    );
    file.provenance.data = data.display().to_string();
    file.provenance.data_sha256 = dataset.sha256;
    file.provenance.trained_by = format!("globallm {}", env!("CARGO_PKG_VERSION"));
    let json = serde_json::to_string(&file).context("serializing the model")?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, format!("{json}\n"))
        .with_context(|| format!("writing {}", out.display()))?;
    print_cv(data, args, dataset.issues.len(), &cv);
    let model = Model::from_file(file)?;
    let (vocabulary, rows) = model.size();
    println!(
        "wrote {} ({} bytes: {vocabulary} vocabulary entries, {rows} weight rows) in {:.1} s",
        out.display(),
        json.len() + 1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Mean, median and 99th percentile of per-issue times, in microseconds.
fn timing_line(timings: &[Duration]) -> String {
    let mut micros: Vec<f64> = timings.iter().map(|t| t.as_secs_f64() * 1e6).collect();
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    let mean = micros.iter().sum::<f64>() / micros.len().max(1) as f64;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "classification time per issue ({build} build): mean {mean:.0} µs, p50 {:.0} µs, p99 {:.0} µs",
        at(0.5),
        at(0.99)
    )
}

fn print_cv(data: &Path, args: &CvArgs, n: usize, cv: &CrossValidation) {
    let names: Vec<&str> = cv.classes.iter().map(|c| c.as_str()).collect();
    println!(
        "{}-fold stratified cross-validation (seed {}) on {}: {n} issues, classes {}",
        args.folds,
        args.seed,
        data.display(),
        names.join(", ")
    );
    println!("\nmodel ({}):\n{}", names.join(" / "), cv.model);
    println!(
        "model with the repository withheld (as for a repository it never saw), macro-F1 {:.4}",
        cv.without_repo.macro_f1
    );
    println!(
        "classifier (rules and confidence floor applied; security, docs and other count as misses):\n{}",
        cv.pipeline
    );
    let decided: Vec<String> = cv.decided.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!("decided: {}", decided.join(", "));
    println!("softmax temperature: {:.3}", cv.temperature);
    println!("{}", timing_line(&cv.timings));
    println!("macro-F1 ({}): {:.4}", names.join("/"), cv.model.macro_f1);
}

#[derive(Serialize)]
struct EvaluationJson<'a> {
    folds: usize,
    seed: u64,
    issues: usize,
    model: &'a Report,
    model_without_repo: &'a Report,
    classifier: &'a Report,
    decided: &'a [(Category, usize)],
    temperature: f64,
    mean_micros_per_issue: f64,
}

fn command_evaluate(data: &Path, args: &CvArgs, repeat: &[u64], json: bool) -> anyhow::Result<()> {
    let dataset = read_csv(data)?;
    let mut runs = Vec::new();
    for seed in std::iter::once(args.seed).chain(repeat.iter().copied()) {
        let args = CvArgs {
            seed,
            ..args.clone()
        };
        let cv = train::cross_validate(&dataset.issues, &args.options()?, args.folds, seed)?;
        runs.push((args, cv));
    }
    let mean = runs.iter().map(|(_, cv)| cv.model.macro_f1).sum::<f64>() / runs.len() as f64;
    if json {
        let evaluations: Vec<EvaluationJson<'_>> = runs
            .iter()
            .map(|(args, cv)| EvaluationJson {
                folds: args.folds,
                seed: args.seed,
                issues: dataset.issues.len(),
                model: &cv.model,
                model_without_repo: &cv.without_repo,
                classifier: &cv.pipeline,
                decided: &cv.decided,
                temperature: cv.temperature,
                mean_micros_per_issue: cv.timings.iter().map(Duration::as_secs_f64).sum::<f64>()
                    * 1e6
                    / cv.timings.len().max(1) as f64,
            })
            .collect();
        let out = match evaluations.as_slice() {
            [one] => serde_json::to_value(one),
            _ => serde_json::to_value(serde_json::json!({
                "evaluations": evaluations,
                "mean_macro_f1": mean,
            })),
        }
        .context("serializing")?;
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("serializing")?
        );
    } else {
        for (n, (args, cv)) in runs.iter().enumerate() {
            if n > 0 {
                println!();
            }
            print_cv(data, args, dataset.issues.len(), cv);
        }
        if runs.len() > 1 {
            let each: Vec<String> = runs
                .iter()
                .map(|(args, cv)| format!("seed {}: {:.4}", args.seed, cv.model.macro_f1))
                .collect();
            println!(
                "\nmacro-F1 over {} fold assignments: mean {mean:.4} ({})",
                runs.len(),
                each.join(", ")
            );
        }
    }
    Ok(())
}

fn command_test(data: &Path, model: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let dataset = read_csv(data)?;
    let classifier = load_classifier(model)?;
    let classes = classifier.model().file.classes.clone();
    let truth: Vec<Category> = dataset.issues.iter().map(|i| i.label).collect();
    let mut best = Vec::new();
    let mut decided = Vec::new();
    let mut timings = Vec::new();
    for issue in &dataset.issues {
        let started = Instant::now();
        let decision = classify(&classifier, issue);
        timings.push(started.elapsed());
        decided.push(decision.category);
        // The model alone, without the rule layer and the floor.
        let scores = classifier.model().score(
            &PreparedText::new(&issue.title, &issue.body),
            issue.repo.as_deref(),
        );
        best.push(classes[scores.best]);
    }
    let model_report = report(&classes, &truth, &best);
    let pipeline = report(&classes, &truth, &decided);
    if json {
        let out = serde_json::json!({ "issues": truth.len(), "model": model_report, "classifier": pipeline });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("serializing")?
        );
    } else {
        println!("{} issues from {}", truth.len(), data.display());
        println!("\nmodel:\n{model_report}");
        println!("classifier (rules and confidence floor applied):\n{pipeline}");
        println!("{}", timing_line(&timings));
        println!("macro-F1: {:.4}", model_report.macro_f1);
    }
    Ok(())
}

fn classify(
    classifier: &Classifier,
    issue: &LabelledIssue,
) -> crate::triage::classifier::Categorization {
    classifier.classify(&IssueText {
        repo: issue.repo.as_deref(),
        title: &issue.title,
        body: &issue.body,
    })
}

fn command_classify(
    title: &str,
    body: &str,
    repo: Option<&str>,
    model: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let classifier = load_classifier(model)?;
    let result = classifier.classify(&IssueText { repo, title, body });
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).context("serializing")?
        );
    } else {
        println!("{} ({:.2})", result.category, result.confidence);
        for line in &result.rationale {
            println!("  {line}");
        }
    }
    Ok(())
}
