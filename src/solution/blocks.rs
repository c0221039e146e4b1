//! The LLM's answer to the `draft_fix` prompt: a `SUMMARY:` line, then per file a `FILE:` line,
//! a `WHY:` line and search/replace blocks —
//!
//! ```text
//! FILE: src/cart.py
//! WHY: total() rounded before applying the discount
//! <<<<<<< SEARCH
//! lines copied from the file
//! =======
//! the lines that replace them
//! >>>>>>> REPLACE
//! ```
//!
//! — or `CANNOT FIX: <reason>`. Search/replace blocks rather than a unified diff because models
//! copy lines far more reliably than they count them: a diff's hunk headers and context must be
//! exact, a block only has to be found (the applier in `edit` tolerates whitespace drift).
//! Plain text rather than JSON because code in JSON strings must be escaped (quotes,
//! backslashes, newlines), which models get wrong on exactly the files that contain them.
//! Markdown fences around blocks are tolerated. Every format error names its line of the
//! answer, because it is fed back to the LLM.

use crate::llm::prompts::Edit;

/// A parsed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Edits to apply.
    Edits(Proposal),
    /// The model says it cannot fix the issue, and why.
    CannotFix(String),
}

/// The edits of an answer with what it says about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The `SUMMARY:` line (empty when the answer has none).
    pub summary: String,
    /// Each file named by a `FILE:` line, in order, with its `WHY:` line (empty when missing).
    pub files: Vec<(String, String)>,
    /// The edits, in order.
    pub edits: Vec<Edit>,
}

/// Why an answer cannot be read. The message is written for the LLM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A block starts before any `FILE:` line.
    #[error(
        "line {line}: a `<<<<<<< SEARCH` block comes before any `FILE:` line; put `FILE: <path>` on the line before the file's blocks"
    )]
    NoFile {
        /// The block's first line in the answer, from 1.
        line: usize,
    },
    /// A `FILE:` line without a path.
    #[error("line {line}: `FILE:` has no path after it")]
    EmptyPath {
        /// The line, from 1.
        line: usize,
    },
    /// A block never reaches its `=======` or `>>>>>>> REPLACE` line.
    #[error(
        "line {line}: the block for `{path}` that starts here has no `{missing}` line; every block is `<<<<<<< SEARCH`, the lines to find, `=======`, the new lines, `>>>>>>> REPLACE`"
    )]
    Unclosed {
        /// The block's first line, from 1.
        line: usize,
        /// Its file.
        path: String,
        /// The marker that is missing.
        missing: &'static str,
    },
    /// A marker outside a block.
    #[error("line {line}: `{marker}` outside a block; a block starts with `<<<<<<< SEARCH`")]
    StrayMarker {
        /// The line, from 1.
        line: usize,
        /// The marker as written.
        marker: String,
    },
    /// A `FILE:` line followed by no block.
    #[error("`FILE: {path}` (line {line}) is followed by no SEARCH/REPLACE block")]
    FileWithoutBlocks {
        /// The `FILE:` line, from 1.
        line: usize,
        /// The path.
        path: String,
    },
    /// Nothing usable at all.
    #[error(
        "the answer has no `FILE:` line with SEARCH/REPLACE blocks and no `CANNOT FIX:` line; answer in the format described"
    )]
    NoEdits,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    Search,
    Divider,
    Replace,
}

/// Which marker a line is: 5 to 9 `<`, `=` or `>` and the keyword; trailing spaces ignored.
fn marker(line: &str) -> Option<Marker> {
    let line = line.trim_end();
    let run = |c: char| {
        let n = line.chars().take_while(|x| *x == c).count();
        (5..=9).contains(&n).then(|| line[n..].trim())
    };
    if run('<').is_some_and(|rest| rest.eq_ignore_ascii_case("SEARCH")) {
        Some(Marker::Search)
    } else if run('=').is_some_and(str::is_empty) {
        Some(Marker::Divider)
    } else if run('>').is_some_and(|rest| rest.eq_ignore_ascii_case("REPLACE")) {
        Some(Marker::Replace)
    } else {
        None
    }
}

/// The value after `KEY:` (any case, `**KEY:**` and backticks tolerated), if the line is one.
fn keyed<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let line = line.trim().trim_start_matches(['*', '#', ' ']);
    let head = line.get(..key.len())?;
    if !head.eq_ignore_ascii_case(key) {
        return None;
    }
    let rest = line[key.len()..].trim_start_matches('*');
    let rest = rest.strip_prefix(':')?;
    Some(rest.trim().trim_start_matches('*').trim())
}

fn clean_path(raw: &str) -> String {
    raw.trim()
        .trim_matches(|c| c == '`' || c == '*' || c == '"' || c == '\'')
        .trim()
        .trim_start_matches("./")
        .to_owned()
}

