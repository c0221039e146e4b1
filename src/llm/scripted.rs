//! A scripted [`Provider`] for tests of every feature that calls a model: it answers from a
//! list of steps given in advance (answers and errors, in order) and records each request,
//! so a test asserts both what GlobalLM asked and what it did with the answer. A request
//! beyond the script is an error, so a test never passes on an unplanned call.

use super::tokens::TokenEstimator;
use super::{BoxFuture, LlmError, LlmRequest, LlmResponse, Provider, StopReason, Usage};
use crate::config::ProviderKind;
use std::collections::VecDeque;
use std::sync::Mutex;

/// One scripted outcome.
#[derive(Debug)]
enum Step {
    Answer {
        text: String,
        stop_reason: StopReason,
        usage: Option<Usage>,
    },
    Fail(LlmError),
}

/// A provider that plays a script.
#[derive(Debug)]
pub struct ScriptedProvider {
    name: String,
    model: String,
    steps: Mutex<VecDeque<Step>>,
    requests: Mutex<Vec<LlmRequest>>,
    estimator: TokenEstimator,
}

impl ScriptedProvider {
    /// An empty script for `model`, named `name` in responses and errors.
    pub fn new(name: &str, model: &str) -> Self {
        Self {
            name: name.to_owned(),
            model: model.to_owned(),
            steps: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            estimator: TokenEstimator::for_model(ProviderKind::OpenaiCompatible, model, 1.0),
        }
    }

    fn push(self, step: Step) -> Self {
        self.steps.lock().expect("script lock").push_back(step);
        self
    }

    /// Next, answer `text`; usage is the o200k count of the request and of the text.
    pub fn answer(self, text: impl Into<String>) -> Self {
        self.push(Step::Answer {
            text: text.into(),
            stop_reason: StopReason::EndTurn,
            usage: None,
        })
    }

    /// Next, answer `text` reporting this usage.
    pub fn answer_with_usage(self, text: impl Into<String>, input: u64, output: u64) -> Self {
        self.push(Step::Answer {
            text: text.into(),
            stop_reason: StopReason::EndTurn,
            usage: Some(Usage {
                input_tokens: input,
                output_tokens: output,
                estimated: false,
            }),
        })
    }

    /// Next, answer `text`, stopping for `stop_reason`.
    pub fn answer_stopping(self, text: impl Into<String>, stop_reason: StopReason) -> Self {
        self.push(Step::Answer {
            text: text.into(),
            stop_reason,
            usage: None,
        })
    }

    /// Next, fail with `error`.
    pub fn fail(self, error: LlmError) -> Self {
        self.push(Step::Fail(error))
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<LlmRequest> {
        self.requests.lock().expect("requests lock").clone()
    }

    /// Steps not played yet.
    pub fn remaining(&self) -> usize {
        self.steps.lock().expect("script lock").len()
    }

    fn play(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        self.requests
            .lock()
            .expect("requests lock")
            .push(request.clone());
        let step = self.steps.lock().expect("script lock").pop_front();
        let request_number = self.requests.lock().expect("requests lock").len();
        match step {
            Some(Step::Answer {
                text,
                stop_reason,
                usage,
            }) => Ok(LlmResponse {
                usage: usage.unwrap_or_else(|| Usage {
                    input_tokens: self.estimator.count_request(request),
                    output_tokens: self.estimator.count_text(&text),
                    estimated: false,
                }),
                text,
                stop_reason,
                request_id: Some(format!("{}-req-{request_number}", self.name)),
                model: self.model.clone(),
                provider: self.name.clone(),
            }),
            Some(Step::Fail(error)) => Err(error),
            None => Err(LlmError::InvalidResponse {
                provider: self.name.clone(),
                message: format!("request {request_number} is beyond the script"),
            }),
        }
    }
}

impl Provider for ScriptedProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        Box::pin(std::future::ready(self.play(request)))
    }
}
