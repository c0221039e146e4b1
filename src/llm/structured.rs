//! Structured answers: the JSON in a model's answer (bare, fenced, or wrapped in prose) is
//! found, validated against the task's schema and read into its Rust type; a malformed answer
//! is asked again with the error, at most `llm.max_reasks` times, then it is
//! [`LlmError::InvalidAnswer`]. Every ask is a budgeted call.

use super::client::{Llm, Scope};
use super::prompts::Prompt;
use super::{LlmError, LlmResponse, Message, StopReason, Usage};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A validated answer.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    /// The answer, read into its type.
    pub value: T,
    /// The response it came from.
    pub response: LlmResponse,
    /// How many answers were asked for (1 when the first was valid).
    pub attempts: u32,
    /// Tokens of all the attempts together.
    pub usage: Usage,
}

/// Finds the JSON value in an answer: the whole text, else the first fenced block that
/// parses, else the first object or array in the text that parses.
pub fn extract_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Ok(value);
    }
    for block in fenced_blocks(trimmed) {
        if let Ok(value) = serde_json::from_str::<Value>(block.trim()) {
            return Ok(value);
        }
    }
    for (start, _) in trimmed.match_indices(['{', '[']) {
        let mut values = serde_json::Deserializer::from_str(&trimmed[start..]).into_iter::<Value>();
        if let Some(Ok(value)) = values.next()
            && (value.is_object() || value.is_array())
        {
            return Ok(value);
        }
    }
    Err(if trimmed.is_empty() {
        "the answer was empty".to_owned()
    } else {
        "the answer contains no JSON object".to_owned()
    })
}

/// The contents of the ```` ``` ```` fenced blocks of `text` (any info string).
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(line_end) = after.find('\n') else {
            break;
        };
        let body = &after[line_end + 1..];
        let Some(close) = body.find("```") else {
            break;
        };
        blocks.push(&body[..close]);
        rest = &body[close + 3..];
    }
    blocks
}

/// Checks `value` against `schema`; the error lists every violation with its location.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|err| format!("the task's schema is invalid: {err}"))?;
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|err| {
            let at = err.instance_path().to_string();
            if at.is_empty() {
                err.to_string()
            } else {
                format!("at {at}: {err}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Reads an answer's text: JSON found, valid, and of type `T`.
pub fn parse<T: DeserializeOwned>(text: &str, schema: Option<&Value>) -> Result<T, String> {
    let value = extract_json(text)?;
    if let Some(schema) = schema {
        validate(schema, &value)?;
    }
    serde_json::from_value(value).map_err(|err| err.to_string())
}

impl Llm {
    /// Asks `prompt` and reads its JSON answer, asking again with the error while it is
    /// malformed (at most `llm.max_reasks` more times).
    pub async fn ask<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        prompt: &Prompt,
    ) -> Result<Answer<T>, LlmError> {
        let max_attempts = 1 + self.config().llm.max_reasks;
        let mut request = prompt.request.clone();
        let mut usage = Usage::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self.complete(scope, prompt.task, request.clone()).await?;
            usage.input_tokens += response.usage.input_tokens;
            usage.output_tokens += response.usage.output_tokens;
            usage.estimated |= response.usage.estimated;
            if response.stop_reason == StopReason::Refusal {
                return Err(LlmError::Refused {
                    task: prompt.task,
                    message: response.text,
                });
            }
            let problem = match parse::<T>(&response.text, prompt.schema.as_ref()) {
                Ok(value) => {
                    return Ok(Answer {
                        value,
                        response,
                        attempts: attempt,
                        usage,
                    });
                }
                Err(problem) if response.stop_reason == StopReason::MaxTokens => format!(
                    "{problem} (the answer was cut at the output limit: answer more briefly)"
                ),
                Err(problem) => problem,
            };
            tracing::warn!(task = prompt.task, attempt, "malformed answer: {problem}");
            if attempt == max_attempts {
                return Err(LlmError::InvalidAnswer {
                    task: prompt.task,
                    attempts: attempt,
                    error: problem,
                });
            }
            request.messages.push(Message::assistant(response.text));
            request.messages.push(Message::user(format!(
                "That answer cannot be used: {problem}. Answer again with only the JSON, \
                 matching the schema."
            )));
        }
    }

    /// Asks `prompt` for a free-text answer (e.g. `explain`).
    pub async fn ask_text(
        &self,
        scope: Scope<'_>,
        prompt: &Prompt,
    ) -> Result<LlmResponse, LlmError> {
        let response = self
            .complete(scope, prompt.task, prompt.request.clone())
            .await?;
        if response.stop_reason == StopReason::Refusal {
            return Err(LlmError::Refused {
                task: prompt.task,
                message: response.text,
            });
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_found_bare_fenced_or_in_prose() {
        let expected = json!({"a": 1});
        assert_eq!(extract_json(" {\"a\": 1} "), Ok(expected.clone()));
        assert_eq!(
            extract_json("Here you go:\n```json\n{\"a\": 1}\n```\nAnything else?"),
            Ok(expected.clone())
        );
        assert_eq!(
            extract_json("Sure! The answer is {\"a\": 1} as requested."),
            Ok(expected.clone())
        );
        assert_eq!(
            extract_json("Note {this} first, then {\"a\": 1}"),
            Ok(expected)
        );
        assert!(extract_json("no json here").is_err());
        assert!(extract_json("").is_err());
    }

    #[test]
    fn violations_name_where_and_why() {
        let schema = json!({
            "type": "object",
            "properties": {"n": {"type": "integer", "maximum": 10}},
            "required": ["n"],
            "additionalProperties": false
        });
        assert_eq!(validate(&schema, &json!({"n": 3})), Ok(()));
        let err = validate(&schema, &json!({"n": 11})).expect_err("above the maximum");
        assert!(err.contains("/n") && err.contains("10"), "{err}");
        let err = validate(&schema, &json!({})).expect_err("missing");
        assert!(err.contains("\"n\""), "{err}");
    }
}
