//! The emulation reads template.yaml's functions as CloudFormation would deploy them, and
//! refuses what it cannot honour, naming the resource and property.

use std::collections::BTreeMap;
use std::time::Duration;
use zts::emulate::template::{Pseudo, TEMPLATE, Template, TemplateError};

fn functions() -> BTreeMap<String, zts::emulate::template::FunctionSpec> {
    let template = Template::parse(TEMPLATE).unwrap();
    let resolver = template
        .resolver(&BTreeMap::new(), Pseudo::default())
        .unwrap()
        .with_physical(
            "CursorSecret",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:zts-dev-cursor-secret-AbCdEf",
        );
    resolver
        .functions()
        .unwrap()
        .into_iter()
        .map(|f| (f.binary.clone(), f))
        .collect()
}

#[test]
fn every_packaged_function_is_read_with_its_timeout_memory_and_environment() {
    let fns = functions();
    let names: Vec<&str> = fns.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "advisory",
            "api",
            "authorizer",
            "broadcaster",
            "finalize",
            "reconciler",
            "validator",
            "ws"
        ]
    );
    let validator = &fns["validator"];
    assert_eq!(validator.name, "zts-dev-validator");
    assert_eq!(validator.timeout, Duration::from_secs(8));
    assert_eq!(validator.memory_mb, 256);
    // Globals only: the tables (named as CloudFormation names them) and the log level.
    assert_eq!(
        validator.environment,
        BTreeMap::from([
            ("RUST_LOG".to_string(), "info".to_string()),
            ("ZTS_API_KEYS_TABLE".into(), "zts-dev-apikeys".into()),
            ("ZTS_CONNECTIONS_TABLE".into(), "zts-dev-connections".into()),
            ("ZTS_PROJECTS_TABLE".into(), "zts-dev-projects".into()),
        ])
    );
    let api = &fns["api"];
    assert_eq!(
        api.environment["ZTS_STATE_MACHINE_ARN"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:zts-dev-workflow"
    );
    assert!(api.environment["ZTS_CURSOR_SECRET_ARN"].ends_with("cursor-secret-AbCdEf"));
    assert_eq!(api.environment["ZTS_RATE_BURST"], "20");
    assert_eq!(
        api.environment["ZTS_WS_URL"],
        format!(
            "wss://{}.execute-api.us-east-1.amazonaws.com/dev",
            zts::emulate::template::api_id("WebSocketApi")
        )
    );
    assert_eq!(fns["authorizer"].memory_mb, 128);
    assert_eq!(fns["authorizer"].environment["ZTS_WS_PER_OWNER"], "25");
}

#[test]
fn parameter_overrides_reach_the_environment_and_bad_ones_are_named() {
    let template = Template::parse(TEMPLATE).unwrap();
    let overrides = BTreeMap::from([("Stage".to_string(), "emu".to_string())]);
    let resolver = template
        .resolver(&overrides, Pseudo::default())
        .unwrap()
        .with_physical("CursorSecret", "arn:secret");
    let api = resolver
        .functions()
        .unwrap()
        .into_iter()
        .find(|f| f.binary == "api")
        .unwrap();
    assert_eq!(api.name, "zts-emu-api");
    assert_eq!(api.environment["ZTS_PROJECTS_TABLE"], "zts-emu-projects");
    let bad = BTreeMap::from([("WorkflowType".to_string(), "FAST".to_string())]);
    assert!(matches!(
        template.resolver(&bad, Pseudo::default()),
        Err(TemplateError::Parameter { name, .. }) if name == "WorkflowType"
    ));
    let unknown = BTreeMap::from([("Nope".to_string(), "x".to_string())]);
    assert!(template.resolver(&unknown, Pseudo::default()).is_err());
}

#[test]
fn an_intrinsic_it_cannot_honour_is_refused_naming_resource_and_property() {
    let text = TEMPLATE.replace(
        "ZTS_STATE_MACHINE_ARN: !Ref Workflow\n          ZTS_WS_URL",
        "ZTS_STATE_MACHINE_ARN: !Join [\"\", [a, b]]\n          ZTS_WS_URL",
    );
    assert_ne!(text, TEMPLATE, "the edit applied");
    let template = Template::parse(&text).unwrap();
    let err = template
        .resolver(&BTreeMap::new(), Pseudo::default())
        .unwrap()
        .with_physical("CursorSecret", "arn:secret")
        .functions()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("ApiFunction"), "{message}");
    assert!(
        message.contains("Environment.ZTS_STATE_MACHINE_ARN"),
        "{message}"
    );
    assert!(message.contains("!Join"), "{message}");
    // A resource whose physical id only the emulation can know must be supplied, not made up.
    let without_secret = Template::parse(TEMPLATE).unwrap();
    let err = without_secret
        .resolver(&BTreeMap::new(), Pseudo::default())
        .unwrap()
        .functions()
        .unwrap_err();
    assert!(err.to_string().contains("CursorSecret"), "{err}");
}
