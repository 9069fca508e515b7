//! Test helpers. Only ever used from `[dev-dependencies]`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use protocol::{ChatMessage, EntityId, EntityState, Position};

/// Asserts that two floats differ by at most `eps`.
///
/// ```
/// test_support::assert_close(0.1 + 0.2, 0.3, 1e-12);
/// ```
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, eps: f64) {
    assert!(
        (actual - expected).abs() <= eps,
        "expected {expected} ± {eps}, got {actual}"
    );
}

/// A chat message fixture.
pub fn chat(author: &str, text: &str) -> ChatMessage {
    ChatMessage {
        channel: "general".to_owned(),
        author: author.to_owned(),
        text: text.to_owned(),
    }
}

/// An entity at rest at the given coordinates.
pub fn entity_at(id: u64, x: f64, y: f64, z: f64) -> EntityState {
    EntityState {
        id: EntityId(id),
        position: Position { x, y, z },
        velocity: Position::default(),
    }
}

/// Sends `GET path` to `addr` and returns the status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to test server");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");

    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("response has a header block");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line has a code");
    (status, body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "expected 1")]
    fn assert_close_rejects_distant_values() {
        assert_close(1.5, 1.0, 0.1);
    }

    #[test]
    fn fixtures() {
        assert_eq!(chat("ann", "hi").channel, "general");
        assert_eq!(entity_at(3, 1.0, 2.0, 3.0).id, EntityId(3));
    }
}
