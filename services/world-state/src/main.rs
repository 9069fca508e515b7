use std::sync::{Arc, Mutex};
use std::time::Duration;

use persistence_client::Client;
use protocol::HealthReport;
use world_core::{World, TICKS_PER_SECOND};

/// Steps the world once and saves a snapshot every second of game time.
fn advance(world: &mut World, store: &Client) {
    world.step();
    if world.tick() % u64::from(TICKS_PER_SECOND) == 0 {
        if let Err(err) = store.save_snapshot(&world.snapshot()) {
            eprintln!("world-state: snapshot not saved: {err}");
        }
    }
}

fn main() -> std::io::Result<()> {
    let store = Client::from_env().map_err(std::io::Error::other)?;
    let world = Arc::new(Mutex::new(World::demo(4)));

    let sim = Arc::clone(&world);
    std::thread::spawn(move || loop {
        advance(&mut sim.lock().unwrap(), &store);
        std::thread::sleep(Duration::from_millis(1000 / u64::from(TICKS_PER_SECOND)));
    });

    health_server::serve("world-state", move || {
        let world = world.lock().unwrap();
        HealthReport::healthy("world-state", env!("CARGO_PKG_VERSION"))
            .with("tick", world.tick())
            .with("entities", world.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_a_snapshot_each_second() {
        let store = Client::connect("mem://test").unwrap();
        let mut world = World::demo(2);
        for _ in 0..TICKS_PER_SECOND {
            advance(&mut world, &store);
        }
        let saved = store.load_snapshot().unwrap().unwrap();
        assert_eq!(saved.tick, 20);
        test_support::assert_close(saved.entities[0].position.y, 0.0, 1e-9);
    }
}
