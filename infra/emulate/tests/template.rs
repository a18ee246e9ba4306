//! The emulation reads template.yaml's functions as CloudFormation would deploy them, and
//! refuses what it cannot honour, naming the resource and property.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use std::collections::BTreeMap;
use std::time::Duration;
use zts_emulate::template::{Pseudo, TEMPLATE, Template, TemplateError};

fn functions() -> BTreeMap<String, zts_emulate::template::FunctionSpec> {
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
    // Globals only: the tables (named as CloudFormation names them), the log level, the
    // stage's metrics namespace and the retention.
    assert_eq!(
        validator.environment,
        BTreeMap::from([
            ("RUST_LOG".to_string(), "info".to_string()),
            ("ZTS_API_KEYS_TABLE".into(), "zts-dev-apikeys".into()),
            ("ZTS_CONNECTIONS_TABLE".into(), "zts-dev-connections".into()),
            ("ZTS_METRICS_NAMESPACE".into(), "ZeroToShip/dev".into()),
            ("ZTS_PROJECTS_TABLE".into(), "zts-dev-projects".into()),
            ("ZTS_RETENTION_DAYS".into(), "90".into()),
        ])
    );
    let api = &fns["api"];
    assert_eq!(
        api.environment["ZTS_STATE_MACHINE_ARN"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:zts-dev-workflow"
    );
    // Every other workflow's state machine, name=arn, as the api's config reads them.
    assert_eq!(
        api.environment["ZTS_STATE_MACHINE_ARNS"],
        "quick-check=arn:aws:states:us-east-1:123456789012:stateMachine:zts-dev-quick-check,\
         triage=arn:aws:states:us-east-1:123456789012:stateMachine:zts-dev-triage"
    );
    assert!(api.environment["ZTS_CURSOR_SECRET_ARN"].ends_with("cursor-secret-AbCdEf"));
    assert_eq!(api.environment["ZTS_RATE_BURST"], "20");
    assert_eq!(
        api.environment["ZTS_WS_URL"],
        format!(
            "wss://{}.execute-api.us-east-1.amazonaws.com/dev",
            zts_emulate::template::api_id("WebSocketApi")
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
fn tracing_is_read_through_its_parameter_and_condition() {
    let template = Template::parse(TEMPLATE).unwrap();
    let read = |value: Option<&str>| {
        let overrides: BTreeMap<String, String> = value
            .map(|v| ("Tracing".to_string(), v.to_string()))
            .into_iter()
            .collect();
        let resolver = template
            .resolver(&overrides, Pseudo::default())
            .unwrap()
            .with_physical("CursorSecret", "arn:secret");
        let functions: Vec<bool> = resolver
            .functions()
            .unwrap()
            .iter()
            .map(|f| f.active_tracing)
            .collect();
        let machines: Vec<Option<String>> = ["Workflow", "QuickCheckWorkflow", "TriageWorkflow"]
            .iter()
            .map(|m| resolver.resolve_nested(m, "Tracing", "Enabled").unwrap())
            .collect();
        (functions, machines)
    };
    // The default records nothing: no function starts a trace, no workflow is traced.
    let (functions, machines) = read(None);
    assert!(functions.iter().all(|active| !active), "{functions:?}");
    assert_eq!(machines, vec![Some("false".to_string()); 3]);
    let (functions, machines) = read(Some("Active"));
    assert_eq!(functions.len(), 8);
    assert!(functions.iter().all(|active| *active), "{functions:?}");
    assert_eq!(machines, vec![Some("true".to_string()); 3]);
    // A condition the emulation cannot evaluate is refused, named, not guessed.
    let odd = edited(
        "Traces: !Equals [!Ref Tracing, Active]",
        "Traces: !Contains [[Active], !Ref Tracing]",
    );
    let err = odd
        .resolver(&BTreeMap::new(), Pseudo::default())
        .unwrap()
        .resolve_nested("Workflow", "Tracing", "Enabled")
        .unwrap_err();
    assert!(err.to_string().contains("Workflow"), "{err}");
    assert!(err.to_string().contains("condition"), "{err}");
}

#[test]
fn an_intrinsic_it_cannot_honour_is_refused_naming_resource_and_property() {
    let text = TEMPLATE.replace(
        "ZTS_STATE_MACHINE_ARN: !Ref Workflow\n          # The other",
        "ZTS_STATE_MACHINE_ARN: !Join [\"\", [a, b]]\n          # The other",
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

/// The template with one text replaced (the replacement must apply).
fn edited(from: &str, to: &str) -> Template {
    assert!(TEMPLATE.contains(from), "{from}");
    Template::parse(&TEMPLATE.replacen(from, to, 1)).unwrap()
}

#[test]
fn the_websocket_api_is_read_with_its_routes_authorizer_and_route_selection() {
    use zts_emulate::websocket::WebSocketSpec;
    let template = Template::parse(TEMPLATE).unwrap();
    let spec = WebSocketSpec::from_template(&template).unwrap().unwrap();
    assert_eq!(spec.logical_id, "WebSocketApi");
    assert_eq!(spec.selection_field, "action");
    let routes: Vec<(&str, &str)> = spec
        .routes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            ("$connect", "WsFunction"),
            ("$default", "WsFunction"),
            ("$disconnect", "WsFunction"),
            ("subscribe", "WsFunction"),
        ]
    );
    let auth = spec.authorizer.as_ref().unwrap();
    assert_eq!(auth.function, "ConnectAuthorizerFunction");
    assert_eq!(auth.query, ["ticket"]);
    assert!(auth.headers.is_empty());
    // Messages go by their action to a route that exists, else to $default.
    assert_eq!(
        spec.route_for(r#"{"action":"subscribe"}"#),
        Some("subscribe")
    );
    assert_eq!(
        spec.route_for(r#"{"action":"unsubscribe"}"#),
        Some("$default")
    );
    assert_eq!(spec.route_for(r#"{"action":"$connect"}"#), Some("$default"));
    assert_eq!(spec.route_for("not json"), Some("$default"));
}

#[test]
fn a_websocket_api_it_cannot_honour_is_refused_naming_resource_and_property() {
    use zts_emulate::websocket::WebSocketSpec;
    let refused = |template: Template| match WebSocketSpec::from_template(&template) {
        Err(TemplateError::Unsupported {
            resource, property, ..
        }) => (resource, property),
        other => panic!("not refused: {other:?}"),
    };
    assert_eq!(
        refused(edited(
            r#"RouteSelectionExpression: "$request.body.action""#,
            r#"RouteSelectionExpression: "${request.body.action}""#
        )),
        (
            "WebSocketApi".to_string(),
            "RouteSelectionExpression".to_string()
        )
    );
    assert_eq!(
        refused(edited(
            "IdentitySource: [route.request.querystring.ticket]",
            "IdentitySource: [context.requestId]"
        )),
        (
            "ConnectAuthorizer".to_string(),
            "IdentitySource".to_string()
        )
    );
    assert_eq!(
        refused(edited(
            "IntegrationType: AWS_PROXY",
            "IntegrationType: HTTP_PROXY"
        )),
        ("WsIntegration".to_string(), "IntegrationType".to_string())
    );
}

#[test]
fn the_stream_mapping_is_read_as_the_template_configures_it() {
    use serde_json::json;
    use zts_emulate::stream::StreamMapping;
    let mappings = StreamMapping::from_template(&Template::parse(TEMPLATE).unwrap()).unwrap();
    assert_eq!(mappings.len(), 1);
    let m = &mappings[0];
    assert_eq!(
        (m.function.as_str(), m.table.as_str()),
        ("BroadcasterFunction", "ProjectsTable")
    );
    assert_eq!(m.batch_size, 100);
    assert_eq!(m.batching_window, Duration::ZERO);
    assert_eq!(m.max_retries, Some(5));
    assert!(m.bisect && m.report_item_failures && m.latest);
    assert_eq!(m.on_failure.as_deref(), Some("StreamFailureQueue"));
    // The filter: inserted EVENT# items only.
    let record = |name: &str, sk: &str| json!({"eventName": name, "dynamodb": {"Keys": {"pk": {"S": "PROJECT#p"}, "sk": {"S": sk}}}});
    assert!(m.accepts(&record("INSERT", "EVENT#00000000000000000001")));
    assert!(!m.accepts(&record("MODIFY", "EVENT#00000000000000000001")));
    assert!(!m.accepts(&record("INSERT", "META")));
    assert!(!m.accepts(&record("REMOVE", "EVENT#00000000000000000001")));
    assert!(!m.accepts(&json!({"eventName": "INSERT"})));
}

#[test]
fn a_filter_operator_it_cannot_match_is_refused_naming_the_mapping() {
    use zts_emulate::stream::StreamMapping;
    let template = edited(r#"[{"prefix": "EVENT#"}]"#, r#"[{"anything-but": "META"}]"#);
    match StreamMapping::from_template(&template) {
        Err(TemplateError::Unsupported {
            resource,
            property,
            what,
        }) => {
            assert_eq!(resource, "BroadcasterFunction.Events.ProjectEvents");
            assert_eq!(property, "FilterCriteria");
            assert!(what.contains("anything-but"), "{what}");
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn scheduled_functions_are_read_with_their_rate_and_a_cron_or_bad_unit_is_refused() {
    use zts_emulate::schedule::{RateError, Schedule, parse_rate};
    let schedules = Schedule::from_template(&Template::parse(TEMPLATE).unwrap()).unwrap();
    assert_eq!(
        schedules,
        [Schedule {
            function: "ReconcilerFunction".into(),
            rule: "EveryMinute".into(),
            every: Duration::from_secs(60),
        }]
    );
    assert_eq!(parse_rate("rate(5 minutes)"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_rate("rate(1 hour)"), Ok(Duration::from_secs(3_600)));
    for (bad, why) in [
        ("rate(1 minutes)", RateError::Unit("rate(1 minutes)".into())),
        ("rate(2 minute)", RateError::Unit("rate(2 minute)".into())),
        (
            "rate(0 minutes)",
            RateError::Value("rate(0 minutes)".into()),
        ),
        (
            "rate(x minutes)",
            RateError::Value("rate(x minutes)".into()),
        ),
        ("rate(5)", RateError::Shape("rate(5)".into())),
        (
            "cron(0 * * * ? *)",
            RateError::NotRate("cron(0 * * * ? *)".into()),
        ),
    ] {
        assert_eq!(parse_rate(bad), Err(why), "{bad}");
    }
    match Schedule::from_template(&edited("rate(1 minute)", "cron(0/1 * * * ? *)")) {
        Err(TemplateError::Unsupported {
            resource, property, ..
        }) => assert_eq!(
            (resource.as_str(), property.as_str()),
            ("ReconcilerFunction.Events.EveryMinute", "Schedule")
        ),
        other => panic!("not refused: {other:?}"),
    }
}
