//! Figures derived from client-stats objects as queries answer them (JSON): what the page shows
//! and the alert rules read. Pure. A figure an object does not carry is `None`, never zero.

use serde_json::{Map, Value};

/// A client-stats object as answered: its fields, `machine` and `received`.
pub type Object = Map<String, Value>;

/// A stored object's JSON text as an object; `None` for anything else.
pub fn parse_object(json: &str) -> Option<Object> {
    match serde_json::from_str(json) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// The number in a client-stats object's field, if it holds one.
pub fn field_number(object: &Object, field: &str) -> Option<f64> {
    object.get(field).and_then(Value::as_f64)
}

fn percent(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole * 100.0)
}

/// A system object's free disk, in percent of the total.
pub fn disk_free_percent(system: &Object) -> Option<f64> {
    let (free, total) = field_number(system, "disk_node_bytes_free")
        .zip(field_number(system, "disk_node_bytes_total"))?;
    percent(free, total)
}

/// A system object's memory used, in percent, as `free` reports it: what is neither free nor
/// page cache nor buffers.
pub fn memory_used_percent(system: &Object) -> Option<f64> {
    let total = field_number(system, "memory_node_bytes_total")?;
    let free = field_number(system, "memory_node_bytes_free")?;
    let cached = field_number(system, "memory_node_bytes_cached").unwrap_or(0.0);
    let buffers = field_number(system, "memory_node_bytes_buffers").unwrap_or(0.0);
    percent(total - free - cached - buffers, total)
}

/// When the object was taken (Unix ms): the sender's `timestamp`, else when it was received.
fn taken_ms(object: &Object) -> Option<f64> {
    field_number(object, "timestamp").or_else(|| field_number(object, "received"))
}

/// How far a counter went from `earlier` to `later`; `None` when it went back (a reboot or a
/// restarted client resets it).
fn counter_delta(earlier: &Object, later: &Object, field: &str) -> Option<f64> {
    let delta = field_number(later, field)? - field_number(earlier, field)?;
    (delta >= 0.0).then_some(delta)
}

/// How a reporter counts the host's CPU in a system object. The specification's
/// `cpu_node_system_seconds_total` is "overall CPU seconds observed on the host machine for all
/// processes": every mode summed, idle included, and most reporters send that (nodepulse's
/// agent, Teku, gobitfly's exporter, Lodestar); they differ in whether `idle` holds iowait, and
/// Grandine on Windows sends kernel time there instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuCounting {
    /// `system` is the total; `idle` without iowait, which is sent apart (the specification).
    Total,
    /// `system` is the total; `idle` holds iowait too (psutil's: Lighthouse's and Grandine's own
    /// reporters; iowait is also sent apart, and counted once).
    TotalIdleWithIowait,
    /// `system` is kernel time beside `user` and `idle` (Grandine's reporter on Windows).
    Modes,
}

