//! Finding an edit's `search` text in a file: exactly, then line by line ignoring trailing
//! whitespace and a consistent indentation shift (tabs counted as four columns), and when
//! nothing matches, the closest region to show the LLM.

/// Columns a tab counts for when comparing indentation.
const TAB_WIDTH: usize = 4;

/// Where `search` matched, in line-split content.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Found {
    /// Exactly once, at this byte offset.
    Exact(usize),
    /// Once, as whole lines `start..start + len`, with indentation `shift` columns deeper in
    /// the file than in `search` (negative: shallower) and the file's indentation in tabs.
    Lines {
        start: usize,
        len: usize,
        shift: isize,
        tabs: bool,
        search_tabs: bool,
    },
    /// More than once; the 1-based first lines.
    Many(Vec<usize>),
    /// Not at all; the closest region if any line resembles.
    None(Option<Closest>),
}

/// The region of a file that resembles `search` the most.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Closest {
    /// 1-based first line.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
    /// Mean similarity of the lines, 0 to 1.
    pub similarity: f64,
    /// The first line that differs: (1-based line, file's text, search's text).
    pub first_difference: Option<(usize, String, String)>,
}

/// Finds `search` (LF line endings) in `content` (LF line endings).
pub(super) fn find(content: &str, search: &str) -> Found {
    let exact: Vec<usize> = content.match_indices(search).map(|(i, _)| i).collect();
    match exact.len() {
        1 => return Found::Exact(exact[0]),
        n if n > 1 => {
            return Found::Many(exact.iter().map(|i| line_of(content, *i)).collect());
        }
        _ => {}
    }
    let file: Vec<&str> = content.split('\n').collect();
    let wanted = search_lines(search);
    if wanted.is_empty() || wanted.len() > file.len() {
        return Found::None(None);
    }
    let mut hits = Vec::new();
    for start in 0..=file.len() - wanted.len() {
        if let Some(shift) = lines_match(&file[start..start + wanted.len()], &wanted) {
            hits.push((start, shift));
        }
    }
    match hits.as_slice() {
        [(start, shift)] => {
            let region = &file[*start..*start + wanted.len()];
            Found::Lines {
                start: *start,
                len: wanted.len(),
                shift: *shift,
                tabs: uses_tabs(region),
                search_tabs: uses_tabs(&wanted),
            }
        }
        [] => Found::None(closest(&file, &wanted)),
        many => Found::Many(many.iter().map(|(s, _)| s + 1).collect()),
    }
}

/// The lines of `search` without blank lines at either end.
pub(super) fn search_lines(search: &str) -> Vec<&str> {
    let lines: Vec<&str> = search.split('\n').collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last].to_vec(),
        _ => Vec::new(),
    }
}

fn line_of(content: &str, byte: usize) -> usize {
    content[..byte].matches('\n').count() + 1
}

/// Columns of a line's indentation.
pub(super) fn indent_width(line: &str) -> usize {
    line.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { TAB_WIDTH } else { 1 })
        .sum()
}

fn uses_tabs(lines: &[&str]) -> bool {
    lines.iter().any(|l| l.starts_with('\t'))
}

/// The indentation shift (file minus search) when every line matches once trimmed and the
/// shift is the same on every non-blank line.
fn lines_match(file: &[&str], search: &[&str]) -> Option<isize> {
    let mut shift: Option<isize> = None;
    for (f, s) in file.iter().zip(search) {
        let (ft, st) = (f.trim(), s.trim());
        if ft != st {
            return None;
        }
        if st.is_empty() {
            continue;
        }
        let delta = indent_width(f) as isize - indent_width(s) as isize;
        match shift {
            None => shift = Some(delta),
            Some(d) if d != delta => return None,
            Some(_) => {}
        }
    }
    Some(shift.unwrap_or(0))
}

/// Re-indents `replace` by `shift` columns in the file's style (tabs or spaces).
pub(super) fn reindent(replace: &[&str], shift: isize, tabs: bool) -> Vec<String> {
    replace
        .iter()
        .map(|line| {
            let body = line.trim_start_matches([' ', '\t']);
            if body.is_empty() {
                return String::new();
            }
            let width = (indent_width(line) as isize + shift).max(0) as usize;
            let indent = if tabs {
                format!(
                    "{}{}",
                    "\t".repeat(width / TAB_WIDTH),
                    " ".repeat(width % TAB_WIDTH)
                )
            } else {
                " ".repeat(width)
            };
            format!("{indent}{body}")
        })
        .collect()
}

