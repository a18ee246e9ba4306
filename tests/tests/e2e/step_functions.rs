//! The Step Functions workflow starter against moto's Step Functions, with a state machine
//! made from statemachine.asl.json (its `${…}` substitutions filled as SAM would).

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use zts_aws::StepFunctionsStarter;
use zts_domain::ProjectId;
use zts_domain::ports::{StartOutcome, WorkflowStart, WorkflowStarter};

const DEFINITION: &str = include_str!("../../../statemachine.asl.json");

fn client(endpoint: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(zts_aws::http::https_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "zts-tests"))
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

#[tokio::test]
async fn starts_once_per_project_and_the_execution_is_visible() {
    let Some(endpoint) = zts_tests::dynamodb::endpoint() else {
        return;
    };
    let sfn = client(&endpoint);
    let definition =
        ["Validator", "Advisory", "Finalize"]
            .iter()
            .fold(DEFINITION.to_string(), |d, f| {
                d.replace(
                    &format!("${{{f}FunctionArn}}"),
                    &format!(
                        "arn:aws:lambda:us-east-1:123456789012:function:zts-{}",
                        f.to_lowercase()
                    ),
                )
            });
    assert!(!definition.contains("${"), "a substitution is left");
    let name = format!("zts-{}", ProjectId::generate().as_str().replace('-', ""));
    let machine = sfn
        .create_state_machine()
        .name(&name)
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/zts-state-machine")
        .send()
        .await
        .expect("create the state machine");
    let arn = machine.state_machine_arn().to_string();
    let starter = StepFunctionsStarter::new(sfn.clone(), &arn);
    starter.ready().await.expect("ready");

    let start = WorkflowStart {
        project_id: ProjectId::generate(),
        correlation_id: "c-1".into(),
        run: 1,
        workflow: "idea-to-advice".into(),
    };
    assert_eq!(starter.start(&start).await.unwrap(), StartOutcome::Started);
    // The same start again: Step Functions answers it idempotently (same name, same input,
    // still running); with another input it is ExecutionAlreadyExists. Either way: one run.
    assert!(starter.start(&start).await.is_ok());
    let other_input = WorkflowStart {
        correlation_id: "c-2".into(),
        ..start.clone()
    };
    assert_eq!(
        starter.start(&other_input).await.unwrap(),
        StartOutcome::AlreadyStarted
    );

    let executions = sfn
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = executions.executions().iter().map(|e| e.name()).collect();
    let expected = format!("{}-1", start.project_id);
    assert_eq!(
        names,
        vec![expected.as_str()],
        "one execution, named by the project id and run"
    );
    let described = sfn
        .describe_execution()
        .execution_arn(executions.executions()[0].execution_arn())
        .send()
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(input["project_id"], start.project_id.as_str());
    assert_eq!(input["correlation_id"], "c-1");
    assert_eq!(
        input["run"], 1,
        "the run reaches the steps' Parameters as $.run"
    );

    // A later run of the same project is a new execution: Standard refuses a reused name
    // for 90 days, so a retry under the first name would never run.
    let second = WorkflowStart {
        run: 2,
        ..start.clone()
    };
    assert_eq!(starter.start(&second).await.unwrap(), StartOutcome::Started);
    let count = sfn
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .executions()
        .len();
    assert_eq!(count, 2);

    // A cancel stops the run's execution: the ARN derived from the machine's and the name
    // is the execution's, so moto finds it and records it ABORTED.
    let execution_arn = executions.executions()[0].execution_arn().to_string();
    assert_eq!(
        StepFunctionsStarter::execution_arn(&arn, &expected),
        execution_arn
    );
    assert!(
        starter.stop(&start).await.unwrap(),
        "a running execution stops"
    );
    let stopped = sfn
        .describe_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status().as_str(), "ABORTED");
    // A run that was never started (a lost start) has nothing to stop: not an error.
    let never = WorkflowStart {
        run: 9,
        ..start.clone()
    };
    assert!(!starter.stop(&never).await.unwrap());
    // On Express, StopExecution is not supported: nothing is called, the state decides.
    let express = StepFunctionsStarter::new(sfn.clone(), &arn).express();
    assert!(!express.stop(&second).await.unwrap());

    // A workflow the deployment has no state machine for is refused, not started on
    // another's; readiness asks about every state machine the starter knows.
    let quick = WorkflowStart {
        workflow: "quick-check".into(),
        ..start.clone()
    };
    assert!(matches!(
        starter.start(&quick).await,
        Err(zts_domain::ports::WorkflowError::Failed(_))
    ));
    let names: Vec<&str> = starter.workflows().iter().map(|w| w.name).collect();
    assert_eq!(names, ["idea-to-advice"]);
    let both = StepFunctionsStarter::new(sfn.clone(), &arn)
        .with_workflow("quick-check", arn.replace(&name, "no-such-machine"));
    assert!(both.ready().await.is_err());
    let names: Vec<&str> = both.workflows().iter().map(|w| w.name).collect();
    assert_eq!(names, ["idea-to-advice", "quick-check"]);

    let missing = StepFunctionsStarter::new(sfn, arn.replace(&name, "no-such-machine"));
    assert!(missing.ready().await.is_err());
}
