//! The shared store conformance suite against DynamoDB (a moto server on loopback), with
//! tables created from template.yaml. The 16-concurrent-writers case is left out here:
//! moto does not isolate concurrent transactions (see `project_store_concurrency_conformance!`).

mod projects {
    shared::project_store_conformance!(optional zts_tests::dynamodb::store);
}

mod connections {
    shared::connection_store_conformance!(optional zts_tests::dynamodb::store);
}

mod keys {
    shared::key_store_conformance!(optional zts_tests::dynamodb::store);
}
