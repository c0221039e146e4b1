//! Labelled issues for training and evaluation, read from CSV with the columns `title`, `body`,
//! `label` and optionally `repo` (the NLBSE 2024 issue-report-classification layout).

use crate::triage::category::Category;
use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One issue with its known category.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledIssue {
    /// `owner/name`, when the file has a `repo` column.
    pub repo: Option<String>,
    /// The issue's title.
    pub title: String,
    /// The issue's body (Markdown), possibly empty.
    pub body: String,
    /// The category it is labelled with.
    pub label: Category,
}

/// A labelled data file and its SHA-256 (for the model's provenance).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The issues, in file order.
    pub issues: Vec<LabelledIssue>,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Reads a labelled CSV file.
pub fn read_csv(path: &Path) -> anyhow::Result<Dataset> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading the data file {}", path.display()))?;
    let issues =
        parse_csv(&bytes).with_context(|| format!("parsing the data file {}", path.display()))?;
    Ok(Dataset {
        issues,
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

/// Parses labelled CSV text.
pub fn parse_csv(bytes: &[u8]) -> anyhow::Result<Vec<LabelledIssue>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().context("reading the header row")?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(title), Some(body), Some(label)) = (column("title"), column("body"), column("label"))
    else {
        bail!("the header row must name the columns title, body and label (found {headers:?})");
    };
    let repo = column("repo");
    let mut issues = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("reading data row {}", row + 1))?;
        let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
        let label = field(label)
            .parse::<Category>()
            .with_context(|| format!("data row {}", row + 1))?;
        issues.push(LabelledIssue {
            repo: repo.map(field).filter(|r| !r.is_empty()),
            title: field(title),
            body: field(body),
            label,
        });
    }
    if issues.is_empty() {
        bail!("the file has no data rows");
    }
    Ok(issues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_and_quoted_bodies_keep_their_lines() {
        let csv = "label,title,body,repo\nbug,\"Crash\",\"line one\nline \"\"two\"\"\",a/b\nquestion,How?,,\n";
        let issues = parse_csv(csv.as_bytes()).expect("parses");
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].body, "line one\nline \"two\"");
        assert_eq!(issues[0].repo.as_deref(), Some("a/b"));
        assert_eq!(issues[1].label, Category::Question);
        assert_eq!(issues[1].repo, None);
    }

    #[test]
    fn a_missing_column_or_unknown_label_is_an_error() {
        assert!(parse_csv(b"title,label\nx,bug\n").is_err());
        let err = parse_csv(b"title,body,label\nx,y,wontfix\n").expect_err("unknown label");
        assert!(format!("{err:#}").contains("row 1"));
    }
}
