//! The host sample: CPU, memory, disk and network counters of the machine the node runs on.
//!
//! Counters come from the kernel's text files under procfs, read directly: one parser per file,
//! each a pure function tested on real file contents, and the procfs root is a setting so that a
//! container can read the host's `/proc` mounted elsewhere (as node_exporter's `--path.procfs`).
//! Free space of the data directory's filesystem comes from sysinfo, which has it.
//!
//! A file that cannot be read or parsed costs only its own fields, with one warning naming it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::wire::snapshot::{HostSample, OsFamily};

/// Clock ticks per second in `/proc/stat`. The kernel reports USER_HZ, which is 100 on every
/// architecture Linux supports today (node_exporter and procfs libraries assume the same).
const USER_HZ: u64 = 100;

/// Where to read the host from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSource {
    pub procfs: PathBuf,
    /// The node's data directory: its filesystem's size and free space are reported.
    pub data_dir: PathBuf,
}

/// Reads every counter once. Never fails: what cannot be read is absent, with a warning.
pub fn sample(source: &HostSource) -> HostSample {
    let mut host = HostSample {
        os: Some(OsFamily::current()),
        ..HostSample::default()
    };
    let seconds = |ticks: u64| ticks as f64 / USER_HZ as f64;
    if let Some(stat) = read(&source.procfs, "stat", parse_stat) {
        host.cpu_total_seconds = Some(seconds(stat.total_ticks));
        host.cpu_user_seconds = Some(seconds(stat.user_ticks));
        host.cpu_iowait_seconds = Some(seconds(stat.iowait_ticks));
        host.cpu_idle_seconds = Some(seconds(stat.idle_ticks));
        host.boot_time_seconds = stat.boot_time;
    }
    if let Some(memory) = read(&source.procfs, "meminfo", parse_meminfo) {
        host.memory_total_bytes = memory.total;
        host.memory_free_bytes = memory.free;
        host.memory_available_bytes = memory.available;
        host.memory_cached_bytes = memory.cached;
        host.memory_buffers_bytes = memory.buffers;
    }
    if let Some(cpus) = read(&source.procfs, "cpuinfo", parse_cpuinfo) {
        host.cpu_threads = Some(cpus.threads);
        host.cpu_cores = cpus.cores;
        host.cpu_model = cpus.model;
        host.virtual_machine = Some(cpus.hypervisor);
    }
    host.kernel_release = read(&source.procfs, "sys/kernel/osrelease", |text| {
        Ok(text.trim().to_owned())
    });
    // The distribution is a file of the root filesystem, not of procfs; a missing one is normal in
    // minimal containers and not worth a warning.
    host.distribution = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| pretty_name(&text));
    if let Some(disks) = read(&source.procfs, "diskstats", parse_diskstats) {
        host.disk_reads = Some(disks.reads);
        host.disk_writes = Some(disks.writes);
        host.disk_io_seconds = Some(disks.io_milliseconds / 1000);
    }
    if let Some(network) = read(&source.procfs, "net/dev", parse_net_dev) {
        host.network_received_bytes = Some(network.received);
        host.network_sent_bytes = Some(network.sent);
    }
    match filesystem_space(&source.data_dir) {
        Ok((total, free)) => {
            host.disk_total_bytes = Some(total);
            host.disk_free_bytes = Some(free);
        }
        Err(reason) => tracing::warn!(
            data_dir = %source.data_dir.display(),
            "disk size and free space left out: {reason}"
        ),
    }
    host
}

fn read<T>(procfs: &Path, file: &str, parse: fn(&str) -> Result<T, String>) -> Option<T> {
    let path = procfs.join(file);
    let parsed = fs::read_to_string(&path)
        .map_err(|err| err.to_string())
        .and_then(|text| parse(&text));
    match parsed {
        Ok(value) => Some(value),
        Err(reason) => {
            tracing::warn!(path = %path.display(), "host counters left out: {reason}");
            None
        }
    }
}

/// Size and space available to unprivileged users of the filesystem holding `dir`, from the mount
/// with the longest mount point that contains it.
fn filesystem_space(dir: &Path) -> Result<(u64, u64), String> {
    let dir = dir
        .canonicalize()
        .map_err(|err| format!("cannot resolve the data directory: {err}"))?;
    let refresh = sysinfo::DiskRefreshKind::nothing().with_storage();
    let disks = sysinfo::Disks::new_with_refreshed_list_specifics(refresh)
        .map_err(|err| format!("cannot list mounted filesystems: {err}"))?;
    disks
        .iter()
        .filter(|disk| dir.starts_with(disk.mount_point()))
        .max_by_key(|disk| disk.mount_point().as_os_str().len())
        .map(|disk| (disk.total_space(), disk.available_space()))
        .ok_or_else(|| "no mounted filesystem holds the data directory".to_owned())
}

