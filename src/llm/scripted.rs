//! A scripted [`Provider`] for tests of every feature that calls a model: it answers from a
//! list of steps given in advance (answers and errors, in order) and records each request,
//! so a test asserts both what GlobalLM asked and what it did with the answer. A request
//! beyond the script is an error, so a test never passes on an unplanned call.

use super::tokens::TokenEstimator;
use super::{BoxFuture, LlmError, LlmRequest, LlmResponse, Provider, StopReason, Usage};
use crate::config::ProviderKind;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

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
    /// The request (counted from 1) whose answer waits at this gate.
    gate: Option<(usize, Arc<Gate>)>,
    /// Answers every request once the script is played, for load stories.
    responder: Option<Responder>,
}

/// Answers a request from what it asks.
struct Responder(Box<dyn Fn(&LlmRequest) -> String + Send + Sync>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

/// A point where the scripted model "thinks" until the test says so: the test learns that the
/// request arrived, makes something happen meanwhile, then lets the answer go.
#[derive(Debug)]
pub struct Gate {
    reached: Semaphore,
    released: Semaphore,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            reached: Semaphore::new(0),
            released: Semaphore::new(0),
        }
    }
}

impl Gate {
    /// Waits until the held request has arrived.
    pub async fn reached(&self) {
        self.reached.acquire().await.expect("never closed").forget();
    }

    /// Lets the held answer go.
    pub fn release(&self) {
        self.released.add_permits(1);
    }
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
            gate: None,
            responder: None,
        }
    }

    /// After the script, answers each request with `reply(request)`.
    pub fn replying(
        mut self,
        reply: impl Fn(&LlmRequest) -> String + Send + Sync + 'static,
    ) -> Self {
        self.responder = Some(Responder(Box::new(reply)));
        self
    }

    /// Holds the answer to request `number` (counted from 1) at `gate`.
    pub fn hold(mut self, number: usize, gate: Arc<Gate>) -> Self {
        self.gate = Some((number, gate));
        self
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
            None if self.responder.is_some() => {
                let text = self
                    .responder
                    .as_ref()
                    .map(|r| (r.0)(request))
                    .unwrap_or_default();
                Ok(LlmResponse {
                    usage: Usage {
                        input_tokens: self.estimator.count_request(request),
                        output_tokens: self.estimator.count_text(&text),
                        estimated: false,
                    },
                    text,
                    stop_reason: StopReason::EndTurn,
                    request_id: Some(format!("{}-req-{request_number}", self.name)),
                    model: self.model.clone(),
                    provider: self.name.clone(),
                })
            }
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
        Box::pin(async move {
            let answer = self.play(request);
            let number = self.requests.lock().expect("requests lock").len();
            if let Some((held, gate)) = &self.gate
                && *held == number
            {
                gate.reached.add_permits(1);
                gate.released
                    .acquire()
                    .await
                    .expect("never closed")
                    .forget();
            }
            answer
        })
    }
}
