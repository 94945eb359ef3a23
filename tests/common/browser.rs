//! A real headless Chromium (Debian's `chromium`), driven over the DevTools protocol: set a
//! cookie, load a page, read what is on screen, take a screenshot.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{eventually, temp_dir};

pub struct Browser {
    child: Child,
    runtime: Runtime,
    page: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium headless with a fresh profile and attaches to its first page.
    pub fn start(name: &str) -> Browser {
        let profile = temp_dir(&format!("chromium-{name}"));
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,800",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium runs (scripts/test.sh installs Debian's chromium)");
        // Chromium says where its DevTools listen on stderr.
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("chromium printed its DevTools address")
                .expect("a line");
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stderr so that Chromium never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        let port = endpoint
            .trim_start_matches("ws://")
            .split(['/', ':'])
            .nth(1)
            .expect("a port")
            .to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut page_url = None;
        let found = eventually(Duration::from_secs(30), || {
            // Chromium keeps the connection open: an HTTP/1.1 client reads by Content-Length.
            let url = format!("http://127.0.0.1:{port}/json/list");
            let body =
                runtime.block_on(async { reqwest::get(&url).await.ok()?.bytes().await.ok() });
            let Some(body) = body else {
                return false;
            };
            let targets: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            page_url = targets
                .as_array()
                .and_then(|targets| targets.iter().find(|t| t["type"] == "page"))
                .and_then(|page| page["webSocketDebuggerUrl"].as_str())
                .map(str::to_owned);
            page_url.is_some()
        });
        assert!(found, "chromium has a page");
        let url = page_url.expect("a page");
        let (page, _) = runtime
            .block_on(tokio_tungstenite::connect_async(url))
            .expect("DevTools connect");
        Browser {
            child,
            runtime,
            page,
            next_id: 1,
        }
    }

    /// One DevTools command; its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"id": id, "method": method, "params": params}).to_string();
        self.runtime.block_on(async {
            self.page.send(Message::text(request)).await.expect("send");
            let answer = tokio::time::timeout(Duration::from_secs(60), async {
                while let Some(Ok(message)) = self.page.next().await {
                    let Ok(text) = message.to_text() else {
                        continue;
                    };
                    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                    if value["id"] == id {
                        return value;
                    }
                }
                Value::Null
            });
            let answer = answer.await.expect("DevTools answers within 60 s");
            assert!(answer.get("error").is_none(), "{method}: {answer}");
            answer["result"].clone()
        })
    }

    pub fn set_cookie(&mut self, url: &str, name: &str, value: &str) {
        let result = self.call(
            "Network.setCookie",
            json!({"name": name, "value": value, "url": url, "httpOnly": true, "sameSite": "Strict"}),
        );
        assert_eq!(result["success"], true, "{result}");
    }

    /// Loads `url` and waits until the document is complete.
    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        let mut complete = false;
        for _ in 0..600 {
            complete = self.eval("document.readyState") == "complete";
            if complete {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(complete, "{url} never finished loading");
    }

    /// A JavaScript expression's value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        result["result"]["value"].clone()
    }

    /// The page as a person sees it: its text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG of the page at `width` x `height`, saved under target/test-artifacts/.
    pub fn screenshot(&mut self, name: &str, width: u32, height: u32) -> std::path::PathBuf {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let data = shot["data"].as_str().expect("a screenshot");
        let bytes = base64_decode(data);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write the screenshot");
        path
    }
}

/// Standard base64, as DevTools sends screenshots.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(value(*c)) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}
