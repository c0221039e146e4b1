//! `config --set`: changes one key of a YAML file in place, keeping every other line (comments,
//! order, formatting) as it was. Block-style mappings are edited; a flow-style mapping on the
//! key's path is refused rather than rewritten.

use super::load::{lookup, set_path};
use serde_json::Value;

/// Returns `text` with `key` (dotted) set to `value`. The result is checked by parsing both
/// versions: it must equal the old document with exactly that one change.
pub fn set_in_yaml(text: &str, key: &str, value: &Value) -> Result<String, String> {
    let segments: Vec<&str> = key.split('.').collect();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    if lines.last().is_some_and(|line| !line.ends_with('\n')) {
        let last = lines.len() - 1;
        lines[last].push('\n');
    }
    edit_block(&mut lines, 0, None, &segments, value)?;
    let edited = lines.concat();
    check_single_change(text, &edited, &segments, value)?;
    Ok(edited)
}

/// Sets `segments` within the block of lines `from..` whose keys sit at `indent` (found from
/// the first key line when `None`, i.e. at the top level).
fn edit_block(
    lines: &mut Vec<String>,
    from: usize,
    parent_indent: Option<usize>,
    segments: &[&str],
    value: &Value,
) -> Result<(), String> {
    let (segment, rest) = segments.split_first().ok_or("empty key")?;
    let end = block_end(lines, from, parent_indent);
    let indent = (from..end)
        .find(|&i| is_content(&lines[i]))
        .map(|i| indentation(&lines[i]))
        .unwrap_or_else(|| parent_indent.map_or(0, |p| p + 2));

    let found = (from..end).find(|&i| {
        indentation(&lines[i]) == indent && key_of(&lines[i]).is_some_and(|k| k == *segment)
    });
    let Some(line) = found else {
        let insert_at = (from..end)
            .rev()
            .find(|&i| is_content(&lines[i]))
            .map_or(from, |i| i + 1);
        let new_lines = render_new(indent, segments, value);
        lines.splice(insert_at..insert_at, new_lines);
        return Ok(());
    };

    let inline = inline_value(&lines[line]);
    if rest.is_empty() {
        let child_end = block_end(lines, line + 1, Some(indent));
        let last_child = (line + 1..child_end)
            .rev()
            .find(|&i| is_content(&lines[i]))
            .map_or(line + 1, |i| i + 1);
        let comment = trailing_comment(&inline);
        let new_line = format!(
            "{}{}: {}{}\n",
            " ".repeat(indent),
            segment,
            render_value(value),
            comment
        );
        lines.splice(line..last_child, [new_line]);
        return Ok(());
    }
    let value_part = strip_comment(&inline);
    if !value_part.is_empty() && value_part != "null" && value_part != "~" {
        return Err(format!(
            "`{segment}` is written in flow style (`{value_part}`) in the config file; \
             edit it by hand or rewrite it as an indented block"
        ));
    }
    edit_block(lines, line + 1, Some(indent), rest, value)
}

/// The first line at or after `from` that closes a block whose parent key sits at
/// `parent_indent` (the end of the file for the top level).
fn block_end(lines: &[String], from: usize, parent_indent: Option<usize>) -> usize {
    let Some(parent) = parent_indent else {
        return lines.len();
    };
    (from..lines.len())
        .find(|&i| is_content(&lines[i]) && indentation(&lines[i]) <= parent)
        .unwrap_or(lines.len())
}

fn is_content(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#') && trimmed != "---"
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The key of a `key: value` line, unquoted.
fn key_of(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('-') || trimmed.starts_with('#') {
        return None;
    }
    for quote in ['"', '\''] {
        if let Some(rest) = trimmed.strip_prefix(quote) {
            let close = rest.find(quote)?;
            return rest[close + 1..]
                .trim_start()
                .starts_with(':')
                .then(|| &rest[..close]);
        }
    }
    let colon = trimmed.find(':')?;
    let after = &trimmed[colon + 1..];
    (after.is_empty() || after.starts_with([' ', '\t', '\n', '\r']))
        .then(|| trimmed[..colon].trim_end())
}

/// What follows `key:` on a line, without the line ending.
fn inline_value(line: &str) -> String {
    let trimmed = line.trim_start();
    let after_key = match trimmed.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let close = trimmed[1..].find(quote).map_or(0, |i| i + 2);
            &trimmed[close..]
        }
        _ => trimmed,
    };
    after_key
        .split_once(':')
        .map(|(_, value)| value.trim_end_matches(['\n', '\r']).trim().to_owned())
        .unwrap_or_default()
}

/// ` # comment` after an unquoted value, kept when the value is replaced.
fn trailing_comment(value: &str) -> String {
    if value.starts_with('#') {
        return format!(" {value}");
    }
    if value.starts_with(['"', '\'']) {
        return String::new();
    }
    // Keep the spacing the file had before the comment.
    value
        .find(" #")
        .map(|i| value[value[..=i].trim_end().len()..].to_owned())
        .unwrap_or_default()
}

