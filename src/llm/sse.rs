//! Server-sent events as both vendors stream them: an incremental parser fed the body's
//! chunks as they arrive, which may split lines anywhere.
//!
//! Follows the WHATWG event-stream rules the vendors use: `event:` and `data:` fields (a
//! multi-line `data` is joined with `\n`), comments (`:`) ignored, a blank line ends an event,
//! `\n` or `\r\n` line ends. An event left open when the body ends is still delivered: a
//! truncated one fails to parse as JSON later, which is the error callers see.

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (Anthropic names every event; OpenAI sends none).
    pub event: Option<String>,
    /// The `data:` lines, joined.
    pub data: String,
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.pending.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(event) = self.line(&String::from_utf8_lossy(&line)) {
                events.push(event);
            }
        }
        events
    }

    /// Ends the stream: the last event, if the body ended without its blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            let line = String::from_utf8_lossy(&line)
                .trim_end_matches('\r')
                .to_owned();
            if let Some(event) = self.line(&line) {
                return Some(event);
            }
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            // `id` and `retry` concern reconnecting browsers; unknown fields are ignored.
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let data = self.data.take();
        if event.is_none() && data.is_none() {
            return None;
        }
        Some(SseEvent {
            event,
            data: data.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(text: &str, piece: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for chunk in text.as_bytes().chunks(piece) {
            events.extend(parser.push(chunk));
        }
        events.extend(parser.finish());
        events
    }

    #[test]
    fn events_survive_any_chunking() {
        let text = "event: message_start\ndata: {\"a\":1}\n\n: comment\nevent: ping\r\ndata: {}\r\n\r\ndata: x\ndata: y\n\n";
        let expected = vec![
            SseEvent {
                event: Some("message_start".into()),
                data: "{\"a\":1}".into(),
            },
            SseEvent {
                event: Some("ping".into()),
                data: "{}".into(),
            },
            SseEvent {
                event: None,
                data: "x\ny".into(),
            },
        ];
        for piece in 1..text.len() {
            assert_eq!(parse_in_pieces(text, piece), expected, "chunks of {piece}");
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_delivered() {
        let events = parse_in_pieces("event: message_stop\ndata: {\"type\":\"message_stop\"}", 7);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.as_deref(), Some("message_stop"));
    }

    #[test]
    fn multibyte_characters_split_across_chunks_are_kept() {
        let text = "data: {\"text\":\"héllo — ✓\"}\n\n";
        let events = parse_in_pieces(text, 1);
        assert_eq!(events[0].data, "{\"text\":\"héllo — ✓\"}");
    }
}
