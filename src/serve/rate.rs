//! A token bucket per API key (or, for requests without one, per address): `rate` requests a
//! second on average, bursts of up to `burst`. Many agents may share a key, so the burst is
//! generous; what it stops is one runaway sender.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct RateLimit<K = i64> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> RateLimit<K> {
    /// Past this many buckets the full ones are forgotten (a full bucket is as good as none), so
    /// that senders from ever new addresses cannot grow the map without bound.
    const PRUNE_AT: usize = 65_536;

    pub fn new(rate: u32, burst: u32) -> RateLimit<K> {
        RateLimit {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` at `now`; when there is none, how long until there is.
    pub fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update; the counts are still
        // numbers.
        let mut buckets = self.buckets.lock().unwrap_or_else(|err| err.into_inner());
        if buckets.len() >= Self::PRUNE_AT {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, bucket| {
                bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * rate
                    < burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_and_keys_apart() {
        let limit = RateLimit::new(20, 100);
        let start = Instant::now();
        for _ in 0..100 {
            assert!(limit.take(1, start).is_ok());
        }
        let wait = limit.take(1, start).expect_err("the burst is spent");
        assert_eq!(wait, Duration::from_millis(50));
        // Another key has its own bucket.
        assert!(limit.take(2, start).is_ok());
        // A second later, twenty more.
        let later = start + Duration::from_secs(1);
        for _ in 0..20 {
            assert!(limit.take(1, later).is_ok());
        }
        assert!(limit.take(1, later).is_err());
        // Idle for long, the bucket refills to the burst and no further.
        let much_later = later + Duration::from_secs(3600);
        for _ in 0..100 {
            assert!(limit.take(1, much_later).is_ok());
        }
        assert!(limit.take(1, much_later).is_err());
    }
}
