//! The rule layer on top of the model: security issues are recognized from their markers (CVE
//! and GHSA ids, vulnerability words, advisories) and documentation issues from theirs, because
//! both are rare in training data and cheap to recognize with certainty.

use super::text::{prefix, strip_boilerplate};
use crate::triage::category::Category;
use regex::Regex;
use std::sync::LazyLock;

/// A rule's finding: the category, how strongly the markers point to it, and which fired.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    /// The category the markers point to.
    pub category: Category,
    /// The sum of the markers' weights (a title marker counts 1.5 times).
    pub score: f64,
    /// The marker texts found, as written in the issue.
    pub markers: Vec<String>,
}

impl RuleHit {
    /// The confidence reported for a category decided by this rule.
    pub fn confidence(&self) -> f64 {
        (0.6 + 0.15 * self.score).min(0.99)
    }
}

/// A rule fires when its markers' score reaches this.
pub const RULE_THRESHOLD: f64 = 1.0;

struct Marker {
    pattern: Regex,
    weight: f64,
}

fn markers(list: &[(&str, f64)]) -> Vec<Marker> {
    list.iter()
        .map(|(pattern, weight)| Marker {
            // ASCII word boundaries keep the search on the fast DFA engine for long bodies.
            pattern: Regex::new(&format!("(?i){}", pattern.replace(r"\b", r"(?-u:\b)")))
                .expect("valid marker regex"),
            weight: *weight,
        })
        .collect()
}

static SECURITY: LazyLock<Vec<Marker>> = LazyLock::new(|| {
    markers(&[
        // Identifiers of published vulnerabilities are proof on their own.
        (r"\bCVE-\d{4}-\d{4,7}\b", 2.0),
        (r"\bGHSA(?:-[23456789cfghjmpqrvwx]{4}){3}\b", 2.0),
        (
            r"\bsecurity (?:vulnerabilit(?:y|ies)|advisory|advisories|issue|flaw|bug|hole|risk|report|fix|patch|problem)\b",
            1.0,
        ),
        (r"\bvulnerabilit(?:y|ies)\b|\bvulnerable\b", 1.0),
        (r"\bexploit(?:s|able|ed|ing)?\b", 1.0),
        (r"\bxss\b|\bcross[- ]site scripting\b", 1.0),
        (r"\b(?:csrf|xsrf)\b|\bcross[- ]site request forgery\b", 1.0),
        (
            r"\bsql[- ]?injection\b|\b(?:command|code|shell|os command|template|ldap|xpath|header|crlf|script) injection\b",
            1.0,
        ),
        (
            r"\brce\b|\bremote code execution\b|\barbitrary (?:code|command) execution\b",
            1.0,
        ),
        (r"\b(?:path|directory) traversal\b|\bzip ?slip\b", 1.0),
        (
            r"\bssrf\b|\bserver[- ]side request forgery\b|\bxxe\b|\bxml external entit",
            1.0,
        ),
        (
            r"\bprototype pollution\b|\bprivilege escalation\b|\bauthentication bypass\b|\bauth bypass\b",
            1.0,
        ),
        (
            r"\bopen redirect\b|\binsecure deserialization\b|\bredos\b|\bregular expression denial of service\b",
            1.0,
        ),
        (
            r"\b(?:secrets?|credentials?|api keys?|passwords?|tokens?) (?:are |is |was |were )?(?:leak(?:s|ed)?|exposed|disclosed)\b",
            1.0,
        ),
        // Weaker signs: memory-safety and denial-of-service words, "security" alone.
        (
            r"\b(?:heap|stack)[- ]buffer[- ]overflow\b|\buse[- ]after[- ]free\b|\bdouble free\b",
            0.5,
        ),
        (r"\bdenial[- ]of[- ]service\b|\bdos attack\b", 0.5),
        (r"\bsecurity\b|\bmalicious\b|\battacker\b", 0.5),
    ])
});

static DOCS: LazyLock<Vec<Marker>> = LazyLock::new(|| {
    markers(&[
        (r"^\s*\[?(?:docs?|documentation)\]?\s*[:\]]", 2.0),
        (r"\btypos?\b|\bmisspell", 1.0),
        (
            r"\b(?:docs?|documentation|readme|docstring|tutorial|guide|api reference|man page)\b.{0,40}\b(?:missing|wrong|incorrect|outdated|out of date|broken|unclear|misleading|confusing|inaccurate|error|mistake|fix|update|improve|clarify)\b",
            1.0,
        ),
        (
            r"\b(?:missing|wrong|incorrect|outdated|broken|unclear|misleading|inaccurate|fix|update|improve|clarify|add)\b.{0,30}\b(?:docs?|documentation|readme|docstring|tutorial)\b",
            1.0,
        ),
        (r"\bbroken links?\b|\bdead links?\b", 0.5),
        (r"### Issue type\s+Documentation", 1.0),
    ])
});