fn joined(lines: &[&str]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

/// Reads an answer.
pub fn parse(answer: &str) -> Result<Answer, FormatError> {
    let lines: Vec<&str> = answer.lines().collect();
    let mut summary = String::new();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut edits = Vec::new();
    // The current file: its path, its FILE line, and whether a block followed it.
    let mut current: Option<(String, usize, bool)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        if let Some(reason) = keyed(line, "CANNOT FIX") {
            if edits.is_empty() {
                return Ok(Answer::CannotFix(reason.to_owned()));
            }
        } else if let Some(text) = keyed(line, "SUMMARY") {
            if summary.is_empty() {
                summary = text.to_owned();
            }
        } else if let Some(path) = keyed(line, "FILE") {
            if let Some((path, line, false)) = current.take() {
                return Err(FormatError::FileWithoutBlocks { line, path });
            }
            let path = clean_path(path);
            if path.is_empty() {
                return Err(FormatError::EmptyPath { line: number });
            }
            files.push((path.clone(), String::new()));
            current = Some((path, number, false));
        } else if let Some(why) = keyed(line, "WHY") {
            if let Some(last) = files.last_mut()
                && last.1.is_empty()
            {
                last.1 = why.to_owned();
            }
        } else if let Some(found) = marker(line) {
            if found != Marker::Search {
                return Err(FormatError::StrayMarker {
                    line: number,
                    marker: line.trim().to_owned(),
                });
            }
            let Some((path, _, seen)) = current.as_mut() else {
                return Err(FormatError::NoFile { line: number });
            };
            *seen = true;
            let unclosed = |missing| FormatError::Unclosed {
                line: number,
                path: path.clone(),
                missing,
            };
            let start = i + 1;
            let divider = (start..lines.len())
                .find(|&j| marker(lines[j]).is_some())
                .filter(|&j| marker(lines[j]) == Some(Marker::Divider))
                .ok_or_else(|| unclosed("======="))?;
            let end = (divider + 1..lines.len())
                .find(|&j| marker(lines[j]).is_some())
                .filter(|&j| marker(lines[j]) == Some(Marker::Replace))
                .ok_or_else(|| unclosed(">>>>>>> REPLACE"))?;
            edits.push(Edit {
                path: path.clone(),
                search: joined(&lines[start..divider]),
                replace: joined(&lines[divider + 1..end]),
            });
            i = end;
        }
        // Anything else (fences, prose) is ignored.
        i += 1;
    }
    if let Some((path, line, false)) = current {
        return Err(FormatError::FileWithoutBlocks { line, path });
    }
    if edits.is_empty() {
        return Err(FormatError::NoEdits);
    }
    Ok(Answer::Edits(Proposal {
        summary,
        files,
        edits,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edits(answer: &str) -> Proposal {
        match parse(answer).expect("parses") {
            Answer::Edits(p) => p,
            Answer::CannotFix(r) => panic!("cannot fix: {r}"),
        }
    }

    #[test]
    fn files_whys_and_blocks_are_read_in_order() {
        let p = edits(
            "Here is the fix.\n\nSUMMARY: Round after the discount\n\nFILE: py/shop/cart.py\nWHY: the rounding came first\n```python\n<<<<<<< SEARCH\n    return round(t, 2) * d\n=======\n    return round(t * d, 2)\n>>>>>>> REPLACE\n```\n\n**FILE:** `py/tests/test_cart.py`\nWHY: a regression test\n<<<<<<< SEARCH\n=======\ndef test_x():\n    assert True\n>>>>>>> REPLACE\n",
        );
        assert_eq!(p.summary, "Round after the discount");
        assert_eq!(
            p.files,
            vec![
                ("py/shop/cart.py".into(), "the rounding came first".into()),
                ("py/tests/test_cart.py".into(), "a regression test".into())
            ]
        );
        assert_eq!(p.edits.len(), 2);
        assert_eq!(p.edits[0].search, "    return round(t, 2) * d\n");
        assert_eq!(p.edits[0].replace, "    return round(t * d, 2)\n");
        assert_eq!(p.edits[1].path, "py/tests/test_cart.py");
        assert_eq!(p.edits[1].search, "");
        assert_eq!(p.edits[1].replace, "def test_x():\n    assert True\n");
    }

    #[test]
    fn several_blocks_for_one_file_and_an_empty_replacement() {
        let p = edits(
            "FILE: a.go\n<<<<<<< SEARCH\nx := 1\n=======\n>>>>>>> REPLACE\n<<<<<<< SEARCH\ny := 2\n=======\ny := 3\n>>>>>>> REPLACE\n",
        );
        assert_eq!(p.edits.len(), 2);
        assert_eq!(p.edits[0].replace, "");
        assert_eq!(p.edits[1].search, "y := 2\n");
        assert_eq!(p.files, vec![("a.go".into(), String::new())]);
    }

    #[test]
    fn cannot_fix_is_an_answer() {
        assert_eq!(
            parse("CANNOT FIX: the bug is in a dependency").expect("parses"),
            Answer::CannotFix("the bug is in a dependency".into())
        );
    }

    #[test]
    fn format_errors_name_their_line() {
        assert_eq!(
            parse("SUMMARY: x\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"),
            Err(FormatError::NoFile { line: 2 })
        );
        let err =
            parse("FILE: a.py\n<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n").expect_err("no divider");
        assert_eq!(
            err,
            FormatError::Unclosed {
                line: 2,
                path: "a.py".into(),
                missing: "======="
            }
        );
        assert!(err.to_string().starts_with("line 2: the block for `a.py`"));
        assert_eq!(
            parse("FILE: a.py\n<<<<<<< SEARCH\na\n=======\nb\n"),
            Err(FormatError::Unclosed {
                line: 2,
                path: "a.py".into(),
                missing: ">>>>>>> REPLACE"
            })
        );
        assert_eq!(
            parse("FILE: a.py\n=======\n"),
            Err(FormatError::StrayMarker {
                line: 2,
                marker: "=======".into()
            })
        );
        assert_eq!(
            parse("FILE: a.py\nWHY: x\nFILE: b.py\n<<<<<<< SEARCH\n=======\nb\n>>>>>>> REPLACE\n"),
            Err(FormatError::FileWithoutBlocks {
                line: 1,
                path: "a.py".into()
            })
        );
        assert_eq!(parse("FILE:   \n"), Err(FormatError::EmptyPath { line: 1 }));
        assert_eq!(
            parse("I think the bug is in cart.py."),
            Err(FormatError::NoEdits)
        );
        assert_eq!(parse(""), Err(FormatError::NoEdits));
    }
}
