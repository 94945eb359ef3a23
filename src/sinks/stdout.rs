//! `--dry-run`: the payloads on stdout, exactly as they would be sent, indented for reading.

use std::io::{self, Write};

/// Writes `text` and a newline. A closed stdout (`nodepulse run --dry-run | head`) is not an error.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
