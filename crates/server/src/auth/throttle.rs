//! Abuse limits: token-bucket rate limits per key and per peer address (governor), an
//! exponential back-off after repeated failures on one report reference, and sign-in throttling
//! per account and address that slows guessers without locking the owner out.

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

/// Attempts without success on one key, and until when the next one must wait.
#[derive(Debug, Clone, Copy)]
struct Streak {
    attempts: u32,
    until: Instant,
    last: Instant,
}

impl Streak {
    fn new(now: Instant) -> Self {
        Self { attempts: 0, until: now, last: now }
    }

    /// The wait still to run, if any.
    fn wait(&self, now: Instant) -> Option<Duration> {
        (self.until > now).then(|| self.until - now)
    }

    /// Counts an attempt; from the `free`-th on, each one makes the next wait twice as long as
    /// the last (1 s, 2 s, 4 s, ... up to [`MAX_WAIT`]).
    fn count(&mut self, now: Instant, free: u32) {
        self.attempts = self.attempts.saturating_add(1);
        self.last = now;
        if self.attempts >= free {
            let doublings = (self.attempts - free).min(20);
            self.until = now + Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
        }
    }

    /// Not waiting, and no attempt for `span`.
    fn quiet_for(&self, now: Instant, span: Duration) -> bool {
        self.until <= now && now.duration_since(self.last) >= span
    }
}

/// Makes room for `key` in a map kept under [`MAX_KEYS`]: forgets keys quiet for the longest
/// wait, then any not waiting (waits are kept, or a flood of new keys would lift them). False
/// when every key is waiting.
fn make_room<K, Q, V>(map: &mut HashMap<K, V>, key: &Q, now: Instant, streak: fn(&V) -> &Streak) -> bool
where
    K: std::borrow::Borrow<Q> + Eq + std::hash::Hash,
    Q: Eq + std::hash::Hash + ?Sized,
{
    if map.contains_key(key) || map.len() < MAX_KEYS {
        return true;
    }
    map.retain(|_, v| !streak(v).quiet_for(now, MAX_WAIT));
    if map.len() >= MAX_KEYS {
        map.retain(|_, v| streak(v).wait(now).is_some());
    }
    map.len() < MAX_KEYS
}

/// Attempts without success on one account, from all addresses together, before the account
/// backs off as a whole.
const ACCOUNT_FREE_ATTEMPTS: u32 = 50;
/// How long an account's count is kept after its last attempt.
const ACCOUNT_MEMORY: Duration = Duration::from_secs(60 * 60);

/// Throttling of guesses at a secret (an account's password, a report's follow-up secret) that
/// slows guessers without locking the owner out. "Account" below is what the secret opens: a user
/// name, or a report reference.
///
/// Each (account, address) pair counts attempts until one succeeds and, after [`FREE_ATTEMPTS`],
/// makes each further attempt wait twice as long as the last, up to [`MAX_WAIT`]: a guesser at one
/// address waits there, and the owner elsewhere does not notice. A token bucket would also slow
/// the owner's successful attempts and would never lengthen the wait, which is what stops
/// guessing, so this small counter is written here rather than taken from a rate-limit crate. A guesser spread over many addresses
/// meets the account's own count: past [`ACCOUNT_FREE_ATTEMPTS`] attempts without success from
/// all addresses together, the account backs off too, and while it waits every address that has
/// failed for it waits with it. Each new address then gets one guess, and the failed ones share
/// one attempt per account wait. An address that has not failed for the account, or that signed
/// in to it before, is never held back by the account's count: the right password from it signs
/// in at once. An attempt counts when it starts, at both levels, so simultaneous guesses get no
/// more tries than a sequence.
#[derive(Default)]
pub struct GuessThrottle {
    state: Mutex<SignIns>,
}

#[derive(Default)]
struct SignIns {
    /// Per (account, address key).
    pairs: HashMap<(String, String), Pair>,
    /// Per account, from every address.
    accounts: HashMap<String, Streak>,
}

struct Pair {
    streak: Streak,
    /// The account signed in from this address before (its owner's, most likely).
    signed_in: bool,
}

impl GuessThrottle {
    /// Starts a sign-in to `account` from `address` (an [`address_key`]): `Err(wait)` while it
    /// must wait, else the attempt is counted (call [`GuessThrottle::succeeded`] when it
    /// succeeds).
    pub fn attempt(&self, account: &str, address: &str) -> Result<(), Duration> {
        self.attempt_at(account, address, Instant::now())
    }

    fn attempt_at(&self, account: &str, address: &str, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let SignIns { pairs, accounts } = &mut *state;
        if accounts.get(account).is_some_and(|a| a.quiet_for(now, ACCOUNT_MEMORY)) {
            accounts.remove(account);
        }
        let key = (account.to_owned(), address.to_owned());
        let pair = pairs.get(&key);
        if let Some(wait) = pair.and_then(|p| p.streak.wait(now)) {
            return Err(wait);
        }
        let failed_here = pair.is_some_and(|p| p.streak.attempts > 0 && !p.signed_in);
        if failed_here && let Some(wait) = accounts.get(account).and_then(|a| a.wait(now)) {
            return Err(wait);
        }
        if !make_room(pairs, &key, now, |p| &p.streak) || !make_room(accounts, account, now, |s| s) {
            return Err(Duration::from_secs(1));
        }
        let pair = pairs.entry(key).or_insert_with(|| Pair { streak: Streak::new(now), signed_in: false });
        pair.streak.count(now, FREE_ATTEMPTS);
        accounts.entry(account.to_owned()).or_insert_with(|| Streak::new(now)).count(now, ACCOUNT_FREE_ATTEMPTS);
        Ok(())
    }

