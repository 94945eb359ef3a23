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
    if matches!(cli.command, nodepulse::cli::Command::Run(_)) {
        hand_freed_pages_back_at_once();
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
/// resident into the next cycle (18.8 MB after a body capped at 8 MiB, against 10.1 MB with this;
/// at the peak 26.1 against 17.8). `serve` keeps the default: under a stream load it frees and
/// takes buffers many times a second, and would hand pages back only to take them again.
fn hand_freed_pages_back_at_once() {
    // Arenas made from now on.
    let mut failed = set_dirty_decay_ms(c"arenas.dirty_decay_ms");
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
            set_dirty_decay_ms(name);
        }
    }
    if failed {
        tracing::debug!("jemalloc's decay could not be set; freed pages are kept 10 s");
    }
}

/// Sets a jemalloc `*dirty_decay_ms` to 0; true when it failed.
fn set_dirty_decay_ms(name: &std::ffi::CStr) -> bool {
    let mut ms: isize = 0;
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
