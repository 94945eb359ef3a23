//! WebSocket telemetry frames: the Starknet stream (seed 002) and Substrate's flat messages.
//!
//! Both describe the same thing, a node and its host, from a `NodeSnapshot` plus the rates that
//! only two consecutive snapshots give (CPU usage, bandwidth). A `Session` remembers what one
//! connection has been told, so that the first frames after every (re)connect identify the node and
//! carry everything known, and later ones carry only what changed (Starknet) or the periodic and
//! event messages (Substrate). A value nobody provides is left out, never invented.

pub mod decode;

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use decode::is_hash;

use crate::wire::snapshot::{BlockRef, ChainNode, HostSample, NodeSnapshot, OsFamily};

const MEGABYTE: f64 = 1024.0 * 1024.0;

/// The two stream formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Starknet,
    Substrate,
}

/// What only two consecutive observations tell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Percent of all CPU time that was not idle or iowait.
    pub cpu_usage: Option<f64>,
    pub bytes_received_per_second: Option<f64>,
    pub bytes_sent_per_second: Option<f64>,
}

/// The previous observation, to derive rates from the next.
#[derive(Debug, Clone, Default)]
pub struct RateTracker {
    previous: Option<(u64, HostSample, Option<ChainNode>)>,
}

impl RateTracker {
    /// The rates between the previous observation and this one (taken at `timestamp_ms`).
    pub fn update(&mut self, timestamp_ms: u64, snapshot: &NodeSnapshot) -> Rates {
        let rates = match &self.previous {
            Some((then_ms, host, node)) if timestamp_ms > *then_ms => {
                let seconds = (timestamp_ms - then_ms) as f64 / 1000.0;
                let now_node = snapshot.chain_node.as_ref();
                let rate = |pick: fn(&ChainNode) -> Option<f64>| {
                    let delta = pick(now_node?)? - pick(node.as_ref()?)?;
                    // A counter that went down was reset (node restart): no rate this time.
                    (delta >= 0.0).then_some(delta / seconds)
                };
                Rates {
                    cpu_usage: cpu_usage(host, &snapshot.host),
                    bytes_received_per_second: rate(|node| node.network_bytes_received),
                    bytes_sent_per_second: rate(|node| node.network_bytes_sent),
                }
            }
            _ => Rates::default(),
        };
        self.previous = Some((
            timestamp_ms,
            snapshot.host.clone(),
            snapshot.chain_node.clone(),
        ));
        rates
    }
}

fn cpu_usage(before: &HostSample, after: &HostSample) -> Option<f64> {
    let total = after.cpu_total_seconds? - before.cpu_total_seconds?;
    let idle = (after.cpu_idle_seconds? + after.cpu_iowait_seconds?)
        - (before.cpu_idle_seconds? + before.cpu_iowait_seconds?);
    (total > 0.0).then(|| (100.0 * (1.0 - idle / total)).clamp(0.0, 100.0))
}

/// What one connection has been told.
#[derive(Debug, Clone)]
pub struct Session {
    format: Format,
    node_name: String,
    /// Starknet: every field as last sent.
    sent: Map<String, Value>,
    /// Substrate: the node was identified (system.connected sent).
    identified: bool,
    best: Option<BlockRef>,
    finalized: Option<BlockRef>,
}

impl Session {
    /// A fresh connection: its first frames will identify the node.
    pub fn new(format: Format, node_name: &str) -> Self {
        Session {
            format,
            node_name: node_name.to_owned(),
            sent: Map::new(),
            identified: false,
            best: None,
            finalized: None,
        }
    }

    /// The frames for this observation, given what the connection was already told.
    pub fn frames(
        &mut self,
        snapshot: &NodeSnapshot,
        rates: &Rates,
        now: SystemTime,
        timestamp_ms: u64,
    ) -> Vec<String> {
        let ts = rfc3339(now);
        match self.format {
            Format::Starknet => self.starknet(snapshot, rates, &ts, timestamp_ms),
            Format::Substrate => self.substrate(snapshot, rates, &ts),
        }
    }

    /// A frame that repeats the current state, for a server that drops silent nodes: Substrate's
    /// `system.interval`. Starknet servers have no such rule; a WebSocket ping keeps those alive.
    pub fn keepalive(
        &self,
        snapshot: &NodeSnapshot,
        rates: &Rates,
        now: SystemTime,
    ) -> Option<String> {
        (self.format == Format::Substrate && self.identified)
            .then(|| substrate_interval(snapshot, rates, &rfc3339(now)).to_string())
    }

