"""buildctl: decide from the Cargo graph what a Rust monorepo's CI must build, then build and deploy it."""

__version__ = "0.1.0"
