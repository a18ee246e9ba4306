//! The finalize function's configuration: what template.yaml gives every step function (the
//! tables), read once at init; a missing variable stops init naming it.

pub use zts_aws::deploy::StepConfig as Config;
