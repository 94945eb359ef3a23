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

pub fn number(object: &Object, field: &str) -> Option<f64> {
    object.get(field).and_then(Value::as_f64)
}

fn percent(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole * 100.0)
}

/// A system object's free disk, in percent of the total.
pub fn disk_free_percent(system: &Object) -> Option<f64> {
    let (free, total) =
        number(system, "disk_node_bytes_free").zip(number(system, "disk_node_bytes_total"))?;
    percent(free, total)
}

/// A system object's memory used, in percent, as `free` reports it: what is neither free nor
/// page cache nor buffers.
pub fn memory_used_percent(system: &Object) -> Option<f64> {
    let total = number(system, "memory_node_bytes_total")?;
    let free = number(system, "memory_node_bytes_free")?;
    let cached = number(system, "memory_node_bytes_cached").unwrap_or(0.0);
    let buffers = number(system, "memory_node_bytes_buffers").unwrap_or(0.0);
    percent(total - free - cached - buffers, total)
}

/// When the object was taken (Unix ms): the sender's `timestamp`, else when it was received.
fn taken_ms(object: &Object) -> Option<f64> {
    number(object, "timestamp").or_else(|| number(object, "received"))
}

/// How far a counter went from `earlier` to `later`; `None` when it went back (a reboot or a
/// restarted client resets it).
fn counter_delta(earlier: &Object, later: &Object, field: &str) -> Option<f64> {
    let delta = number(later, field)? - number(earlier, field)?;
    (delta >= 0.0).then_some(delta)
}

/// The host's CPU busy between two system objects, in percent of all cores' time: what was not
/// idle. The CPU counters are whole seconds summed over cores.
pub fn cpu_busy_percent(earlier: &Object, later: &Object) -> Option<f64> {
    let idle = counter_delta(earlier, later, "cpu_node_idle_seconds_total")?;
    let mut total = idle;
    for field in [
        "cpu_node_system_seconds_total",
        "cpu_node_user_seconds_total",
        "cpu_node_iowait_seconds_total",
    ] {
        total += counter_delta(earlier, later, field)?;
    }
    percent(total - idle, total).map(|busy| busy.clamp(0.0, 100.0))
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
            "cpu_node_system_seconds_total": 100, "cpu_node_user_seconds_total": 300,
            "cpu_node_iowait_seconds_total": 10, "network_node_bytes_total_receive": 6_000_000,
        }));
        // A minute on 2 cores: 120 s, of which 90 idle.
        let later = object(json!({
            "timestamp": 1_060_000, "cpu_node_idle_seconds_total": 1090,
            "cpu_node_system_seconds_total": 105, "cpu_node_user_seconds_total": 324,
            "cpu_node_iowait_seconds_total": 11, "network_node_bytes_total_receive": 12_000_000,
        }));
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
}
