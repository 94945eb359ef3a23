//! Records the git commit the binary is built from, for `--version` ("unknown" outside a checkout),
//! and lays out the release binary with the agent's code first (see scripts/agent-symbol-order.sh).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|commit| commit.trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=NODEPULSE_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    // sqlx::migrate! embeds the migrations; a new file must rebuild the crate.
    println!("cargo:rerun-if-changed=migrations");
    order_agent_symbols();
}

/// Hands the linker the list of functions `nodepulse run` executes, so they sit together and an
/// idle agent maps few code pages although the binary also carries `serve`. Only for release
/// builds with LLVM's linker, the default on x86_64 Linux since Rust 1.90; other linkers do not know
/// the flag, and names missing from the binary are skipped silently.
fn order_agent_symbols() {
    const LIST: &str = "link/agent-symbols.txt";
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-env-changed=NODEPULSE_NO_SYMBOL_ORDER");
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let lld_by_default =
        std::env::var("TARGET").is_ok_and(|target| target == "x86_64-unknown-linux-gnu");
    let opted_out = std::env::var_os("NODEPULSE_NO_SYMBOL_ORDER").is_some();
    let Ok(root) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let list = std::path::Path::new(&root).join(LIST);
    if release && lld_by_default && !opted_out && list.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
