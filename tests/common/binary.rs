//! The built binary as the tests and the benches run it: the command, a free loopback port, and
//! keys made with it. The benches include this file by path, so it stands alone.

use std::net::TcpListener;
use std::process::Command;

/// The built binary, with no NODEPULSE_* or RUST_LOG variables from the caller's environment.
pub fn nodepulse() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nodepulse"));
    for (name, _) in std::env::vars() {
        if name.starts_with("NODEPULSE_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A key made with `nodepulse keys add`.
pub fn add_key(database: &str, name: &str, admin: bool) -> String {
    let mut command = nodepulse();
    command.args(["keys", "add", name, "--database", database]);
    if admin {
        command.arg("--admin");
    }
    let output = command.output().expect("run keys add");
    assert!(
        output.status.success(),
        "keys add: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).expect("utf-8");
    key.trim_end().to_owned()
}
