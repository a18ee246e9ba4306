//! The Amazon States Language specification's examples for paths, Parameters,
//! ResultPath, Choice, Retry and Catch, each with its expected output.

use crate::support::*;
use asl::Status;
use serde_json::{Value, json};

fn succeeded(ex: &asl::Execution) -> Value {
    match &ex.status {
        Status::Succeeded { output } => output.clone(),
        other => panic!("expected success, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn input_path_result_path_and_output_path() {
    // The specification's "numbers to add" example.
    let m = machine(
        r#"{
      "StartAt": "Add",
      "States": {
        "Add": {"Type": "Task", "Resource": "add", "InputPath": "$.numbers", "ResultPath": "$.sum", "End": true}
      }
    }"#,
    );
    let tasks = Tasks::default().on("add", |input, _| {
        Ok(json!(
            input["val1"].as_i64().unwrap() + input["val2"].as_i64().unwrap()
        ))
    });
    let ex = run(
        &m,
        json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}}),
        &tasks,
        &Recorder::default(),
    )
    .await;
    assert_eq!(tasks.inputs("add"), vec![json!({"val1": 3, "val2": 4})]);
    assert_eq!(
        succeeded(&ex),
        json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7})
    );
}

#[tokio::test(start_paused = true)]
async fn output_path_selects_part_of_the_result() {
    let m = machine(
        r#"{
      "StartAt": "Add",
      "States": {
        "Add": {"Type": "Task", "Resource": "add", "InputPath": "$.numbers", "ResultPath": "$.sum", "OutputPath": "$.sum", "End": true}
      }
    }"#,
    );
    let tasks = Tasks::default().on("add", |_, _| Ok(json!(7)));
    let ex = run(
        &m,
        json!({"numbers": {"val1": 3, "val2": 4}}),
        &tasks,
        &Recorder::default(),
    )
    .await;
    assert_eq!(succeeded(&ex), json!(7));
}

#[tokio::test(start_paused = true)]
async fn parameters_with_paths_context_and_intrinsics() {
    // The specification's Parameters example, plus the context object and States.Format.
    let m = machine(
        r#"{
      "StartAt": "X",
      "States": {
        "X": {
          "Type": "Task", "Resource": "x", "End": true,
          "Parameters": {
            "flagged": true,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3]"},
            "weekday.$": "$$.Execution.Name",
            "greeting.$": "States.Format('Hello, {}! You have {} items.', $.user, $.count)",
            "nested": [{"keep.$": "$.user"}]
          },
          "ResultSelector": {"echo.$": "$", "status": "ok"}
        }
      }
    }"#,
    );
    let tasks = Tasks::default().on("x", |input, _| Ok(input.clone()));
    let ex = run(
        &m,
        json!({"vals": [0, 10, 20, 30, 40, 50], "user": "Ada", "count": 3}),
        &tasks,
        &Recorder::default(),
    )
    .await;
    let expected_params = json!({
        "flagged": true,
        "parts": {"first": 0, "last3": 30},
        "weekday": "run-1",
        "greeting": "Hello, Ada! You have 3 items.",
        "nested": [{"keep": "Ada"}]
    });
    assert_eq!(tasks.inputs("x"), vec![expected_params.clone()]);
    assert_eq!(
        succeeded(&ex),
        json!({"echo": expected_params, "status": "ok"})
    );
}

#[tokio::test(start_paused = true)]
async fn result_path_variants() {
    // The specification's ResultPath examples: replace a node, discard, replace all.
    let cases = [
        (
            json!("$.master.detail"),
            json!({"master": {"detail": "hello"}}),
        ),
        (Value::Null, json!({"master": {"detail": [1, 2, 3]}})),
        (json!("$"), json!("hello")),
        (
            json!("$.extra.deep"),
            json!({"master": {"detail": [1, 2, 3]}, "extra": {"deep": "hello"}}),
        ),
    ];
    for (result_path, expected) in cases {
        let def = json!({
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Result": "hello", "ResultPath": result_path, "End": true}}
        });
        let m = machine(&def.to_string());
        let ex = run(
            &m,
            json!({"master": {"detail": [1, 2, 3]}}),
            &Tasks::default(),
            &Recorder::default(),
        )
        .await;
        assert_eq!(succeeded(&ex), expected, "ResultPath {result_path}");
    }
}

