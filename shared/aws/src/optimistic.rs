//! One policy for every optimistic write of this adapter (ARCHITECTURE.md §12, "Retries"):
//! a write conditioned on what was read — a version, a length, a window — that loses a race
//! to another writer, or that DynamoDB throttles, reads again and tries another round. Up
//! to [`ATTEMPTS`] rounds, each after the first waiting a back-off with full jitter (5 ms
//! doubling, capped at 320 ms), so writers that collided spread out instead of colliding
//! again; then the caller gets `StoreError::Unavailable` (a 503 with Retry-After, or a
//! step's transient failure the state machine retries).
//!
//! ```ignore
//! let mut rounds = Rounds::new("the connection kept changing; retry");
//! loop {
//!     rounds.next().await?;
//!     // read, decide, write conditionally: `return` when done, `continue` on a lost race
//! }
//! ```

use std::time::Duration;
use zts_domain::ports::StoreError;

/// Rounds an optimistic write may take. Sixteen writers committing to one project at once
/// (the conformance suite's gapless-seq case) all finish well within it.
pub(crate) const ATTEMPTS: u32 = 64;

/// The longest wait between two rounds.
const MAX_BACKOFF: Duration = Duration::from_millis(320);

/// The rounds of one optimistic write.
pub(crate) struct Rounds {
    spent: u32,
    gave_up: &'static str,
}

impl Rounds {
    /// `gave_up` is what the caller is told when every round lost.
    pub(crate) fn new(gave_up: &'static str) -> Self {
        Rounds { spent: 0, gave_up }
    }

    /// Starts the next round: at once for the first, after a jittered back-off for the
    /// others; `Unavailable` once [`ATTEMPTS`] rounds were spent.
    pub(crate) async fn next(&mut self) -> Result<(), StoreError> {
        if self.spent >= ATTEMPTS {
            return Err(StoreError::Unavailable(self.gave_up.into()));
        }
        if self.spent > 0 {
            tokio::time::sleep(jittered(backoff_cap(self.spent - 1))).await;
        }
        self.spent += 1;
        Ok(())
    }
}

/// The longest wait after the `lost`-th lost round (0-based): 5 ms doubling, capped.
fn backoff_cap(lost: u32) -> Duration {
    Duration::from_millis(5u64 << lost.min(6)).min(MAX_BACKOFF)
}

/// Full jitter: anywhere from nothing to `cap`.
fn jittered(cap: Duration) -> Duration {
    let cap_ms = cap.as_millis() as u64;
    Duration::from_millis(rand::random::<u64>() % (cap_ms + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_5_ms_to_320_ms_and_stays() {
        let caps: Vec<u64> = (0..9).map(|i| backoff_cap(i).as_millis() as u64).collect();
        assert_eq!(caps, [5, 10, 20, 40, 80, 160, 320, 320, 320]);
        for _ in 0..200 {
            assert!(jittered(Duration::from_millis(40)) <= Duration::from_millis(40));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_round_but_the_first_waits_and_the_last_one_gives_up() {
        let mut rounds = Rounds::new("kept losing");
        let started = tokio::time::Instant::now();
        rounds.next().await.expect("the first round");
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "the first round waits for nothing"
        );
        for _ in 1..ATTEMPTS {
            rounds.next().await.expect("a round within the budget");
        }
        // Never more than the caps add up to.
        let most: Duration = (0..ATTEMPTS - 1).map(backoff_cap).sum();
        assert!(
            started.elapsed() <= most,
            "{:?} > {most:?}",
            started.elapsed()
        );
        match rounds.next().await {
            Err(StoreError::Unavailable(why)) => assert_eq!(why, "kept losing"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
