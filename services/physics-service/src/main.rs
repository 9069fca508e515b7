use physics::Vec3;
use protocol::HealthReport;
use world_core::World;

/// Ticks a body dropped from `height` needs to reach the ground.
fn drop_ticks(height: f64) -> u64 {
    let mut world = World::new();
    world.spawn(Vec3::new(0.0, height, 0.0));
    while world.snapshot().entities[0].position.y > 0.0 && world.tick() < 10_000 {
        world.step();
    }
    world.tick()
}

fn main() -> std::io::Result<()> {
    let calibration = drop_ticks(10.0);
    health_server::serve("physics-service", move || {
        HealthReport::healthy("physics-service", env!("CARGO_PKG_VERSION"))
            .with("drop_ticks_10m", calibration)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ten_metre_drop_takes_about_a_second_and_a_half() {
        // sqrt(2 * 10 / 9.81) ≈ 1.43 s, i.e. about 29 ticks at 20 Hz.
        let ticks = super::drop_ticks(10.0);
        assert!((27..=31).contains(&ticks), "{ticks}");
    }
}
