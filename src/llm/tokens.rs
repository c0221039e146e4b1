//! Token estimation with a real tokenizer (tiktoken's o200k and cl100k encodings, bundled, so
//! it works offline) — used to reserve budget before a call, and as the usage of servers that
//! report none.
//!
//! OpenAI models are counted with their own encoding and the chat framing of OpenAI's
//! cookbook (3 tokens per message plus its role, 3 to prime the reply). Claude's tokenizer is
//! not published; its counts are o200k's times `llm.anthropic_token_factor` plus, when a JSON
//! schema is sent, the system prompt Anthropic adds for structured outputs. Both constants
//! are calibrated on the recorded responses (`tests/llm_tokens.rs` prints the error).
//! Local models are counted with o200k: an estimate, marked as such where it stands in for
//! usage.

use super::LlmRequest;
use crate::config::ProviderKind;
use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::Tokenizer;

/// Framing tokens per chat message (OpenAI cookbook).
const TOKENS_PER_MESSAGE: u64 = 3;
/// Tokens priming the reply (`<|start|>assistant<|message|>`).
const REPLY_PRIMING: u64 = 3;
/// Tokens Anthropic adds to the prompt when an answer's JSON schema is sent (its structured
/// outputs system prompt), before the factor; calibrated on the recorded exchanges.
const ANTHROPIC_SCHEMA_OVERHEAD: u64 = 100;

/// The BPE encoding used to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `o200k_base`: GPT-4o and later; the base of the Claude and local-model estimates.
    O200k,
    /// `cl100k_base`: GPT-4 and GPT-3.5.
    Cl100k,
}

/// Counts tokens for one model.
#[derive(Debug, Clone)]
pub struct TokenEstimator {
    encoding: Encoding,
    factor: f64,
    anthropic: bool,
}

impl TokenEstimator {
    /// The estimator for `model` of `provider`; `anthropic_factor` is the safety factor
    /// applied to o200k counts for Claude models.
    pub fn for_model(provider: ProviderKind, model: &str, anthropic_factor: f64) -> Self {
        let anthropic = provider == ProviderKind::Anthropic || model.starts_with("claude");
        let encoding = match tiktoken_rs::tokenizer::get_tokenizer(model) {
            Some(Tokenizer::Cl100kBase) if !anthropic => Encoding::Cl100k,
            _ => Encoding::O200k,
        };
        Self {
            encoding,
            factor: if anthropic { anthropic_factor } else { 1.0 },
            anthropic,
        }
    }

    /// The encoding counted with.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The factor applied to raw counts (1 except for Claude models).
    pub fn factor(&self) -> f64 {
        self.factor
    }

    fn bpe(&self) -> &'static CoreBPE {
        match self.encoding {
            Encoding::O200k => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100k => tiktoken_rs::cl100k_base_singleton(),
        }
    }

    /// Raw tokens of `text` (special-token text is counted as ordinary text: it is data).
    pub fn raw_count(&self, text: &str) -> u64 {
        self.bpe().count_ordinary(text) as u64
    }

    fn scaled(&self, raw: u64) -> u64 {
        // Counts are far below 2^52, so the float round trip is exact enough.
        (raw as f64 * self.factor).ceil() as u64
    }

    /// Estimated tokens of an answer's text.
    pub fn count_text(&self, text: &str) -> u64 {
        self.scaled(self.raw_count(text))
    }

    /// Estimated input tokens of a request: system prompt, messages with their framing, and
    /// the JSON schema when one is sent.
    pub fn count_request(&self, request: &LlmRequest) -> u64 {
        let mut raw = REPLY_PRIMING;
        if !request.system.is_empty() {
            raw += TOKENS_PER_MESSAGE + 1 + self.raw_count(&request.system);
        }
        for message in &request.messages {
            raw += TOKENS_PER_MESSAGE + 1 + self.raw_count(&message.content);
        }
        if let Some(schema) = &request.json_schema {
            raw += self.raw_count(&schema.schema.to_string());
            if self.anthropic {
                raw += ANTHROPIC_SCHEMA_OVERHEAD;
            }
        }
        self.scaled(raw)
    }

    /// What to reserve before sending `request`: its estimated input plus the most output it
    /// may produce.
    pub fn reservation(&self, request: &LlmRequest) -> u64 {
        self.count_request(request) + u64::from(request.max_output_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;

    fn request(system: &str, user: &str) -> LlmRequest {
        LlmRequest {
            system: system.to_owned(),
            messages: vec![Message::user(user)],
            max_output_tokens: 100,
            temperature: None,
            json_schema: None,
        }
    }

    #[test]
    fn models_get_their_encoding() {
        let gpt4 = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4-0613", 1.3);
        assert_eq!(gpt4.encoding(), Encoding::Cl100k);
        let gpt4o = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4o", 1.3);
        assert_eq!((gpt4o.encoding(), gpt4o.factor()), (Encoding::O200k, 1.0));
        let claude = TokenEstimator::for_model(ProviderKind::Anthropic, "claude-sonnet-4-5", 1.3);
        assert_eq!((claude.encoding(), claude.factor()), (Encoding::O200k, 1.3));
        let local = TokenEstimator::for_model(ProviderKind::OpenaiCompatible, "llama3.1:8b", 1.3);
        assert_eq!((local.encoding(), local.factor()), (Encoding::O200k, 1.0));
    }

    #[test]
    fn the_openai_example_request_counts_what_openai_reported() {
        // chat-completions/default: developer "You are a helpful assistant." and user
        // "Hello!" → usage.prompt_tokens 19.
        let gpt = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4o", 1.3);
        assert_eq!(
            gpt.count_request(&request("You are a helpful assistant.", "Hello!")),
            19
        );
    }

    #[test]
    fn sample_texts_count_real_tokens_not_characters() {
        let o200k = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4o", 1.0);
        let cl100k = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4", 1.0);
        assert_eq!(o200k.raw_count("Hello world"), 2);
        assert_eq!(cl100k.raw_count("Hello world"), 2);
        assert_eq!(o200k.raw_count(""), 0);
        let code = "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n";
        let counted = o200k.raw_count(code);
        assert!(
            counted != code.len() as u64 / 4 && (10..30).contains(&counted),
            "{counted}"
        );
        // Special-token text in an issue is data, not a control token.
        assert!(o200k.raw_count("<|endoftext|>") > 1);
        let claude = TokenEstimator::for_model(ProviderKind::Anthropic, "claude-sonnet-4-5", 1.3);
        assert_eq!(claude.count_text("Hello world"), 3, "ceil(2 × 1.3)");
    }

    #[test]
    fn the_reservation_covers_the_whole_answer() {
        let gpt = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4o", 1.3);
        let r = request("", "Hello!");
        assert_eq!(gpt.reservation(&r), gpt.count_request(&r) + 100);
    }
}
