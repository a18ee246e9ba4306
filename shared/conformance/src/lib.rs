//! The store conformance suite: written once, generic over the ports, run against every
//! adapter (the embedded store here, DynamoDB on a moto server in the AWS tests).
//!
//! An adapter's test file calls [`crate::project_store_conformance!`] and
//! [`crate::connection_store_conformance!`] with an async constructor; each case becomes
//! its own `#[tokio::test]`, so a failure names the property that broke.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the test kit: a failed expectation is a failed test"
)]

mod connections;
mod fixtures;
mod keys;
mod lifecycle;
mod projects;
mod pusher;
mod retention;
mod runs;
mod slots;
mod unavailable;

pub use connections::*;
pub use fixtures::*;
pub use keys::*;
pub use lifecycle::*;
pub use projects::*;
pub use pusher::RecordingPusher;
pub use retention::*;
pub use runs::*;
pub use slots::*;
pub use unavailable::UnavailableProjects;

/// Expands to one `#[tokio::test]` per project-store property. `$make` is an async
/// function returning the store (or, after `optional`, an `Option` of it); the calling
/// crate needs `tokio` with `macros`.
#[macro_export]
macro_rules! project_store_conformance {
    ($make:path) => {
        $crate::project_store_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!(
            $mode $make;
            create_writes_meta_input_and_first_event,
            create_is_atomic_when_the_id_is_taken,
            create_with_a_conflicting_key_writes_nothing,
            same_key_same_body_replays_the_same_project,
            idempotency_keys_are_per_owner,
            an_expired_idempotency_record_is_not_replayed,
            step_commit_mints_the_next_seq_and_updates_meta,
            a_repeated_commit_is_already_done,
            the_same_logical_event_written_twice_gets_one_seq,
            a_commit_in_the_wrong_state_is_rejected_and_writes_nothing,
            a_terminal_project_accepts_no_commit,
            the_happy_path_emits_exactly_the_documented_events,
            listing_pages_newest_first_and_only_the_owners,
            a_tampered_or_foreign_cursor_is_rejected,
            get_project_is_scoped_to_the_owner,
            the_first_artifact_wins,
            a_steps_success_stores_its_artifact_and_commits_once,
            a_success_after_its_artifact_was_stored_names_the_stored_one,
            events_after_pages_in_seq_order,
            commits_to_a_missing_project_are_not_found,
            counts_by_state_match_what_is_stored,
        );
    };
}

/// The project store under 16 concurrent writers on one project. Separate because it
/// needs a backend that isolates concurrent transactions: the embedded store and
/// DynamoDB do; moto does not (concurrent TransactWriteItems there interleave and even
/// answer 500 "dictionary changed size during iteration"), so the moto run leaves it out.
#[macro_export]
macro_rules! project_store_concurrency_conformance {
    ($make:path) => {
        $crate::project_store_concurrency_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!(
            $mode $make;
            seq_is_gapless_under_sixteen_concurrent_writers,
            eight_concurrent_retries_leave_gapless_events,
            one_run_comes_of_eight_concurrent_retries,
            retry_cancel_delete_and_a_step_racing_end_in_one_consistent_state,
        );
    };
}

/// Expands to one `#[tokio::test]` per connection-store property.
#[macro_export]
macro_rules! connection_store_conformance {
    ($make:path) => {
        $crate::connection_store_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!(
            $mode $make;
            connections_round_trip,
            subscriptions_are_listed_per_project_and_idempotent,
            subscribing_a_missing_connection_is_not_found,
            deleting_a_connection_removes_its_subscriptions,
            unsubscribe_removes_one_subscription,
            delivery_marks_move_only_from_what_was_read,
            open_totals_count_open_connections_and_their_subscriptions,
        );
    };
}

