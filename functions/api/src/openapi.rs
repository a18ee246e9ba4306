//! The OpenAPI 3.1 document, generated from the handlers' annotations and the view types.

use crate::routes;
use crate::views::*;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "ZeroToShip API", version = "1.0.0", description = "Submit a startup idea; watch the validator and advisory steps run; read the artifacts."),
    paths(
        routes::projects::create,
        routes::projects::list,
        routes::projects::get,
        routes::projects::status,
        routes::projects::events,
        routes::lifecycle::retry,
        routes::lifecycle::cancel,
        routes::lifecycle::export,
        routes::lifecycle::delete,
        routes::tickets::create,
        routes::workflows::list,
        routes::workflows::get,
        routes::health::live,
        routes::health::ready,
    ),
    components(schemas(CreateProjectBody, Created, Links, Status, Summary, ProjectList, Project, StepRunView, RunView, Retried, Export, AttemptErrorView, ArtifactView, InputView, EventList, Health, Check, ErrorEnvelope, ErrorView, Ticket, WorkflowRefView, WorkflowView, WorkflowList, WorkflowDetail)),
    modifiers(&ApiKeySecurity),
    security(("api_key" = []), ("bearer" = [])),
    tags((name = "projects", description = "Ideas and their runs"), (name = "websocket", description = "Live events"), (name = "workflows", description = "The pipelines a project may run"), (name = "health", description = "Probes"))
)]
struct ApiDoc;

/// API keys go in `x-api-key` or as a bearer token.
struct ApiKeySecurity;

impl utoipa::Modify for ApiKeySecurity {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON (built once).
#[allow(
    clippy::expect_used,
    reason = "the document is built from constants; a failure fails every test"
)]
pub fn openapi_json() -> String {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
    .clone()
}
