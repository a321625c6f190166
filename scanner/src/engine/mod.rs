//! The sans-IO policy engine: policies and resources come in as data
//! (`serde_json::Value`), results come out; no cluster client lives here.

pub mod duration;
pub mod quantity;
pub mod wildcard;
