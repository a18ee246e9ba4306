//! The one HTTP client every SDK configuration uses: hyper with rustls on *ring*, the
//! system's root certificates (Lambda's runtime image carries them), HTTP/1.1 and HTTP/2.
//! Chosen over the SDK's default client (rustls on aws-lc) for smaller packages and
//! builds; the SDK's retries, timeouts and connection pooling are the same either way.

use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

pub use aws_sdk_dynamodb::config::SharedHttpClient;

/// A new client (each owns its connection pool): build one per process and hand it to
/// every SDK configuration (`crate::deploy::sdk_config` does).
pub fn https_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
