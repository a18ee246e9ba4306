//! An execution serialised mid-run and resumed (on a freshly loaded machine, as after a
//! restart) ends exactly like one run straight through.

use crate::support::*;
use asl::{Clock, Execution, Status, TaskError};
use serde_json::json;

const DEF: &str = r#"{
  "StartAt": "One",
  "States": {
    "One": {"Type": "Task", "Resource": "one", "ResultPath": "$.one", "Next": "Pause",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 5, "MaxAttempts": 3}]},
    "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Route"},
    "Route": {"Type": "Choice", "Choices": [{"Variable": "$.one.n", "NumericGreaterThan": 1, "Next": "Two"}], "Default": "Done"},
    "Two": {"Type": "Task", "Resource": "two", "ResultPath": "$.two", "Next": "Done"},
    "Done": {"Type": "Pass", "Parameters": {"one.$": "$.one", "two.$": "$.two", "tag": "end"}, "End": true}
  }
}"#;

fn tasks() -> Tasks {
    Tasks::default()
        .on("one", |_, n| {
            if n < 2 {
                Err(TaskError::new("Flaky", "not yet"))
            } else {
                Ok(json!({"n": 2}))
            }
        })
        .on("two", |input, _| Ok(json!({"seen": input["one"]["n"]})))
}

#[tokio::test(start_paused = true)]
async fn resumed_at_every_step_it_ends_like_a_straight_run() {
    let straight = run(
        &machine(DEF),
        json!({"x": 1}),
        &tasks(),
        &Recorder::default(),
    )
    .await;
    let Status::Succeeded { output: expected } = &straight.status else {
        panic!("{:?}", straight.status)
    };
    assert_eq!(
        expected,
        &json!({"one": {"n": 2}, "two": {"seen": 2}, "tag": "end"})
    );

    // Persist after every step; "restart" (new machine, tasks and clock) before each step.
    let tasks = tasks();
    let clock = clock();
    let mut saved = serde_json::to_string(&machine(DEF).start(
        "run-1",
        json!({"x": 1}),
        &clock,
        &Recorder::default(),
    ))
    .unwrap();
    let mut steps = 0;
    loop {
        let m = machine(DEF);
        let mut ex: Execution = serde_json::from_str(&saved).unwrap();
        let running = m.step(&mut ex, &tasks, &Recorder::default(), &clock).await;
        saved = serde_json::to_string(&ex).unwrap();
        steps += 1;
        if !running {
            break;
        }
        assert!(steps < 50);
    }
    let resumed: Execution = serde_json::from_str(&saved).unwrap();
    assert_eq!(resumed.status, straight.status);
    assert_eq!(
        tasks.inputs("one").len(),
        3,
        "the retries were not repeated or lost"
    );
    assert_eq!(resumed.transitions, straight.transitions);
}

#[tokio::test(start_paused = true)]
async fn a_resumed_retry_keeps_its_count_and_deadline() {
    let m = machine(DEF);
    let tasks = tasks();
    let clock = clock();
    let mut ex = m.start("run-1", json!({}), &clock, &Recorder::default());
    m.step(&mut ex, &tasks, &Recorder::default(), &clock).await; // attempt 1 fails
    let pos = ex.position.clone().unwrap();
    assert_eq!(pos.retry_count, 1);
    let not_before = pos.not_before.expect("a retry is scheduled");
    let saved = serde_json::to_value(&ex).unwrap();
    let mut resumed: Execution = serde_json::from_value(saved).unwrap();
    let before = tokio::time::Instant::now();
    machine(DEF)
        .step(&mut resumed, &tasks, &Recorder::default(), &clock)
        .await; // attempt 2 fails
    assert_eq!(
        before.elapsed().as_secs(),
        5,
        "waited out the persisted delay"
    );
    assert!(clock.now() >= not_before);
    assert_eq!(resumed.position.unwrap().retry_count, 2);
}
