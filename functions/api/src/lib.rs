//! The HTTP API function: the axum router of DESIGN.md §2, generic over the ports, mounted
//! as it is by the local stack and behind `lambda_http` on AWS.
