//! `ping`: GitHub's hello when a webhook is created. Logged, nothing else.

use super::Handled;
use crate::event::PingEvent;

/// Logs the ping.
pub fn handle_ping(ping: &PingEvent) -> Handled {
    tracing::info!(
        hook_id = ping.hook_id,
        app_id = ping.app_id.map(|id| id.0),
        repository = ping.repository.as_ref().map(|r| r.name.to_string()),
        zen = ping.zen.as_deref().unwrap_or(""),
        "webhook ping received"
    );
    Handled::Done
}
