//! Abuse limits: token-bucket rate limits per key and per peer address (governor), and an
//! exponential back-off after repeated failures on one account or one report reference.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// A rate: calls per second, and how many may come at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained calls per second; 0 turns the limit off.
    pub per_second: u32,
    /// Burst allowance.
    pub burst: u32,
}

/// A rate limit per key (an API key, a peer address, an account).
pub struct Limiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    pruned: Mutex<Instant>,
}

impl Limiter {
    /// A limiter at `rate`; `per_second == 0` never limits.
    pub fn new(rate: Rate) -> Self {
        let limiter = NonZeroU32::new(rate.per_second).map(|per_second| {
            let burst = NonZeroU32::new(rate.burst.max(rate.per_second)).unwrap_or(per_second);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        });
        Self { limiter, pruned: Mutex::new(Instant::now()) }
    }

    /// Takes one call for `key`; `Err(wait)` when over the limit.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        let outcome = limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).max(Duration::from_millis(1)));
        // Forget idle keys now and then (at most once a second: it walks them all), so a scan
        // from many addresses does not grow memory forever.
        if limiter.len() > 100_000 {
            let mut pruned = self.pruned.lock().unwrap_or_else(PoisonError::into_inner);
            if pruned.elapsed() >= Duration::from_secs(1) {
                *pruned = Instant::now();
                limiter.retain_recent();
            }
        }
        outcome
    }
}

/// Attempts before the back-off starts.
const FREE_ATTEMPTS: u32 = 5;
/// The longest wait after repeated failures.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most.
const MAX_KEYS: usize = 100_000;

/// Counts attempts per key (an account name, a report reference) until one succeeds and, after
/// [`FREE_ATTEMPTS`], makes each further attempt wait twice as long as the last, up to
/// [`MAX_WAIT`]. An attempt counts when it starts, so a burst of simultaneous guesses gets no
/// more tries than a sequence. A token bucket would also slow the owner's successful attempts
/// and would never lengthen the wait, which is what stops guessing, so this small counter is
/// written here rather than taken from a rate-limit crate.
#[derive(Default)]
pub struct Backoff {
    /// Per key: attempts without success, locked until, last attempt.
    state: Mutex<HashMap<String, (u32, Instant, Instant)>>,
}

impl Backoff {
    /// Starts an attempt for `key`: `Err(wait)` while it must wait, else the attempt is counted
    /// (call [`Backoff::succeeded`] when it succeeds).
    pub fn attempt(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&(_, until, _)) = state.get(key)
            && until > now
        {
            return Err(until - now);
        }
        if !state.contains_key(key) && state.len() >= MAX_KEYS {
            // Forget keys quiet for the longest wait, then any not locked; locks are kept.
            state.retain(|_, (_, until, last)| *until > now || now.duration_since(*last) < MAX_WAIT);
            if state.len() >= MAX_KEYS {
                state.retain(|_, (_, until, _)| *until > now);
            }
            if state.len() >= MAX_KEYS {
                return Err(Duration::from_secs(1));
            }
        }
        let entry = state.entry(key.to_owned()).or_insert((0, now, now));
        entry.0 += 1;
        entry.2 = now;
        if entry.0 >= FREE_ATTEMPTS {
            let doublings = (entry.0 - FREE_ATTEMPTS).min(20);
            entry.1 = now + Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
        }
        Ok(())
    }

    /// Forgets a key after a success.
    pub fn succeeded(&self, key: &str) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

/// The key a peer address is limited by: the IPv4 address, or the IPv6 /64 (one subscriber's
/// network, which can hold any number of addresses). An IPv4-mapped address (`::ffff:a.b.c.d`,
/// how a dual-stack listener sees IPv4 peers) is its IPv4 address. IPv4-compatible addresses
/// (`::a.b.c.d`, deprecated by RFC 4291) are left as IPv6: no socket reports them, and `::1` is
/// one.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_keyed_by_address_and_ipv6_by_its_64() {
        let key = |text: &str| address_key(text.parse().unwrap());
        assert_eq!(key("10.1.2.3"), "10.1.2.3");
        assert_eq!(key("2001:db8:1:2::7"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64");
        // A dual-stack listener's IPv4 peers: each its own key, not all of ::ffff:0:0/96's /64.
        assert_eq!(key("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(key("::ffff:192.0.2.200"), "192.0.2.200");
        assert_eq!(key("::1"), "0:0:0:0::/64");
        assert_eq!(key("::10.1.2.3"), "0:0:0:0::/64", "IPv4-compatible stays IPv6");
    }

    #[test]
    fn a_limiter_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = Limiter::new(Rate { per_second: 1, burst: 3 });
        for _ in 0..3 {
            assert!(limiter.check("10.0.0.1").is_ok());
        }
        let wait = limiter.check("10.0.0.1").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check("10.0.0.2").is_ok(), "other keys are not affected");
        let off = Limiter::new(Rate { per_second: 0, burst: 0 });
        assert!((0..1000).all(|_| off.check("k").is_ok()));
    }

    #[test]
    fn backoff_starts_after_free_attempts_and_doubles() {
        let b = Backoff::default();
        for _ in 0..FREE_ATTEMPTS {
            assert!(b.attempt("ann").is_ok());
        }
        let first = b.attempt("ann").unwrap_err();
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(500), "{first:?}");
        assert!(b.attempt("bob").is_ok(), "other keys are not affected");
        b.succeeded("ann");
        assert!(b.attempt("ann").is_ok());
    }

    #[test]
    fn the_wait_doubles_with_each_attempt_past_the_free_ones() {
        let b = Backoff::default();
        for _ in 0..FREE_ATTEMPTS {
            b.attempt("ann").unwrap();
        }
        // Pretend the first wait passed: the next attempt locks for two seconds.
        b.state.lock().unwrap().get_mut("ann").unwrap().1 = Instant::now();
        b.attempt("ann").unwrap();
        let second = b.attempt("ann").unwrap_err();
        assert!(second > Duration::from_millis(1500) && second <= Duration::from_secs(2), "{second:?}");
    }
}