    fn starknet(
        &mut self,
        snapshot: &NodeSnapshot,
        rates: &Rates,
        ts: &str,
        timestamp_ms: u64,
    ) -> Vec<String> {
        let payload = starknet_payload(&self.node_name, snapshot, rates, timestamp_ms);
        let changed: Map<String, Value> = payload
            .iter()
            .filter(|(key, value)| self.sent.get(*key) != Some(*value))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if changed.is_empty() {
            return Vec::new();
        }
        self.sent.extend(changed.clone());
        vec![json!({"payload": changed, "ts": ts}).to_string()]
    }

    fn substrate(&mut self, snapshot: &NodeSnapshot, rates: &Rates, ts: &str) -> Vec<String> {
        let mut frames = Vec::new();
        if !self.identified {
            match substrate_connected(&self.node_name, snapshot, ts) {
                Some(connected) => {
                    frames.push(connected.to_string());
                    self.identified = true;
                }
                // Without a genesis hash the servers cannot place the node: say nothing yet.
                None => return frames,
            }
        }
        let node = snapshot.chain_node.as_ref();
        // The event messages name the block by hash: without one (metrics only) the interval
        // message carries the heights alone.
        if let Some(best) = node.and_then(|node| node.best.as_ref())
            && let Some(hash) = &best.hash
            && self.best.as_ref() != Some(best)
        {
            frames.push(
                json!({"msg": "block.import", "ts": ts, "best": hash, "height": best.number})
                    .to_string(),
            );
            self.best = Some(best.clone());
        }
        if let Some(finalized) = node.and_then(|node| node.finalized.as_ref())
            && let Some(hash) = &finalized.hash
            && self.finalized.as_ref() != Some(finalized)
        {
            // Substrate sends this height as a string.
            frames.push(
                json!({"msg": "notify.finalized", "ts": ts, "best": hash,
                       "height": finalized.number.to_string()})
                .to_string(),
            );
            self.finalized = Some(finalized.clone());
        }
        frames.push(substrate_interval(snapshot, rates, ts).to_string());
        frames
    }
}

/// Every Starknet field known now.
fn starknet_payload(
    node_name: &str,
    snapshot: &NodeSnapshot,
    rates: &Rates,
    timestamp_ms: u64,
) -> Map<String, Value> {
    let mut payload = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            payload.insert(key.to_owned(), value);
        }
    };
    put("name", Some(node_name.into()));
    let node = snapshot.chain_node.as_ref();
    let text = |pick: fn(&ChainNode) -> &Option<String>| {
        node.and_then(|n| pick(n).clone()).map(Value::from)
    };
    put("peer_id", text(|n| &n.peer_id));
    put("client", text(|n| &n.implementation));
    put("version", text(|n| &n.version));
    put("network", text(|n| &n.chain));
    put("starknet_version", text(|n| &n.protocol_version));
    put("json_rpc_version", text(|n| &n.rpc_version));
    let best = node.and_then(|n| n.best.as_ref());
    put(
        "current_block_hash_l2",
        best.and_then(|b| b.hash.clone()).map(Value::from),
    );
    put("current_block_number_l2", best.map(|b| b.number.into()));
    put(
        "latest_block_time",
        node.and_then(|n| n.latest_block_time)
            .map(|seconds| seconds.saturating_mul(1000).into()),
    );
    put(
        "tx_number",
        node.and_then(|n| n.latest_block_transactions)
            .map(Value::from),
    );
    put(
        "event_number",
        node.and_then(|n| n.latest_block_events).map(Value::from),
    );
    put("peer_count", node.and_then(|n| n.peers).map(Value::from));
    put(
        "node_uptime",
        node.and_then(|n| n.start_time)
            .map(|start| (timestamp_ms as f64 / 1000.0 - start).max(0.0))
            .map(|seconds| round(seconds, 1).into()),
    );

    let host = &snapshot.host;
    put("operating_system", operating_system(host).map(Value::from));
    put(
        "memory",
        host.memory_total_bytes.map(|b| megabytes(b).into()),
    );
    put("cpu", host.cpu_cores.or(host.cpu_threads).map(Value::from));
    put("cpu_type", host.cpu_model.clone().map(Value::from));
    put(
        "storage",
        host.disk_total_bytes.map(|b| megabytes(b).into()),
    );
    put(
        "memory_usage",
        percent_used(host.memory_total_bytes, host.memory_available_bytes).map(Value::from),
    );
    put(
        "cpu_usage",
        rates.cpu_usage.map(|usage| (usage.round() as u64).into()),
    );
    put(
        "storage_usage",
        percent_used(host.disk_total_bytes, host.disk_free_bytes).map(Value::from),
    );
    payload
}

