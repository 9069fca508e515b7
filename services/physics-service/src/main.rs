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

/// A reproducible sample of drop heights (metres) for the start-up self-check.
fn sample_heights(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| 1.0 + rng.f64() * 9.0).collect()
}

fn main() -> std::io::Result<()> {
    let calibration = drop_ticks(10.0);
    let checked = sample_heights(42, 8)
        .into_iter()
        .filter(|h| drop_ticks(*h) > 0)
        .count();
    health_server::serve("physics-service", move || {
        HealthReport::healthy("physics-service", env!("CARGO_PKG_VERSION"))
            .with("drop_ticks_10m", calibration)
            .with("self_check_drops", checked as u64)
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

    #[test]
    fn sampled_heights_are_in_range_and_reproducible() {
        let a = super::sample_heights(7, 16);
        assert_eq!(a, super::sample_heights(7, 16));
        assert!(a.iter().all(|h| (1.0..=10.0).contains(h)));
    }
}
