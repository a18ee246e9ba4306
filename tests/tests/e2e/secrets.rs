//! The api's cursor secret comes from Secrets Manager at init (moto's Secrets Manager on
//! loopback here), never from its environment.

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use zts_aws::secrets::{SecretError, read_secret};

/// What the api asks of its cursor secret (`api::config::CURSOR_SECRET_MIN_BYTES`).
const CURSOR_SECRET_MIN_BYTES: usize = 16;

fn client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(zts_aws::http::https_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "zts-tests"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

#[tokio::test]
async fn the_cursor_secret_is_read_by_arn_and_a_bad_one_is_named_without_its_value() {
    let Some(endpoint) = zts_tests::dynamodb::endpoint() else {
        return;
    };
    let sm = client(&endpoint);
    let suffix = zts_domain::ProjectId::generate();
    let value = "a-cursor-secret-of-forty-eight-bytes-0123456789ab";
    let arn = sm
        .create_secret()
        .name(format!("zts-test-cursor-{suffix}"))
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let secret = read_secret(&sm, &arn, CURSOR_SECRET_MIN_BYTES)
        .await
        .unwrap();
    assert_eq!(secret.expose(), value);
    assert!(!format!("{secret:?}").contains(value));

    // A rotated value is what the next init reads.
    sm.put_secret_value()
        .secret_id(&arn)
        .secret_string("rotated-cursor-secret-0123456789abcdef")
        .send()
        .await
        .unwrap();
    let rotated = read_secret(&sm, &arn, CURSOR_SECRET_MIN_BYTES)
        .await
        .unwrap();
    assert_eq!(rotated.expose(), "rotated-cursor-secret-0123456789abcdef");

    let short = sm
        .create_secret()
        .name(format!("zts-test-short-{suffix}"))
        .secret_string("too-short")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let err = read_secret(&sm, &short, CURSOR_SECRET_MIN_BYTES)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::TooShort { .. }), "{err:?}");
    assert!(!err.to_string().contains("too-short"), "{err}");

    let missing = format!("zts-test-missing-{suffix}");
    assert_eq!(
        read_secret(&sm, &missing, 16).await.unwrap_err(),
        SecretError::NotFound { id: missing }
    );
}
