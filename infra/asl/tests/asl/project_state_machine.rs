//! The project's own `statemachine.asl.json`, run with stub tasks: success, success after
//! transient failures, a rejected idea (recorded, the execution succeeds), a superseded run
//! (ends quietly), and the Fail state after a system failure (the execution fails: what
//! the workflow alarm counts).

use crate::support::*;
use asl::{Machine, Status, TaskError};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const DEFINITION: &str = include_str!("../../../../statemachine.asl.json");

fn project_machine() -> Machine {
    let subs = BTreeMap::from([
        ("ValidatorFunctionArn".to_string(), "validator".to_string()),
        ("AdvisoryFunctionArn".to_string(), "advisory".to_string()),
        ("FinalizeFunctionArn".to_string(), "finalize".to_string()),
    ]);
    Machine::new(
        asl::load(DEFINITION, &subs).expect("statemachine.asl.json loads"),
        "zts",
    )
}

fn input() -> Value {
    json!({"project_id": "p-1", "correlation_id": "c-1", "run": 1})
}

fn ok_tasks() -> Tasks {
    Tasks::default()
        .on("validator", |_, _| {
            Ok(json!({"artifact_type": "validation_report"}))
        })
        .on("advisory", |_, _| {
            Ok(json!({"artifact_type": "advisory_plan"}))
        })
        .on("finalize", |_, _| Ok(json!({})))
}

#[tokio::test(start_paused = true)]
async fn runs_to_success_passing_ids_and_retry_counts() {
    let tasks = ok_tasks();
    let ex = run(&project_machine(), input(), &tasks, &Recorder::default()).await;
    assert!(
        matches!(ex.status, Status::Succeeded { .. }),
        "{:?}",
        ex.status
    );
    let v = &tasks.inputs("validator")[0];
    assert_eq!(v["project_id"], "p-1");
    assert_eq!(v["correlation_id"], "c-1");
    assert_eq!(v["execution_id"], json!(ex.id));
    assert_eq!(v["state"], "Validate");
    assert_eq!(v["retry_count"], 0);
    assert_eq!(v["run"], 1, "every step commits as its run");
    assert_eq!(tasks.inputs("advisory")[0]["state"], "Advise");
    let finals = tasks.inputs("finalize");
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0]["outcome"], "COMPLETED");
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_then_succeed() {
    let tasks = ok_tasks().on("validator", |_, n| {
        if n < 2 {
            Err(TaskError::new("ZeroToShip.Transient", "model overloaded"))
        } else {
            Ok(json!({}))
        }
    });
    let recorder = Recorder::default();
    let ex = run(&project_machine(), input(), &tasks, &recorder).await;
    assert!(
        matches!(ex.status, Status::Succeeded { .. }),
        "{:?}",
        ex.status
    );
    let counts: Vec<Value> = tasks
        .inputs("validator")
        .iter()
        .map(|i| i["retry_count"].clone())
        .collect();
    assert_eq!(counts, vec![json!(0), json!(1), json!(2)]);
    let delays = recorder.retry_delays_ms();
    assert_eq!(delays.len(), 2);
    assert!(
        delays[0] <= 1_000 && delays[1] <= 2_000,
        "full jitter bounds: {delays:?}"
    );
    assert_eq!(tasks.inputs("finalize")[0]["outcome"], "COMPLETED");
}

#[tokio::test(start_paused = true)]
async fn lambda_service_errors_are_retried_too() {
    let tasks = ok_tasks().on("advisory", |_, n| {
        if n == 0 {
            Err(TaskError::new(
                "Lambda.TooManyRequestsException",
                "rate exceeded",
            ))
        } else {
            Ok(json!({}))
        }
    });
    let ex = run(&project_machine(), input(), &tasks, &Recorder::default()).await;
    assert!(
        matches!(ex.status, Status::Succeeded { .. }),
        "{:?}",
        ex.status
    );
    assert_eq!(tasks.inputs("advisory").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_rejected_idea_is_recorded_and_the_execution_succeeds() {
    let tasks = ok_tasks().on("validator", |_, _| {
        Err(TaskError::new(
            "ZeroToShip.Invalid",
            "the idea cannot be analysed",
        ))
    });
    let ex = run(&project_machine(), input(), &tasks, &Recorder::default()).await;
    assert_eq!(
        tasks.inputs("validator").len(),
        1,
        "a permanent error is not retried"
    );
    assert!(tasks.inputs("advisory").is_empty());
    let finals = tasks.inputs("finalize");
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0]["outcome"], "FAILED");
    assert_eq!(finals[0]["state"], "RecordFailure");
    assert_eq!(
        finals[0]["error"],
        json!({"Error": "ZeroToShip.Invalid", "Cause": "the idea cannot be analysed"})
    );
    // A business outcome: the project is FAILED, the run did its job, nothing pages.
    assert!(
        matches!(&ex.status, Status::Succeeded { .. }),
        "{:?}",
        ex.status
    );
}

