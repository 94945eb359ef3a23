//! Telling systemd how the agent or server is doing (`Type=notify`): ready once the sinks run and the listen
//! port is bound, watchdog pings while the runtime is alive, stopping on shutdown. Outside systemd
//! (no `NOTIFY_SOCKET`) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;

pub fn ready() {
    notify(NotifyState::Ready);
}

pub fn stopping() {
    notify(NotifyState::Stopping);
}

/// Pings the watchdog at half its timeout, for as long as the runtime runs tasks; returns at once
/// when systemd asked for no watchdog.
pub async fn watchdog() {
    let Some(timeout) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut ticker = tokio::time::interval((timeout / 2).max(Duration::from_millis(100)));
    loop {
        ticker.tick().await;
        notify(NotifyState::Watchdog);
    }
}

fn notify(state: NotifyState<'_>) {
    if let Err(err) = sd_notify::notify(&[state]) {
        tracing::debug!("cannot notify systemd: {err}");
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub fn shutdown_signal() -> Result<impl Future<Output = ()>, crate::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let setup =
        |err: std::io::Error| crate::Error::Setup(format!("cannot listen for signals: {err}"));
    let mut interrupt = signal(SignalKind::interrupt()).map_err(setup)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(setup)?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Raises the soft limit on open descriptors to the hard one, as a server that holds a
/// connection per node needs: systemd and most shells start processes at a soft 1,024, which a
/// few hundred nodes and their streams exhaust. Returns the limit now in force.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which lives through the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let soft = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads the struct it is given, which lives through the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        tracing::debug!(
            from = soft,
            to = limit.rlim_max,
            "raised the open files limit"
        );
    }
    Ok(limit.rlim_cur)
}
