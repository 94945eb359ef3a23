//! `--dry-run`: the payloads on stdout, exactly as they would be sent, indented for reading.

use std::io::{self, Write};

/// Writes `text` and a newline. A closed stdout (`nodepulse run --dry-run | head`) is not an error.
pub fn print(text: &str) -> io::Result<()> {
    write(format!("{text}\n").as_bytes())
}

/// Writes `bytes` as they are, with the same tolerance of a closed stdout.
pub fn write(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
