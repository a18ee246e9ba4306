//! template.yaml against AWS's documented constraints that cfn-lint and `sam validate`
//! do not check; each test names the rule it enforces. A failure here is a stack that
//! rolls back on `sam deploy`, or an alarm that can never fire or never be delivered.

use serde_norway::Value;
use serde_norway::value::TaggedValue;
use std::collections::{BTreeMap, BTreeSet};

const TEMPLATE: &str = include_str!("../../../template.yaml");

fn template() -> Value {
    serde_norway::from_str(TEMPLATE).expect("template.yaml parses")
}

/// The resources of one CloudFormation type, by logical id.
fn resources(doc: &Value, kind: &str) -> Vec<(String, Value)> {
    doc["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap_or_default().to_string(), r.clone()))
        .collect()
}

/// A tag's value (`!Sub "…"`, `!Ref X`) or the plain value.
fn untagged(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untagged(&t.value),
        other => other,
    }
}

fn tag_of(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => Some(t.tag.to_string()),
        _ => None,
    }
}

/// Every string anywhere under `v`, tags' contents included.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Mapping(m) => m.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// The parameters' defaults, as a fresh `sam deploy` without overrides uses them.
fn defaults(doc: &Value) -> BTreeMap<String, String> {
    doc["Parameters"]
        .as_mapping()
        .expect("Parameters")
        .iter()
        .filter_map(|(k, p)| Some((k.as_str()?.to_string(), p["Default"].as_str()?.to_string())))
        .collect()
}

/// Evaluates a condition (`!Equals`, `!Not`, `!Ref` of a parameter) with `params`.
fn condition(doc: &Value, name: &str, params: &BTreeMap<String, String>) -> bool {
    fn eval(doc: &Value, v: &Value, params: &BTreeMap<String, String>) -> Value {
        let Value::Tagged(t) = v else {
            return v.clone();
        };
        let TaggedValue { tag, value } = &**t;
        let tag = tag.to_string();
        match tag.as_str() {
            "!Ref" => Value::String(
                params
                    .get(value.as_str().unwrap_or_default())
                    .cloned()
                    .unwrap_or_default(),
            ),
            "!Equals" => {
                let pair = value.as_sequence().expect("!Equals takes two values");
                Value::Bool(eval(doc, &pair[0], params) == eval(doc, &pair[1], params))
            }
            "!Not" => {
                let inner = &value.as_sequence().expect("!Not takes a list")[0];
                Value::Bool(!eval(doc, inner, params).as_bool().expect("a condition"))
            }
            "!Condition" => Value::Bool(condition(doc, value.as_str().unwrap_or_default(), params)),
            other => panic!("the test cannot evaluate {other} in a condition"),
        }
    }
    eval(doc, &doc["Conditions"][name], params)
        .as_bool()
        .unwrap_or_else(|| panic!("condition {name}"))
}

#[test]
fn no_alarm_uses_search_because_cloudwatch_refuses_search_in_metric_alarms() {
    let doc = template();
    let alarms = resources(&doc, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 5);
    for (id, alarm) in alarms {
        let mut texts = Vec::new();
        strings(&alarm["Properties"]["Metrics"], &mut texts);
        for text in texts {
            assert!(
                !text.contains("SEARCH("),
                "{id}: SEARCH is not supported on metric alarms: {text}"
            );
        }
    }
}

#[test]
fn alarms_have_at_most_ten_metrics_because_metric_math_alarms_allow_ten() {
    let doc = template();
    for (id, alarm) in resources(&doc, "AWS::CloudWatch::Alarm") {
        let n = alarm["Properties"]["Metrics"]
            .as_sequence()
            .map_or(0, Vec::len);
        assert!(n <= 10, "{id}: {n} metrics");
    }
}

/// The dimension sets AWS publishes each metric the template uses with (CloudWatch
/// metric docs of each service). A metric asked for with another set does not exist.
fn published() -> BTreeMap<(&'static str, &'static str), Vec<BTreeSet<&'static str>>> {
    let set = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<_>>();
    let mut m = BTreeMap::new();
    for metric in [
        "Count",
        "4xx",
        "5xx",
        "Latency",
        "IntegrationLatency",
        "DataProcessed",
    ] {
        m.insert(
            ("AWS/ApiGateway", metric),
            vec![set(&["ApiId"]), set(&["ApiId", "Stage"])],
        );
    }
    for metric in [
        "ConnectCount",
        "MessageCount",
        "IntegrationError",
        "ClientError",
        "ExecutionError",
        "IntegrationLatency",
    ] {
        m.entry(("AWS/ApiGateway", metric))
            .or_insert_with(Vec::new)
            .extend([
                set(&["ApiId"]),
                set(&["ApiId", "Stage"]),
                set(&["ApiId", "Stage", "Route"]),
            ]);
    }
    for metric in [
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionTime",
        "ExecutionThrottled",
    ] {
        m.insert(("AWS/States", metric), vec![set(&["StateMachineArn"])]);
    }
    for metric in [
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentExecutions",
        "IteratorAge",
    ] {
        m.insert(
            ("AWS/Lambda", metric),
            vec![
                set(&[]),
                set(&["FunctionName"]),
                set(&["FunctionName", "Resource"]),
            ],
        );
    }
    for metric in [
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ] {
        m.insert(
            ("AWS/DynamoDB", metric),
            vec![
                set(&["TableName"]),
                set(&["TableName", "GlobalSecondaryIndexName"]),
            ],
        );
    }
    // ThrottledRequests: only per operation.
    m.insert(
        ("AWS/DynamoDB", "ThrottledRequests"),
        vec![set(&["TableName", "Operation"])],
    );
    m.insert(
        ("AWS/DynamoDB", "SystemErrors"),
        vec![set(&["TableName", "Operation"])],
    );
    for metric in [
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "NumberOfMessagesSent",
    ] {
        m.insert(("AWS/SQS", metric), vec![set(&["QueueName"])]);
    }
    // Published by the template's own metric filter (HttpServerErrorsFilter), without
    // dimensions; the namespace carries the stage.
    m.insert(("ZeroToShip/${Stage}", "HttpServerErrors"), vec![set(&[])]);
    // Written by the functions as EMF lines: each metric with exactly its labels as its
    // dimension set (zts_domain::metrics, the one definition).
    for metric in zts_domain::metrics::ALL {
        m.insert(
            ("ZeroToShip/${Stage}", metric.name),
            vec![set(metric.labels)],
        );
    }
    m
}