/// The window of the file most similar to `search`, line by line (Levenshtein on trimmed
/// lines). Files over 20,000 lines are not searched (the cost is lines × search lines).
fn closest(file: &[&str], search: &[&str]) -> Option<Closest> {
    if file.len() > 20_000 || search.len() > 400 {
        return None;
    }
    let trimmed: Vec<&str> = file.iter().map(|l| l.trim()).collect();
    let wanted: Vec<&str> = search.iter().map(|l| l.trim()).collect();
    let mut best: Option<(usize, f64)> = None;
    for start in 0..=file.len() - search.len() {
        let total: f64 = wanted
            .iter()
            .enumerate()
            .map(|(i, w)| strsim::normalized_levenshtein(trimmed[start + i], w))
            .sum();
        let mean = total / wanted.len() as f64;
        if best.is_none_or(|(_, b)| mean > b) {
            best = Some((start, mean));
        }
    }
    let (start, similarity) = best?;
    if similarity < 0.3 {
        return None;
    }
    let first_difference = (0..search.len())
        .find(|i| trimmed[start + i] != wanted[*i])
        .map(|i| {
            (
                start + i + 1,
                file[start + i].to_owned(),
                search[i].to_owned(),
            )
        });
    Some(Closest {
        start_line: start + 1,
        end_line: start + search.len(),
        similarity,
        first_difference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_unique_match_is_found_by_offset() {
        assert_eq!(find("a\nb\nc\n", "b\n"), Found::Exact(2));
    }

    #[test]
    fn repeated_text_reports_every_line() {
        assert_eq!(find("x = 1\ny\nx = 1\n", "x = 1"), Found::Many(vec![1, 3]));
        assert_eq!(
            find("  x = 1\ny\n    x = 1\n", "x  = 1\n"),
            Found::None(Some(Closest {
                start_line: 1,
                end_line: 1,
                similarity: 1.0 - 1.0 / 6.0,
                first_difference: Some((1, "  x = 1".to_owned(), "x  = 1".to_owned())),
            }))
        );
        assert_eq!(
            find("\tif a:\n\t\tgo()\n\nif a:\n    go()\n", "if a:\n    go()"),
            Found::Exact(15),
            "an exact match wins over a whitespace-insensitive one"
        );
    }

    #[test]
    fn trailing_whitespace_and_indentation_shifts_are_tolerated() {
        let content = "def f():\n    if x:   \n        return 1\n    return 2\n";
        match find(content, "if x:\n    return 1\n") {
            Found::Lines {
                start, len, shift, ..
            } => assert_eq!((start, len, shift), (1, 2, 4)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_inconsistent_shift_does_not_match() {
        let content = "a:\n    b\n  c\n";
        assert!(matches!(find(content, "a:\n  b\n  c"), Found::None(_)));
    }

    #[test]
    fn tabs_count_as_four_columns_and_replacements_follow_the_file_style() {
        let content = "func f() {\n\tif x {\n\t\treturn\n\t}\n}\n";
        match find(content, "    if x {\n        return\n    }") {
            Found::Lines {
                start,
                shift,
                tabs,
                search_tabs,
                ..
            } => assert_eq!((start, shift, tabs, search_tabs), (1, 0, true, false)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            reindent(&["    if y {", "        log()", "", "    }"], 0, true),
            ["\tif y {", "\t\tlog()", "", "\t}"]
        );
        assert_eq!(reindent(&["x", "  y"], 4, false), ["    x", "      y"]);
        assert_eq!(reindent(&["    x"], -8, false), ["x"], "never below zero");
    }

    #[test]
    fn nothing_similar_gives_no_closest_region() {
        assert_eq!(
            find("alpha\nbeta\n", "zzzzzzzz\nqqqqqqq"),
            Found::None(None)
        );
        assert_eq!(find("a\n", "  \n\n"), Found::None(None));
    }
}
