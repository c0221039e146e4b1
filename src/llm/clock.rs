//! The clock the LLM layer and the budget wait on: the crate's [`crate::clock`], re-exported
//! here so the layer's callers find it beside the rest of the layer.

pub use crate::clock::{Clock, ManualClock, SystemClock};
