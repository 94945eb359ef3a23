//! Retrying, as small tested pieces shared by the agent's sinks and `serve`'s alert webhooks: what
//! an answer means (`Verdict`), how long to wait before the next attempt (`Backoff`: exponential,
//! capped, full jitter), and what `Retry-After` asks for.

use std::time::{Duration, SystemTime};

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Accepted: the pending payload is gone.
    Delivered,
    /// A transient failure (connect error, timeout, 5xx, 429): try again, after `after` when the
    /// receiver said how long, else after the backoff.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// A permanent refusal (any other 4xx): this payload will never be accepted; drop it.
    Rejected { reason: String },
}

/// What an answer's `Retry-After` header asks for, if it has a readable one.
pub fn asked_wait(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| retry_after(value, now))
}

/// Classifies an HTTP status: 2xx delivered, 429 and 5xx transient, other statuses permanent.
pub fn classify(status: u16, reason: String, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        429 | 500..=599 => Verdict::Retry {
            reason,
            after: retry_after,
        },
        _ => Verdict::Rejected { reason },
    }
}

/// Exponential backoff with full jitter: attempt n waits a uniformly random time up to
/// `min(cap, base * 2^n)`, never less than `floor`.
///
/// Full jitter spreads the retries of many agents that lost the same receiver at the same moment.
/// The floor keeps a near-zero draw from re-sending before the receiver could have changed.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    floor: Duration,
    attempt: u32,
    random: Jitter,
}

/// A first retry after about a second: long enough not to hammer, short enough to catch a blip.
pub const BASE_DELAY: Duration = Duration::from_secs(1);
/// However long an outage lasts, try at least once a minute (and at least once an interval, so the
/// newest payload goes out within an interval of recovery).
pub const MAX_DELAY: Duration = Duration::from_secs(60);
pub const MIN_DELAY: Duration = Duration::from_millis(100);

impl Backoff {
    pub fn new(base: Duration, cap: Duration, random: Jitter) -> Self {
        Backoff {
            base,
            cap: cap.max(MIN_DELAY),
            floor: MIN_DELAY.min(base),
            attempt: 0,
            random,
        }
    }

    /// The wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(self.attempt))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(self.random.next_unit()).max(self.floor)
    }

    /// After a success, start again from the base.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A small xorshift generator for jitter: no need for cryptographic randomness, only for agents not
/// to retry in step. Seeded from the clock and the process id so that two agents differ.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn from_entropy() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        Jitter::seeded(nanos ^ (u64::from(std::process::id()) << 32))
    }

    pub fn seeded(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        Jitter(seed.max(1))
    }

    /// A number in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A `Retry-After` header: delay seconds, or an HTTP date (a date in the past means now).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_jittered_fractions_of_doubling_capped_ceilings() {
        // The same seed draws the same fractions, so the exact sequence is known.
        let mut draws = Jitter::seeded(9);
        let mut backoff = Backoff::new(BASE_DELAY, MAX_DELAY, Jitter::seeded(9));
        for ceiling in [1, 2, 4, 8, 16, 32, 60, 60, 60] {
            let want = Duration::from_secs(ceiling)
                .mul_f64(draws.next_unit())
                .max(MIN_DELAY);
            assert_eq!(backoff.next_delay(), want, "ceiling {ceiling}s");
        }
        backoff.reset();
        let want = BASE_DELAY.mul_f64(draws.next_unit()).max(MIN_DELAY);
        assert_eq!(backoff.next_delay(), want, "reset starts over at the base");
    }

    #[test]
    fn jitter_spreads_over_the_whole_range() {
        let mut jitter = Jitter::seeded(42);
        let draws: Vec<f64> = (0..10_000).map(|_| jitter.next_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.1).count();
        let high = draws.iter().filter(|d| **d >= 0.9).count();
        assert!((700..1300).contains(&low), "{low}");
        assert!((700..1300).contains(&high), "{high}");
    }

    #[test]
    fn cap_below_base_is_respected() {
        let mut backoff = Backoff::new(BASE_DELAY, Duration::from_millis(300), Jitter::seeded(7));
        for _ in 0..20 {
            let delay = backoff.next_delay();
            assert!(
                delay <= Duration::from_millis(300) && delay >= MIN_DELAY,
                "{delay:?}"
            );
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(classify(200, String::new(), None), Verdict::Delivered);
        assert_eq!(classify(202, String::new(), None), Verdict::Delivered);
        for status in [429, 500, 502, 503, 504] {
            assert!(
                matches!(classify(status, "x".into(), None), Verdict::Retry { .. }),
                "{status}"
            );
        }
        for status in [400, 401, 402, 404, 413] {
            assert!(
                matches!(classify(status, "x".into(), None), Verdict::Rejected { .. }),
                "{status}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }
}
