//! Commands maintainers give GlobalLM in comments: `/globallm <verb>` at the start of a line.
//! [`parser`] finds them (outside code blocks and quotes); the handlers act on them.

pub mod parser;

pub use parser::{CommandParseError, new_commands, parse_commands};

/// A command, with what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Draft a fix for the issue (needs write access).
    Fix,
    /// Redo the pull request, with the comment's text and the CI output as feedback (needs
    /// write access).
    Retry {
        /// The rest of the comment: what the maintainer wants done differently.
        feedback: String,
    },
    /// Stop all automation on the pull request (needs write access).
    Stop,
    /// Resume automation after a stop (needs write access).
    Resume,
    /// Explain the priority score, or the pull request's risk tier, with every term.
    Explain,
    /// Merge a HIGH-tier pull request once CI is green; never a CRITICAL one (needs write
    /// access).
    Merge,
    /// List the commands.
    Help,
}

/// Every verb, with what it does and who may use it: the source of `help`.
pub const VERBS: &[(&str, &str, bool)] = &[
    ("fix", "draft a fix for this issue as a pull request", true),
    (
        "retry",
        "redo the pull request; the rest of your comment is passed on as feedback",
        true,
    ),
    ("stop", "stop all automation on this pull request", true),
    ("resume", "resume automation after a stop", true),
    (
        "explain",
        "explain the priority (on an issue) or the risk tier (on a pull request)",
        false,
    ),
    (
        "merge",
        "merge a HIGH-tier pull request once CI is green (never CRITICAL)",
        true,
    ),
    ("help", "list these commands", false),
];

impl Command {
    /// The command's verb.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Fix => "fix",
            Command::Retry { .. } => "retry",
            Command::Stop => "stop",
            Command::Resume => "resume",
            Command::Explain => "explain",
            Command::Merge => "merge",
            Command::Help => "help",
        }
    }

    /// Whether it needs write, maintain or admin permission on the repository.
    pub fn needs_write(&self) -> bool {
        VERBS
            .iter()
            .any(|(verb, _, write)| *verb == self.verb() && *write)
    }
}

/// The text of `help`, generated from [`VERBS`]; `enabled` says which the repository allows.
pub fn help_text(enabled: impl Fn(&str) -> bool) -> String {
    let mut text = String::from(
        "GlobalLM's commands (write `/globallm <command>` at the start of a line):\n\n",
    );
    for (verb, what, write) in VERBS {
        let who = if *write {
            " — needs write access"
        } else {
            ""
        };
        let off = if enabled(verb) {
            ""
        } else {
            " (disabled in this repository)"
        };
        text.push_str(&format!("- `/globallm {verb}`: {what}{who}{off}\n"));
    }
    text
}
