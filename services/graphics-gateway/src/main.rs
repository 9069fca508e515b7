use wire::{HealthReport, ServerMessage, WorldSnapshot};

/// Version stamped by build.rs (package version, plus git sha if known).
const BUILD_VERSION: &str = env!("BUILD_VERSION");

/// Frames a snapshot for a graphical client: one JSON document per line.
fn frame(snapshot: WorldSnapshot) -> String {
    let mut line = wire::encode(&ServerMessage::Snapshot(snapshot));
    line.push('\n');
    line
}

fn main() -> std::io::Result<()> {
    let empty_frame_bytes = frame(WorldSnapshot::default()).len();
    health_server::serve("graphics-gateway", move || {
        HealthReport::healthy("graphics-gateway", BUILD_VERSION)
            .with("empty_frame_bytes", empty_frame_bytes)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_are_single_json_lines() {
        let frame = super::frame(wire::WorldSnapshot::default());
        assert_eq!(
            frame,
            "{\"type\":\"snapshot\",\"tick\":0,\"entities\":[]}\n"
        );
        assert!(super::BUILD_VERSION.starts_with(env!("CARGO_PKG_VERSION")));
    }
}
