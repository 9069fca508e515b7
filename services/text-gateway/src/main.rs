use proto::{ClientMessage, HealthReport, ServerMessage};

/// Turns one line typed by a player into a client message.
fn parse_line(line: &str) -> ClientMessage {
    match line.trim().split_once(' ') {
        Some(("/login", token)) => ClientMessage::Login {
            token: token.trim().to_owned(),
        },
        Some(("/run", source)) => ClientMessage::RunScript {
            source: source.to_owned(),
        },
        _ => ClientMessage::Chat(proto::ChatMessage {
            channel: "general".to_owned(),
            author: String::new(),
            text: line.trim().to_owned(),
        }),
    }
}

/// Answers a login directly; other messages go to the backend services.
fn login(secret: &str, msg: &ClientMessage) -> Option<ServerMessage> {
    let ClientMessage::Login { token } = msg else {
        return None;
    };
    Some(
        match auth_service::validate(secret, token, auth_service::now()) {
            Ok(claims) => ServerMessage::Welcome {
                player: claims.player,
            },
            Err(err) => ServerMessage::Error {
                reason: err.to_string(),
            },
        },
    )
}

fn main() -> std::io::Result<()> {
    let secret = auth_service::secret_from_env();
    let token = auth_service::issue(&secret, "probe", auth_service::now() + 60);
    let login_ok = matches!(
        login(&secret, &parse_line(&format!("/login {token}"))),
        Some(ServerMessage::Welcome { .. })
    );
    health_server::serve("text-gateway", move || {
        HealthReport::healthy("text-gateway", env!("CARGO_PKG_VERSION")).with("login_ok", login_ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_chat() {
        assert_eq!(
            parse_line("/run 1 + 1"),
            ClientMessage::RunScript {
                source: "1 + 1".into()
            }
        );
        let mut expected = test_support::chat("", "hello there");
        expected.author.clear();
        assert_eq!(parse_line(" hello there "), ClientMessage::Chat(expected));
    }

    #[test]
    fn login_checks_the_token() {
        let token = auth_service::issue("k", "dave", auth_service::now() + 60);
        let welcome = login("k", &ClientMessage::Login { token });
        assert_eq!(
            welcome,
            Some(ServerMessage::Welcome {
                player: "dave".into()
            })
        );
        let bad = login("k", &ClientMessage::Login { token: "x".into() });
        assert!(matches!(bad, Some(ServerMessage::Error { .. })));
        assert_eq!(login("k", &parse_line("hi")), None);
    }
}