fn strip_comment(value: &str) -> String {
    if value.starts_with('#') {
        return String::new();
    }
    match value.find(" #") {
        Some(i) if !value.starts_with(['"', '\'']) => value[..i].trim().to_owned(),
        _ => value.to_owned(),
    }
}

/// Lines that create `segments` under a block whose keys sit at `indent`.
fn render_new(indent: usize, segments: &[&str], value: &Value) -> Vec<String> {
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .map(|(depth, segment)| {
            let pad = " ".repeat(indent + 2 * depth);
            if depth == last {
                format!("{pad}{segment}: {}\n", render_value(value))
            } else {
                format!("{pad}{segment}:\n")
            }
        })
        .collect()
}

/// A YAML rendering of `value` on one line: plain when that reads back as the same string,
/// otherwise JSON, which is valid YAML.
fn render_value(value: &Value) -> String {
    if let Value::String(text) = value {
        let plain_ok = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./@+:".contains(c))
            && !text.ends_with(':')
            && serde_saphyr::from_str::<Value>(text).ok().as_ref() == Some(value);
        if plain_ok {
            return text.clone();
        }
    }
    value.to_string()
}

fn check_single_change(
    old: &str,
    new: &str,
    segments: &[&str],
    value: &Value,
) -> Result<(), String> {
    let parse = |text: &str| -> Result<Value, String> {
        let parsed: Value = serde_saphyr::from_str(text).map_err(|err| err.to_string())?;
        Ok(if parsed.is_null() {
            Value::Object(Default::default())
        } else {
            parsed
        })
    };
    let mut expected = parse(old).map_err(|err| format!("the config file is not valid: {err}"))?;
    set_path(&mut expected, segments, value.clone());
    let actual = parse(new).map_err(|err| format!("the edit would break the file: {err}"))?;
    if actual != expected {
        let key = segments.join(".");
        return Err(format!(
            "could not change `{key}` without touching other keys (found {}); edit the file by hand",
            lookup(&actual, &key).map_or("nothing".to_owned(), Value::to_string)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "\
# GlobalLM configuration
server:
  listen: 127.0.0.1:3000   # loopback only

filter:
  # repositories below this are ignored
  min_stars: 1000
  min_dependents: 100
discovery:
  languages:
    - python
    - go
";

    #[test]
    fn changes_one_value_and_keeps_comments_and_order() {
        let edited = set_in_yaml(FILE, "filter.min_stars", &json!(2000)).expect("edits");
        assert_eq!(edited, FILE.replace("min_stars: 1000", "min_stars: 2000"));
    }

    #[test]
    fn keeps_a_trailing_comment_on_the_changed_line() {
        let edited = set_in_yaml(FILE, "server.listen", &json!("0.0.0.0:8080")).expect("edits");
        assert!(
            edited.contains("  listen: 0.0.0.0:8080   # loopback only\n"),
            "{edited}"
        );
    }

    #[test]
    fn replaces_a_block_list_with_a_flow_list() {
        let edited = set_in_yaml(FILE, "discovery.languages", &json!(["rust"])).expect("edits");
        assert!(
            edited.ends_with("discovery:\n  languages: [\"rust\"]\n"),
            "{edited}"
        );
    }

    #[test]
    fn adds_a_missing_key_inside_its_section() {
        let edited = set_in_yaml(FILE, "server.public_url", &json!("https://bot.example.com"))
            .expect("edits");
        assert!(
            edited.contains(
                "  listen: 127.0.0.1:3000   # loopback only\n  public_url: https://bot.example.com\n\nfilter:"
            ),
            "{edited}"
        );
    }

    #[test]
    fn adds_a_missing_section_at_the_end() {
        let edited = set_in_yaml(FILE, "jobs.workers", &json!(8)).expect("edits");
        assert!(
            edited.ends_with("    - go\njobs:\n  workers: 8\n"),
            "{edited}"
        );
    }

    #[test]
    fn writes_into_an_empty_file() {
        let edited = set_in_yaml("", "filter.min_stars", &json!(5)).expect("edits");
        assert_eq!(edited, "filter:\n  min_stars: 5\n");
    }

    #[test]
    fn quotes_strings_that_would_read_back_as_something_else() {
        let edited = set_in_yaml("", "logging.filter", &json!("true")).expect("edits");
        assert_eq!(edited, "logging:\n  filter: \"true\"\n");
    }

    #[test]
    fn refuses_to_rewrite_a_flow_mapping() {
        let err = set_in_yaml("filter: {min_stars: 3}\n", "filter.min_stars", &json!(4))
            .expect_err("flow style is refused");
        assert!(err.contains("flow style"), "{err}");
    }
}
