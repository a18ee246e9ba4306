//! Shared test helpers: scripted tasks and a recording observer.
#![allow(dead_code)]

use asl::{Clock, Execution, Machine, Observation, Observer, TaskError, TaskHandler, TokioClock};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

type Script = Box<dyn Fn(&Value, u32) -> Result<Value, TaskError> + Send + Sync>;

/// Tasks by resource name; each gets its input and how many times it was called before.
#[derive(Default)]
pub struct Tasks {
    scripts: BTreeMap<String, Script>,
    pub calls: Mutex<Vec<(String, Value, tokio::time::Instant)>>,
    delays: BTreeMap<String, std::time::Duration>,
}

impl Tasks {
    pub fn on(
        mut self,
        resource: &str,
        f: impl Fn(&Value, u32) -> Result<Value, TaskError> + Send + Sync + 'static,
    ) -> Self {
        self.scripts.insert(resource.to_string(), Box::new(f));
        self
    }

    /// Makes `resource` take `d` (tokio time) before answering.
    pub fn slow(mut self, resource: &str, d: std::time::Duration) -> Self {
        self.delays.insert(resource.to_string(), d);
        self
    }

    pub fn inputs(&self, resource: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == resource)
            .map(|c| c.1.clone())
            .collect()
    }

    pub fn times(&self, resource: &str) -> Vec<tokio::time::Instant> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == resource)
            .map(|c| c.2)
            .collect()
    }
}

#[async_trait]
impl TaskHandler for Tasks {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.iter().filter(|c| c.0 == resource).count() as u32;
            calls.push((
                resource.to_string(),
                input.clone(),
                tokio::time::Instant::now(),
            ));
            n
        };
        if let Some(d) = self.delays.get(resource) {
            tokio::time::sleep(*d).await;
        }
        match self.scripts.get(resource) {
            Some(f) => f(&input, n),
            None => Err(TaskError::new(
                "Test.NoScript",
                format!("no script for {resource}"),
            )),
        }
    }
}

#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Observation>>);

impl Observer for Recorder {
    fn observe(&self, _: &Execution, what: &Observation) {
        self.0.lock().unwrap().push(what.clone());
    }
}

impl Recorder {
    pub fn all(&self) -> Vec<Observation> {
        self.0.lock().unwrap().clone()
    }

    pub fn retry_delays_ms(&self) -> Vec<u64> {
        self.all()
            .into_iter()
            .filter_map(|o| match o {
                Observation::RetryScheduled { delay_ms, .. } => Some(delay_ms),
                _ => None,
            })
            .collect()
    }
}

pub fn machine(json: &str) -> Machine {
    Machine::new(
        asl::load(json, &BTreeMap::new()).expect("a valid definition"),
        "test",
    )
}

/// Runs to the end; returns the finished execution.
pub async fn run(machine: &Machine, input: Value, tasks: &Tasks, observer: &Recorder) -> Execution {
    let clock = TokioClock::new();
    let mut ex = machine.start("run-1", input, &clock, observer);
    machine.run(&mut ex, tasks, observer, &clock, |_| {}).await;
    ex
}

pub fn clock() -> impl Clock {
    TokioClock::new()
}