/// CPU time over all CPUs, in ticks, and the boot time, from `/proc/stat`.
#[derive(Debug, PartialEq)]
pub struct CpuTimes {
    /// user + nice + system + idle + iowait + irq + softirq + steal. Guest time is already counted
    /// inside user and nice, so it is not added again.
    pub total_ticks: u64,
    pub user_ticks: u64,
    pub iowait_ticks: u64,
    pub idle_ticks: u64,
    pub boot_time: Option<u64>,
}

pub fn parse_stat(text: &str) -> Result<CpuTimes, String> {
    let cpu_line = text
        .lines()
        .find(|line| line.starts_with("cpu "))
        .ok_or("no aggregate `cpu` line")?;
    let ticks: Vec<u64> = cpu_line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|err| format!("bad number in `cpu` line: {err}"))?;
    if ticks.len() < 5 {
        return Err(format!(
            "`cpu` line has {} fields, expected at least 5",
            ticks.len()
        ));
    }
    let boot_time = text
        .lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse().ok());
    Ok(CpuTimes {
        total_ticks: ticks.iter().take(8).sum(),
        user_ticks: ticks[0],
        idle_ticks: ticks[3],
        iowait_ticks: ticks[4],
        boot_time,
    })
}

/// `PRETTY_NAME` from an os-release file.
pub fn pretty_name(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|value| value.trim().trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
}

/// Memory figures in bytes from `/proc/meminfo`; absent keys stay absent.
#[derive(Debug, PartialEq)]
pub struct Memory {
    pub total: Option<u64>,
    pub free: Option<u64>,
    pub available: Option<u64>,
    pub cached: Option<u64>,
    pub buffers: Option<u64>,
}

pub fn parse_meminfo(text: &str) -> Result<Memory, String> {
    let field = |key: &str| -> Option<u64> {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(key)?.strip_prefix(':')?;
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kib * 1024)
        })
    };
    let memory = Memory {
        total: field("MemTotal"),
        free: field("MemFree"),
        available: field("MemAvailable"),
        cached: field("Cached"),
        buffers: field("Buffers"),
    };
    if memory.total.is_none() {
        return Err("no MemTotal line".into());
    }
    Ok(memory)
}

/// Logical CPUs (threads), physical cores, the model and whether it runs under a hypervisor, from
/// `/proc/cpuinfo`.
#[derive(Debug, PartialEq)]
pub struct Cpus {
    pub threads: u64,
    /// Distinct (physical id, core id) pairs; absent where the kernel does not report the topology
    /// (many ARM boards), rather than guessed.
    pub cores: Option<u64>,
    pub model: Option<String>,
    /// The `hypervisor` CPU flag (x86) is set.
    pub hypervisor: bool,
}

pub fn parse_cpuinfo(text: &str) -> Result<Cpus, String> {
    let value = |line: &str, key: &str| -> Option<String> {
        let (name, value) = line.split_once(':')?;
        (name.trim() == key).then(|| value.trim().to_owned())
    };
    let mut threads = 0;
    let mut cores = std::collections::HashSet::new();
    // Each processor is a block of lines separated by a blank line.
    for block in text.split("\n\n").filter(|block| !block.trim().is_empty()) {
        if !block.lines().any(|line| value(line, "processor").is_some()) {
            continue;
        }
        threads += 1;
        let physical = block.lines().find_map(|line| value(line, "physical id"));
        let core = block.lines().find_map(|line| value(line, "core id"));
        if let Some(core) = core {
            cores.insert((physical.unwrap_or_default(), core));
        }
    }
    if threads == 0 {
        return Err("no `processor` entries".into());
    }
    let first = |key: &str| text.lines().find_map(|line| value(line, key));
    Ok(Cpus {
        threads,
        cores: (!cores.is_empty()).then_some(cores.len() as u64),
        model: first("model name").filter(|model| !model.is_empty()),
        hypervisor: first("flags")
            .is_some_and(|flags| flags.split(' ').any(|flag| flag == "hypervisor")),
    })
}

