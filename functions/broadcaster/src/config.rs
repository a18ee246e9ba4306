//! The broadcaster function's configuration: the tables and the WebSocket API's management
//! endpoint, read once at init; a missing variable stops init naming it.

pub use zts_aws::deploy::PushConfig as Config;
