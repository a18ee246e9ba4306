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
        routes::health::live,
        routes::health::ready,
    ),
    components(schemas(CreateProjectBody, Created, Links, Status, Summary, ProjectList, Project, StepRunView, AttemptErrorView, ArtifactView, InputView, EventList, Health, ErrorEnvelope, ErrorView)),
    tags((name = "projects", description = "Ideas and their runs"), (name = "health", description = "Probes"))
)]
struct ApiDoc;

/// The document as JSON (built once).
pub fn openapi_json() -> String {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
    .clone()
}
