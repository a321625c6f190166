//! The machine, as the policy engine sees it through its
//! [`Host`](polscan::engine::host::Host) port: the system clock (or a
//! test's `POLSCAN_TEST_NOW`), the OS
//! random source, and host names resolved by the system resolver — Kyverno's
//! `is_external_url` calls Go's `net.LookupIP` on the machine it runs on,
//! and so does polscan. In: nothing; out: the host the binary installs at
//! start.

use std::net::{IpAddr, ToSocketAddrs};

use polscan::engine::host::Host;

/// The real machine. Randomness is the port's default; the clock is
/// [`polscan::clock::now`], so a test's `POLSCAN_TEST_NOW` moves the
/// engine's time (exception expiries, `time_now`) with the scan's record
/// (walk47 W47-2: a faked week later, the reports still applied an
/// exception the evidence called expired).
pub(super) struct SystemHost;

impl Host for SystemHost {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        polscan::clock::now()
    }

    fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        // Port 0: only the address part of the answer is used.
        let addresses = (host, 0).to_socket_addrs().map_err(|e| e.to_string())?;
        Ok(addresses.map(|a| a.ip()).collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resolves_localhost_and_literals() {
        let local = SystemHost.lookup_ip("localhost").unwrap();
        assert!(local.iter().all(IpAddr::is_loopback), "{local:?}");
        assert_eq!(
            SystemHost.lookup_ip("10.1.2.3").unwrap(),
            vec![IpAddr::from([10, 1, 2, 3])]
        );
    }
}
