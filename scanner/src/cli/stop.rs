//! SIGTERM and Ctrl-C as a value a scan can watch: the signals enter, a
//! [`Stop`] leaves that says whether one came. A scan stopped this way
//! still records its run as incomplete and releases its Lease before the
//! process ends (Kubernetes sends SIGTERM, then SIGKILL after the pod's
//! grace period).

use tokio::sync::watch;

/// Whether the process was asked to stop; cloned to each waiter.
#[derive(Debug, Clone)]
pub(super) struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Listens for SIGTERM and Ctrl-C from now on (inside a Tokio
    /// runtime). From then on they no longer end the process by
    /// themselves: whoever holds the [`Stop`] must.
    pub(super) fn listen() -> Stop {
        let (sender, receiver) = watch::channel(false);
        tokio::spawn(async move {
            requested().await;
            let _ = sender.send(true);
        });
        Stop(receiver)
    }

    /// Resolves once a stop was asked for (at once if it was already).
    pub(super) async fn requested(&mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            // The listener is gone (no signal handler could be set up):
            // no stop will ever come.
            std::future::pending::<()>().await;
        }
    }

    /// Whether a stop was asked for.
    pub(super) fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// Resolves when the process is asked to stop.
async fn requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