#[tokio::test(start_paused = true)]
async fn choice_rules_from_the_specification() {
    let m = machine(
        r#"{
      "StartAt": "ChoiceStateX",
      "States": {
        "ChoiceStateX": {
          "Type": "Choice",
          "Choices": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"And": [
               {"Variable": "$.value", "IsPresent": true},
               {"Variable": "$.value", "IsNumeric": true},
               {"Variable": "$.value", "NumericGreaterThanEquals": 20},
               {"Variable": "$.value", "NumericLessThan": 30}
             ], "Next": "ValueInTwenties"},
            {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold", "Next": "StartAudit"},
            {"Or": [
               {"Variable": "$.name", "StringMatches": "log-*.txt"},
               {"Variable": "$.when", "TimestampLessThan": "2020-01-01T00:00:00Z"}
             ], "Next": "Legacy"}
          ],
          "Default": "RecordEvent"
        },
        "Public": {"Type": "Pass", "Result": "Public", "End": true},
        "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": true},
        "StartAudit": {"Type": "Pass", "Result": "StartAudit", "End": true},
        "Legacy": {"Type": "Pass", "Result": "Legacy", "End": true},
        "RecordEvent": {"Type": "Pass", "Result": "RecordEvent", "End": true}
      }
    }"#,
    );
    let cases = [
        (json!({"type": "Public"}), "Public"),
        (json!({"type": "Private", "value": 25}), "ValueInTwenties"),
        (
            json!({"type": "Private", "value": "25", "rating": 53, "auditThreshold": 50}),
            "StartAudit",
        ),
        (
            json!({"type": "Private", "value": 35, "rating": 40, "auditThreshold": 50, "name": "log-1.txt"}),
            "Legacy",
        ),
        (
            json!({"type": "Private", "value": 35, "rating": 40, "auditThreshold": 50, "name": "x", "when": "2019-05-01T00:00:00Z"}),
            "Legacy",
        ),
        (
            json!({"type": "Private", "value": 35, "rating": 40, "auditThreshold": 50, "name": "x", "when": "2021-05-01T00:00:00Z"}),
            "RecordEvent",
        ),
    ];
    for (input, expected) in cases {
        let ex = run(&m, input.clone(), &Tasks::default(), &Recorder::default()).await;
        assert_eq!(succeeded(&ex), json!(expected), "{input}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_choice_on_a_missing_variable_fails_the_run_and_no_match_without_default_errors() {
    let m = machine(
        r#"{
      "StartAt": "C",
      "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "Done"}]},
        "Done": {"Type": "Succeed"}
      }
    }"#,
    );
    let ex = run(&m, json!({}), &Tasks::default(), &Recorder::default()).await;
    assert!(
        matches!(&ex.status, Status::Failed { error, .. } if error == "States.Runtime"),
        "{:?}",
        ex.status
    );
    let ex = run(&m, json!({"x": 2}), &Tasks::default(), &Recorder::default()).await;
    assert!(
        matches!(&ex.status, Status::Failed { error, .. } if error == "States.NoChoiceMatched"),
        "{:?}",
        ex.status
    );
}