/// Completed reads and writes and time spent doing I/O, over whole disks.
#[derive(Debug, PartialEq)]
pub struct DiskActivity {
    pub reads: u64,
    pub writes: u64,
    pub io_milliseconds: u64,
}

pub fn parse_diskstats(text: &str) -> Result<DiskActivity, String> {
    let mut activity = DiskActivity {
        reads: 0,
        writes: 0,
        io_milliseconds: 0,
    };
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 14 {
            if fields.is_empty() {
                continue;
            }
            return Err(format!(
                "line {}: {} fields, expected at least 14",
                number + 1,
                fields.len()
            ));
        }
        if !is_whole_disk(fields[2]) {
            continue;
        }
        let counter = |index: usize| -> Result<u64, String> {
            fields[index]
                .parse()
                .map_err(|err| format!("line {}: field {}: {err}", number + 1, index + 1))
        };
        activity.reads += counter(3)?;
        activity.writes += counter(7)?;
        activity.io_milliseconds += counter(12)?;
    }
    Ok(activity)
}

/// Whether a block device is a whole physical disk: partitions would count the same I/O twice, and
/// loop, RAM, device-mapper and software-RAID devices stack on top of real disks.
pub fn is_whole_disk(name: &str) -> bool {
    const VIRTUAL: [&str; 7] = ["loop", "ram", "zram", "dm-", "md", "sr", "fd"];
    if VIRTUAL.iter().any(|prefix| name.starts_with(prefix)) {
        return false;
    }
    // nvme0n1p2, mmcblk0p1: a `p` and digits after a name that itself ends in a digit.
    if let Some((base, part)) = name.rsplit_once('p')
        && !part.is_empty()
        && part.bytes().all(|b| b.is_ascii_digit())
        && base.ends_with(|c: char| c.is_ascii_digit())
    {
        return false;
    }
    // sda1, vdb2, xvda1, hda3: classic names whose disk part ends in a letter.
    let classic = ["sd", "vd", "xvd", "hd"]
        .iter()
        .any(|prefix| name.starts_with(prefix));
    !(classic && name.ends_with(|c: char| c.is_ascii_digit()))
}

/// Bytes received and sent over every interface but loopback.
#[derive(Debug, PartialEq)]
pub struct NetworkTraffic {
    pub received: u64,
    pub sent: u64,
}

