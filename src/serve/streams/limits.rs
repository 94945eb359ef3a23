//! The limits that protect the server from its streams, as substrate-telemetry's shard sets them:
//! who may submit, how many connections one address may hold, and how many bytes a connection may
//! send per second, averaged over 10 s.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// An address range in CIDR notation, `10.0.0.0/8` or `2001:db8::/32`; a bare address is one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an address or CIDR range"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {bits}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// `--submit-allow`: empty allows everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(pub Vec<Cidr>);

impl AllowList {
    pub fn permits(&self, address: IpAddr) -> bool {
        self.0.is_empty() || self.0.iter().any(|range| range.contains(address))
    }
}

/// Open connections per address; a `Slot` gives its place back when dropped.
#[derive(Debug, Clone)]
pub struct PerAddress {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

pub struct Slot {
    address: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    pub fn new(limit: usize) -> PerAddress {
        PerAddress {
            limit,
            open: Arc::default(),
        }
    }

    /// A place for one more connection from `address`, unless it has `limit` open.
    pub fn take(&self, address: IpAddr) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(address).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            address,
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Addresses refused for a while after one of their connections broke a limit (too many bytes, a
/// frame too large), as substrate-telemetry's shard refuses them for 10 minutes: a node closed
/// for flooding cannot reconnect and flood again at once.
#[derive(Debug)]
pub struct Blocked {
    /// How long; zero blocks nobody.
    duration: Duration,
    until: Mutex<HashMap<IpAddr, Instant>>,
}

impl Blocked {
    /// More addresses than this blocked at once are not remembered (the map stays bounded when a
    /// botnet floods); those past it are refused only by the limits themselves.
    const MAX_ADDRESSES: usize = 65_536;

    pub fn new(duration: Duration) -> Blocked {
        Blocked {
            duration,
            until: Mutex::default(),
        }
    }

    pub fn block(&self, address: IpAddr, now: Instant) {
        if self.duration.is_zero() {
            return;
        }
        let mut until = self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if until.len() >= Blocked::MAX_ADDRESSES {
            until.retain(|_, end| *end > now);
        }
        if until.len() < Blocked::MAX_ADDRESSES {
            until.insert(address, now + self.duration);
        }
    }

    /// Until when `address` is refused, if it is at `now`.
    pub fn until(&self, address: IpAddr, now: Instant) -> Option<Instant> {
        let mut until = self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match until.get(&address) {
            Some(end) if *end > now => Some(*end),
            Some(_) => {
                until.remove(&address);
                None
            }
            None => None,
        }
    }
}

/// Bytes received over the last `WINDOW_SECONDS` one-second buckets.
#[derive(Debug)]
pub struct ByteRate {
    /// Allowed per second, on average over the window.
    limit_per_second: u64,
    started: Instant,
    buckets: [(u64, u64); ByteRate::WINDOW_SECONDS as usize],
}

impl ByteRate {
    pub const WINDOW_SECONDS: u64 = 10;

    pub fn new(limit_per_second: u64, now: Instant) -> ByteRate {
        ByteRate {
            limit_per_second,
            started: now,
            buckets: [(u64::MAX, 0); ByteRate::WINDOW_SECONDS as usize],
        }
    }

    /// Counts `bytes` received at `now`; false when the last 10 s now hold more than 10 s' worth
    /// of the limit.
    pub fn admit(&mut self, bytes: u64, now: Instant) -> bool {
        let second = now.saturating_duration_since(self.started).as_secs();
        let slot = &mut self.buckets[(second % ByteRate::WINDOW_SECONDS) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 = slot.1.saturating_add(bytes);
        let recent: u64 = self
            .buckets
            .iter()
            .filter(|(at, _)| {
                *at != u64::MAX && second.saturating_sub(*at) < ByteRate::WINDOW_SECONDS
            })
            .map(|(_, bytes)| bytes)
            .sum();
        recent
            <= self
                .limit_per_second
                .saturating_mul(ByteRate::WINDOW_SECONDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_address_is_refused_for_a_while_and_others_not_at_all() {
        let start = Instant::now();
        let blocked = Blocked::new(Duration::from_secs(600));
        let flooder: IpAddr = "192.0.2.1".parse().expect("ip");
        blocked.block(flooder, start);
        assert!(
            blocked
                .until(flooder, start + Duration::from_secs(599))
                .is_some()
        );
        assert!(
            blocked
                .until("192.0.2.2".parse().expect("ip"), start)
                .is_none()
        );
        assert!(
            blocked
                .until(flooder, start + Duration::from_secs(600))
                .is_none()
        );
        let nobody = Blocked::new(Duration::ZERO);
        nobody.block(flooder, start);
        assert!(nobody.until(flooder, start).is_none());
    }

    #[test]
    fn ranges_match_their_addresses_only() {
        let range: Cidr = "10.1.0.0/16".parse().expect("valid");
        assert!(range.contains("10.1.200.3".parse().expect("ip")));
        assert!(!range.contains("10.2.0.1".parse().expect("ip")));
        assert!(range.contains("::ffff:10.1.0.9".parse().expect("ip")));
        let host: Cidr = "127.0.0.1".parse().expect("valid");
        assert!(host.contains("127.0.0.1".parse().expect("ip")));
        assert!(!host.contains("127.0.0.2".parse().expect("ip")));
        let everyone: Cidr = "::/0".parse().expect("valid");
        assert!(everyone.contains("2001:db8::1".parse().expect("ip")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("example.org".parse::<Cidr>().is_err());
        assert!(AllowList::default().permits("192.0.2.1".parse().expect("ip")));
    }

    #[test]
    fn an_address_gets_its_slots_back() {
        let limit = PerAddress::new(2);
        let address: IpAddr = "192.0.2.1".parse().expect("ip");
        let first = limit.take(address).expect("first");
        let _second = limit.take(address).expect("second");
        assert!(limit.take(address).is_none());
        assert!(limit.take("192.0.2.2".parse().expect("ip")).is_some());
        drop(first);
        assert!(limit.take(address).is_some());
    }

    #[test]
    fn the_rate_is_averaged_over_ten_seconds() {
        let start = Instant::now();
        let mut rate = ByteRate::new(1000, start);
        // A burst of 10 s' worth is allowed; one byte more is not.
        assert!(rate.admit(10_000, start));
        assert!(!rate.admit(1, start));
        // Ten seconds on, the burst has left the window.
        let later = start + Duration::from_secs(10);
        assert!(rate.admit(9_000, later));
        assert!(rate.admit(1_000, later + Duration::from_secs(1)));
        assert!(!rate.admit(1, later + Duration::from_secs(1)));
    }
}
