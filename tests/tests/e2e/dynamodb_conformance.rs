//! The shared store conformance suite against DynamoDB (a moto server on loopback), with
//! tables created from template.yaml. The concurrent-writer cases are left out here: moto
//! does not isolate concurrent transactions or conditional updates (see
//! `project_store_concurrency_conformance!`, `connection_store_concurrency_conformance!`).

mod projects {
    zts_conformance::project_store_conformance!(optional zts_tests::dynamodb::store);
}

mod connections {
    zts_conformance::connection_store_conformance!(optional zts_tests::dynamodb::store);
}

mod keys {
    zts_conformance::key_store_conformance!(optional zts_tests::dynamodb::store);
}

mod slots {
    zts_conformance::connection_slots_conformance!(optional zts_tests::dynamodb::store);
}

mod runs {
    zts_conformance::run_identity_conformance!(optional zts_tests::dynamodb::store);
}

mod lifecycle {
    zts_conformance::lifecycle_conformance!(optional zts_tests::dynamodb::store);
}