/// Eight concurrent conditional mark writes from one value: one wins. Separate because
/// moto does not make a conditional update atomic under concurrent requests (two can both
/// pass their condition), so, like the 16-writer case, it runs where writes are isolated.
#[macro_export]
macro_rules! connection_store_concurrency_conformance {
    ($make:path) => {
        $crate::connection_store_concurrency_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!($mode $make; concurrent_marks_from_one_value_let_one_win);
    };
}

/// Expands to one `#[tokio::test]` per key-store property.
#[macro_export]
macro_rules! key_store_conformance {
    ($make:path) => {
        $crate::key_store_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!(
            $mode $make;
            keys_round_trip_and_list,
            revoking_by_id_marks_only_that_key,
            a_ticket_works_once_and_not_after_expiry,
            the_burst_passes_then_requests_wait_per_key,
        );
    };
}

/// Expands to one `#[tokio::test]` per run-identity and reconciler property
/// (ARCHITECTURE.md §7).
#[macro_export]
macro_rules! run_identity_conformance {
    ($make:path) => {
        $crate::run_identity_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!(
            $mode $make;
            stale_runs_are_created_projects_claimed_before_the_cutoff,
            one_claim_wins_among_concurrent_claims_of_a_run,
            a_superseded_runs_commits_are_refused_and_the_current_run_is_gapless,
            the_reconciler_starts_a_lost_start_exactly_once_with_gapless_events,
            a_lost_start_restarts_on_the_workflow_the_project_chose,
            a_replay_racing_the_first_start_makes_one_run,
            a_reconciler_racing_a_slow_start_leaves_one_set_of_events,
            after_its_last_run_a_project_that_never_started_fails_with_a_reason,
        );
    };
}

/// Expands to one `#[tokio::test]` per connection-slot property.
#[macro_export]
macro_rules! connection_slots_conformance {
    ($make:path) => {
        $crate::connection_slots_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!(
            $mode $make;
            slots_are_claimed_up_to_the_cap_per_owner_and_released,
            a_slot_whose_disconnect_was_lost_frees_itself_when_it_expires,
            concurrent_claims_for_the_last_slots_never_overshoot,
        );
    };
}

/// `required`: `$make` returns the store. `optional`: it returns `Option<store>`, and a
/// `None` (the backing server is not there, outside CI) ends the case early.
#[doc(hidden)]
#[macro_export]
macro_rules! conformance_cases {
    (required $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = ::std::sync::Arc::new($make().await);
                $crate::$case(store).await;
            }
        )+
    };
    (optional $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(store) = $make().await else { return };
                $crate::$case(::std::sync::Arc::new(store)).await;
            }
        )+
    };
}

/// The sweeper's case, for stores whose items do not expire by themselves (the embedded
/// one: on DynamoDB every item carries a TTL instead, tested against moto's items).
#[macro_export]
macro_rules! retention_sweep_conformance {
    ($make:path) => {
        $crate::retention_sweep_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!($mode $make; the_reconcilers_pass_removes_expired_projects);
    };
}

/// Expands to one `#[tokio::test]` per lifecycle property: retry, cancel, export, delete
/// and purge (ARCHITECTURE.md §7).
#[macro_export]
macro_rules! lifecycle_conformance {
    ($make:path) => {
        $crate::lifecycle_conformance!(required $make);
    };
    ($mode:ident $make:path) => {
        $crate::conformance_cases!(
            $mode $make;
            a_retry_starts_at_the_failed_step_and_keeps_the_history,
            only_a_failed_project_of_the_callers_is_retried,
            a_retry_with_the_same_idempotency_key_replays,
            a_cancel_ends_the_run_and_refuses_its_late_commits,
            an_export_holds_everything_stored_about_the_project,
            a_deleted_project_is_gone_from_every_read_and_its_text_erased_at_once,
            a_running_project_is_cancelled_then_deleted_and_its_late_steps_store_nothing,
            the_purge_removes_every_item_after_the_grace_and_finishes_a_crashed_delete,
            an_ended_project_is_kept_for_the_retention_then_gone_from_every_read,
            a_retry_starts_the_clock_again,
        );
    };
}
