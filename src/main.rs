//! The `nodepulse` binary: parse the command line, set up logging, run, and turn the outcome into an
//! exit code. Everything else lives in the library so that tests drive the same code.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc, for the whole process (see Cargo.toml for why).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = nodepulse::cli::Cli::parse();
    nodepulse::logging::init(&cli.log);
    match nodepulse::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // Our errors carry their causes in their own message.
            eprintln!("nodepulse: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
