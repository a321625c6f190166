//! The machine, as the policy engine sees it through its
//! [`Host`](polscan::engine::host::Host) port: the system clock, the OS
//! random source, and host names resolved by the system resolver — Kyverno's
//! `is_external_url` calls Go's `net.LookupIP` on the machine it runs on,
//! and so does polscan. In: nothing; out: the host the binary installs at
//! start.

use std::net::{IpAddr, ToSocketAddrs};

use polscan::engine::host::Host;

/// The real machine. Clock and randomness are the port's defaults.
pub(super) struct SystemHost;

impl Host for SystemHost {
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
