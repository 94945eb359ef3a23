//! `--listen`: the agent's own `/metrics` (OpenMetrics text) and `/healthz` (JSON), over a minimal
//! HTTP/1.1 responder.
//!
//! Two read-only GET routes do not need a web framework; what they need is bounds: a request head
//! is read for at most `REQUEST_TIMEOUT` and `MAX_REQUEST_BYTES`, one answer is written, and the
//! connection is closed. A slow or hostile client costs one short-lived task.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::telemetry::Telemetry;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REQUEST_BYTES: usize = 8 * 1024;
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Answers until `stop` changes.
pub async fn serve(
    listener: TcpListener,
    telemetry: Arc<Telemetry>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let telemetry = Arc::clone(&telemetry);
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &telemetry)).await;
                    });
                }
                Err(err) => tracing::warn!("--listen: accepting a connection failed: {err}"),
            }
        }
    }
}

async fn answer(mut stream: TcpStream, telemetry: &Telemetry) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
        if head.len() > MAX_REQUEST_BYTES {
            return respond(
                &mut stream,
                431,
                "text/plain",
                "request head too large\n",
                false,
            )
            .await;
        }
    }
    let request_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let request_line = String::from_utf8_lossy(request_line);
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let with_body = method != "HEAD";
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            respond(
                &mut stream,
                200,
                OPENMETRICS,
                &telemetry.encode(),
                with_body,
            )
            .await
        }
        ("GET" | "HEAD", "/healthz") => {
            let (healthy, body) = telemetry.health();
            let status = if healthy { 200 } else { 503 };
            respond(&mut stream, status, "application/json", &body, with_body).await
        }
        ("GET" | "HEAD", _) => {
            respond(
                &mut stream,
                404,
                "text/plain",
                "not found: try /metrics or /healthz\n",
                with_body,
            )
            .await
        }
        _ => respond(&mut stream, 405, "text/plain", "only GET and HEAD\n", true).await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
    with_body: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if with_body {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}