fn substrate_connected(node_name: &str, snapshot: &NodeSnapshot, ts: &str) -> Option<Value> {
    let node = snapshot.chain_node.as_ref()?;
    let genesis_hash = node.genesis_hash.as_ref().filter(|hash| is_hash(hash))?;
    let host = &snapshot.host;
    let mut message = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            message.insert(key.to_owned(), value);
        }
    };
    put("msg", Some("system.connected".into()));
    put("ts", Some(ts.into()));
    put("genesis_hash", Some(genesis_hash.clone().into()));
    put("name", Some(node_name.into()));
    put("chain", node.chain.clone().map(Value::from));
    put(
        "implementation",
        node.implementation.clone().map(Value::from),
    );
    put("version", node.version.clone().map(Value::from));
    put("authority", node.authority.map(Value::from));
    // The servers key a node on it and allow at most 64 characters.
    put(
        "network_id",
        node.peer_id
            .as_ref()
            .filter(|id| id.len() <= 64)
            .map(|id| id.clone().into()),
    );
    put(
        "startup_time",
        node.start_time
            .map(|start| ((start * 1000.0) as u64).to_string().into()),
    );
    put(
        "target_os",
        host.os.map(|os| {
            match os {
                OsFamily::Linux => "linux",
                OsFamily::Mac => "macos",
                OsFamily::Windows => "windows",
                OsFamily::Unknown => "unknown",
            }
            .into()
        }),
    );
    put("target_arch", Some(std::env::consts::ARCH.into()));
    let mut sysinfo = Map::new();
    let mut info = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            sysinfo.insert(key.to_owned(), value);
        }
    };
    info("cpu", host.cpu_model.clone().map(Value::from));
    info("memory", host.memory_total_bytes.map(Value::from));
    info("core_count", host.cpu_cores.map(Value::from));
    info("linux_kernel", host.kernel_release.clone().map(Value::from));
    info("linux_distro", host.distribution.clone().map(Value::from));
    info("is_virtual_machine", host.virtual_machine.map(Value::from));
    if !sysinfo.is_empty() {
        put("sysinfo", Some(Value::Object(sysinfo)));
    }
    Some(Value::Object(message))
}

fn substrate_interval(snapshot: &NodeSnapshot, rates: &Rates, ts: &str) -> Value {
    let mut message = Map::new();
    message.insert("msg".into(), "system.interval".into());
    message.insert("ts".into(), ts.into());
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            message.insert(key.to_owned(), value);
        }
    };
    let node = snapshot.chain_node.as_ref();
    put("peers", node.and_then(|n| n.peers).map(Value::from));
    let best = node.and_then(|n| n.best.as_ref());
    put("height", best.map(|b| b.number.into()));
    put("best", best.and_then(|b| b.hash.clone()).map(Value::from));
    let finalized = node.and_then(|n| n.finalized.as_ref());
    put("finalized_height", finalized.map(|b| b.number.into()));
    put(
        "finalized_hash",
        finalized.and_then(|b| b.hash.clone()).map(Value::from),
    );
    put(
        "txcount",
        node.and_then(|n| n.ready_transactions).map(Value::from),
    );
    put(
        "bandwidth_upload",
        rates.bytes_sent_per_second.map(Value::from),
    );
    put(
        "bandwidth_download",
        rates.bytes_received_per_second.map(Value::from),
    );
    Value::Object(message)
}

fn operating_system(host: &HostSample) -> Option<String> {
    host.distribution.clone().or_else(|| {
        host.os.map(|os| {
            match os {
                OsFamily::Linux => "Linux",
                OsFamily::Mac => "MacOs",
                OsFamily::Windows => "Windows",
                OsFamily::Unknown => "Unknown",
            }
            .to_owned()
        })
    })
}

fn megabytes(bytes: u64) -> u64 {
    (bytes as f64 / MEGABYTE) as u64
}

