use std::collections::BTreeMap;

use protocol::{ChatMessage, HealthReport};

/// Chat history per channel, accepting only messages from valid tokens.
#[derive(Default)]
struct Rooms {
    channels: BTreeMap<String, Vec<ChatMessage>>,
}

impl Rooms {
    fn post(&mut self, secret: &str, token: &str, mut msg: ChatMessage) -> Result<(), String> {
        let claims = auth_service::validate(secret, token, auth_service::now())
            .map_err(|e| e.to_string())?;
        msg.author = claims.player;
        self.channels
            .entry(msg.channel.clone())
            .or_default()
            .push(msg);
        Ok(())
    }
}

fn main() -> std::io::Result<()> {
    let secret = auth_service::secret_from_env();
    let token = auth_service::issue(&secret, "system", auth_service::now() + 60);
    let mut rooms = Rooms::default();
    let greeting = ChatMessage {
        channel: "general".into(),
        author: String::new(),
        text: "chat-service is up".into(),
    };
    let greeted = rooms.post(&secret, &token, greeting).is_ok();
    let channels = rooms.channels.len();

    health_server::serve("chat-service", move || {
        HealthReport::healthy("chat-service", env!("CARGO_PKG_VERSION"))
            .with("channels", channels)
            .with("greeted", greeted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_use_the_token_player_as_author() {
        let token = auth_service::issue("k", "carol", auth_service::now() + 60);
        let mut rooms = Rooms::default();
        rooms
            .post("k", &token, test_support::chat("mallory", "hi"))
            .unwrap();
        assert_eq!(rooms.channels["general"][0].author, "carol");
        assert!(rooms
            .post("k", "nope", test_support::chat("x", "y"))
            .is_err());
    }
}
