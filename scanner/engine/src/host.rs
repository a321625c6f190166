//! The engine's port to the machine it runs on: the clock, host-name
//! resolution and randomness.
//!
//! In: a [`Host`] the embedder installs (process-wide with [`install`], or
//! for one thread's work with [`scoped`]). Out: what the engine asks of it —
//! the current time (JMESPath `time_now`/`time_now_utc`/`time_since`, CEL
//! `time.now`, a PolicyException's expiry), the addresses of a host name
//! (JMESPath `is_external_url`) and a seed (JMESPath `random`).
//!
//! The engine does no network or file I/O of its own. Without an installed
//! host it reads the operating system's clock and random source (neither
//! is I/O) and resolves no host name: `is_external_url` on a name then
//! fails, saying that no resolver was given. The `polscan` binary installs
//! a host that resolves through the system resolver, as Kyverno does
//! (`net.LookupIP`). Tests install fixed ones, so their time and names are
//! their own.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

/// What the engine needs from its surroundings. Every method has a
/// default: the system clock, an OS-seeded random number, and no resolver.
pub trait Host: Send + Sync {
    /// The current time (Kyverno's `time.Now()`), in UTC.
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// The IP addresses `host` resolves to, as Go's `net.LookupIP`.
    ///
    /// # Errors
    /// The resolver's failure as text (it becomes the JMESPath function's
    /// error, `lookup <host>: <reason>`). The default resolves nothing.
    fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let _ = host;
        Err("no host-name resolver was given to the policy engine".to_string())
    }

    /// A fresh seed for JMESPath `random`: each call should differ.
    fn random_seed(&self) -> u64 {
        rand::random()
    }
}

/// The host used when none is installed: see the module's documentation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Detached;

impl Host for Detached {}

static INSTALLED: RwLock<Option<Arc<dyn Host>>> = RwLock::new(None);

thread_local! {
    static SCOPED: RefCell<Option<Arc<dyn Host>>> = const { RefCell::new(None) };
}

/// Makes `host` the engine's host for the whole process (replacing any
/// installed before); the binary calls it once at start.
pub fn install(host: Arc<dyn Host>) {
    // A poisoned lock still holds a valid Option: take it over.
    let mut slot = INSTALLED.write().unwrap_or_else(|p| p.into_inner());
    *slot = Some(host);
}

/// Runs `work` with `host` as the engine's host on this thread only, then
/// restores what was there; for tests and single-threaded embedders (work
/// that rayon moves to other threads sees the installed host instead).
pub fn scoped<R>(host: Arc<dyn Host>, work: impl FnOnce() -> R) -> R {
    let before = SCOPED.with(|slot| slot.replace(Some(host)));
    // Restore even if `work` unwinds, so one test cannot leak its host.
    struct Restore(Option<Arc<dyn Host>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            SCOPED.with(|slot| *slot.borrow_mut() = before);
        }
    }
    let _restore = Restore(before);
    work()
}

/// The host in force on this thread: the scoped one, else the installed
/// one, else [`Detached`].
pub(crate) fn current() -> Arc<dyn Host> {
    if let Some(host) = SCOPED.with(|slot| slot.borrow().clone()) {
        return host;
    }
    let installed = INSTALLED.read().unwrap_or_else(|p| p.into_inner());
    match &*installed {
        Some(host) => host.clone(),
        None => Arc::new(Detached),
    }
}

/// The current time from the host in force.
pub(crate) fn now() -> DateTime<Utc> {
    current().now()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Fixed;
    impl Host for Fixed {
        fn now(&self) -> DateTime<Utc> {
            DateTime::from_timestamp(1_700_000_000, 0).unwrap()
        }
    }

    #[test]
    fn a_scoped_host_applies_to_its_thread_and_is_restored() {
        let fixed = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_ne!(now(), fixed);
        scoped(Arc::new(Fixed), || {
            assert_eq!(now(), fixed);
            // Another thread does not see it.
            std::thread::spawn(|| {
                assert_ne!(now(), DateTime::from_timestamp(1_700_000_000, 0).unwrap())
            })
            .join()
            .unwrap();
        });
        assert_ne!(now(), fixed);
    }

    #[test]
    fn the_detached_host_resolves_nothing() {
        let err = Detached.lookup_ip("example.com").unwrap_err();
        assert!(err.contains("no host-name resolver"), "{err}");
        assert_ne!(Detached.random_seed(), Detached.random_seed());
    }
}
