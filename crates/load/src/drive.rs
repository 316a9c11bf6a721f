//! Driving calls: `concurrency` tasks call in a loop until the time is up, each recording its
//! latencies in a histogram; the histograms are merged at the end.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Calls answered OK.
    pub ok: u64,
    /// Calls answered with an error.
    pub errors: u64,
    /// The first error seen, if any, for the report.
    pub first_error: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latencies of OK calls, in microseconds.
    pub latency: Histogram<u64>,
}

impl Measured {
    /// OK calls per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency percentile in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        self.latency.value_at_quantile(p / 100.0) as f64 / 1000.0
    }

    /// The largest latency in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

/// Calls `call(sequence_number)` from `concurrency` tasks until `duration` has passed.
pub async fn drive<F, Fut>(concurrency: usize, duration: Duration, call: F) -> Measured
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (call, next) = (call.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("valid bounds");
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            while Instant::now() < deadline {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                match call(n).await {
                    Ok(()) => {
                        ok += 1;
                        latency.saturating_record(t.elapsed().as_micros() as u64);
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (ok, errors, first_error, latency)
        }));
    }
    let mut total = Measured {
        ok: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds"),
    };
    for task in tasks {
        if let Ok((ok, errors, first_error, latency)) = task.await {
            total.ok += ok;
            total.errors += errors;
            if total.first_error.is_none() {
                total.first_error = first_error;
            }
            let _ = total.latency.add(&latency);
        }
    }
    total.elapsed = started.elapsed();
    total
}
