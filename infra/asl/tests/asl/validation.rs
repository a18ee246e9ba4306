//! Loading refuses what is broken or unsupported, naming the state and the field.

use serde_json::json;
use std::collections::BTreeMap;

fn refused(def: serde_json::Value) -> asl::LoadError {
    asl::load(&def.to_string(), &BTreeMap::new()).expect_err(&format!("accepted {def}"))
}

fn task(extra: serde_json::Value) -> serde_json::Value {
    let mut t = json!({"Type": "Task", "Resource": "r", "End": true});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    json!({"StartAt": "A", "States": {"A": t}})
}

#[test]
fn a_broken_next_names_the_state_and_target() {
    let e = refused(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}));
    assert_eq!(
        (e.state.as_deref(), e.field.as_deref()),
        (Some("A"), Some("Next"))
    );
    assert!(e.to_string().contains("Nowhere"), "{e}");
    let e = refused(json!({"StartAt": "Missing", "States": {"A": {"Type": "Succeed"}}}));
    assert_eq!(e.field.as_deref(), Some("StartAt"));
    let e = refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Ghost"}]}}}),
    );
    assert_eq!(e.field.as_deref(), Some("Catch.Next"));
}

#[test]
fn an_unreachable_state_is_refused() {
    let e = refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}}),
    );
    assert_eq!(e.state.as_deref(), Some("Orphan"));
    assert!(e.message.contains("unreachable"), "{e}");
}

#[test]
fn a_machine_without_a_reachable_end_is_refused() {
    let e = refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}),
    );
    assert!(e.message.contains("terminal"), "{e}");
}

#[test]
fn unsupported_state_types_and_fields_are_refused_by_name() {
    let e = refused(json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true}}}));
    assert_eq!(
        (e.state.as_deref(), e.field.as_deref()),
        (Some("M"), Some("Type"))
    );
    assert!(e.message.contains("Map"), "{e}");
    let e = refused(task(json!({"HeartbeatSeconds": 10})));
    assert_eq!(
        (e.state.as_deref(), e.field.as_deref()),
        (Some("A"), Some("HeartbeatSeconds"))
    );
    let e = refused(task(
        json!({"Retry": [{"ErrorEquals": ["X"], "MaxDelaySecs": 3}]}),
    ));
    assert_eq!(e.field.as_deref(), Some("Retry[0].MaxDelaySecs"));
    let e = refused(task(json!({"Parameters": {"x.$": "$..deep"}})));
    assert_eq!(e.field.as_deref(), Some("Parameters"));
    assert!(e.message.contains("recursive descent"), "{e}");
    let e = refused(task(
        json!({"Parameters": {"x.$": "States.Hash($.a, 'MD5')"}}),
    ));
    assert!(e.message.contains("not supported"), "{e}");
    let e = refused(
        json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}),
    );
    assert_eq!(e.field.as_deref(), Some("QueryLanguage"));
    let e = refused(json!({"StartAt": "A", "Extra": 1, "States": {"A": {"Type": "Succeed"}}}));
    assert_eq!(e.field.as_deref(), Some("Extra"));
}

#[test]
fn field_types_are_checked() {
    for (extra, field) in [
        (json!({"TimeoutSeconds": 0}), "TimeoutSeconds"),
        (json!({"TimeoutSeconds": "60"}), "TimeoutSeconds"),
        (json!({"Resource": 5}), "Resource"),
        (json!({"ResultPath": 5}), "ResultPath"),
        (json!({"ResultPath": "$$.x"}), "ResultPath"),
        (
            json!({"Retry": [{"ErrorEquals": []}]}),
            "Retry[0].ErrorEquals",
        ),
        (
            json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}),
            "Retry[0].BackoffRate",
        ),
        (
            json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]}),
            "Retry[0].JitterStrategy",
        ),
        (
            json!({"Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]}),
            "Retry[0].MaxAttempts",
        ),
        (
            json!({"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}),
            "Retry[0].ErrorEquals",
        ),
        (
            json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}),
            "Retry[0]",
        ),
        (json!({"Next": "A"}), "End"),
    ] {
        let e = refused(task(extra.clone()));
        assert_eq!(e.field.as_deref(), Some(field), "{extra}: {e}");
    }
}

#[test]
fn choice_rules_are_checked() {
    let choice = |rule: serde_json::Value| json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [rule], "Default": "D"}, "D": {"Type": "Succeed"}}});
    for rule in [
        json!({"Variable": "$.x", "NumericEquals": "1", "Next": "D"}),
        json!({"Variable": "$.x", "StringSoundsLike": "a", "Next": "D"}),
        json!({"Variable": "$.x", "StringEquals": "a"}),
        json!({"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "D"}),
        json!({"And": [], "Next": "D"}),
        json!({"Not": {"Variable": "$.x", "IsNull": true, "Next": "D"}, "Next": "D"}),
    ] {
        let e = refused(choice(rule.clone()));
        assert_eq!(
            (e.state.as_deref(), e.field.as_deref()),
            (Some("C"), Some("Choices")),
            "{rule}: {e}"
        );
    }
}

#[test]
fn substitutions_replace_placeholders_and_missing_ones_are_named() {
    let text = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Fn}", "End": true}}}).to_string();
    let e = asl::load(&text, &BTreeMap::new()).unwrap_err();
    assert!(e.message.contains("${Fn}"), "{e}");
    let subs = BTreeMap::from([(
        "Fn".to_string(),
        "arn:aws:lambda:us-east-1:1:function:f".to_string(),
    )]);
    assert!(asl::load(&text, &subs).is_ok());
}

#[test]
fn a_loop_with_no_exit_is_refused_naming_a_state_in_it() {
    // A reaches the end, but B and C only reach each other: a run in B never ends.
    let e = refused(json!({"StartAt": "A", "States": {
        "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "B"}], "Default": "Done"},
        "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Pass", "Next": "B"},
        "Done": {"Type": "Succeed"}}}));
    assert!(matches!(e.state.as_deref(), Some("B" | "C")), "{e}");
    assert!(e.message.contains("loop with no exit"), "{e}");
}

#[test]
fn cycle_finds_a_loop_that_has_an_exit_and_none_in_a_straight_line() {
    let looping = asl::load(
        &json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.again", "IsPresent": true, "Next": "A"}], "Default": "Done"},
            "Done": {"Type": "Succeed"}}})
        .to_string(),
        &BTreeMap::new(),
    )
    .expect("a loop with an exit loads");
    assert!(matches!(asl::cycle(&looping).as_deref(), Some("A" | "B")));
    let straight = asl::load(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}})
            .to_string(),
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(asl::cycle(&straight), None);
}
