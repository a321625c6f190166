//! polscan's library: the sans-IO policy engine, the loaders that turn files
//! into policies and resources, the Kyverno CLI test runner, and the command
//! implementations the `polscan` binary dispatches to.

pub mod engine;