fn percent_used(total: Option<u64>, free: Option<u64>) -> Option<f64> {
    let (total, free) = (total?, free?);
    (total > 0).then(|| round(100.0 * total.saturating_sub(free) as f64 / total as f64, 1))
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// RFC 3339 in UTC with microseconds.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_micros(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const GENESIS: &str = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

    fn host(cpu_total: f64, cpu_idle: f64) -> HostSample {
        HostSample {
            cpu_cores: Some(8),
            cpu_threads: Some(16),
            cpu_model: Some("AMD EPYC 7302".into()),
            cpu_total_seconds: Some(cpu_total),
            cpu_idle_seconds: Some(cpu_idle),
            cpu_iowait_seconds: Some(0.0),
            memory_total_bytes: Some(16 * 1024 * 1024 * 1024),
            memory_available_bytes: Some(4 * 1024 * 1024 * 1024),
            disk_total_bytes: Some(1000 * 1024 * 1024),
            disk_free_bytes: Some(250 * 1024 * 1024),
            os: Some(OsFamily::Linux),
            distribution: Some("Debian GNU/Linux 12 (bookworm)".into()),
            kernel_release: Some("6.1.0-18-amd64".into()),
            virtual_machine: Some(false),
            ..HostSample::default()
        }
    }

    fn snapshot(height: u64, cpu_total: f64, cpu_idle: f64, bytes: f64) -> NodeSnapshot {
        NodeSnapshot {
            beacon_node: None,
            validator: None,
            chain_node: Some(ChainNode {
                implementation: Some("Juno".into()),
                version: Some("v0.11.7".into()),
                peer_id: Some("12D3KooWMo65MdEXUembrdnYTdw588mREZmQrebkmJwpPbkGbony".into()),
                chain: Some("SN_MAIN".into()),
                genesis_hash: Some(GENESIS.into()),
                rpc_version: Some("0.7.1".into()),
                protocol_version: Some("0.13.2".into()),
                authority: Some(false),
                best: Some(BlockRef {
                    number: height,
                    hash: Some(format!("0x{height:064x}")),
                }),
                finalized: Some(BlockRef {
                    number: 90,
                    hash: Some(format!("0x{:064x}", 90)),
                }),
                latest_block_time: Some(1_720_698_368),
                latest_block_transactions: Some(245),
                latest_block_events: Some(1890),
                peers: Some(43),
                ready_transactions: Some(3),
                network_bytes_received: Some(bytes),
                network_bytes_sent: Some(bytes / 2.0),
                start_time: Some(1_720_698_000.0),
            }),
            host: host(cpu_total, cpu_idle),
        }
    }

    fn at(seconds: u64) -> (SystemTime, u64) {
        (UNIX_EPOCH + Duration::from_secs(seconds), seconds * 1000)
    }

    fn parse(frame: &str) -> Value {
        serde_json::from_str(frame).expect("frames are JSON")
    }

    #[test]
    fn rates_come_from_two_observations() {
        let mut tracker = RateTracker::default();
        assert_eq!(
            tracker.update(1_000, &snapshot(1, 100.0, 80.0, 1000.0)),
            Rates::default()
        );
        let rates = tracker.update(11_000, &snapshot(1, 120.0, 90.0, 6000.0));
        assert_eq!(rates.cpu_usage, Some(50.0));
        assert_eq!(rates.bytes_received_per_second, Some(500.0));
        assert_eq!(rates.bytes_sent_per_second, Some(250.0));
        let reset = tracker.update(21_000, &snapshot(1, 140.0, 100.0, 10.0));
        assert_eq!(
            reset.bytes_received_per_second, None,
            "a counter reset gives no rate"
        );
    }

    #[test]
    fn starknet_identifies_first_then_sends_only_changes() {
        let mut session = Session::new(Format::Starknet, "Starknode");
        let (now, ms) = at(1_720_698_400);
        let first = session.frames(&snapshot(100, 1.0, 1.0, 0.0), &Rates::default(), now, ms);
        assert_eq!(first.len(), 1);
        let first = parse(&first[0]);
        assert_eq!(first["ts"], "2024-07-11T11:46:40.000000Z");
        let payload = &first["payload"];
        assert_eq!(payload["name"], "Starknode");
        assert_eq!(payload["client"], "Juno");
        assert_eq!(payload["version"], "v0.11.7");
        assert_eq!(
            payload["peer_id"],
            "12D3KooWMo65MdEXUembrdnYTdw588mREZmQrebkmJwpPbkGbony"
        );
        assert_eq!(payload["network"], "SN_MAIN");
        assert_eq!(payload["starknet_version"], "0.13.2");
        assert_eq!(payload["json_rpc_version"], "0.7.1");
        assert_eq!(payload["current_block_number_l2"], 100);
        assert_eq!(payload["latest_block_time"], 1_720_698_368_000u64);
        assert_eq!(payload["tx_number"], 245);
        assert_eq!(payload["event_number"], 1890);
        assert_eq!(payload["peer_count"], 43);
        assert_eq!(payload["node_uptime"], 400.0);
        assert_eq!(payload["memory"], 16 * 1024);
        assert_eq!(payload["cpu"], 8);
        assert_eq!(payload["storage"], 1000);
        assert_eq!(payload["memory_usage"], 75.0);
        assert_eq!(payload["storage_usage"], 75.0);
        assert!(
            payload.get("cpu_usage").is_none(),
            "no usage from a single sample"
        );
        assert!(payload.get("capability").is_none(), "nobody says: left out");

        let (now, ms) = at(1_720_698_410);
        let rates = Rates {
            cpu_usage: Some(37.4),
            ..Rates::default()
        };
        let second = session.frames(&snapshot(101, 1.0, 1.0, 0.0), &rates, now, ms);
        let payload = &parse(&second[0])["payload"];
        let mut keys: Vec<&str> = payload
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "cpu_usage",
                "current_block_hash_l2",
                "current_block_number_l2",
                "node_uptime"
            ],
            "only what changed"
        );
        assert_eq!(payload["cpu_usage"], 37);

        let (now, ms) = at(1_720_698_410);
        assert!(
            session
                .frames(&snapshot(101, 1.0, 1.0, 0.0), &rates, now, ms)
                .is_empty(),
            "nothing changed, nothing sent"
        );
        let mut fresh = Session::new(Format::Starknet, "Starknode");
        let again = fresh.frames(&snapshot(101, 1.0, 1.0, 0.0), &rates, now, ms);
        assert!(
            parse(&again[0])["payload"].get("client").is_some(),
            "a new connection re-identifies"
        );
    }

    fn substrate_frames(
        session: &mut Session,
        snapshot: &NodeSnapshot,
        rates: &Rates,
        now: SystemTime,
        ms: u64,
    ) -> Vec<Value> {
        session
            .frames(snapshot, rates, now, ms)
            .iter()
            .map(|frame| parse(frame))
            .collect()
    }

    fn messages(frames: &[Value]) -> Vec<&str> {
        frames
            .iter()
            .map(|f| f["msg"].as_str().unwrap_or_default())
            .collect()
    }

    #[test]
    fn substrate_connects_then_reports_imports_finality_and_intervals() {
        let mut session = Session::new(Format::Substrate, "validator-01");
        let (now, ms) = at(1_720_698_400);
        let frames = substrate_frames(
            &mut session,
            &snapshot(100, 1.0, 1.0, 0.0),
            &Rates::default(),
            now,
            ms,
        );
        let kinds = messages(&frames);
        assert_eq!(
            kinds,
            [
                "system.connected",
                "block.import",
                "notify.finalized",
                "system.interval"
            ]
        );
        let connected = &frames[0];
        assert_eq!(connected["genesis_hash"], GENESIS);
        assert_eq!(connected["name"], "validator-01");
        assert_eq!(connected["chain"], "SN_MAIN");
        assert_eq!(connected["implementation"], "Juno");
        assert_eq!(connected["authority"], false);
        assert_eq!(
            connected["network_id"],
            "12D3KooWMo65MdEXUembrdnYTdw588mREZmQrebkmJwpPbkGbony"
        );
        assert_eq!(connected["startup_time"], "1720698000000");
        assert_eq!(connected["target_os"], "linux");
        assert_eq!(connected["sysinfo"]["core_count"], 8);
        assert_eq!(connected["sysinfo"]["linux_kernel"], "6.1.0-18-amd64");
        assert_eq!(connected["sysinfo"]["is_virtual_machine"], false);
        assert_eq!(frames[1]["height"], 100);
        assert_eq!(
            frames[2]["height"], "90",
            "notify.finalized's height is a string"
        );
        assert_eq!(frames[3]["peers"], 43);
        assert_eq!(frames[3]["txcount"], 3);
        assert_eq!(frames[3]["finalized_height"], 90);

        let rates = Rates {
            bytes_received_per_second: Some(1500.5),
            bytes_sent_per_second: Some(700.0),
            ..Rates::default()
        };
        let (now, ms) = at(1_720_698_406);
        let frames = substrate_frames(&mut session, &snapshot(101, 1.0, 1.0, 0.0), &rates, now, ms);
        let kinds = messages(&frames);
        assert_eq!(
            kinds,
            ["block.import", "system.interval"],
            "finality did not move"
        );
        assert_eq!(frames[1]["bandwidth_download"], 1500.5);
        assert_eq!(frames[1]["bandwidth_upload"], 700.0);
    }

    #[test]
    fn substrate_waits_for_a_genesis_hash() {
        let mut session = Session::new(Format::Substrate, "n");
        let mut unknown = snapshot(1, 1.0, 1.0, 0.0);
        if let Some(node) = unknown.chain_node.as_mut() {
            node.genesis_hash = Some("0x1234".into());
        }
        let (now, ms) = at(1);
        assert!(
            session
                .frames(&unknown, &Rates::default(), now, ms)
                .is_empty()
        );
        assert!(
            session
                .keepalive(&unknown, &Rates::default(), now)
                .is_none()
        );
    }
}
