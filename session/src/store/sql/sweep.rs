//! When a SQL store sweeps its expired rows: an interval, and the next time it is due,
//! shared by the clones of one store.

use crate::time::unix_ms;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// When the next sweep of expired rows is due (Unix ms), and the interval (0: never).
#[derive(Debug)]
pub(super) struct SweepSchedule {
    interval_ms: AtomicU64,
    next_ms: AtomicU64,
}

impl SweepSchedule {
    pub(super) fn every(interval: Duration) -> Self {
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        Self {
            interval_ms: AtomicU64::new(interval_ms),
            next_ms: AtomicU64::new(unix_ms(SystemTime::now()).saturating_add(interval_ms)),
        }
    }

    /// Whether a sweep is due `now`; if it is, the next one is scheduled an interval later.
    pub(super) fn due(&self, now: u64) -> bool {
        let interval = self.interval_ms.load(Ordering::Relaxed);
        let next = self.next_ms.load(Ordering::Relaxed);
        interval != 0
            && now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now.saturating_add(interval),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}