#[test]
fn every_metric_the_code_defines_is_on_the_dashboard_in_the_namespace_the_functions_write() {
    let doc = template();
    let on_dashboard: BTreeSet<String> = dashboard_metrics(&doc)
        .into_iter()
        .filter(|(ns, ..)| ns == "ZeroToShip/${Stage}")
        .map(|(_, name, ..)| name)
        .collect();
    for metric in zts_domain::metrics::ALL {
        assert!(
            on_dashboard.contains(metric.name),
            "{} is defined but not on the dashboard",
            metric.name
        );
    }
    // The functions write where the dashboard reads: the namespace they are given.
    let globals = &doc["Globals"]["Function"]["Environment"]["Variables"];
    let namespace = globals["ZTS_METRICS_NAMESPACE"].clone();
    assert_eq!(tag_of(&namespace).as_deref(), Some("!Sub"), "{namespace:?}");
    assert_eq!(untagged(&namespace).as_str(), Some("ZeroToShip/${Stage}"));
}

#[test]
fn what_users_feel_has_an_alarm_on_the_codes_own_metrics() {
    let doc = template();
    let alarmed: BTreeSet<String> = alarm_metrics(&doc)
        .into_iter()
        .filter(|(ns, ..)| ns == "ZeroToShip/${Stage}")
        .map(|(_, name, ..)| name)
        .collect();
    for metric in [
        zts_domain::metrics::PUSHES.name,
        zts_domain::metrics::WORKFLOW_EXECUTIONS.name,
        zts_domain::metrics::RECONCILER_GIVE_UPS.name,
        zts_domain::metrics::STEPS_RETRIED.name,
        zts_domain::metrics::POISON_RECORDS.name,
    ] {
        assert!(alarmed.contains(metric), "no alarm reads {metric}");
    }
    // The push alarm is on failures, the projects alarm on system failures only: a
    // rejected idea is a business outcome and must not page.
    for (id, alarm) in resources(&doc, "AWS::CloudWatch::Alarm") {
        let p = &alarm["Properties"];
        let stats = p["Metrics"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|q| q["MetricStat"]["Metric"].clone())
            .chain(std::iter::once(p.clone()));
        for metric in stats {
            let name = metric["MetricName"].as_str().unwrap_or("");
            let status = metric["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|d| d["Name"].as_str() == Some("status"))
                .and_then(|d| d["Value"].as_str());
            if name == zts_domain::metrics::WORKFLOW_EXECUTIONS.name {
                assert_eq!(status, Some("failed"), "{id}");
            }
            if name == zts_domain::metrics::PUSHES.name {
                assert_eq!(status, Some("failed"), "{id}");
            }
        }
        let description = alarm["Properties"]["AlarmDescription"]
            .as_str()
            .unwrap_or("");
        // CloudFormation takes at most 1,024 characters of AlarmDescription.
        assert!(
            description.len() <= 1024,
            "{id}: {} characters",
            description.len()
        );
        assert!(
            description.len() > 60 && description.contains("ook first at"),
            "{id}: an alarm's description says what it means and where to look first"
        );
    }
}

type MetricUse = (String, String, BTreeSet<String>, String);

/// (namespace, metric, dimension names, where) for every metric an alarm names.
fn alarm_metrics(doc: &Value) -> Vec<MetricUse> {
    let mut out = Vec::new();
    let dims = |d: &Value| -> BTreeSet<String> {
        d.as_sequence()
            .map(|ds| {
                ds.iter()
                    .filter_map(|x| x["Name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (id, alarm) in resources(doc, "AWS::CloudWatch::Alarm") {
        let p = &alarm["Properties"];
        if let (Some(ns), Some(name)) =
            (untagged(&p["Namespace"]).as_str(), p["MetricName"].as_str())
        {
            out.push((ns.into(), name.into(), dims(&p["Dimensions"]), id.clone()));
        }
        for q in p["Metrics"].as_sequence().into_iter().flatten() {
            let m = &q["MetricStat"]["Metric"];
            if let (Some(ns), Some(name)) = (m["Namespace"].as_str(), m["MetricName"].as_str()) {
                out.push((ns.into(), name.into(), dims(&m["Dimensions"]), id.clone()));
            }
        }
    }
    out
}

/// The same for the dashboard's widgets (`[ns, metric, dim, value, …, {options}]`, where
/// "." repeats the previous line's entry at that place and "..." the whole previous line).
fn dashboard_metrics(doc: &Value) -> Vec<MetricUse> {
    let mut out = Vec::new();
    for (id, dashboard) in resources(doc, "AWS::CloudWatch::Dashboard") {
        let body = untagged(&dashboard["Properties"]["DashboardBody"]);
        let text = match body {
            Value::String(s) => s.clone(),
            Value::Sequence(parts) => parts[0].as_str().expect("the !Sub text").to_string(),
            other => panic!("{id}: DashboardBody {other:?}"),
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).expect("the dashboard body is JSON");
        for widget in json["widgets"].as_array().into_iter().flatten() {
            let mut previous: Vec<String> = Vec::new();
            for line in widget["properties"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let entries: Vec<String> = line
                    .as_array()
                    .expect("a metric line")
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect();
                let expanded: Vec<String> = if entries.first().map(String::as_str) == Some("...") {
                    // "...": the previous line, its last entries replaced by those that follow.
                    let rest = &entries[1..];
                    let keep = previous.len() - rest.len();
                    previous[..keep].iter().chain(rest).cloned().collect()
                } else {
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            if e == "." {
                                previous[i].clone()
                            } else {
                                e.clone()
                            }
                        })
                        .collect()
                };
                let dims = expanded[2..].chunks(2).map(|c| c[0].clone()).collect();
                out.push((
                    expanded[0].clone(),
                    expanded[1].clone(),
                    dims,
                    format!("{id} widget"),
                ));
                previous = expanded;
            }
        }
    }
    out
}

#[test]
fn every_metric_is_asked_for_with_a_dimension_set_aws_publishes_it_with() {
    let doc = template();
    let published = published();
    let uses: Vec<MetricUse> = alarm_metrics(&doc)
        .into_iter()
        .chain(dashboard_metrics(&doc))
        .collect();
    assert!(uses.len() > 20, "{}", uses.len());
    for (ns, metric, dims, place) in uses {
        let sets = published
            .get(&(ns.as_str(), metric.as_str()))
            .unwrap_or_else(|| {
                panic!("{place}: {ns} {metric} is not in the test's table of published metrics")
            });
        let dims: BTreeSet<&str> = dims.iter().map(String::as_str).collect();
        assert!(
            sets.contains(&dims),
            "{place}: {ns} {metric} is not published with dimensions {dims:?}"
        );
    }
}

#[test]
fn the_websocket_stage_deploys_in_a_fresh_account_because_access_logs_need_the_account_role() {
    let doc = template();
    let params = defaults(&doc);
    let stage = &doc["Resources"]["WebSocketStage"]["Properties"];
    let logs = &stage["AccessLogSettings"];
    match logs {
        Value::Null => {}
        Value::Tagged(t) if t.tag == "!If" => {
            let branches = t.value.as_sequence().expect("!If [condition, then, else]");
            let cond = branches[0].as_str().expect("a condition name");
            assert!(
                !condition(&doc, cond, &params),
                "access logs are on by default"
            );
            assert_eq!(tag_of(&branches[2]).as_deref(), Some("!Ref"));
            assert_eq!(untagged(&branches[2]).as_str(), Some("AWS::NoValue"));
        }
        other => panic!("WebSocket access logs are unconditional: {other:?}"),
    }
    // The account setting is created only when asked for, never by default.
    for (id, account) in resources(&doc, "AWS::ApiGateway::Account") {
        let cond = account["Condition"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} is unconditional"));
        assert!(
            !condition(&doc, cond, &params),
            "{id} is created by default"
        );
    }
    let description = doc["Parameters"]["WebSocketAccessLogging"]["Description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("overwrites") && description.contains("outlives"),
        "{description}"
    );
}

#[test]
fn the_alarm_topic_key_lets_cloudwatch_publish_because_the_aws_managed_sns_key_cannot() {
    let doc = template();
    for (id, topic) in resources(&doc, "AWS::SNS::Topic") {
        let key = &topic["Properties"]["KmsMasterKeyId"];
        if key.is_null() {
            continue; // unencrypted topics take CloudWatch's notifications too
        }
        assert_eq!(
            tag_of(key).as_deref(),
            Some("!Ref"),
            "{id}: {key:?} (alias/aws/sns cannot grant CloudWatch)"
        );
        let key_id = untagged(key).as_str().unwrap();
        let policy = &doc["Resources"][key_id]["Properties"]["KeyPolicy"];
        let grants = policy["Statement"].as_sequence().unwrap().iter().any(|s| {
            let mut actions = Vec::new();
            strings(&s["Action"], &mut actions);
            s["Effect"].as_str() == Some("Allow")
                && s["Principal"]["Service"].as_str() == Some("cloudwatch.amazonaws.com")
                && actions.iter().any(|a| a == "kms:Decrypt")
                && actions.iter().any(|a| a == "kms:GenerateDataKey*")
                && !s["Condition"]["StringEquals"]["aws:SourceAccount"].is_null()
        });
        assert!(
            grants,
            "{id}: the key {key_id} does not grant CloudWatch Decrypt and GenerateDataKey*"
        );
    }
}

#[test]
fn vended_log_groups_because_each_other_name_grows_the_account_wide_logs_resource_policy() {
    let doc = template();
    for (id, group) in resources(&doc, "AWS::Logs::LogGroup") {
        let mut names = Vec::new();
        strings(&group["Properties"]["LogGroupName"], &mut names);
        let name = names.first().unwrap_or_else(|| panic!("{id}: no name"));
        assert!(
            name.starts_with("/aws/lambda/") || name.starts_with("/aws/vendedlogs/"),
            "{id}: {name} (Step Functions and API Gateway logs go under /aws/vendedlogs/)"
        );
    }
}

#[test]
fn websocket_stages_auto_deploy_because_a_fixed_deployment_never_carries_route_changes() {
    let doc = template();
    assert!(resources(&doc, "AWS::ApiGatewayV2::Deployment").is_empty());
    for (id, stage) in resources(&doc, "AWS::ApiGatewayV2::Stage") {
        assert_eq!(
            stage["Properties"]["AutoDeploy"].as_bool(),
            Some(true),
            "{id}"
        );
    }
}

#[test]
fn no_hard_coded_partition_suffix_because_other_partitions_use_other_domains() {
    let mut texts = Vec::new();
    strings(&template(), &mut texts);
    for text in texts {
        assert!(
            !text.contains("execute-api") || !text.contains("amazonaws.com"),
            "{text}: use ${{AWS::URLSuffix}}"
        );
    }
}

#[test]
fn websocket_access_log_variables_are_documented_ones() {
    let doc = template();
    let mut texts = Vec::new();
    strings(&doc["Resources"]["WebSocketStage"], &mut texts);
    for text in texts {
        assert!(
            !text.contains("$context.integrationErrorMessage"),
            "not a WebSocket variable: {text}"
        );
    }
}

#[test]
fn every_ref_names_a_resource_parameter_or_pseudo_parameter() {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Tagged(t) => {
                let tag = t.tag.to_string();
                if tag == "!Ref" {
                    out.extend(t.value.as_str().map(str::to_string));
                } else if tag == "!GetAtt" {
                    out.extend(
                        t.value
                            .as_str()
                            .and_then(|s| s.split('.').next())
                            .map(str::to_string),
                    );
                }
                refs(&t.value, out);
            }
            Value::Sequence(items) => items.iter().for_each(|i| refs(i, out)),
            Value::Mapping(m) => m.values().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc = template();
    let mut names = Vec::new();
    refs(&doc, &mut names);
    assert!(names.len() > 50);
    let known = |n: &str| {
        n.starts_with("AWS::") || !doc["Resources"][n].is_null() || !doc["Parameters"][n].is_null()
    };
    for name in names {
        assert!(
            known(&name),
            "!Ref/!GetAtt {name}: no such resource or parameter"
        );
    }
}

#[test]
fn throttling_parameters_say_per_route_because_default_route_settings_apply_to_each_route() {
    let doc = template();
    for name in [
        "HttpThrottlingRateLimit",
        "HttpThrottlingBurstLimit",
        "WebSocketThrottlingRateLimit",
        "WebSocketThrottlingBurstLimit",
    ] {
        let description = doc["Parameters"][name]["Description"].as_str().unwrap();
        assert!(description.contains("each route"), "{name}: {description}");
        assert!(
            !description.to_lowercase().contains("stage-wide"),
            "{name}: {description}"
        );
    }
}

#[test]
fn pii_regions_default_passes_its_own_allowed_pattern_and_reaches_the_api() {
    let doc = template();
    let param = &doc["Parameters"]["PiiRegions"];
    let default = param["Default"].as_str().unwrap();
    assert_eq!(default, zts_domain::pii::DEFAULT_PII_REGIONS);
    // CloudFormation's AllowedPattern must match the entire value (Java regex; this one
    // uses only syntax Java and Rust share).
    let pattern = regex::Regex::new(param["AllowedPattern"].as_str().unwrap()).unwrap();
    for (value, allowed) in [
        (default, true),
        ("US", true),
        ("us, gb", true),
        ("", false),
        ("US;GB", false),
        ("USA", false),
    ] {
        let whole = pattern
            .find(value)
            .is_some_and(|m| m.start() == 0 && m.end() == value.len());
        assert_eq!(whole, allowed, "{value:?}");
    }
    assert!(zts_domain::pii::PiiPolicy::from_regions(default).is_ok());
    let (_, api) = resources(&doc, "AWS::Serverless::Function")
        .into_iter()
        .find(|(id, _)| id == "ApiFunction")
        .unwrap();
    let variable = &api["Properties"]["Environment"]["Variables"]["ZTS_PII_REGIONS"];
    assert_eq!(tag_of(variable).as_deref(), Some("!Ref"));
    assert_eq!(untagged(variable).as_str(), Some("PiiRegions"));
}

#[test]
fn parameter_descriptions_fit_cloudformations_4000_character_limit() {
    let doc = template();
    for (name, param) in doc["Parameters"].as_mapping().unwrap() {
        let description = param["Description"].as_str().unwrap_or_default();
        assert!(description.len() <= 4000, "{name:?}: {}", description.len());
    }
}

/// Every state machine of the template: its logical id, its properties, and the definition
/// its `DefinitionUri` names (one per listed workflow).
fn state_machines(doc: &Value) -> Vec<(String, Value, serde_json::Value)> {
    resources(doc, "AWS::Serverless::StateMachine")
        .into_iter()
        .map(|(id, machine)| {
            let uri = machine["Properties"]["DefinitionUri"].as_str().unwrap();
            let workflow = zts_domain::workflows::WORKFLOWS
                .iter()
                .find(|w| w.definition_file == uri)
                .unwrap_or_else(|| panic!("{id}: {uri} is not a listed workflow's definition"));
            let asl = serde_json::from_str(workflow.definition).unwrap();
            (id, machine["Properties"].clone(), asl)
        })
        .collect()
}

/// The Lambda function each Task state invokes, by its `${…}` substitution, over every
/// state machine (`<machine>.<state>`).
fn task_functions(doc: &Value) -> Vec<(String, serde_json::Value, Value)> {
    let mut out = Vec::new();
    for (id, props, asl) in state_machines(doc) {
        let subs = &props["DefinitionSubstitutions"];
        for (name, state) in asl["States"].as_object().unwrap() {
            if state["Type"] != "Task" {
                continue;
            }
            let placeholder = state["Resource"]
                .as_str()
                .unwrap()
                .trim_start_matches("${")
                .trim_end_matches('}');
            let target = untagged(&subs[placeholder]).as_str().unwrap_or_else(|| {
                panic!("{id}.{name}: no DefinitionSubstitutions entry for {placeholder}")
            });
            let function_id = target.trim_end_matches(".Arn");
            let function = doc["Resources"][function_id].clone();
            assert!(
                !function.is_null(),
                "{id}.{name}: {target} is not a resource"
            );
            out.push((format!("{id}.{name}"), state.clone(), function));
        }
    }
    out
}

#[test]
fn every_workflow_has_its_state_machine_log_group_alarm_and_grants() {
    let doc = template();
    let machines = state_machines(&doc);
    let deployed: BTreeSet<String> = machines
        .iter()
        .map(|(_, p, _)| p["DefinitionUri"].as_str().unwrap().to_string())
        .collect();
    let listed: BTreeSet<String> = zts_domain::workflows::WORKFLOWS
        .iter()
        .map(|w| w.definition_file.to_string())
        .collect();
    assert_eq!(deployed, listed, "one state machine per listed workflow");
    let api = &doc["Resources"]["ApiFunction"]["Properties"];
    let reconciler = &doc["Resources"]["ReconcilerFunction"]["Properties"];
    let mut all = Vec::new();
    strings(&doc["Resources"], &mut all);
    for (id, props, asl) in &machines {
        let uri = props["DefinitionUri"].as_str().unwrap();
        let workflow = zts_domain::workflows::WORKFLOWS
            .iter()
            .find(|w| w.definition_file == uri)
            .unwrap();
        // Its own vended log group.
        let destination = &props["Logging"]["Destinations"][0]["CloudWatchLogsLogGroup"];
        let logs = untagged(&destination["LogGroupArn"])
            .as_str()
            .unwrap()
            .trim_end_matches(".Arn");
        let group = &doc["Resources"][logs]["Properties"]["LogGroupName"];
        assert!(
            untagged(group)
                .as_str()
                .unwrap()
                .starts_with("/aws/vendedlogs/states/"),
            "{id}"
        );
        // Its name says which workflow (the default's predates the list).
        let name = untagged(&props["Name"]).as_str().unwrap();
        if workflow.name != zts_domain::workflows::DEFAULT_WORKFLOW {
            assert_eq!(name, format!("zts-${{Stage}}-{}", workflow.name), "{id}");
        }
        assert!(
            name.len() <= 80,
            "{id}: state machine names have at most 80 characters"
        );
        // An alarm on its system failures.
        let alarmed = resources(&doc, "AWS::CloudWatch::Alarm")
            .into_iter()
            .any(|(_, a)| {
                let mut refs = Vec::new();
                strings(&a["Properties"]["Metrics"], &mut refs);
                refs.contains(&"ExecutionsFailed".to_string()) && refs.contains(id)
            });
        assert!(alarmed, "{id} has no ExecutionsFailed alarm");
        // Its place on the dashboard.
        let mut dashboard = Vec::new();
        strings(&doc["Resources"]["Dashboard"], &mut dashboard);
        assert!(
            dashboard.iter().any(|b| b.contains(&format!("${{{id}}}"))),
            "{id} is not on the dashboard"
        );
        assert!(
            dashboard
                .iter()
                .any(|b| b.contains(&format!("\"{}\"", workflow.name))),
            "{} is not on the dashboard's project metrics",
            workflow.name
        );
        // The api starts, describes and stops it; the reconciler restarts on it.
        for (function, action) in [
            (api, "states:StartExecution"),
            (api, "states:DescribeStateMachine"),
            (reconciler, "states:StartExecution"),
        ] {
            let granted = function["Policies"][0]["Statement"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|st| {
                    let mut actions = Vec::new();
                    strings(&st["Action"], &mut actions);
                    let mut targets = Vec::new();
                    strings(&st["Resource"], &mut targets);
                    actions.iter().any(|a| a == action) && targets.contains(id)
                });
            assert!(granted, "{action} on {id}");
        }
        for function in [api, reconciler] {
            let vars = &function["Environment"]["Variables"];
            let found = if workflow.name == zts_domain::workflows::DEFAULT_WORKFLOW {
                untagged(&vars["ZTS_STATE_MACHINE_ARN"]).as_str() == Some(id.as_str())
            } else {
                untagged(&vars["ZTS_STATE_MACHINE_ARNS"])
                    .as_str()
                    .is_some_and(|v| v.contains(&format!("{}=${{{id}}}", workflow.name)))
            };
            assert!(
                found,
                "{} reaches the api and the reconciler",
                workflow.name
            );
        }
        // The functions its definition invokes are exactly the ones it may invoke.
        let used: BTreeSet<String> = asl["States"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|st| st["Resource"].as_str())
            .map(|r| r.trim_start_matches("${").trim_end_matches('}').to_string())
            .collect();
        let substituted: BTreeSet<String> = props["DefinitionSubstitutions"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            used, substituted,
            "{id}: substitutions vs the definition's tasks"
        );
        let invokable: BTreeSet<String> = props["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|p| untagged(&p["LambdaInvokePolicy"]["FunctionName"]).as_str())
            .map(|f| format!("{f}Arn"))
            .collect();
        assert_eq!(
            invokable, used,
            "{id}: LambdaInvokePolicy vs the definition's tasks"
        );
    }
}

#[test]
fn every_lambda_task_retries_what_aws_reports_for_a_crashed_or_timed_out_function() {
    // AWS's recommended service-exception list, plus what an unhandled error, an
    // out-of-memory or a function timeout surfaces as (Lambda.Unknown, Sandbox.Timedout).
    let required = [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.Unknown",
        "Sandbox.Timedout",
        "States.Timeout",
    ];
    let doc = template();
    for (name, state, _) in task_functions(&doc) {
        let retried: BTreeSet<&str> = state["Retry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["MaxAttempts"].as_u64() != Some(0))
            .flat_map(|r| r["ErrorEquals"].as_array().unwrap())
            .filter_map(|e| e.as_str())
            .collect();
        for error in required {
            assert!(retried.contains(error), "{name} does not retry {error}");
        }
    }
}

#[test]
fn task_timeouts_outlast_their_functions_so_a_timeout_reports_as_the_functions_own() {
    // The function's Timeout fires first and Lambda reports it (Sandbox.Timedout), which
    // is retried; the task's TimeoutSeconds only catches a lost invocation.
    let doc = template();
    let global = doc["Globals"]["Function"]["Timeout"].as_u64();
    for (name, state, function) in task_functions(&doc) {
        let function_timeout = function["Properties"]["Timeout"]
            .as_u64()
            .or(global)
            .unwrap_or(3);
        let task_timeout = state["TimeoutSeconds"].as_u64().unwrap();
        assert!(
            task_timeout >= function_timeout + 5,
            "{name}: task {task_timeout} s vs function {function_timeout} s"
        );
    }
}

#[test]
fn the_workflow_alarm_counts_system_failures_and_a_rejected_idea_does_not_fail_the_execution() {
    let doc = template();
    for (id, _, asl) in state_machines(&doc) {
        let states = &asl["States"];
        // RecordFailure leads to a choice: a rejected idea succeeds, anything else fails.
        let kind = &states[states["RecordFailure"]["Next"].as_str().unwrap()];
        assert_eq!(kind["Type"], "Choice", "{id}");
        let rejected = &kind["Choices"][0];
        assert_eq!(rejected["StringEquals"], zts_domain::step::INVALID, "{id}");
        assert_eq!(
            states[rejected["Next"].as_str().unwrap()]["Type"],
            "Succeed",
            "{id}"
        );
        assert_eq!(
            states[kind["Default"].as_str().unwrap()]["Type"],
            "Fail",
            "{id}"
        );
        let alarm = format!("{id}FailedAlarm");
        let description = doc["Resources"][alarm.as_str()]["Properties"]["AlarmDescription"]
            .as_str()
            .unwrap_or_else(|| panic!("{alarm}"));
        assert!(description.contains("system failure"), "{description}");
        assert!(description.contains("rejected"), "{description}");
    }
}

/// The DynamoDB actions a function's inline policies grant on one table.
fn dynamodb_actions_on(doc: &Value, function: &str, table: &str) -> BTreeSet<String> {
    let mut granted = BTreeSet::new();
    let policies = doc["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    for policy in policies {
        for statement in policy["Statement"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
        {
            let resources: Vec<String> = match untagged(&statement["Resource"]) {
                Value::Sequence(items) => items
                    .iter()
                    .filter_map(|r| untagged(r).as_str().map(str::to_string))
                    .collect(),
                other => other.as_str().map(str::to_string).into_iter().collect(),
            };
            if !resources.iter().any(|r| r == &format!("{table}.Arn")) {
                continue;
            }
            let actions: Vec<String> = match &statement["Action"] {
                Value::Sequence(items) => items
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
                other => other.as_str().map(str::to_string).into_iter().collect(),
            };
            granted.extend(actions);
        }
    }
    granted
}

#[test]
fn the_websocket_cap_reaches_the_authorizer_and_both_sides_may_write_the_slots() {
    let doc = template();
    let cap = &doc["Resources"]["ConnectAuthorizerFunction"]["Properties"]["Environment"]["Variables"]
        ["ZTS_WS_PER_OWNER"];
    assert_eq!(untagged(cap).as_str(), Some("WebSocketConnectionsPerOwner"));
    assert_eq!(
        doc["Parameters"]["WebSocketConnectionsPerOwner"]["Default"].as_u64(),
        Some(authorizer::DEFAULT_PER_OWNER as u64)
    );
    // Claiming (the authorizer) and releasing (the ws function's $disconnect) read the
    // owner's slots item and write it back conditionally.
    for function in ["ConnectAuthorizerFunction", "WsFunction"] {
        let granted = dynamodb_actions_on(&doc, function, "ApiKeysTable");
        for action in ["dynamodb:GetItem", "dynamodb:PutItem"] {
            assert!(
                granted.contains(action),
                "{function} lacks {action}: {granted:?}"
            );
        }
    }
    assert!(
        dynamodb_actions_on(&doc, "ConnectAuthorizerFunction", "ApiKeysTable")
            .contains("dynamodb:DeleteItem"),
        "tickets are consumed with DeleteItem"
    );
}

/// The longest an attempt-and-retry chain of one Task state can take: every attempt runs
/// to its TimeoutSeconds, every retrier is used up (each keeps its own count), and every
/// wait is the longest back-off allows (full jitter only ever shortens it).
fn task_worst_case_seconds(name: &str, state: &serde_json::Value) -> f64 {
    let timeout = state["TimeoutSeconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: a Task without TimeoutSeconds can hang for a year"));
    let mut attempts = 1.0;
    let mut waits = 0.0;
    for retrier in state["Retry"].as_array().into_iter().flatten() {
        let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
        let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
        let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
        let max = retrier["MaxAttempts"].as_u64().unwrap_or(3);
        for n in 0..max {
            waits += (interval * rate.powi(n as i32)).min(cap);
            attempts += 1.0;
        }
    }
    attempts * timeout + waits
}

/// The worst case of the slowest path from `from` to the end, following Next, Default,
/// Choices and Catch.
fn slowest_path(states: &serde_json::Value, from: &str, seen: &mut Vec<String>) -> f64 {
    assert!(!seen.contains(&from.to_string()), "a cycle through {from}");
    seen.push(from.to_string());
    let state = &states[from];
    let own = if state["Type"] == "Task" {
        task_worst_case_seconds(from, state)
    } else {
        0.0
    };
    let mut next: Vec<&str> = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(n) = state[key].as_str() {
            next.push(n);
        }
    }
    for list in ["Choices", "Catch"] {
        for c in state[list].as_array().into_iter().flatten() {
            next.push(c["Next"].as_str().unwrap());
        }
    }
    let rest = next
        .into_iter()
        .map(|n| slowest_path(states, n, seen))
        .fold(0.0, f64::max);
    seen.pop();
    own + rest
}

#[test]
fn every_path_fits_expresss_five_minutes_so_record_failure_always_runs() {
    // An Express execution is stopped at 300 s (and the machine's own TimeoutSeconds ends
    // a run without its Catch): the worst case of every path, RecordFailure included, has
    // to end before either (ARCHITECTURE.md §7). The walk also refuses a cycle: every
    // path of every workflow is finite by the definition's structure.
    const EXPRESS_LIMIT_SECONDS: f64 = 300.0;
    for (id, _, asl) in state_machines(&template()) {
        let machine_timeout = asl["TimeoutSeconds"].as_f64().expect("a machine timeout");
        assert!(machine_timeout <= EXPRESS_LIMIT_SECONDS, "{id}");
        let start = asl["StartAt"].as_str().unwrap();
        let worst = slowest_path(&asl["States"], start, &mut Vec::new());
        assert!(
            worst <= machine_timeout,
            "{id}: the slowest path takes up to {worst} s; the machine stops at {machine_timeout} s"
        );
        // RecordFailure sits on that path: a failure at the last task still gets recorded.
        let validate_alone = task_worst_case_seconds("Validate", &asl["States"]["Validate"]);
        assert!(
            worst >= 3.0 * validate_alone - 1e-9,
            "{id}: {worst} vs {validate_alone}"
        );
    }
}

#[test]
fn the_reconciler_waits_out_the_whole_run_before_superseding_it() {
    // A run still CREATED after the deadline has ended on either workflow type (the
    // machine's timeout is shorter), so the reconciler never races a live first step.
    let deadline = zts_domain::reconcile::ReconcilePolicy::DEFAULT.start_deadline;
    for (id, _, asl) in state_machines(&template()) {
        let machine_timeout = asl["TimeoutSeconds"].as_u64().unwrap();
        assert!(deadline.as_secs() > machine_timeout, "{id}: {deadline:?}");
    }
}

#[test]
fn superseded_runs_end_quietly_and_do_not_count_as_failed_executions() {
    for (id, _, asl) in state_machines(&template()) {
        let states = asl["States"].as_object().unwrap();
        for (name, state) in states.iter().filter(|(_, s)| s["Type"] == "Task") {
            if name == "RecordFailure" {
                continue; // finalize answers a superseded run's RecordFailure with success
            }
            let first = &state["Catch"][0];
            assert_eq!(
                first["ErrorEquals"],
                serde_json::json!([zts_domain::step::SUPERSEDED]),
                "{id}.{name}"
            );
            assert_eq!(
                states[first["Next"].as_str().unwrap()]["Type"],
                "Succeed",
                "{id}.{name}"
            );
            assert_eq!(state["Parameters"]["run.$"], "$.run", "{id}.{name}");
        }
    }
}

#[test]
fn the_workflow_type_is_documented_as_chosen_at_creation() {
    // Changing StateMachineType replaces the machine; with a fixed name CloudFormation
    // refuses, which is what we want (deleting a Standard machine ends its runs).
    let doc = template();
    let description = doc["Parameters"]["WorkflowType"]["Description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("Chosen when the stack is created"),
        "{description}"
    );
    for (id, machine, _) in state_machines(&doc) {
        assert!(
            !machine["Name"].is_null(),
            "{id}: the fixed name is what keeps a type change from replacing the machine"
        );
    }
}

#[test]
fn the_reconciler_runs_on_a_schedule_eventbridge_accepts_with_what_it_needs() {
    let doc = template();
    let reconciler = &doc["Resources"]["ReconcilerFunction"]["Properties"];
    let schedules: Vec<&str> = reconciler["Events"]
        .as_mapping()
        .expect("the reconciler has events")
        .values()
        .filter(|e| e["Type"].as_str() == Some("Schedule"))
        .map(|e| e["Properties"]["Schedule"].as_str().unwrap())
        .collect();
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    // EventBridge: rate(value unit), the unit singular for 1 and plural above.
    let inner = schedules[0]
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .expect("a rate expression");
    let (value, unit) = inner.split_once(' ').unwrap();
    let value: u32 = value.parse().unwrap();
    let singular = ["minute", "hour", "day"];
    if value == 1 {
        assert!(singular.contains(&unit), "{inner}");
    } else {
        assert!(singular.iter().any(|u| format!("{u}s") == unit), "{inner}");
    }
    // Its pass needs META (BatchGetItem, GetItem), the claim (a transaction of Puts), the
    // pending index (Query on the index ARN, below) and StartExecution. That these are
    // exactly what its code calls is emulate_iam.rs's test, under the emulated IAM.
    let granted = dynamodb_actions_on(&doc, "ReconcilerFunction", "ProjectsTable");
    for action in [
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    ] {
        assert!(granted.contains(action), "{action}: {granted:?}");
    }
    let yaml = serde_norway::to_string(&reconciler["Policies"]).unwrap();
    assert!(yaml.contains("states:StartExecution"), "{yaml}");
    assert!(
        yaml.contains("/index/*"),
        "Query on an index needs the index ARN: {yaml}"
    );
    assert_eq!(
        tag_of(&reconciler["Environment"]["Variables"]["ZTS_STATE_MACHINE_ARN"]).as_deref(),
        Some("!Ref")
    );
}

#[test]
fn no_function_reserves_concurrency_because_a_new_accounts_pool_cannot_spare_it() {
    // Lambda refuses a reservation that leaves less than 10 unreserved executions, and a
    // new account's whole limit can be 10: the deploy would roll back.
    let doc = template();
    for (id, function) in resources(&doc, "AWS::Serverless::Function") {
        assert!(
            function["Properties"]["ReservedConcurrentExecutions"].is_null(),
            "{id}"
        );
    }
}

#[test]
fn the_pending_run_index_is_the_one_the_store_queries_with_the_keys_it_writes() {
    let doc = template();
    let props = &doc["Resources"]["ProjectsTable"]["Properties"];
    let index = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|g| g["IndexName"].as_str() == Some(zts_aws::PENDING_INDEX))
        .expect("the pending-run index");
    let keys: Vec<&str> = index["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| k["AttributeName"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["gsi2pk", "gsi2sk"]);
    assert_eq!(
        index["Projection"]["ProjectionType"].as_str(),
        Some("KEYS_ONLY")
    );
}

#[test]
fn no_secret_is_resolved_into_a_function_environment_and_the_api_reads_only_its_own() {
    // A `{{resolve:secretsmanager:…}}` in Environment is readable in plain text through
    // GetFunctionConfiguration and only changes on a redeploy.
    let doc = template();
    let mut all = Vec::new();
    for (id, function) in resources(&doc, "AWS::Serverless::Function") {
        let mut found = Vec::new();
        strings(&function["Properties"]["Environment"], &mut found);
        for s in &found {
            assert!(!s.contains("resolve:secretsmanager"), "{id}: {s}");
        }
        all.extend(found);
    }
    let globals = &doc["Globals"]["Function"]["Environment"];
    let mut found = Vec::new();
    strings(globals, &mut found);
    assert!(found.iter().all(|s| !s.contains("resolve:")), "{found:?}");

    let api = &doc["Resources"]["ApiFunction"]["Properties"];
    assert_eq!(
        tag_of(&api["Environment"]["Variables"]["ZTS_CURSOR_SECRET_ARN"]).as_deref(),
        Some("!Ref")
    );
    assert_eq!(
        untagged(&api["Environment"]["Variables"]["ZTS_CURSOR_SECRET_ARN"]).as_str(),
        Some("CursorSecret")
    );
    // GetSecretValue on that one secret, and no function is given it on "*".
    let mut readers = Vec::new();
    for (id, function) in resources(&doc, "AWS::Serverless::Function") {
        for policy in function["Properties"]["Policies"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
        {
            for statement in policy["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
            {
                let yaml = serde_norway::to_string(&statement["Action"]).unwrap();
                if yaml.contains("secretsmanager:") {
                    assert_eq!(
                        untagged(&statement["Resource"]).as_str(),
                        Some("CursorSecret"),
                        "{id}"
                    );
                    readers.push(id.clone());
                }
            }
        }
    }
    assert_eq!(readers, ["ApiFunction"]);
}

/// An HTTP API access-log line as API Gateway writes it from the stage's `Format`, with
/// these `$context` values (the rest empty).
fn access_log_line(doc: &Value, values: &[(&str, &str)]) -> serde_json::Value {
    let format = doc["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .expect("the HTTP API's access log format");
    let mut vars: Vec<String> = Vec::new();
    let mut rest = format;
    while let Some(at) = rest.find("$context.") {
        let tail = &rest[at..];
        let end = tail[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .map_or(tail.len(), |e| e + 1);
        vars.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    // Longest first, so `$context.status` never replaces a prefix of a longer name.
    vars.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut line = format.to_string();
    for var in vars {
        let value = values
            .iter()
            .find(|(k, _)| *k == var)
            .map_or("", |(_, v)| *v);
        line = line.replace(&var, value);
    }
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn the_5xx_alarm_leaves_the_readiness_probe_out_because_its_503_is_the_probe_working() {
    let doc = template();
    let alarm = &doc["Resources"]["HttpApi5xxAlarm"]["Properties"];
    let filter = &doc["Resources"]["HttpServerErrorsFilter"]["Properties"];
    let published = &filter["MetricTransformations"][0];
    assert_eq!(alarm["MetricName"], published["MetricName"]);
    assert_eq!(
        untagged(&alarm["Namespace"]),
        untagged(&published["MetricNamespace"])
    );
    assert!(
        alarm["Dimensions"].is_null(),
        "the filter publishes no dimensions"
    );
    assert_eq!(
        untagged(&filter["LogGroupName"]).as_str(),
        Some("HttpApiAccessLogs")
    );
    let pattern = filter["FilterPattern"].as_str().unwrap();
    assert!(pattern.contains("$.status >= 500"), "{pattern}");
    assert!(
        pattern.contains(r#"$.routeKey != "GET /health/ready""#),
        "{pattern}"
    );
    // A numeric comparison in a JSON filter pattern only matches a JSON number: the log
    // line must carry status unquoted, and the route key the pattern names.
    let sample = |route: &str, status: &str| {
        access_log_line(
            &doc,
            &[
                ("$context.routeKey", route),
                ("$context.status", status),
                ("$context.responseLatency", "12"),
            ],
        )
    };
    let probe = sample("GET /health/ready", "503");
    assert_eq!(probe["status"], 503, "{probe}");
    assert_eq!(probe["routeKey"], "GET /health/ready");
    let create = sample("POST /api/v1/projects", "500");
    assert!(create["status"].is_number() && create["latencyMs"].is_number());
    // The probe's route is a route the API really has.
    let ready = &doc["Resources"]["ApiFunction"]["Properties"]["Events"]["Ready"]["Properties"];
    assert_eq!(
        format!(
            "{} {}",
            ready["Method"].as_str().unwrap(),
            ready["Path"].as_str().unwrap()
        ),
        "GET /health/ready"
    );
}

/// Every `!Ref` or `!GetAtt` under `v` to a resource, with the condition it sits under
/// (`!If [cond, then, else]` puts `then` under `cond`).
fn references_under(v: &Value, cond: Option<&str>, out: &mut Vec<(String, Option<String>)>) {
    match v {
        Value::Tagged(t) if t.tag == "!If" => {
            let branches = t.value.as_sequence().expect("!If [condition, then, else]");
            let name = branches[0].as_str().expect("a condition name");
            references_under(&branches[1], Some(name), out);
            references_under(&branches[2], cond, out);
        }
        Value::Tagged(t) if t.tag == "!Ref" || t.tag == "!GetAtt" => {
            if let Some(target) = t.value.as_str() {
                let resource = target.split('.').next().unwrap_or(target);
                out.push((resource.to_string(), cond.map(str::to_string)));
            }
        }
        Value::Tagged(t) => references_under(&t.value, cond, out),
        Value::Sequence(items) => items.iter().for_each(|i| references_under(i, cond, out)),
        Value::Mapping(map) => map.values().for_each(|i| references_under(i, cond, out)),
        _ => {}
    }
}

#[test]
fn a_stage_with_access_logs_waits_for_the_account_role_the_stack_itself_sets() {
    // Under create-account-role the stage must be created after AWS::ApiGateway::Account,
    // or it fails with "CloudWatch Logs role ARN must be set in account settings" and the
    // stack rolls back. DependsOn cannot name a conditional resource, so the stage refers
    // to the account under the account's own condition.
    let doc = template();
    let stage = &doc["Resources"]["WebSocketStage"];
    let mut refs = Vec::new();
    references_under(&stage["Properties"], None, &mut refs);
    let accounts = resources(&doc, "AWS::ApiGateway::Account");
    assert!(!accounts.is_empty());
    for (id, account) in accounts {
        let cond = account["Condition"].as_str().unwrap().to_string();
        assert!(
            refs.contains(&(id.clone(), Some(cond.clone()))),
            "WebSocketStage does not refer to {id} under {cond}: {refs:?}"
        );
        // The reference creates a dependency only while the condition holds, and the
        // condition must hold whenever the stage logs through the stack's own role.
        let params = BTreeMap::from([(
            "WebSocketAccessLogging".to_string(),
            "create-account-role".to_string(),
        )]);
        let mut all = defaults(&doc);
        all.extend(params);
        assert!(condition(&doc, &cond, &all));
        assert!(condition(&doc, "LogsWebSocketAccess", &all));
    }
}

#[test]
fn data_and_the_account_logging_role_outlive_the_stack() {
    // `sam delete` (or a replacing change) must not destroy API keys, projects or the
    // cursor secret, nor the role the account's never-reverted API Gateway setting names.
    let doc = template();
    let mut kept = Vec::new();
    for kind in [
        "AWS::DynamoDB::Table",
        "AWS::SecretsManager::Secret",
        "AWS::ApiGateway::Account",
    ] {
        for (id, resource) in resources(&doc, kind) {
            let role = if kind == "AWS::ApiGateway::Account" {
                let mut refs = Vec::new();
                references_under(&resource["Properties"], None, &mut refs);
                refs.into_iter().map(|(r, _)| r).collect()
            } else {
                vec![id.clone()]
            };
            for id in role {
                let r = &doc["Resources"][id.as_str()];
                assert_eq!(r["DeletionPolicy"].as_str(), Some("Retain"), "{id}");
                assert_eq!(r["UpdateReplacePolicy"].as_str(), Some("Retain"), "{id}");
                kept.push(id);
            }
        }
    }
    for id in [
        "ProjectsTable",
        "ConnectionsTable",
        "ApiKeysTable",
        "CursorSecret",
        "ApiGatewayLogsRole",
    ] {
        assert!(
            kept.iter().any(|k| k == id),
            "{id} is not checked: {kept:?}"
        );
    }
}

#[test]
fn the_stream_failures_alarm_fires_on_every_failure_because_nothing_drains_its_queue() {
    let doc = template();
    let alarm = &doc["Resources"]["StreamFailuresAlarm"]["Properties"];
    // A visible-messages alarm stays in ALARM after the first failed record (14 days'
    // retention) and, acting only on state changes, never tells of the next one.
    assert_eq!(alarm["MetricName"].as_str(), Some("NumberOfMessagesSent"));
    assert_eq!(alarm["Statistic"].as_str(), Some("Sum"));
    assert_eq!(alarm["Threshold"].as_f64(), Some(1.0));
    assert_eq!(
        alarm["ComparisonOperator"].as_str(),
        Some("GreaterThanOrEqualToThreshold")
    );
    assert_eq!(alarm["TreatMissingData"].as_str(), Some("notBreaching"));
}

#[test]
fn no_per_route_metrics_are_billed_that_nothing_reads() {
    let doc = template();
    for (id, api) in resources(&doc, "AWS::Serverless::HttpApi") {
        let settings = &api["Properties"]["DefaultRouteSettings"];
        assert_ne!(
            settings["DetailedMetricsEnabled"].as_bool(),
            Some(true),
            "{id}: detailed (per-route) metrics are on, but no widget or alarm reads them"
        );
    }
}

#[test]
fn the_page_has_a_root_route_because_a_greedy_variable_matches_only_child_resources() {
    // API Gateway: "a greedy path variable catches all child resources of a route", so
    // `ANY /{proxy+}` never receives `GET /`, and without its own route the page would be
    // API Gateway's 404 on AWS while it worked locally.
    let doc = template();
    let events = &doc["Resources"]["ApiFunction"]["Properties"]["Events"];
    let routes: Vec<(String, String)> = events
        .as_mapping()
        .expect("the api function has events")
        .values()
        .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        .map(|e| {
            let p = &e["Properties"];
            (
                p["Method"].as_str().unwrap_or_default().to_string(),
                p["Path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        routes.contains(&("GET".into(), "/".into())),
        "no GET / route on the api: {routes:?}"
    );
    assert!(
        routes.contains(&("ANY".into(), "/{proxy+}".into())),
        "the page's files under /ui/ need the catch-all: {routes:?}"
    );
}

#[test]
fn the_api_may_stop_only_its_own_workflows_executions_and_knows_the_workflow_type() {
    // StopExecution's resource is the execution (arn:…:execution:<machine name>:<name>),
    // not the state machine: a grant on `!Ref Workflow` would be refused at run time, and
    // Express executions cannot be stopped at all, so the api must know the type.
    let doc = template();
    let api = &doc["Resources"]["ApiFunction"]["Properties"];
    let statements = api["Policies"][0]["Statement"].as_sequence().unwrap();
    let stop: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Action"].as_str() == Some("states:StopExecution"))
        .collect();
    assert_eq!(stop.len(), 1, "one StopExecution grant");
    let granted: BTreeSet<String> = stop[0]["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| untagged(r).as_str().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = state_machines(&doc)
        .iter()
        .map(|(_, machine, _)| {
            let name = untagged(&machine["Name"]).as_str().unwrap();
            format!(
                "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{name}:*"
            )
        })
        .collect();
    assert_eq!(
        granted, expected,
        "each workflow's executions, and only those"
    );
    let variable = &api["Environment"]["Variables"]["ZTS_WORKFLOW_TYPE"];
    assert_eq!(tag_of(variable).as_deref(), Some("!Ref"));
    assert_eq!(untagged(variable).as_str(), Some("WorkflowType"));
    // The routes of a project's life reach the api.
    let events = api["Events"].as_mapping().unwrap();
    let routes: BTreeSet<(String, String)> = events
        .values()
        .map(|e| {
            (
                e["Properties"]["Method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["Properties"]["Path"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    for (method, path) in [
        ("POST", "/api/v1/projects/{id}/retry"),
        ("POST", "/api/v1/projects/{id}/cancel"),
        ("GET", "/api/v1/projects/{id}/export"),
        ("DELETE", "/api/v1/projects/{id}"),
        ("GET", "/api/v1/workflows"),
        ("GET", "/api/v1/workflows/{name}"),
    ] {
        assert!(
            routes.contains(&(method.to_string(), path.to_string())),
            "{method} {path}: {routes:?}"
        );
    }
}

/// Retention (README: Retention): every function gets the template's `RetentionDays` in
/// the variable the code reads, its default is the code's, and its range is one the code
/// accepts (whole days, 0 = forever). The Projects table's TTL is on, on the attribute
/// the code writes (its name and type are checked against moto's table in
/// dynamodb_retention.rs).
#[test]
fn retention_reaches_every_function_and_the_table_expires_on_the_codes_attribute() {
    let doc = template();
    let param = &doc["Parameters"]["RetentionDays"];
    assert_eq!(param["Type"].as_str(), Some("Number"));
    assert_eq!(
        param["Default"].as_u64(),
        Some(u64::from(zts_domain::retention::DEFAULT_DAYS))
    );
    assert_eq!(param["MinValue"].as_u64(), Some(0), "0 keeps forever");
    let max = param["MaxValue"].as_u64().expect("a bounded retention");
    assert!(u32::try_from(max).is_ok(), "the code reads it as u32 days");
    let globals = &doc["Globals"]["Function"]["Environment"]["Variables"];
    let variable = &globals[zts_domain::retention::ENV_DAYS];
    assert_eq!(tag_of(variable).as_deref(), Some("!Ref"));
    assert_eq!(untagged(variable).as_str(), Some("RetentionDays"));
    for (id, function) in resources(&doc, "AWS::Serverless::Function") {
        let own = &function["Properties"]["Environment"]["Variables"];
        assert!(
            own.get(zts_domain::retention::ENV_DAYS).is_none(),
            "{id} overrides the retention every function must share"
        );
    }
    let ttl = &doc["Resources"]["ProjectsTable"]["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"].as_str(), Some(zts_aws::TTL_ATTRIBUTE));
    assert_eq!(ttl["Enabled"].as_bool(), Some(true));
}
