//! The finalize step: records the outcome of a run, COMPLETED or FAILED with its reason.
