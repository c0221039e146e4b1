//! Time as the GitHub client, the LLM layer and the budget see it: the system clock in
//! production, a manual clock in tests, so that token expiry, rate-limit waits, retry backoff,
//! reservation expiry and window roll-over are checked without sleeping.

use crate::time::Millis;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

/// A source of the current time that can also wait.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> Millis;

    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        crate::time::now_ms()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that only moves when told to, or when something sleeps on it (the sleep returns at
/// once and moves the clock forward). It records every sleep.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<(Millis, Vec<Duration>)>,
}

impl ManualClock {
    /// A clock showing `now_ms`.
    pub fn new(now_ms: Millis) -> Self {
        Self {
            state: Mutex::new((now_ms, Vec::new())),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state.lock().expect("clock lock");
        state.0 += i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
    }

    /// Sets the clock.
    pub fn set(&self, now_ms: Millis) {
        self.state.lock().expect("clock lock").0 = now_ms;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().expect("clock lock").1.clone()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.state.lock().expect("clock lock").0
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut state = self.state.lock().expect("clock lock");
        state.0 += i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        state.1.push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// The system clock moved by an offset that only grows: time flows as it does (so work stamped
/// with the system time is never in this clock's future), and a test jumps ahead — to a Friday
/// evening, then to Monday morning — without sleeping.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: std::sync::atomic::AtomicI64,
}

impl ShiftedClock {
    /// A clock that shows `at` now; `at` must not be in the past.
    pub fn starting_at(at: Millis) -> Self {
        let offset = at - crate::time::now_ms();
        assert!(offset >= 0, "a shifted clock starts in the future");
        Self {
            offset: std::sync::atomic::AtomicI64::new(offset),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset
            .fetch_add(by, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now_ms(&self) -> Millis {
        crate::time::now_ms() + self.offset.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}
