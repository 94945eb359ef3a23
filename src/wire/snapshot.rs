//! The normalized, client-agnostic model that profiles fill and encoders read.
//!
//! Every field is an `Option`: `None` means "this client does not expose it" or "it was not
//! readable this cycle", and encoders leave such fields out instead of sending a zero or a false.
//! Node values stay `f64` as scraped; turning them into the integers a wire format wants (and
//! refusing NaN or negatives) is the encoder's job, so the model never loses information.

/// What every scraped client process reports about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSnapshot {
    /// The profile's `client_name`.
    pub client: String,
    pub version: Option<String>,
    /// An integer build identifier; only Prysm has one (its build date, Unix seconds).
    pub build: Option<f64>,
    /// Total (user + system) CPU seconds.
    pub cpu_seconds: Option<f64>,
    pub resident_memory_bytes: Option<f64>,
}

/// A beacon node: its process plus chain, sync and network state.
#[derive(Debug, Clone, PartialEq)]
pub struct BeaconSnapshot {
    pub process: ProcessSnapshot,
    pub head_slot: Option<f64>,
    pub synced: Option<bool>,
    pub peers: Option<f64>,
    pub execution_connected: Option<bool>,
    pub execution_fallback_configured: Option<bool>,
    pub execution_fallback_connected: Option<bool>,
    pub database_bytes: Option<f64>,
    pub p2p_bytes_received: Option<f64>,
    pub p2p_bytes_sent: Option<f64>,
    /// Whether its slasher runs.
    pub slasher_active: Option<bool>,
}

/// A validator client: its process plus the keys it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorSnapshot {
    pub process: ProcessSnapshot,
    pub validators_total: Option<f64>,
    pub validators_active: Option<f64>,
    /// Whether a fallback beacon node is configured, and whether the client is using one.
    pub beacon_fallback_configured: Option<bool>,
    pub beacon_fallback_connected: Option<bool>,
}

/// The operating system family, as client-stats names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsFamily {
    Linux,
    Mac,
    Windows,
    Unknown,
}

impl OsFamily {
    /// The family of the OS this binary was built for.
    pub fn current() -> OsFamily {
        match std::env::consts::OS {
            "linux" => OsFamily::Linux,
            "macos" => OsFamily::Mac,
            "windows" => OsFamily::Windows,
            _ => OsFamily::Unknown,
        }
    }
}

/// The host machine, sampled from the kernel's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSample {
    pub cpu_cores: Option<u64>,
    pub cpu_threads: Option<u64>,
    /// The CPU's model name.
    pub cpu_model: Option<String>,
    /// Sum of every CPU mode over all CPUs: client-stats receivers expect the total here.
    pub cpu_total_seconds: Option<f64>,
    pub cpu_user_seconds: Option<f64>,
    pub cpu_iowait_seconds: Option<f64>,
    pub cpu_idle_seconds: Option<f64>,
    pub memory_total_bytes: Option<u64>,
    pub memory_free_bytes: Option<u64>,
    /// What the kernel estimates is available without swapping (MemAvailable).
    pub memory_available_bytes: Option<u64>,
    pub memory_cached_bytes: Option<u64>,
    pub memory_buffers_bytes: Option<u64>,
    pub disk_total_bytes: Option<u64>,
    pub disk_free_bytes: Option<u64>,
    pub disk_io_seconds: Option<u64>,
    pub disk_reads: Option<u64>,
    pub disk_writes: Option<u64>,
    pub network_received_bytes: Option<u64>,
    pub network_sent_bytes: Option<u64>,
    pub boot_time_seconds: Option<u64>,
    pub os: Option<OsFamily>,
    pub kernel_release: Option<String>,
    /// The distribution's PRETTY_NAME.
    pub distribution: Option<String>,
    /// The CPU reports a hypervisor.
    pub virtual_machine: Option<bool>,
}

/// A block by number and, where known, hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRef {
    pub number: u64,
    pub hash: Option<String>,
}

/// A Starknet or Substrate node, as its JSON-RPC and metrics describe it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainNode {
    /// The client: Juno, Pathfinder, Parity Polkadot, ...
    pub implementation: Option<String>,
    pub version: Option<String>,
    /// The node's libp2p peer id.
    pub peer_id: Option<String>,
    /// The chain's name: SN_MAIN, SN_SEPOLIA, Polkadot, ...
    pub chain: Option<String>,
    pub genesis_hash: Option<String>,
    /// The JSON-RPC specification version the node serves (Starknet).
    pub rpc_version: Option<String>,
    /// The protocol version of the latest block (Starknet's `starknet_version`).
    pub protocol_version: Option<String>,
    /// Whether the node is an authority (block producer / validator).
    pub authority: Option<bool>,
    pub best: Option<BlockRef>,
    pub finalized: Option<BlockRef>,
    /// The latest block's timestamp, Unix seconds.
    pub latest_block_time: Option<u64>,
    pub latest_block_transactions: Option<u64>,
    /// Events emitted in the latest block (Starknet block headers carry `event_count`).
    pub latest_block_events: Option<u64>,
    pub peers: Option<u64>,
    pub ready_transactions: Option<u64>,
    /// Network byte counters (for rates between cycles).
    pub network_bytes_received: Option<f64>,
    pub network_bytes_sent: Option<f64>,
    /// When the node process started, Unix seconds.
    pub start_time: Option<f64>,
}

/// Everything one cycle learned: the processes that answered, and the host.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSnapshot {
    pub beacon_node: Option<BeaconSnapshot>,
    pub validator: Option<ValidatorSnapshot>,
    /// A Starknet or Substrate node, when one is configured and answered.
    pub chain_node: Option<ChainNode>,
    pub host: HostSample,
}
