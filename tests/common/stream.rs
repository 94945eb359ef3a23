//! A telemetry node's side of a WebSocket stream, blocking: frames in the exact shapes real
//! Substrate nodes (sc-telemetry), the Starknet seed and raw sockets send.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::nodes::GENESIS;

pub struct StreamClient {
    runtime: Runtime,
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl StreamClient {
    /// Connects to `url` (`ws://HOST:PORT/submit`); the handshake's refusal as `Err(status)`.
    pub fn try_connect(url: &str) -> Result<StreamClient, u16> {
        StreamClient::try_connect_with(url, &[])
    }

    /// The same, the upgrade request carrying `headers` (a browser's `Origin`, say).
    pub fn try_connect_with(url: &str, headers: &[(&str, &str)]) -> Result<StreamClient, u16> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let connected = runtime.block_on(tokio_tungstenite::connect_async(upgrade_request(
            url, headers,
        )));
        StreamClient::handshaken(runtime, url, connected)
    }

    /// Connects to `url` from the loopback address `from` (`127.0.0.5`), as another host would,
    /// the upgrade request carrying `headers`.
    pub fn try_connect_from(
        url: &str,
        from: &str,
        headers: &[(&str, &str)],
    ) -> Result<StreamClient, u16> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let host = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .expect("a ws:// URL");
        let connected = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
            socket
                .bind(format!("{from}:0").parse().expect("a loopback address"))
                .expect("bind a loopback address");
            let stream = socket
                .connect(host.parse().expect("HOST:PORT"))
                .await
                .expect("connect");
            tokio_tungstenite::client_async(
                upgrade_request(url, headers),
                MaybeTlsStream::Plain(stream),
            )
            .await
        });
        StreamClient::handshaken(runtime, url, connected)
    }

    fn handshaken(
        runtime: Runtime,
        url: &str,
        connected: Result<
            (
                WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
                tokio_tungstenite::tungstenite::handshake::client::Response,
            ),
            tokio_tungstenite::tungstenite::Error,
        >,
    ) -> Result<StreamClient, u16> {
        match connected {
            Ok((socket, _)) => Ok(StreamClient { runtime, socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(err) => panic!("connect {url}: {err}"),
        }
    }

    pub fn connect(url: &str) -> StreamClient {
        StreamClient::try_connect(url).unwrap_or_else(|status| panic!("{url} answered {status}"))
    }

    /// Sends one text frame; false when the server has closed the connection.
    pub fn send(&mut self, frame: &Value) -> bool {
        self.send_message(Message::text(frame.to_string()))
    }

    pub fn send_message(&mut self, message: Message) -> bool {
        self.runtime.block_on(self.socket.send(message)).is_ok()
    }

    /// Reads until the server's Close; its code (`None` when the connection just ended).
    pub fn close_code(&mut self) -> Option<u16> {
        self.runtime.block_on(async {
            let wait = tokio::time::timeout(Duration::from_secs(30), async {
                while let Some(message) = self.socket.next().await {
                    match message {
                        Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                        Ok(_) => continue,
                        Err(_) => return None,
                    }
                }
                None
            });
            wait.await.expect("the server closes within 30 s")
        })
    }

    /// Closes from this side, as a node stopping does.
    pub fn close(mut self) {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = self.runtime.block_on(self.socket.close(Some(frame)));
        // Wait for the server's answering Close, so everything sent before was read.
        let _ = self.close_code();
    }
}

/// The upgrade request for `url`, carrying `headers`.
fn upgrade_request(
    url: &str,
    headers: &[(&str, &str)],
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
    let mut request = url.into_client_request().expect("a WebSocket URL");
    for (name, value) in headers {
        request.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    request
}

/// A WebSocket upgrade done by hand on a raw socket, for a frame cut off midway.
pub fn raw_upgrade(address: &str, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .expect("write upgrade");
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("read upgrade answer");
        answer.push(byte[0]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    stream
}

/// A client's masked text frame (mask 0: the payload goes as is).
pub fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        len if len < 126 => frame.push(0x80 | len as u8),
        len => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

pub const TS: &str = "2026-11-29T10:00:00.123456789+00:00";

/// sc-telemetry's wrapped form: `{"id": N, "ts": ..., "payload": {...}}`.
pub fn wrapped(id: u64, payload: Value) -> Value {
    json!({"id": id, "ts": TS, "payload": payload})
}

/// The flat (V1) form: the message with `ts` beside its fields.
pub fn flat(mut message: Value) -> Value {
    message["ts"] = json!(TS);
    message
}

/// `system.connected` as a Polkadot node sends it.
pub fn connected(name: &str, network_id: &str) -> Value {
    json!({
        "msg": "system.connected",
        "chain": "Polkadot",
        "genesis_hash": GENESIS,
        "name": name,
        "implementation": "Parity Polkadot",
        "version": "1.15.2-7c4a5b3a6a0",
        "config": "",
        "authority": true,
        "startup_time": "1764410000000",
        "network_id": network_id,
        "target_os": "linux",
        "target_arch": "x86_64",
        "target_env": "gnu",
        "sysinfo": {
            "cpu": "AMD EPYC 7B13",
            "memory": 33_654_108_160_u64,
            "core_count": 8,
            "linux_kernel": "6.1.0-28-cloud-amd64",
            "linux_distro": "Debian GNU/Linux 12 (bookworm)",
            "is_virtual_machine": true
        }
    })
}

pub fn interval(height: u64, peers: u64) -> Value {
    json!({
        "msg": "system.interval",
        "peers": peers,
        "height": height,
        "best": format!("0x{height:064x}"),
        "finalized_height": height - 2,
        "finalized_hash": format!("0x{:064x}", height - 2),
        "txcount": 3,
        "bandwidth_upload": 41_235.5,
        "bandwidth_download": 52_101.25,
        "used_state_cache_size": 5_369_088
    })
}

/// `sysinfo.hwbench`, sc-sysinfo's hardware benchmarks (MB/s), as a node sends them once after
/// `system.connected`.
pub fn hwbench() -> Value {
    json!({
        "msg": "sysinfo.hwbench",
        "cpu_hashrate_score": 1141,
        "memory_memcpy_score": 15832,
        "disk_sequential_write_score": 2175,
        "disk_random_write_score": 601,
        "parallel_cpu_hashrate_score": 8732
    })
}

pub fn block_import(height: u64) -> Value {
    json!({"msg": "block.import", "best": format!("0x{height:064x}"), "height": height, "origin": "NetworkInitialSync"})
}

/// `notify.finalized` carries its height as a string.
pub fn finalized(height: u64) -> Value {
    json!({"msg": "notify.finalized", "best": format!("0x{height:064x}"), "height": height.to_string()})
}

pub fn grandpa(height: u64) -> Value {
    json!({"msg": "afg.finalized_blocks_up_to", "number": height.to_string(), "hash": format!("0x{height:064x}")})
}

pub fn txpool(ready: u64) -> Value {
    json!({"msg": "txpool.import", "ready": ready, "future": 0, "target": "txpool"})
}

/// sc-network's state: what the node thinks of its peers.
pub fn network_state(own: &str, peers: &[(&str, i64, bool)]) -> Value {
    let nodes: serde_json::Map<String, Value> = peers
        .iter()
        .map(|(peer, reputation, connected)| {
            (
                (*peer).to_owned(),
                json!({"reputation": reputation, "connected": connected}),
            )
        })
        .collect();
    json!({
        "msg": "system.network_state",
        "state": {"peerId": own, "peerset": {"nodes": nodes, "reserved_only": false}}
    })
}
