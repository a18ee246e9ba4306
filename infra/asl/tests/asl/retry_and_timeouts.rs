//! Retry timing under paused tokio time, jitter bounds, MaxAttempts 0, RetryCount in the
//! context object; task and machine timeouts.

use crate::support::*;
use asl::{Observation, Status, TaskError};
use serde_json::json;
use std::time::Duration;

fn retrying_machine(retrier: serde_json::Value) -> asl::Machine {
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task", "Resource": "t", "End": true,
                "Parameters": {"retry_count.$": "$$.State.RetryCount"},
                "Retry": [retrier],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gave up", "ResultPath": "$.error"}]
            },
            "Gave up": {"Type": "Pass", "End": true}
        }
    });
    machine(&def.to_string())
}

fn failing(times: u32) -> Tasks {
    Tasks::default().on("t", move |_, n| {
        if n < times {
            Err(TaskError::new(
                "ZeroToShip.Transient",
                format!("failure {n}"),
            ))
        } else {
            Ok(json!("ok"))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn delays_follow_interval_backoff_and_max_delay() {
    let m = retrying_machine(json!({
        "ErrorEquals": ["ZeroToShip.Transient"], "IntervalSeconds": 3, "BackoffRate": 2.0,
        "MaxAttempts": 5, "MaxDelaySeconds": 10, "JitterStrategy": "NONE"
    }));
    let tasks = failing(4);
    let recorder = Recorder::default();
    let ex = run(&m, json!({}), &tasks, &recorder).await;
    assert_eq!(
        ex.status,
        Status::Succeeded {
            output: json!("ok")
        }
    );
    // 3, 6, 12→10, 24→10 seconds.
    assert_eq!(
        recorder.retry_delays_ms(),
        vec![3_000, 6_000, 10_000, 10_000]
    );
    let times = tasks.times("t");
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    assert_eq!(
        gaps,
        vec![3_000, 6_000, 10_000, 10_000],
        "the waits actually taken"
    );
    let counts: Vec<serde_json::Value> = tasks
        .inputs("t")
        .into_iter()
        .map(|i| i["retry_count"].clone())
        .collect();
    assert_eq!(
        counts,
        vec![json!(0), json!(1), json!(2), json!(3), json!(4)]
    );
}

#[tokio::test(start_paused = true)]
async fn fractional_backoff_and_exhaustion_goes_to_catch() {
    let m = retrying_machine(json!({
        "ErrorEquals": ["ZeroToShip.Transient"], "IntervalSeconds": 2, "BackoffRate": 1.5, "MaxAttempts": 3
    }));
    let tasks = failing(100);
    let recorder = Recorder::default();
    let ex = run(&m, json!({}), &tasks, &recorder).await;
    assert_eq!(recorder.retry_delays_ms(), vec![2_000, 3_000, 4_500]);
    assert_eq!(
        tasks.inputs("t").len(),
        4,
        "one attempt plus MaxAttempts retries"
    );
    let Status::Succeeded { output } = ex.status else {
        panic!("{:?}", ex.status)
    };
    assert_eq!(output["error"]["Error"], "ZeroToShip.Transient");
    assert_eq!(output["error"]["Cause"], "failure 3");
}

#[tokio::test(start_paused = true)]
async fn full_jitter_stays_within_the_backoff_bound() {
    let m = retrying_machine(json!({
        "ErrorEquals": ["ZeroToShip.Transient"], "IntervalSeconds": 4, "BackoffRate": 2.0,
        "MaxAttempts": 3, "JitterStrategy": "FULL"
    }));
    let mut all = Vec::new();
    for _ in 0..40 {
        let recorder = Recorder::default();
        run(&m, json!({}), &failing(3), &recorder).await;
        let delays = recorder.retry_delays_ms();
        assert_eq!(delays.len(), 3);
        for (delay, bound) in delays.iter().zip([4_000, 8_000, 16_000]) {
            assert!(*delay <= bound, "{delay} ms over {bound} ms");
        }
        all.extend(delays);
    }
    // Jitter really varies the delays (120 draws from [0, bound] are never all equal).
    all.sort();
    all.dedup();
    assert!(
        all.len() > 10,
        "jitter produced only {} distinct delays",
        all.len()
    );
}

#[tokio::test(start_paused = true)]
async fn max_attempts_zero_never_retries() {
    let m = retrying_machine(json!({"ErrorEquals": ["ZeroToShip.Transient"], "MaxAttempts": 0}));
    let tasks = failing(1);
    let recorder = Recorder::default();
    let ex = run(&m, json!({}), &tasks, &recorder).await;
    assert_eq!(tasks.inputs("t").len(), 1);
    assert!(recorder.retry_delays_ms().is_empty());
    let Status::Succeeded { output } = ex.status else {
        panic!("{:?}", ex.status)
    };
    assert_eq!(
        output["error"]["Error"], "ZeroToShip.Transient",
        "caught after no retry"
    );
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_retrier_does_not_fall_through_to_a_later_one() {
    let def = json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "t", "End": true, "Retry": [
            {"ErrorEquals": ["ZeroToShip.Transient"], "MaxAttempts": 1, "IntervalSeconds": 1},
            {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5, "IntervalSeconds": 1}
        ]}}
    });
    let tasks = failing(10);
    let ex = run(
        &machine(&def.to_string()),
        json!({}),
        &tasks,
        &Recorder::default(),
    )
    .await;
    assert_eq!(tasks.inputs("t").len(), 2);
    assert!(
        matches!(ex.status, Status::Failed { ref error, .. } if error == "ZeroToShip.Transient")
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_task_times_out_and_is_retried_as_declared() {
    let def = json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "t", "End": true, "TimeoutSeconds": 5,
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1, "IntervalSeconds": 2}]}}
    });
    // First call sleeps past the timeout; the retry is fast.
    struct FirstSlow(Tasks, std::sync::atomic::AtomicU32);
    #[async_trait::async_trait]
    impl asl::TaskHandler for FirstSlow {
        async fn invoke(
            &self,
            r: &str,
            input: serde_json::Value,
        ) -> Result<serde_json::Value, TaskError> {
            if self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            self.0.invoke(r, input).await
        }
    }
    let tasks = FirstSlow(
        Tasks::default().on("t", |_, _| Ok(json!("done"))),
        Default::default(),
    );
    let recorder = Recorder::default();
    let clock = clock();
    let m = machine(&def.to_string());
    let started = tokio::time::Instant::now();
    let mut ex = m.start("x", json!({}), &clock, &recorder);
    m.run(&mut ex, &tasks, &recorder, &clock, |_| {}).await;
    assert_eq!(
        ex.status,
        Status::Succeeded {
            output: json!("done")
        }
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(5 + 2),
        "timed out at 5 s, retried after 2 s"
    );
    assert!(
        recorder.all().iter().any(
            |o| matches!(o, Observation::TaskFailed { error, .. } if error == "States.Timeout")
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_caught_when_no_retrier_matches() {
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "t", "End": true, "TimeoutSeconds": 3,
                  "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late", "ResultPath": "$.why"}]},
            "Late": {"Type": "Pass", "End": true}
        }
    });
    let tasks = Tasks::default()
        .on("t", |_, _| Ok(json!(1)))
        .slow("t", Duration::from_secs(10));
    let ex = run(
        &machine(&def.to_string()),
        json!({"a": 1}),
        &tasks,
        &Recorder::default(),
    )
    .await;
    let Status::Succeeded { output } = ex.status else {
        panic!("{:?}", ex.status)
    };
    assert_eq!(output["why"]["Error"], "States.Timeout");
    assert_eq!(output["a"], 1);
}

#[tokio::test(start_paused = true)]
async fn the_machine_timeout_ends_the_run_whatever_the_retriers_say() {
    let def = json!({
        "StartAt": "T",
        "TimeoutSeconds": 30,
        "States": {"T": {"Type": "Task", "Resource": "t", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 99, "IntervalSeconds": 10, "BackoffRate": 1.0}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Never"}]},
            "Never": {"Type": "Succeed"}}
    });
    let tasks = failing(1_000);
    let started = tokio::time::Instant::now();
    let ex = run(
        &machine(&def.to_string()),
        json!({}),
        &tasks,
        &Recorder::default(),
    )
    .await;
    assert_eq!(
        ex.status,
        Status::Failed {
            error: "States.Timeout".into(),
            cause: "the execution timed out".into()
        }
    );
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(tasks.inputs("t").len(), 3, "attempts at 0, 10 and 20 s");
}
