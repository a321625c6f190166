//! The value types Kyverno compares and prints through Go libraries, each
//! ported with its quirks: `quantity` (Kubernetes `resource.Quantity`),
//! [`duration`] (Go `time.Duration`), [`wildcard`] (Kyverno's `*`/`?`
//! matching) and `images` (image references as Kyverno fills `images`).
//! Text enters; typed values that compare, add and print back leave.

pub mod duration;
pub(crate) mod images;
pub(crate) mod quantity;
pub mod wildcard;