impl CpuCounting {
    /// Told from the machine's client object (beacon node or validator) reported beside the
    /// system object, and the system object's `misc_os`: the reporters' own bodies say who sent
    /// them (Lighthouse's reporter sends a bare version, `5.3.0`, where nodepulse's agent
    /// reporting for Lighthouse sends its `v5.3.0-d6ba8c3`; Grandine's reporter names itself with
    /// a capital G).
    pub fn of(client: Option<&Object>, system: &Object) -> CpuCounting {
        let text = |object: Option<&Object>, field: &str| {
            object
                .and_then(|object| object.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let name = text(client, "client_name").unwrap_or_default();
        let version = text(client, "client_version").unwrap_or_default();
        let windows = text(Some(system), "misc_os").as_deref() == Some("win");
        let bare_version = version.chars().next().is_some_and(|c| c.is_ascii_digit());
        match name.as_str() {
            "Grandine" if windows => CpuCounting::Modes,
            "Grandine" => CpuCounting::TotalIdleWithIowait,
            "lighthouse" if bare_version => CpuCounting::TotalIdleWithIowait,
            _ => CpuCounting::Total,
        }
    }
}

/// The host's CPU busy between two system objects, in percent of all cores' time: what was
/// neither idle nor waiting on I/O, as `counting` reads the counters (whole seconds summed over
/// cores).
pub fn cpu_busy_percent(counting: CpuCounting, earlier: &Object, later: &Object) -> Option<f64> {
    let delta = |field: &str| counter_delta(earlier, later, field);
    let idle = delta("cpu_node_idle_seconds_total")?;
    let system = delta("cpu_node_system_seconds_total")?;
    let (busy, total) = match counting {
        CpuCounting::Total => {
            // Lodestar sends no iowait (0); a reporter that leaves it out counts it as busy.
            let iowait = delta("cpu_node_iowait_seconds_total").unwrap_or(0.0);
            (system - idle - iowait, system)
        }
        CpuCounting::TotalIdleWithIowait => (system - idle, system),
        CpuCounting::Modes => {
            let busy = system + delta("cpu_node_user_seconds_total")?;
            (busy, busy + idle)
        }
    };
    percent(busy, total).map(|busy| busy.clamp(0.0, 100.0))
}

/// A byte counter's rate between two objects, per second.
pub fn per_second(earlier: &Object, later: &Object, field: &str) -> Option<f64> {
    let seconds = (taken_ms(later)? - taken_ms(earlier)?) / 1000.0;
    let delta = counter_delta(earlier, later, field)?;
    (seconds > 0.0).then(|| delta / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        match value {
            Value::Object(object) => object,
            _ => unreachable!("an object literal"),
        }
    }

    #[test]
    fn cpu_and_rates_come_from_two_objects() {
        let earlier = object(json!({
            "timestamp": 1_000_000, "cpu_node_idle_seconds_total": 1000,
            "cpu_node_system_seconds_total": 1410, "cpu_node_user_seconds_total": 300,
            "cpu_node_iowait_seconds_total": 10, "network_node_bytes_total_receive": 6_000_000,
        }));
        // A minute on 2 cores: 120 s in all, of which 84 idle and 6 waiting on I/O.
        let later = object(json!({
            "timestamp": 1_060_000, "cpu_node_idle_seconds_total": 1084,
            "cpu_node_system_seconds_total": 1530, "cpu_node_user_seconds_total": 324,
            "cpu_node_iowait_seconds_total": 16, "network_node_bytes_total_receive": 12_000_000,
        }));
        let cpu_busy_percent = |a: &Object, b: &Object| cpu_busy_percent(CpuCounting::Total, a, b);
        assert_eq!(cpu_busy_percent(&earlier, &later), Some(25.0));
        assert_eq!(
            per_second(&earlier, &later, "network_node_bytes_total_receive"),
            Some(100_000.0)
        );
        // Backwards (a reboot) or the same object twice: nothing, not zero.
        assert_eq!(cpu_busy_percent(&later, &earlier), None);
        assert_eq!(cpu_busy_percent(&later, &later), None);
        assert_eq!(
            per_second(&later, &later, "network_node_bytes_total_receive"),
            None
        );
        assert_eq!(cpu_busy_percent(&earlier, &object(json!({}))), None);
    }

    #[test]
    fn disk_and_memory_percentages() {
        let system = object(json!({
            "disk_node_bytes_total": 1000, "disk_node_bytes_free": 190,
            "memory_node_bytes_total": 1000, "memory_node_bytes_free": 100,
            "memory_node_bytes_cached": 300, "memory_node_bytes_buffers": 100,
        }));
        assert_eq!(disk_free_percent(&system), Some(19.0));
        assert_eq!(memory_used_percent(&system), Some(50.0));
        assert_eq!(
            disk_free_percent(&object(json!({"disk_node_bytes_total": 0}))),
            None
        );
    }

    /// Two system objects a minute apart on a 2-core host that was busy 30 s of its 120, idle
    /// 84 and waiting on I/O 6, as `reporter`'s body counts them: earlier from its fixture,
    /// later with the minute's deltas added.
    fn a_minute_of(
        body: &str,
        client_index: usize,
        system_index: usize,
    ) -> (CpuCounting, Option<f64>) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/reporters")
            .join(body);
        let bodies: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("the fixture")).expect("JSON");
        let client = bodies[client_index].as_object().cloned();
        let earlier = bodies[system_index]
            .as_object()
            .cloned()
            .expect("a system object");
        let counting = CpuCounting::of(client.as_ref(), &earlier);
        let mut later = earlier.clone();
        let add = |later: &mut Object, field: &str, seconds: f64| {
            let value = field_number(&earlier, field).unwrap_or(0.0) + seconds;
            later.insert(field.into(), json!(value));
        };
        let (idle, iowait, kernel, user) = match counting {
            // psutil's idle holds iowait.
            CpuCounting::TotalIdleWithIowait => (90.0, 6.0, 10.0, 20.0),
            _ => (84.0, 6.0, 10.0, 20.0),
        };
        add(&mut later, "cpu_node_idle_seconds_total", idle);
        add(&mut later, "cpu_node_iowait_seconds_total", iowait);
        add(&mut later, "cpu_node_user_seconds_total", user);
        let system = match counting {
            CpuCounting::Modes => kernel,
            _ => 120.0,
        };
        add(&mut later, "cpu_node_system_seconds_total", system);
        (counting, cpu_busy_percent(counting, &earlier, &later))
    }

    #[test]
    fn each_reporters_cpu_is_read_by_what_it_means() {
        // Lighthouse's own reporter (its source) and Grandine's (its own test's body): psutil.
        assert_eq!(
            a_minute_of("lighthouse-beacon-node.json", 0, 1),
            (CpuCounting::TotalIdleWithIowait, Some(25.0))
        );
        assert_eq!(
            a_minute_of("grandine/beaconchain-rs-test.json", 0, 2),
            (CpuCounting::TotalIdleWithIowait, Some(25.0))
        );
        // Teku's and Lodestar's (recorded from Lodestar 1.44.0's own code): the total, idle apart.
        assert_eq!(
            a_minute_of("teku.json", 0, 2),
            (CpuCounting::Total, Some(25.0))
        );
        assert_eq!(
            a_minute_of("lodestar/post-1.json", 0, 1),
            (CpuCounting::Total, Some(25.0))
        );
        // Grandine on Windows sends kernel time: 10 + 20 busy of 10 + 20 + 84.
        let mut system = object(json!({"misc_os": "win"}));
        let grandine = object(json!({"client_name": "Grandine", "client_version": "2.0.0"}));
        assert_eq!(
            CpuCounting::of(Some(&grandine), &system),
            CpuCounting::Modes
        );
        // nodepulse's agent reporting for Lighthouse: the specification's counting.
        system.insert("misc_os".into(), json!("lin"));
        let agent =
            object(json!({"client_name": "lighthouse", "client_version": "v5.3.0-d6ba8c3"}));
        assert_eq!(CpuCounting::of(Some(&agent), &system), CpuCounting::Total);
        assert_eq!(CpuCounting::of(None, &system), CpuCounting::Total);
    }
}
