//! The shared CEL environment: the standard functions, the Kubernetes CEL
//! libraries (kube-cel, with the fixes where it differs from Kubernetes),
//! Kyverno's libraries and cel-go's optional semantics, registered once per process. Every [`super::Activation`] is a
//! child scope of it, so evaluating an expression registers nothing.

use std::sync::LazyLock;

use kube_cel::{cel, KubeCelExt};

use super::{kubernetes_fixes, kyverno_lib, optional};

static ENVIRONMENT: LazyLock<cel::Context<'static>> = LazyLock::new(|| {
    let mut ctx = cel::Context::default().with_all();
    kubernetes_fixes::register(&mut ctx);
    ctx.add_function("orValue", optional::or_value);
    ctx.add_function("or", optional::or);
    ctx.add_function(optional::OPTIONAL_INDEX, optional::optional_index);
    kyverno_lib::register(&mut ctx);
    ctx
});

pub fn shared() -> &'static cel::Context<'static> {
    &ENVIRONMENT
}