    /// Records a successful sign-in: the address starts afresh and is known to the account; the
    /// attempt no longer counts for the account (other addresses' failures still do).
    pub fn succeeded(&self, account: &str, address: &str) {
        self.succeeded_at(account, address, Instant::now());
    }

    fn succeeded_at(&self, account: &str, address: &str, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pair) = state.pairs.get_mut(&(account.to_owned(), address.to_owned())) {
            *pair = Pair { streak: Streak::new(now), signed_in: true };
        }
        if let Some(streak) = state.accounts.get_mut(account) {
            streak.attempts = streak.attempts.saturating_sub(1);
        }
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
        let b = GuessThrottle::default();
        for _ in 0..FREE_ATTEMPTS {
            assert!(b.attempt("ST-7K3M-9QXD", "10.0.0.1").is_ok());
        }
        let first = b.attempt("ST-7K3M-9QXD", "10.0.0.1").unwrap_err();
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(500), "{first:?}");
        assert!(b.attempt("ST-AAAA-AAAA", "10.0.0.1").is_ok(), "other keys are not affected");
        assert!(b.attempt("ST-7K3M-9QXD", "10.0.0.2").is_ok(), "nor other addresses");
        b.succeeded("ST-7K3M-9QXD", "10.0.0.1");
        assert!(b.attempt("ST-7K3M-9QXD", "10.0.0.1").is_ok());
    }

    #[test]
    fn the_wait_doubles_with_each_attempt_past_the_free_ones() {
        let b = GuessThrottle::default();
        let now = Instant::now();
        for _ in 0..FREE_ATTEMPTS {
            b.attempt_at("ann", "10.0.0.1", now).unwrap();
        }
        // Once the first wait (one second) has passed, the next attempt locks for two seconds.
        let later = now + Duration::from_secs(1);
        b.attempt_at("ann", "10.0.0.1", later).unwrap();
        let second = b.attempt_at("ann", "10.0.0.1", later).unwrap_err();
        assert!(second > Duration::from_millis(1500) && second <= Duration::from_secs(2), "{second:?}");
    }

    #[test]
    fn failed_sign_ins_hold_back_their_address_and_not_the_owner_elsewhere() {
        let t = GuessThrottle::default();
        let now = Instant::now();
        for _ in 0..FREE_ATTEMPTS {
            t.attempt_at("alice", "198.51.100.1", now).unwrap();
        }
        let wait = t.attempt_at("alice", "198.51.100.1", now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        // The owner at another address is checked at once and signs in; the guesser still waits.
        t.attempt_at("alice", "203.0.113.7", now).unwrap();
        t.succeeded_at("alice", "203.0.113.7", now);
        assert!(t.attempt_at("alice", "198.51.100.1", now).is_err());
        // The guesser's address is free for other accounts, and its wait doubles as before.
        t.attempt_at("bob", "198.51.100.1", now).unwrap();
        let later = now + Duration::from_secs(1);
        t.attempt_at("alice", "198.51.100.1", later).unwrap();
        assert_eq!(t.attempt_at("alice", "198.51.100.1", later), Err(Duration::from_secs(2)));
        // A success from the guesser's address (the owner mistyping) clears its count.
        let after = later + Duration::from_secs(2);
        t.attempt_at("alice", "198.51.100.1", after).unwrap();
        t.succeeded_at("alice", "198.51.100.1", after);
        for _ in 0..FREE_ATTEMPTS {
            t.attempt_at("alice", "198.51.100.1", after).unwrap();
        }
    }

    #[test]
    fn guessing_from_many_addresses_backs_the_account_off_for_the_addresses_that_failed() {
        let t = GuessThrottle::default();
        let now = Instant::now();
        // The owner signed in from home before the guessing started.
        t.attempt_at("alice", "home", now).unwrap();
        t.succeeded_at("alice", "home", now);
        let guesser = |i: u32| format!("198.51.{}.{}", i / 256, i % 256);
        for i in 0..ACCOUNT_FREE_ATTEMPTS {
            t.attempt_at("alice", &guesser(i), now).unwrap();
        }
        // The account now waits, and an address that failed once waits with it...
        assert_eq!(t.attempt_at("alice", &guesser(0), now), Err(Duration::from_secs(1)));
        // ...a new address gets one guess, then waits too (the account's wait doubled), though
        // its own count is one.
        t.attempt_at("alice", "new", now).unwrap();
        assert_eq!(t.attempt_at("alice", "new", now), Err(Duration::from_secs(2)));
        // An address that has not failed is always checked, and so is the owner's at home even
        // after a typo there.
        t.attempt_at("alice", "cafe", now).unwrap();
        t.succeeded_at("alice", "cafe", now);
        t.attempt_at("alice", "home", now).unwrap();
        t.attempt_at("alice", "home", now).unwrap();
        // Other accounts are not affected.
        t.attempt_at("bob", &guesser(0), now).unwrap();
        // When the account's wait has passed, the failed addresses share one attempt, which
        // makes the account wait again.
        let later = now + MAX_WAIT + Duration::from_secs(1);
        t.attempt_at("alice", &guesser(1), later).unwrap();
        assert!(t.attempt_at("alice", &guesser(2), later).is_err());
        // An hour without attempts forgets the account's count, not the addresses'.
        let quiet = later + MAX_WAIT + ACCOUNT_MEMORY;
        t.attempt_at("alice", &guesser(3), quiet).unwrap();
        t.attempt_at("alice", &guesser(4), quiet).unwrap();
        assert_eq!(t.state.lock().unwrap().accounts["alice"].attempts, 2);
    }
}
