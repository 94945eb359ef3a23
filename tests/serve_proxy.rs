//! `nodepulse serve` behind Debian's nginx, as operators run it for TLS: client-stats POSTs and
//! WebSocket streams through the proxy, and every per-address limit seeing the real clients
//! (loopback addresses 127.0.0.x play the hosts), not the proxy.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common::add_key;
use crate::common::receiver::{Kind, Receiver, database, request};
use crate::common::stream::{StreamClient, connected, interval, wrapped};
use crate::common::{Running, eventually, fixture, free_port, temp_dir};
use serde_json::{Value, json};

const NODE_A: &str = "12D3KooWProxyAProxyAProxyAProxyAProxyAProxyAProxyA1";
const NODE_B: &str = "12D3KooWProxyBProxyBProxyBProxyBProxyBProxyBProxyB2";
const NODE_C: &str = "12D3KooWProxyCProxyCProxyCProxyCProxyCProxyCProxyC3";
const DIRECT: &str = "12D3KooWDirectDirectDirectDirectDirectDirectDirec4";

/// Debian's nginx on a free loopback port, proxying to `upstream` as the README's snippet says.
struct Nginx {
    _process: Running,
    address: String,
}

impl Nginx {
    fn start(name: &str, upstream: &str) -> Nginx {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .expect("nginx is not installed: scripts/test.sh installs Debian's package");
        let dir = temp_dir(name);
        // As root, nginx's workers run as nobody: they must reach their temp folders.
        Command::new("chmod")
            .args(["-R", "777"])
            .arg(&dir)
            .status()
            .expect("chmod");
        let address = format!("127.0.0.1:{}", free_port());
        let config = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/nginx.conf"),
        )
        .expect("the packaged nginx snippet");
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n access_log off;\n client_body_temp_path {dir}/body;\n\
             proxy_temp_path {dir}/proxy;\n fastcgi_temp_path {dir}/fastcgi;\n\
             uwsgi_temp_path {dir}/uwsgi;\n scgi_temp_path {dir}/scgi;\n{}\n}}\n",
            config
                .replace("listen 443 ssl;", &format!("listen {address};"))
                .replace("127.0.0.1:8080", upstream)
                .lines()
                .filter(
                    |line| !line.trim_start().starts_with("ssl_") && !line.contains("server_name")
                )
                .collect::<Vec<_>>()
                .join("\n"),
            dir = dir.display(),
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).expect("write nginx.conf");
        let process = Running::spawn(
            Command::new(binary)
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&path),
        );
        let url = format!("http://{address}/healthz");
        let up = eventually(
            Duration::from_secs(30),
            || matches!(request("GET", &url, &[], b""), Ok(answer) if answer.status == 200),
        );
        assert!(
            up,
            "nginx did not come up: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        Nginx {
            _process: process,
            address,
        }
    }
}

fn node_ip(nodes: &Value, peer_id: &str) -> Option<String> {
    nodes
        .as_array()?
        .iter()
        .find(|node| node["peer_id"] == peer_id)
        .and_then(|node| node["ip"].as_str())
        .map(str::to_owned)
}

#[test]
fn behind_nginx_every_limit_and_answer_sees_the_real_clients() {
    let database = database(Kind::Sqlite, "proxy-nginx");
    let key = add_key(&database, "operator", false);
    let receiver = Receiver::start(
        &database,
        &[
            "--trusted-proxies",
            "127.0.0.1",
            "--expose-node-ip",
            "--max-connections-per-ip",
            "2",
            "--max-stream-rate",
            "1KiB",
        ],
    );
    let nginx = Nginx::start("proxy-nginx", &receiver.address);
    let proxied = format!("ws://{}/submit", nginx.address);

    // A client-stats POST through the proxy is stored.
    let answer = request(
        "POST",
        &format!("http://{}/api/v1/stats/{key}/rig-1", nginx.address),
        &[("Content-Type", "application/json")],
        &fixture("reporters/lighthouse-beacon-node.json"),
    )
    .expect("answered through nginx");
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        receiver.data("/api/v1/machines", &key)[0]["machine"],
        "rig-1"
    );

    // Two streams from one host through the proxy are its share; a third is closed with 1008,
    // while another host's is taken: the limit counts the clients, not the proxy.
    let mut first = StreamClient::try_connect_from(&proxied, "127.0.0.5", &[]).expect("first");
    let mut second = StreamClient::try_connect_from(&proxied, "127.0.0.5", &[]).expect("second");
    assert!(first.send(&wrapped(1, connected("a", NODE_A))));
    assert!(second.send(&wrapped(1, connected("b", NODE_B))));
    let mut third = StreamClient::try_connect_from(&proxied, "127.0.0.5", &[]).expect("upgraded");
    assert_eq!(third.close_code(), Some(1008));
    let mut other =
        StreamClient::try_connect_from(&proxied, "127.0.0.6", &[]).expect("another host");
    assert!(other.send(&wrapped(1, connected("c", NODE_C))));
    // A client that names another address itself, straight to serve, is not believed.
    let mut direct = StreamClient::try_connect_from(
        &format!("ws://{}/submit", receiver.address),
        "127.0.0.9",
        &[("X-Forwarded-For", "10.9.9.9")],
    )
    .expect("direct");
    assert!(direct.send(&wrapped(1, connected("direct", DIRECT))));
    let mut nodes = Value::Null;
    let all = eventually(Duration::from_secs(60), || {
        nodes = receiver.rows("/nodes", &key);
        [NODE_A, NODE_B, NODE_C, DIRECT]
            .iter()
            .all(|peer| node_ip(&nodes, peer).is_some())
    });
    assert!(all, "{nodes}");
    assert_eq!(node_ip(&nodes, NODE_A).as_deref(), Some("127.0.0.5"));
    assert_eq!(node_ip(&nodes, NODE_B).as_deref(), Some("127.0.0.5"));
    assert_eq!(node_ip(&nodes, NODE_C).as_deref(), Some("127.0.0.6"));
    assert_eq!(node_ip(&nodes, DIRECT).as_deref(), Some("127.0.0.9"));

    // A host that floods is closed and refused for a while; the others stream on.
    let mut flood = StreamClient::try_connect_from(&proxied, "127.0.0.7", &[]).expect("flooder");
    let big = json!({"msg": "system.interval", "ts": "x", "padding": "p".repeat(12 * 1024)});
    flood.send(&big);
    assert_eq!(flood.close_code(), Some(1008));
    assert_eq!(
        StreamClient::try_connect_from(&proxied, "127.0.0.7", &[]).err(),
        Some(403),
        "the flooder is refused"
    );
    assert!(
        first.send(&wrapped(1, interval(5, 3))),
        "the others stream on"
    );
    assert!(StreamClient::try_connect_from(&proxied, "127.0.0.8", &[]).is_ok());
    assert_eq!(
        receiver.metric("nodepulse_serve_stream_refused_total{reason=\"blocked\"}"),
        1.0
    );
}
