//! The world simulation: a set of bodies advanced in fixed ticks.

use std::collections::BTreeMap;

use physics::{Body, Vec3, GRAVITY};
use protocol::{EntityId, EntityState, WorldSnapshot};

/// Simulation rate.
pub const TICKS_PER_SECOND: u32 = 20;

/// The simulated world.
#[derive(Debug, Clone)]
pub struct World {
    tick: u64,
    next_id: u64,
    bodies: BTreeMap<EntityId, Body>,
    gravity: Vec3,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    pub fn new() -> Self {
        World {
            tick: 0,
            next_id: 1,
            bodies: BTreeMap::new(),
            gravity: GRAVITY,
        }
    }

    /// A small demo world with a few entities stacked above the ground.
    ///
    /// ```
    /// let mut world = world_core::World::demo(2);
    /// world.run(5);
    /// assert_eq!(world.snapshot().tick, 5);
    /// ```
    pub fn demo(entities: u64) -> Self {
        let mut world = World::new();
        for i in 0..entities {
            world.spawn(Vec3::new(i as f64, 1.0 + i as f64, 0.0));
        }
        world
    }

    pub fn with_gravity(mut self, gravity: Vec3) -> Self {
        self.gravity = gravity;
        self
    }

    pub fn tick(&self) -> u64 {
        self.tick
    }

    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    /// Adds a body at rest and returns its id.
    pub fn spawn(&mut self, position: Vec3) -> EntityId {
        let id = EntityId(self.next_id);
        self.next_id += 1;
        self.bodies.insert(id, Body::at(position));
        id
    }

    pub fn push(&mut self, id: EntityId, velocity: Vec3) -> bool {
        match self.bodies.get_mut(&id) {
            Some(body) => {
                body.velocity += velocity;
                true
            }
            None => false,
        }
    }

    /// Advances the world by one tick.
    pub fn step(&mut self) {
        let dt = 1.0 / f64::from(TICKS_PER_SECOND);
        for body in self.bodies.values_mut() {
            body.step(self.gravity, dt);
        }
        self.tick += 1;
    }

    /// Advances the world by `n` ticks.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    pub fn snapshot(&self) -> WorldSnapshot {
        WorldSnapshot {
            tick: self.tick,
            entities: self
                .bodies
                .iter()
                .map(|(id, body)| EntityState {
                    id: *id,
                    position: body.position.into(),
                    velocity: body.velocity.into(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::{assert_close, entity_at};

    #[test]
    fn ticks_advance_and_bodies_fall() {
        let mut world = World::demo(3);
        assert_eq!(world.len(), 3);
        world.run(TICKS_PER_SECOND.into());
        assert_eq!(world.tick(), 20);
        for entity in world.snapshot().entities {
            assert!(entity.position.y < 3.0);
        }
    }

    #[test]
    fn zero_gravity_keeps_bodies_in_place() {
        let mut world = World::new().with_gravity(Vec3::ZERO);
        let id = world.spawn(Vec3::new(2.0, 5.0, 1.0));
        world.run(10);
        let snapshot = world.snapshot();
        assert_eq!(snapshot.entities, vec![entity_at(id.0, 2.0, 5.0, 1.0)]);

        assert!(world.push(id, Vec3::new(1.0, 0.0, 0.0)));
        world.run(20);
        assert_close(world.snapshot().entities[0].position.x, 3.0, 1e-9);
        assert!(!world.push(EntityId(999), Vec3::ZERO));
    }
}