#[tokio::test(start_paused = true)]
async fn a_crashed_or_timed_out_function_is_retried_once_then_fails_the_execution() {
    for error in ["Lambda.Unknown", "Sandbox.Timedout"] {
        let tasks = ok_tasks().on("validator", move |_, _| {
            Err(TaskError::new(error, "Task timed out after 50.00 seconds"))
        });
        let ex = run(&project_machine(), input(), &tasks, &Recorder::default()).await;
        assert_eq!(
            tasks.inputs("validator").len(),
            2,
            "{error}: one attempt, one retry (the budget fits Express's 5 minutes)"
        );
        assert_eq!(tasks.inputs("finalize")[0]["error"]["Error"], error);
        assert!(
            matches!(&ex.status, Status::Failed { error, .. } if error == "ZeroToShip.RunFailed"),
            "{:?}",
            ex.status
        );
    }
}

#[tokio::test(start_paused = true)]
async fn lambda_service_errors_are_retried_as_aws_recommends() {
    for error in [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ] {
        let tasks = ok_tasks().on("advisory", move |_, n| {
            if n < 2 {
                Err(TaskError::new(error, "503"))
            } else {
                Ok(json!({"artifact_type": "advisory_plan"}))
            }
        });
        let ex = run(&project_machine(), input(), &tasks, &Recorder::default()).await;
        assert!(
            matches!(ex.status, Status::Succeeded { .. }),
            "{error}: {:?}",
            ex.status
        );
        assert_eq!(tasks.inputs("advisory").len(), 3, "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn exhausted_transient_retries_end_in_fail() {
    let tasks = ok_tasks().on("advisory", |_, _| {
        Err(TaskError::new("ZeroToShip.Transient", "still down"))
    });
    let ex = run(&project_machine(), input(), &tasks, &Recorder::default()).await;
    assert_eq!(
        tasks.inputs("advisory").len(),
        4,
        "one attempt and three retries"
    );
    assert_eq!(
        tasks.inputs("finalize")[0]["error"]["Error"],
        "ZeroToShip.Transient"
    );
    assert!(matches!(&ex.status, Status::Failed { error, .. } if error == "ZeroToShip.RunFailed"));
}

#[test]
fn every_task_has_a_timeout_and_the_machine_has_one() {
    let raw: Value = serde_json::from_str(DEFINITION).unwrap();
    assert!(raw["TimeoutSeconds"].as_u64().is_some());
    for (name, state) in raw["States"].as_object().unwrap() {
        if state["Type"] == "Task" {
            assert!(
                state["TimeoutSeconds"].as_u64().is_some(),
                "{name} has no TimeoutSeconds"
            );
            assert!(
                state["Resource"].as_str().unwrap().starts_with("${"),
                "{name} Resource is not a substitution"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_superseded_run_ends_quietly_without_recording_a_failure() {
    let tasks = ok_tasks().on("validator", |_, _| {
        Err(TaskError::new(
            "ZeroToShip.Superseded",
            "run 1 is not the project's current run (2)",
        ))
    });
    let ex = run(&project_machine(), input(), &tasks, &Recorder::default()).await;
    assert_eq!(tasks.inputs("validator").len(), 1, "not retried");
    assert!(tasks.inputs("finalize").is_empty(), "nothing recorded");
    assert!(
        matches!(&ex.status, Status::Succeeded { .. }),
        "a superseded run is not a failed execution: {:?}",
        ex.status
    );
}
