use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// The simulation's idea of "now".
///
/// The demo runs in real time; tests start from a fixed instant and move time forward themselves.
/// Either way the clock can be advanced, so an end-to-end test against the real binary can make a
/// retried job finish without waiting for it.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
struct ClockState {
    /// `None` follows the wall clock.
    fixed: Option<DateTime<Utc>>,
    offset: Duration,
}

impl Clock {
    /// Follows the wall clock (plus whatever it was advanced by).
    pub fn real() -> Self {
        Self::with(None)
    }

    /// Stands still at `start` until advanced.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self::with(Some(start))
    }

    fn with(fixed: Option<DateTime<Utc>>) -> Self {
        Clock {
            inner: Arc::new(Mutex::new(ClockState {
                fixed,
                offset: Duration::zero(),
            })),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let state = self.inner.lock().expect("clock lock");
        state.fixed.unwrap_or_else(Utc::now) + state.offset
    }

    pub fn advance(&self, by: Duration) {
        let mut state = self.inner.lock().expect("clock lock");
        state.offset += by.max(Duration::zero());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let clock = Clock::manual(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
        clock.advance(Duration::seconds(-5));
        assert_eq!(clock.now(), start + Duration::seconds(90), "time never runs backwards");
    }
}
