//! Minimal rigid-body physics: 3D vectors and semi-implicit Euler steps.

use std::ops::{Add, AddAssign, Mul, Sub};

use protocol::Position;

/// A 3D vector.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Vec3 {
    pub const ZERO: Vec3 = Vec3::new(0.0, 0.0, 0.0);

    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Vec3 { x, y, z }
    }

    pub fn dot(self, other: Vec3) -> f64 {
        self.x * other.x + self.y * other.y + self.z * other.z
    }

    pub fn length(self) -> f64 {
        self.dot(self).sqrt()
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    fn add(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl AddAssign for Vec3 {
    fn add_assign(&mut self, o: Vec3) {
        *self = *self + o;
    }
}

impl Sub for Vec3 {
    type Output = Vec3;
    fn sub(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Vec3;
    fn mul(self, k: f64) -> Vec3 {
        Vec3::new(self.x * k, self.y * k, self.z * k)
    }
}

impl From<Vec3> for Position {
    fn from(v: Vec3) -> Position {
        Position {
            x: v.x,
            y: v.y,
            z: v.z,
        }
    }
}

impl From<Position> for Vec3 {
    fn from(p: Position) -> Vec3 {
        Vec3::new(p.x, p.y, p.z)
    }
}

/// Standard gravity, pointing down the y axis.
pub const GRAVITY: Vec3 = Vec3::new(0.0, -9.81, 0.0);

/// A point mass.
///
/// ```
/// use physics::{Body, Vec3, GRAVITY};
///
/// let mut body = Body::at(Vec3::new(0.0, 10.0, 0.0));
/// body.step(GRAVITY, 0.1);
/// assert!(body.position.y < 10.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Body {
    pub position: Vec3,
    pub velocity: Vec3,
    pub mass: f64,
}

impl Body {
    pub fn at(position: Vec3) -> Self {
        Body {
            position,
            velocity: Vec3::ZERO,
            mass: 1.0,
        }
    }

    /// Advances the body by `dt` seconds under `acceleration`, keeping it
    /// above the ground plane y = 0 (where it stops falling).
    pub fn step(&mut self, acceleration: Vec3, dt: f64) {
        self.velocity += acceleration * dt;
        self.position += self.velocity * dt;
        if self.position.y < 0.0 {
            self.position.y = 0.0;
            self.velocity.y = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::assert_close;

    #[test]
    fn vector_arithmetic() {
        let v = Vec3::new(3.0, 4.0, 0.0);
        assert_close(v.length(), 5.0, 1e-12);
        assert_eq!(v + v - v, v);
        assert_eq!(v * 2.0, Vec3::new(6.0, 8.0, 0.0));
    }

    #[test]
    fn falling_body_lands_on_ground() {
        let mut body = Body::at(Vec3::new(0.0, 1.0, 0.0));
        body.velocity = Vec3::new(1.0, 0.0, 0.0);
        for _ in 0..100 {
            body.step(GRAVITY, 0.01);
        }
        assert_close(body.position.y, 0.0, 1e-12);
        assert_close(body.position.x, 1.0, 1e-9);
        assert_eq!(body.velocity.y, 0.0);
    }
}
