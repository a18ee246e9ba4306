//! The per-key limiter delivers the rate it is configured for: a client gets exactly its
//! burst at once, then — sending each request as soon as the limiter accepts it — the
//! configured rate within 1%, for rates from 0.1 to 100,000 per second and bursts from 1
//! to 100,000.

use proptest::prelude::*;
use zts_domain::auth::{Limits, gcra};

const NANOS: f64 = 1e9;
/// About now, in epoch nanoseconds.
const START_NS: i64 = 1_763_900_000_000_000_000;
/// How many emission intervals the steady-state run lasts.
const INTERVALS: i64 = 2_000;

/// A client that drains the burst at `START_NS`, then sends each request at the first
/// nanosecond the limiter accepts it (found by bisection: the limiter's answer is
/// monotonic in time), for `INTERVALS` emission intervals. So what it gets is exactly the
/// capacity the limiter offers. Returns (allowed at once, allowed afterwards, how long
/// afterwards lasted in seconds).
fn eager_client(limits: Limits) -> (u64, u64, f64) {
    let interval = NANOS / limits.rate;
    let mut tat = None;
    let mut at_once = 0u64;
    loop {
        let (decision, next) = gcra(tat, START_NS, limits);
        if !decision.allowed {
            break;
        }
        tat = next;
        at_once += 1;
        assert!(
            at_once <= u64::from(limits.burst),
            "more than the burst at once"
        );
    }
    let end = START_NS + (interval * INTERVALS as f64) as i64;
    let mut now = START_NS;
    let mut later = 0u64;
    loop {
        // The earliest time in (now, now + 2 intervals] at which a request passes.
        let (mut lo, mut hi) = (now, now + (2.0 * interval) as i64 + 1);
        assert!(
            gcra(tat, hi, limits).0.allowed,
            "{limits:?}: nothing passes within two intervals"
        );
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if gcra(tat, mid, limits).0.allowed {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        if hi > end {
            break;
        }
        now = hi;
        let (decision, next) = gcra(tat, now, limits);
        assert!(decision.allowed);
        tat = next;
        later += 1;
    }
    (at_once, later, (end - START_NS) as f64 / NANOS)
}

fn assert_delivers(limits: Limits) {
    let (at_once, later, seconds) = eager_client(limits);
    assert_eq!(at_once, u64::from(limits.burst), "{limits:?}: the burst");
    let delivered = later as f64 / seconds;
    let error = (delivered - limits.rate).abs() / limits.rate;
    assert!(
        error <= 0.01,
        "{limits:?}: delivered {delivered:.3}/s over {seconds:.1} s ({:.2}% off)",
        error * 100.0
    );
}

#[test]
fn the_rates_that_used_to_round_to_whole_milliseconds() {
    // Whole-millisecond TATs delivered about 250/s for 300/s and capped everything at 1,000/s.
    for (rate, burst) in [
        (300.0, 20),
        (1_000.0, 1),
        (3_000.0, 50),
        (100_000.0, 100_000),
    ] {
        assert_delivers(Limits { rate, burst });
    }
    assert_delivers(Limits {
        rate: 0.1,
        burst: 1,
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_delivered_rate_is_the_configured_rate(
        rate_exp in -1.0f64..=5.0,
        burst_exp in 0.0f64..=5.0,
    ) {
        let rate = 10f64.powf(rate_exp);
        let burst = (10f64.powf(burst_exp).round() as u32).clamp(1, 100_000);
        assert_delivers(Limits { rate, burst });
    }
}
