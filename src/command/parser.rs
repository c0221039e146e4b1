//! Finding commands in a comment's Markdown: `/globallm <verb>` at the start of a line (up to
//! three spaces of indentation), not inside a fenced or indented code block and not in a
//! block quote. An edited comment runs only the commands it did not have before.

use super::{Command, VERBS};

/// The prefix every command starts with.
pub const PREFIX: &str = "/globallm";

/// A `/globallm` line whose verb is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandParseError {
    /// `/globallm` with no verb.
    #[error("`/globallm` needs a command; try `/globallm help`")]
    Missing,
    /// An unknown verb.
    #[error("unknown command `{verb}`{}", suggestion.as_ref().map(|s| format!("; did you mean `/globallm {s}`?")).unwrap_or_default())]
    Unknown {
        /// The verb as written.
        verb: String,
        /// The closest command, when one is close.
        suggestion: Option<&'static str>,
    },
}

/// The commands in `body`, in order; unknown verbs are errors a reply can explain.
pub fn parse_commands(body: &str) -> Vec<Result<Command, CommandParseError>> {
    let lines: Vec<&str> = body.lines().collect();
    let mut found = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (index, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let trimmed = line.trim_start();
        if let Some((marker, length)) = fence {
            // A fence closes with at least as many of the same marker.
            let run = trimmed.chars().take_while(|c| *c == marker).count();
            if indent < 4 && run >= length && trimmed[run * marker.len_utf8()..].trim().is_empty() {
                fence = None;
            }
            continue;
        }
        if indent < 4 {
            for marker in ['`', '~'] {
                let run = trimmed.chars().take_while(|c| *c == marker).count();
                if run >= 3 {
                    fence = Some((marker, run));
                }
            }
            if fence.is_some() {
                continue;
            }
        }
        if indent >= 4 || line.starts_with('\t') || trimmed.starts_with('>') {
            continue;
        }
        let Some(rest) = trimmed.strip_prefix(PREFIX) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            continue;
        }
        let verb = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let command = match verb.as_str() {
            "" => Err(CommandParseError::Missing),
            "fix" => Ok(Command::Fix),
            "retry" => Ok(Command::Retry {
                feedback: feedback(&lines, index, rest),
            }),
            "stop" => Ok(Command::Stop),
            "resume" => Ok(Command::Resume),
            "explain" => Ok(Command::Explain),
            "merge" => Ok(Command::Merge),
            "help" => Ok(Command::Help),
            other => Err(CommandParseError::Unknown {
                verb: other.to_owned(),
                suggestion: crate::config::closest(other, VERBS.iter().map(|(v, _, _)| *v)),
            }),
        };
        found.push(command);
    }
    found
}

/// The feedback of a `retry`: the words after the verb and every other line of the comment.
fn feedback(lines: &[&str], command_line: usize, rest: &str) -> String {
    let after_verb: String = rest
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ");
    let others: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != command_line)
        .map(|(_, l)| *l)
        .collect();
    let mut text = after_verb;
    let body = others.join("\n").trim().to_owned();
    if !body.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&body);
    }
    text
}

/// The commands of an edited comment that its previous text did not have (each earlier
/// occurrence of the same command cancels one new one).
pub fn new_commands(previous: &str, current: &str) -> Vec<Result<Command, CommandParseError>> {
    let mut before = parse_commands(previous);
    parse_commands(current)
        .into_iter()
        .filter(|command| {
            let verb = |c: &Result<Command, CommandParseError>| match c {
                Ok(command) => Ok(command.verb()),
                Err(err) => Err(err.clone()),
            };
            match before.iter().position(|old| verb(old) == verb(command)) {
                Some(index) => {
                    drop(before.remove(index));
                    false
                }
                None => true,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verbs(body: &str) -> Vec<String> {
        parse_commands(body)
            .into_iter()
            .map(|c| {
                c.map(|c| c.verb().to_owned())
                    .unwrap_or_else(|e| format!("error: {e}"))
            })
            .collect()
    }

    #[test]
    fn finds_commands_at_the_start_of_lines() {
        assert_eq!(verbs("/globallm explain"), ["explain"]);
        assert_eq!(
            verbs("Thanks!\n  /globallm fix\n/globallm HELP please"),
            ["fix", "help"]
        );
        assert!(
            verbs("please /globallm fix this").is_empty(),
            "not at the start of a line"
        );
        assert!(verbs("/globallmfix").is_empty());
    }

    #[test]
    fn ignores_code_blocks_and_quotes() {
        let body = "```\n/globallm fix\n```\n~~~~ text\n/globallm merge\n~~~~\n    /globallm stop\n> /globallm retry\n/globallm explain";
        assert_eq!(verbs(body), ["explain"]);
        assert!(
            verbs("```\n/globallm fix").is_empty(),
            "an unclosed fence runs to the end"
        );
        assert_eq!(
            verbs("````\n```\n/globallm fix\n````\n/globallm help"),
            ["help"],
            "a shorter fence does not close"
        );
    }

    #[test]
    fn unknown_verbs_are_errors_with_a_suggestion() {
        assert_eq!(
            verbs("/globallm mrege"),
            ["error: unknown command `mrege`; did you mean `/globallm merge`?"]
        );
        assert_eq!(
            verbs("/globallm"),
            ["error: `/globallm` needs a command; try `/globallm help`"]
        );
    }

    #[test]
    fn retry_carries_the_rest_of_the_comment() {
        let commands = parse_commands("/globallm retry keep the API\nAlso handle empty input.\n");
        assert_eq!(
            commands,
            [Ok(Command::Retry {
                feedback: "keep the API\nAlso handle empty input.".to_owned()
            })]
        );
    }

    #[test]
    fn an_edit_runs_only_new_commands() {
        assert!(new_commands("/globallm explain", "/globallm explain\nedited").is_empty());
        let added = new_commands("/globallm explain", "/globallm explain\n/globallm help");
        assert_eq!(added, [Ok(Command::Help)]);
        assert_eq!(
            new_commands("/globallm help", "/globallm help\n/globallm help").len(),
            1
        );
    }

    #[test]
    fn help_is_generated_from_the_command_list() {
        let text = super::super::help_text(|verb| verb != "merge");
        for (verb, _, _) in VERBS {
            assert!(text.contains(&format!("`/globallm {verb}`")), "{text}");
        }
        assert!(text.contains("merge a HIGH-tier pull request once CI is green (never CRITICAL) — needs write access (disabled in this repository)"));
    }
}
