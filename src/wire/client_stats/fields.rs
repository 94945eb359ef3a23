//! The client-stats field table as receivers read it: which keys each process carries and what JSON
//! type each must have. The encoder writes a subset; the server decodes, stores and answers with
//! exactly these, so the table is the one place a field is named.

/// The JSON type a field must have on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An unsigned integer (the receiver truncates fractions).
    Integer,
    /// A JSON boolean, nothing else.
    Flag,
    /// A JSON string.
    Text,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    /// The spelling stored and answered.
    pub name: &'static str,
    pub kind: Kind,
    /// Other spellings real reporters or the specification use for the same value.
    pub aliases: &'static [&'static str],
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        aliases: &[],
    }
}

/// The processes a receiver accepts, with their `process` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    BeaconNode,
    Validator,
    Slasher,
    System,
}

impl Process {
    pub const ALL: [Process; 4] = [
        Process::BeaconNode,
        Process::Validator,
        Process::Slasher,
        Process::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Process::BeaconNode => "beaconnode",
            Process::Validator => "validator",
            Process::Slasher => "slasher",
            Process::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<Process> {
        Process::ALL
            .into_iter()
            .find(|process| process.as_str() == text)
    }

    /// The number stored for the process (the store's column is an integer).
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Process> {
        Process::ALL
            .into_iter()
            .find(|process| process.code() == code)
    }

    /// The fields an object of this process may carry, in the specification's order. Every client
    /// process (beacon node, validator, slasher) shares the general process fields.
    pub fn fields(self) -> impl Iterator<Item = &'static Field> {
        let (general, own): (&[Field], &[Field]) = match self {
            Process::BeaconNode => (&PROCESS_FIELDS, &BEACON_NODE_FIELDS),
            Process::Validator => (&PROCESS_FIELDS, &VALIDATOR_FIELDS),
            Process::Slasher => (&PROCESS_FIELDS, &[]),
            Process::System => (&[], &SYSTEM_FIELDS),
        };
        general.iter().chain(own)
    }
}

/// Whether `name` is a field of any process, in any spelling.
pub fn is_known(name: &str) -> bool {
    all_fields().any(|field| field.name == name || field.aliases.contains(&name))
}

/// Every field of every process, each once: the store's columns.
pub fn all_fields() -> impl Iterator<Item = &'static Field> {
    PROCESS_FIELDS
        .iter()
        .chain(&BEACON_NODE_FIELDS)
        .chain(&VALIDATOR_FIELDS)
        .chain(&SYSTEM_FIELDS)
}

use Kind::{Flag, Integer, Text};

const PROCESS_FIELDS: [Field; 9] = [
    field("cpu_process_seconds_total", Integer),
    field("memory_process_bytes", Integer),
    field("client_name", Text),
    field("client_version", Text),
    field("client_build", Integer),
    field("sync_eth1_fallback_configured", Flag),
    field("sync_eth1_fallback_connected", Flag),
    field("sync_eth2_fallback_configured", Flag),
    field("sync_eth2_fallback_connected", Flag),
];

const BEACON_NODE_FIELDS: [Field; 8] = [
    field("disk_beaconchain_bytes_total", Integer),
    field("network_libp2p_bytes_total_receive", Integer),
    field("network_libp2p_bytes_total_transmit", Integer),
    field("network_peers_connected", Integer),
    field("sync_eth1_connected", Flag),
    field("sync_eth2_synced", Flag),
    field("sync_beacon_head_slot", Integer),
    // In the specification's table; Lodestar, Teku, Prysm and Grandine send it.
    field("slasher_active", Flag),
];

const VALIDATOR_FIELDS: [Field; 2] = [
    field("validator_total", Integer),
    field("validator_active", Integer),
];

const SYSTEM_FIELDS: [Field; 19] = [
    field("cpu_cores", Integer),
    field("cpu_threads", Integer),
    field("cpu_node_system_seconds_total", Integer),
    field("cpu_node_user_seconds_total", Integer),
    field("cpu_node_iowait_seconds_total", Integer),
    field("cpu_node_idle_seconds_total", Integer),
    field("memory_node_bytes_total", Integer),
    field("memory_node_bytes_free", Integer),
    field("memory_node_bytes_cached", Integer),
    // Every reporter spells it `_buffers`; the specification's table `_bufferd`, the exporter's
    // README `_buffered`.
    Field {
        name: "memory_node_bytes_buffers",
        kind: Integer,
        aliases: &["memory_node_bytes_bufferd", "memory_node_bytes_buffered"],
    },
    field("disk_node_bytes_total", Integer),
    field("disk_node_bytes_free", Integer),
    field("disk_node_io_seconds", Integer),
    field("disk_node_reads_total", Integer),
    field("disk_node_writes_total", Integer),
    field("network_node_bytes_total_receive", Integer),
    field("network_node_bytes_total_transmit", Integer),
    Field {
        name: "misc_node_boot_ts_seconds",
        kind: Integer,
        aliases: &["misc_node_boot_ts_system"],
    },
    field("misc_os", Text),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_name_is_unique_and_a_plain_identifier() {
        let names: Vec<&str> = all_fields()
            .flat_map(|field| std::iter::once(field.name).chain(field.aliases.iter().copied()))
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a name appears twice: {names:?}");
        // The store uses the names as column names.
        assert!(names.iter().all(|name| {
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
    }

    #[test]
    fn processes_round_trip_through_their_spelling_and_code() {
        for process in Process::ALL {
            assert_eq!(Process::parse(process.as_str()), Some(process));
            assert_eq!(Process::from_code(process.code()), Some(process));
        }
        assert_eq!(Process::parse("beacon_node"), None);
        assert_eq!(Process::fields(Process::Slasher).count(), 9);
        assert_eq!(Process::fields(Process::System).count(), 19);
    }
}
