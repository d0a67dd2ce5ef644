//! Hooks for the project's own benchmarks (`bench/`) and fuzz targets (`fuzz/`): the pieces
//! of a request they measure or attack on their own. Compiled only with the `__internals`
//! feature, which no user needs; nothing here is covered by semver.

pub mod bench;
pub mod fuzz;
