//! The shared store conformance suite against the embedded store, durable and in-memory,
//! and against the local stack's live connections (in memory, beside the store).

use zts_embedded::EmbeddedStore;

mod durable {
    use super::*;

    /// A durable (fsync'd) store in a fresh directory under cargo's test scratch space.
    async fn make() -> EmbeddedStore {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("conformance-{}", zts_domain::ProjectId::generate()));
        EmbeddedStore::open(&dir).expect("open the embedded store")
    }

    zts_conformance::project_store_conformance!(make);
    zts_conformance::project_store_concurrency_conformance!(make);
    zts_conformance::connection_store_conformance!(make);
    zts_conformance::connection_store_concurrency_conformance!(make);
    zts_conformance::key_store_conformance!(make);
    zts_conformance::connection_slots_conformance!(make);
    zts_conformance::run_identity_conformance!(make);
    zts_conformance::lifecycle_conformance!(make);
    zts_conformance::retention_sweep_conformance!(make);
}

mod in_memory {
    use super::*;

    async fn make() -> EmbeddedStore {
        EmbeddedStore::in_memory().expect("open an in-memory store")
    }

    zts_conformance::project_store_conformance!(make);
    zts_conformance::project_store_concurrency_conformance!(make);
    zts_conformance::connection_store_conformance!(make);
    zts_conformance::connection_store_concurrency_conformance!(make);
    zts_conformance::key_store_conformance!(make);
    zts_conformance::connection_slots_conformance!(make);
    zts_conformance::run_identity_conformance!(make);
    zts_conformance::lifecycle_conformance!(make);
    zts_conformance::retention_sweep_conformance!(make);
}

mod live_connections {
    use zts_embedded::LiveConnections;

    async fn make() -> LiveConnections {
        LiveConnections::new()
    }

    zts_conformance::connection_store_conformance!(make);
    zts_conformance::connection_store_concurrency_conformance!(make);
    zts_conformance::connection_slots_conformance!(make);
}
