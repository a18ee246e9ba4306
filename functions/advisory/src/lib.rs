//! The advisory step: turns the validator's critique into concrete next actions.