/// Scores `title` and `body` against a marker list; the body counts from its opening only.
fn scan(list: &[Marker], category: Category, title: &str, body: &str) -> Option<RuleHit> {
    let mut hit = RuleHit {
        category,
        score: 0.0,
        markers: Vec::new(),
    };
    for marker in list {
        if let Some(m) = marker.pattern.find(title) {
            hit.score += 1.5 * marker.weight;
            hit.markers.push(m.as_str().trim().to_owned());
        } else if let Some(m) = marker.pattern.find(body) {
            hit.score += marker.weight;
            hit.markers.push(m.as_str().trim().to_owned());
        }
    }
    (hit.score >= RULE_THRESHOLD).then_some(hit)
}

/// How much of the body the rules read: markers sit in the report, not deep in pasted logs.
const RULE_BODY_LIMIT: usize = 20_000;

/// The body the rules read: its opening, without template comments and folded `<details>`
/// sections.
fn rule_body(body: &str) -> String {
    strip_boilerplate(prefix(body, RULE_BODY_LIMIT))
}

fn security_in(title: &str, body: &str) -> Option<RuleHit> {
    scan(&SECURITY, Category::Security, title, body)
}

/// Documentation markers count in the title and the body's first 1,000 bytes only: a bug
/// report's template often mentions the docs further down.
fn docs_in(title: &str, body: &str) -> Option<RuleHit> {
    scan(&DOCS, Category::Docs, title, prefix(body, 1_000))
}

/// Whether the issue reports a security problem.
pub fn security(title: &str, body: &str) -> Option<RuleHit> {
    security_in(title, &rule_body(body))
}

/// Whether the issue is about the documentation.
pub fn docs(title: &str, body: &str) -> Option<RuleHit> {
    docs_in(title, &rule_body(body))
}

/// The rule that decides the issue, if one does: security first, then documentation.
pub fn find(title: &str, body: &str) -> Option<RuleHit> {
    let body = rule_body(body);
    security_in(title, &body).or_else(|| docs_in(title, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cve_id_alone_is_a_security_issue() {
        let hit =
            security("Bump lodash", "Fixes CVE-2021-23337 in the template helper").expect("fires");
        assert_eq!(hit.category, Category::Security);
        assert_eq!(hit.markers, ["CVE-2021-23337"]);
    }

    #[test]
    fn vulnerability_classes_are_recognized_in_titles_and_bodies() {
        for (title, body) in [
            ("Stored XSS in the comment preview", ""),
            (
                "Login form",
                "The endpoint is open to SQL injection through the name field.",
            ),
            ("Path traversal when extracting archives", ""),
            ("Advisory", "See GHSA-jfh8-c2jp-5v3q for details."),
            ("RCE via crafted YAML", ""),
        ] {
            assert!(security(title, body).is_some(), "{title} / {body}");
        }
    }

    #[test]
    fn template_instructions_in_comments_are_not_markers() {
        let body = "<!-- Please report security vulnerabilities privately; see the documentation is outdated? -->\nThe cursor disappears.";
        assert!(security("Cursor disappears", body).is_none());
        assert!(docs("Cursor disappears", body).is_none());
        let folded = "It hangs.\n<details><summary>Extensions</summary>vulnerability-extension|1.0</details>";
        assert!(security("Editor hangs", folded).is_none());
    }

    #[test]
    fn ordinary_bugs_and_weak_words_alone_are_not_security() {
        assert!(security("Overflow bug when running ZeroPadding2D", "It crashes.").is_none());
        assert!(security("Crash on start", "Security settings page loads slowly").is_none());
    }

    #[test]
    fn documentation_markers_need_more_than_a_mention() {
        assert!(docs("docs: fix the install command", "").is_some());
        assert!(docs("Typo in the README", "").is_some());
        assert!(docs("The documentation for useEffect is outdated", "").is_some());
        assert!(
            docs(
                "Crash when loading a model",
                "As the docs say, I call load()."
            )
            .is_none()
        );
    }
}
