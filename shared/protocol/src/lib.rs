//! Wire types exchanged between the game platform's services.
//!
//! Everything is plain data with serde derives; JSON is the encoding used
//! on the HTTP side (health reports) and between services for now.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Identifier of a simulated entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntityId(pub u64);

/// A point or direction in world space.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

/// State of one entity at a given tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityState {
    pub id: EntityId,
    pub position: Position,
    pub velocity: Position,
}

/// Everything a client needs to draw one tick of the world.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WorldSnapshot {
    pub tick: u64,
    pub entities: Vec<EntityState>,
}

/// A chat line as sent by a player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub channel: String,
    pub author: String,
    pub text: String,
}

/// Messages a client may send to a gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Login { token: String },
    Chat(ChatMessage),
    Move { entity: EntityId, target: Position },
    RunScript { source: String },
}

/// Messages a gateway sends back to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome { player: String },
    Chat(ChatMessage),
    Snapshot(WorldSnapshot),
    ScriptResult { value: i64 },
    Error { reason: String },
}

/// Overall state reported by `GET /health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Degraded,
}

/// Body of a service's `GET /health` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub service: String,
    pub status: Status,
    pub version: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl HealthReport {
    /// A healthy report without details.
    pub fn healthy(service: &str, version: &str) -> Self {
        HealthReport {
            service: service.to_owned(),
            status: Status::Healthy,
            version: version.to_owned(),
            details: BTreeMap::new(),
        }
    }

    /// Adds one detail entry, builder style.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// Encodes a message as compact JSON.
///
/// ```
/// use protocol::{encode, ClientMessage};
///
/// let login = ClientMessage::Login { token: "t".into() };
/// assert_eq!(encode(&login), r#"{"type":"login","token":"t"}"#);
/// ```
pub fn encode<T: Serialize>(message: &T) -> String {
    // Serialising these plain types cannot fail: no maps with non-string keys.
    serde_json::to_string(message).expect("protocol types always serialise")
}

/// Decodes a message from JSON.
pub fn decode<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_tagged() {
        let msg = ClientMessage::Move {
            entity: EntityId(7),
            target: Position {
                x: 1.0,
                y: 2.0,
                z: 0.5,
            },
        };
        let text = encode(&msg);
        assert!(text.starts_with(r#"{"type":"move","entity":7"#), "{text}");
        assert_eq!(decode::<ClientMessage>(&text).unwrap(), msg);
    }

    #[test]
    fn health_report_skips_empty_details() {
        let report = HealthReport::healthy("auth-service", "0.1.0");
        assert_eq!(
            encode(&report),
            r#"{"service":"auth-service","status":"healthy","version":"0.1.0"}"#
        );
        let detailed = report.with("tick", 3);
        assert!(encode(&detailed).ends_with(r#""details":{"tick":3}}"#));
    }
}