#[tokio::test(start_paused = true)]
async fn retry_then_catch_puts_the_error_object_at_result_path() {
    // The specification's Retry/Catch example: retry a named error, then catch all.
    let m = machine(
        r#"{
      "StartAt": "X",
      "States": {
        "X": {
          "Type": "Task", "Resource": "x", "Next": "Y",
          "Retry": [{"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2}],
          "Catch": [
            {"ErrorEquals": ["ErrorC"], "Next": "Z", "ResultPath": "$.error-info"},
            {"ErrorEquals": ["States.ALL"], "Next": "Z", "ResultPath": "$.other"}
          ]
        },
        "Y": {"Type": "Succeed"},
        "Z": {"Type": "Pass", "End": true}
      }
    }"#,
    );
    let tasks = Tasks::default().on("x", |_, n| match n {
        0 | 1 => Err(asl::TaskError::new("ErrorA", "transient")),
        _ => Err(asl::TaskError::new("ErrorC", "it broke")),
    });
    let recorder = Recorder::default();
    let ex = run(&m, json!({"in": 1}), &tasks, &recorder).await;
    assert_eq!(tasks.inputs("x").len(), 3, "two retries, then the catch");
    assert_eq!(
        succeeded(&ex),
        json!({"in": 1, "error-info": {"Error": "ErrorC", "Cause": "it broke"}})
    );
    assert_eq!(recorder.retry_delays_ms(), vec![1_000, 2_000]);
    assert!(recorder.all().contains(&asl::Observation::Caught {
        state: "X".into(),
        error: "ErrorC".into(),
        next: "Z".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn task_failed_matches_everything_but_timeouts_and_unmatched_errors_fail_the_run() {
    let m = machine(
        r#"{
      "StartAt": "X",
      "States": {
        "X": {"Type": "Task", "Resource": "x", "End": true, "TimeoutSeconds": 1,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]},
        "Caught": {"Type": "Pass", "Result": "caught", "End": true}
      }
    }"#,
    );
    let tasks = Tasks::default().on("x", |_, _| Err(asl::TaskError::new("Custom.Boom", "boom")));
    let ex = run(&m, json!({}), &tasks, &Recorder::default()).await;
    assert_eq!(succeeded(&ex), json!("caught"));
    let slow = Tasks::default()
        .on("x", |_, _| Ok(json!(1)))
        .slow("x", std::time::Duration::from_secs(5));
    let ex = run(&m, json!({}), &slow, &Recorder::default()).await;
    assert_eq!(
        ex.status,
        Status::Failed {
            error: "States.Timeout".into(),
            cause: "the task ran longer than its TimeoutSeconds (1s)".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn fail_and_wait_states() {
    let m = machine(
        r#"{
      "StartAt": "W",
      "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.pause", "Next": "F"},
        "F": {"Type": "Fail", "ErrorPath": "$.code", "Cause": "stopped on purpose"}
      }
    }"#,
    );
    let started = tokio::time::Instant::now();
    let ex = run(
        &m,
        json!({"pause": 90, "code": "Custom.Stop"}),
        &Tasks::default(),
        &Recorder::default(),
    )
    .await;
    assert_eq!(started.elapsed().as_secs(), 90);
    assert_eq!(
        ex.status,
        Status::Failed {
            error: "Custom.Stop".into(),
            cause: "stopped on purpose".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_ends_a_looping_execution_after_its_transitions() {
    let m = asl::Machine::new(
        asl::load(
            r#"{"StartAt": "A", "States": {
              "A": {"Type": "Pass", "Next": "B"},
              "B": {"Type": "Choice", "Choices": [{"Variable": "$.again", "IsPresent": true, "Next": "A"}], "Default": "Done"},
              "Done": {"Type": "Succeed"}}}"#,
            &std::collections::BTreeMap::new(),
        )
        .unwrap(),
        "looping",
    )
    .with_max_transitions(10);
    let ex = run(
        &m,
        json!({"again": true}),
        &Tasks::default(),
        &Recorder::default(),
    )
    .await;
    match &ex.status {
        asl::Status::Failed { error, cause } => {
            assert_eq!(error, "States.Runtime");
            assert!(cause.contains("10 state transitions"), "{cause}");
        }
        other => panic!("not failed: {other:?}"),
    }
    assert_eq!(ex.transitions, 10);
    // The same machine ends a run that takes the exit.
    let ex = run(&m, json!({}), &Tasks::default(), &Recorder::default()).await;
    assert!(matches!(ex.status, asl::Status::Succeeded { .. }));
}
