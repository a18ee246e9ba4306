//! An [`EventPusher`] twin for handler tests: records every message per connection and
//! answers as told (gone, failing) for chosen connections.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use zts_domain::ids::ConnectionId;
use zts_domain::ports::{EventPusher, PushError};

#[derive(Default)]
pub struct RecordingPusher {
    sent: Mutex<Vec<(ConnectionId, String)>>,
    answers: Mutex<HashMap<ConnectionId, PushError>>,
}

impl RecordingPusher {
    /// From now on, pushes to `connection` fail with `error`.
    pub fn fail(&self, connection: &ConnectionId, error: PushError) {
        self.answers
            .lock()
            .unwrap()
            .insert(connection.clone(), error);
    }

    /// From now on, pushes to `connection` succeed again.
    pub fn heal(&self, connection: &ConnectionId) {
        self.answers.lock().unwrap().remove(connection);
    }

    /// Every message sent to `connection`, in order, parsed as JSON.
    pub fn sent_to(&self, connection: &ConnectionId) -> Vec<serde_json::Value> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| c == connection)
            .map(|(_, m)| serde_json::from_str(m).expect("pushed messages are JSON"))
            .collect()
    }

    pub fn total(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

#[async_trait]
impl EventPusher for RecordingPusher {
    async fn push(&self, connection: &ConnectionId, message: &str) -> Result<(), PushError> {
        if let Some(error) = self.answers.lock().unwrap().get(connection) {
            return Err(error.clone());
        }
        self.sent
            .lock()
            .unwrap()
            .push((connection.clone(), message.to_string()));
        Ok(())
    }
}
