//! The shared store conformance suite against DynamoDB (a moto server on loopback), with
//! tables created from template.yaml. The 16-concurrent-writers case is left out here:
//! moto does not isolate concurrent transactions (see `project_store_concurrency_conformance!`).
//! The connection and key stores follow with their DynamoDB adapters.

shared::project_store_conformance!(optional zts_tests::dynamodb::store);
