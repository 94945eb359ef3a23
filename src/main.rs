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
    // An operator's own `MALLOC_CONF` is theirs to keep.
    if std::env::var_os("MALLOC_CONF").is_none() {
        match cli.command {
            nodepulse::cli::Command::Run(_) => keep_freed_pages_for(AGENT_KEEPS_FREED_PAGES_MS),
            nodepulse::cli::Command::Serve(_) => keep_freed_pages_for(SERVER_KEEPS_FREED_PAGES_MS),
            _ => {}
        }
    }
    match nodepulse::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // Our errors carry their causes in their own message.
            eprintln!("nodepulse: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// An agent waits beside its node most of the time, and an operator reads its resident memory:
/// with jemalloc's default a freed page is kept 10 s for reuse, so a big scrape's buffers stayed
/// resident into the next cycle (18.8 MB after a body capped at 8 MiB, against 10.1 MB with 0;
/// at the peak 26.1 against 17.8).
const AGENT_KEEPS_FREED_PAGES_MS: isize = 0;
/// `serve` under a stream load frees and takes buffers many times a second: handed back at once,
/// they were taken again, for 14 to 35 % more CPU per frame. Kept 1 s, the CPU is the default's
/// (20.9 and 20.4 CPU-ms per 1,000 frames against 20.6 and 20.3), while a crowd of readers each
/// asking for an answer of its own has the server hold 134 MB at the peak instead of 235.
const SERVER_KEEPS_FREED_PAGES_MS: isize = 1_000;

/// Sets how long jemalloc keeps freed pages for reuse before handing them back to the system.
fn keep_freed_pages_for(ms: isize) {
    // Arenas made from now on.
    let mut failed = set_dirty_decay_ms(c"arenas.dirty_decay_ms", ms);
    // Those made already; one not made yet fails, and takes the default above when it is.
    let mut arenas: u32 = 0;
    let mut size = std::mem::size_of::<u32>();
    // SAFETY: a NUL-terminated name, and an `unsigned` with its size, the type jemalloc's manual
    // gives `arenas.narenas`.
    let read = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arenas.narenas".as_ptr(),
            (&raw mut arenas).cast(),
            &raw mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    failed |= read != 0;
    for arena in 0..arenas {
        let name = format!("arena.{arena}.dirty_decay_ms\0");
        if let Ok(name) = std::ffi::CStr::from_bytes_with_nul(name.as_bytes()) {
            set_dirty_decay_ms(name, ms);
        }
    }
    if failed {
        tracing::debug!("jemalloc's decay could not be set; freed pages are kept 10 s");
    }
}

/// Sets a jemalloc `*dirty_decay_ms` to `ms`; true when it failed.
fn set_dirty_decay_ms(name: &std::ffi::CStr, mut ms: isize) -> bool {
    // SAFETY: a NUL-terminated name, and a `ssize_t` with its size, the type jemalloc's manual
    // gives every `dirty_decay_ms`; nothing is read back.
    let status = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut ms).cast(),
            std::mem::size_of::<isize>(),
        )
    };
    status != 0
}
