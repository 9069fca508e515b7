use protocol::{HealthReport, ServerMessage};

/// Runs one script and wraps the outcome as a message for the client.
#[cfg(unix)]
fn run(source: &str) -> ServerMessage {
    match script_sandbox::eval(source) {
        Ok(value) => ServerMessage::ScriptResult { value },
        Err(err) => ServerMessage::Error {
            reason: err.to_string(),
        },
    }
}

#[cfg(not(unix))]
fn run(_source: &str) -> ServerMessage {
    ServerMessage::Error {
        reason: "scripts are only supported on unix hosts".to_owned(),
    }
}

fn main() -> std::io::Result<()> {
    let sandbox_ok = run("6 * 7") == ServerMessage::ScriptResult { value: 42 };
    health_server::serve("script-executor", move || {
        HealthReport::healthy("script-executor", env!("CARGO_PKG_VERSION"))
            .with("sandbox", if sandbox_ok { "ok" } else { "unavailable" })
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn wraps_results_and_errors() {
        assert_eq!(run("2 + 2"), ServerMessage::ScriptResult { value: 4 });
        assert!(matches!(run("1 / 0"), ServerMessage::Error { .. }));
    }
}
