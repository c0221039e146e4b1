//! Categorizing an issue: its category, complexity (1–10, with a one-line reason), affected
//! area and confidence. With an LLM configured and within budget the LLM decides; otherwise
//! (and whenever the LLM fails) the offline classifier inside the binary does, with a
//! complexity estimate from the issue's text.

use super::category::Category;
use super::classifier::{Classifier, IssueText};
use serde::{Deserialize, Serialize};

/// Who categorized an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The configured LLM.
    Llm,
    /// The offline classifier.
    Offline,
}

impl Source {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Llm => "llm",
            Source::Offline => "offline",
        }
    }
}

/// What categorizing found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Categorized {
    /// The category.
    pub category: Category,
    /// 1 (trivial) to 10 (a redesign).
    pub complexity: u8,
    /// Why that complexity, in one line.
    pub complexity_reason: String,
    /// The part of the project it is about, when it can be told.
    pub area: Option<String>,
    /// How sure the category is, in [0, 1].
    pub confidence: f64,
    /// Who decided.
    pub source: Source,
}

/// The LLM's categorization of an issue (the `categorize_issue` prompt, charged to `scope`'s
/// budget). The issue's text goes to the model as delimited data, never as instructions.
pub async fn with_llm(
    llm: &crate::llm::client::Llm,
    scope: crate::llm::client::Scope<'_>,
    title: &str,
    body: &str,
    labels: &[String],
) -> anyhow::Result<Categorized> {
    use crate::llm::prompts::{CATEGORIZE_ISSUE, Categorization};
    let labels = labels.join(", ");
    let prompt = CATEGORIZE_ISSUE.render(&[
        ("repo", scope.repo),
        ("title", title),
        ("body", body),
        ("labels", &labels),
    ])?;
    let answer = llm.ask::<Categorization>(scope, &prompt).await?;
    let value = answer.value;
    let category: Category = value.category.parse()?;
    Ok(Categorized {
        category,
        complexity: value.complexity.clamp(1, 10),
        complexity_reason: value
            .complexity_reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or(value.summary),
        area: Some(value.area).filter(|a| !a.trim().is_empty()),
        confidence: value.confidence.unwrap_or(0.8).clamp(0.0, 1.0),
        source: Source::Llm,
    })
}

/// The offline categorization of an issue.
pub fn offline(repo: Option<&str>, title: &str, body: &str) -> Categorized {
    let decision = Classifier::embedded().classify(&IssueText { repo, title, body });
    let (complexity, reason) = estimate_complexity(decision.category, title, body);
    Categorized {
        category: decision.category,
        complexity,
        complexity_reason: reason,
        area: affected_area(body),
        confidence: decision.confidence,
        source: Source::Offline,
    }
}

/// A complexity estimate from the text alone: a base per category, raised by signs of breadth
/// (many files or components named, long reports, design words) and lowered by signs of a
/// narrow, reproducible problem (one file and line in a stack trace, a typo).
pub fn estimate_complexity(category: Category, title: &str, body: &str) -> (u8, String) {
    let text = format!("{title}\n{body}").to_lowercase();
    let (mut score, mut reasons): (i32, Vec<&str>) = match category {
        Category::Docs => (2, vec!["a documentation change"]),
        Category::Question => (2, vec!["a question, likely answered without code"]),
        Category::Bug => (4, vec!["a bug fix"]),
        Category::Feature => (5, vec!["new behaviour"]),
        Category::Security => (6, vec!["a security fix, which needs care"]),
        Category::Other => (4, vec!["unclear scope"]),
    };
    let files = file_paths(body).len();
    if files >= 4 {
        score += 2;
        reasons.push("touches many files");
    } else if files == 1 && text.contains("line ") {
        score -= 1;
        reasons.push("pinned to one file and line");
    }
    if body.len() > 4_000 {
        score += 1;
        reasons.push("a long report");
    }
    for (word, why) in [
        ("refactor", "asks for a refactoring"),
        ("redesign", "asks for a redesign"),
        ("architecture", "touches the architecture"),
        ("breaking change", "a breaking change"),
        ("migration", "needs a migration"),
    ] {
        if text.contains(word) {
            score += 2;
            reasons.push(why);
            break;
        }
    }
    for (word, why) in [
        ("typo", "a typo"),
        ("spelling", "a spelling fix"),
        ("broken link", "a broken link"),
    ] {
        if text.contains(word) {
            score -= 2;
            reasons.push(why);
            break;
        }
    }
    let complexity = u8::try_from(score.clamp(1, 10)).unwrap_or(5);
    (complexity, reasons.join("; "))
}

/// Paths of source files named in a text (`src/parser.rs`, `lib/a/b.py:12`).
fn file_paths(body: &str) -> Vec<String> {
    const EXTENSIONS: &[&str] = &[
        ".rs", ".py", ".js", ".ts", ".tsx", ".jsx", ".go", ".java", ".kt", ".c", ".h", ".cpp",
        ".rb", ".md", ".toml", ".yml", ".yaml", ".json",
    ];
    let mut paths: Vec<String> = body
        .split(|c: char| c.is_whitespace() || "\"'`()[]<>,".contains(c))
        .map(|word| word.split(':').next().unwrap_or_default().trim_matches('.'))
        .filter(|word| word.contains('/') || EXTENSIONS.iter().any(|e| word.ends_with(e)))
        .filter(|word| EXTENSIONS.iter().any(|e| word.ends_with(e)) && !word.starts_with("http"))
        .map(str::to_owned)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The affected area: the directory of the first source file the issue names.
fn affected_area(body: &str) -> Option<String> {
    let path = file_paths(body).into_iter().next()?;
    Some(match path.rsplit_once('/') {
        Some((dir, _)) => dir.trim_start_matches("./").to_owned(),
        None => path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_follows_the_signs_in_the_text() {
        let (typo, _) = estimate_complexity(Category::Docs, "Typo in README", "");
        let (narrow, reason) = estimate_complexity(
            Category::Bug,
            "Crash",
            "File \"widgets/manifest.py\", line 88, in load",
        );
        let (broad, _) = estimate_complexity(
            Category::Feature,
            "Refactor the storage layer",
            "a.py b.py c.py d.py e.py all need changes",
        );
        assert_eq!(typo, 1);
        assert_eq!(narrow, 3, "{reason}");
        assert!(reason.contains("one file and line"), "{reason}");
        assert_eq!(broad, 9);
    }

    #[test]
    fn the_area_is_the_directory_of_the_first_file_named() {
        assert_eq!(
            affected_area("in `src/storage/sqlite.rs` line 3").as_deref(),
            Some("src/storage")
        );
        assert_eq!(affected_area("see https://example.com/a.py"), None);
        assert_eq!(affected_area("nothing here"), None);
    }
}
