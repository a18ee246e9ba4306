//! The validator step: scores and critiques the idea, stores its artifact, and commits
//! the step's progress through the project state machine.