pub fn parse_net_dev(text: &str) -> Result<NetworkTraffic, String> {
    let mut traffic = NetworkTraffic {
        received: 0,
        sent: 0,
    };
    // Two header lines, then `  name: rx_bytes rx_packets ... (8 rx fields) tx_bytes ...`.
    for (number, line) in text.lines().enumerate().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            return Err(format!("line {}: no `interface:` prefix", number + 1));
        };
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<&str> = counters.split_whitespace().collect();
        let counter = |index: usize| -> Result<u64, String> {
            fields
                .get(index)
                .ok_or_else(|| format!("line {}: too few fields", number + 1))?
                .parse()
                .map_err(|err| format!("line {}: field {}: {err}", number + 1, index + 1))
        };
        traffic.received += counter(0)?;
        traffic.sent += counter(8)?;
    }
    Ok(traffic)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "\
cpu  4705 150 1120 16250 520 0 35 0 0 0
cpu0 2388 75 560 8119 260 0 20 0 0 0
cpu1 2317 75 560 8131 260 0 15 0 0 0
intr 114930548 113199788 3 0 5 263 0 4 [... 50 more numbers ...]
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
softirq 183433 0 21755 12 39 1137 231 21459 2263
";

    #[test]
    fn stat_totals_every_mode() {
        let times = parse_stat(STAT).expect("valid stat");
        assert_eq!(
            times,
            CpuTimes {
                total_ticks: 4705 + 150 + 1120 + 16250 + 520 + 35,
                user_ticks: 4705,
                iowait_ticks: 520,
                idle_ticks: 16250,
                boot_time: Some(1_062_191_376),
            }
        );
        assert!(parse_stat("intr 1\n").is_err());
        assert!(parse_stat("cpu 1 2 x 4 5\n").is_err());
    }

    #[test]
    fn meminfo_in_bytes() {
        let memory = parse_meminfo(
            "MemTotal:       32458392 kB\nMemFree:          488428 kB\nMemAvailable:   18000000 kB\n\
             Buffers:          505696 kB\nCached:         13579048 kB\nSwapCached:            0 kB\n",
        )
        .expect("valid meminfo");
        assert_eq!(memory.total, Some(32_458_392 * 1024));
        assert_eq!(memory.free, Some(488_428 * 1024));
        assert_eq!(memory.available, Some(18_000_000 * 1024));
        assert_eq!(memory.buffers, Some(505_696 * 1024));
        assert_eq!(memory.cached, Some(13_579_048 * 1024), "not SwapCached");
    }

    #[test]
    fn cpuinfo_counts_cores_and_threads() {
        let processor = |n: u32, core: u32| {
            format!(
                "processor\t: {n}\nmodel name\t: Test CPU\nphysical id\t: 0\ncore id\t\t: {core}\n\
                 flags\t\t: fpu sse2 hypervisor\n\n"
            )
        };
        let smt: String = (0..8).map(|n| processor(n, n % 4)).collect();
        assert_eq!(
            parse_cpuinfo(&smt),
            Ok(Cpus {
                threads: 8,
                cores: Some(4),
                model: Some("Test CPU".into()),
                hypervisor: true,
            })
        );
        let arm = "processor\t: 0\nBogoMIPS\t: 108.00\n\nprocessor\t: 1\nBogoMIPS\t: 108.00\n\n";
        assert_eq!(
            parse_cpuinfo(arm),
            Ok(Cpus {
                threads: 2,
                cores: None,
                model: None,
                hypervisor: false,
            })
        );
    }

    #[test]
    fn diskstats_counts_whole_disks_once() {
        let text = "\
   7       0 loop0 100 0 200 10 0 0 0 0 0 10 10 0 0 0 0
 259       0 nvme0n1 3000 10 90000 500 40000 20 800000 9000 0 12000 9500 0 0 0 0
 259       1 nvme0n1p1 2900 10 89000 490 39000 20 790000 8900 0 11000 9400 0 0 0 0
   8       0 sda 362 0 4000 50 47 0 900 20 0 2500 70 0 0 0 0
   8       1 sda1 300 0 3000 40 40 0 800 10 0 60 50 0 0 0 0
 253       0 dm-0 2800 0 88000 480 38000 0 780000 8800 0 10900 9300 0 0 0 0
";
        assert_eq!(
            parse_diskstats(text),
            Ok(DiskActivity {
                reads: 3362,
                writes: 40047,
                io_milliseconds: 14500
            })
        );
        assert!(parse_diskstats("8 0 sda 1 2\n").is_err());
    }

    #[test]
    fn whole_disk_names() {
        for disk in ["sda", "vdb", "xvda", "nvme0n1", "mmcblk0", "sdaa"] {
            assert!(is_whole_disk(disk), "{disk}");
        }
        for part in [
            "sda1",
            "vdb12",
            "xvda1",
            "nvme0n1p2",
            "mmcblk0p1",
            "loop3",
            "dm-1",
            "md0",
            "sr0",
        ] {
            assert!(!is_whole_disk(part), "{part}");
        }
    }

    #[test]
    fn net_dev_skips_loopback() {
        let text = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9999999    1000    0    0    0     0          0         0  9999999    1000    0    0    0     0       0          0
  eth0: 26546324572 2000    0    0    0     0          0         0 12057786467 1500    0    0    0     0       0          0
 wlan0: 100       2    0    0    0     0          0         0      50       1    0    0    0     0       0          0
";
        assert_eq!(
            parse_net_dev(text),
            Ok(NetworkTraffic {
                received: 26_546_324_672,
                sent: 12_057_786_517
            })
        );
    }

    #[test]
    fn sample_of_this_machine_has_the_basics() {
        let host = sample(&HostSource {
            procfs: PathBuf::from("/proc"),
            data_dir: PathBuf::from("/"),
        });
        if cfg!(target_os = "linux") {
            assert!(host.cpu_threads.unwrap_or(0) >= 1);
            assert!(host.memory_total_bytes.unwrap_or(0) > 0);
            assert!(host.boot_time_seconds.unwrap_or(0) > 1_000_000_000);
            assert!(host.disk_total_bytes.unwrap_or(0) > 0);
            assert_eq!(host.os, Some(OsFamily::Linux));
        }
    }

    #[test]
    fn missing_procfs_leaves_fields_out() {
        let host = sample(&HostSource {
            procfs: PathBuf::from("/nonexistent-procfs"),
            data_dir: PathBuf::from("/"),
        });
        assert_eq!(host.cpu_threads, None);
        assert_eq!(host.memory_total_bytes, None);
        assert_eq!(host.network_received_bytes, None);
    }
}
