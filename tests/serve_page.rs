//! The status page in a real browser: headless Chromium loads `serve`'s page, fed by the agent and
//! a stream node, signed out (public reads) and signed in (the cookie the sign-in form sets), and
//! the suite reads what is on screen. Screenshots go to target/test-artifacts/.

mod common;

use std::time::Duration;

use common::browser::Browser;
use common::receiver::{Kind, Receiver, add_key, database, request};
use common::stream::{StreamClient, connected, interval, wrapped};
use common::{eventually, fixture_path, nodepulse, run, stderr, temp_dir};

const HOSTILE: &str = "<script>alert(1)</script>";

#[test]
fn the_page_shows_the_fleet_in_a_real_browser_and_what_nodes_send_as_text() {
    let database = database(Kind::Sqlite, "page");
    let key = add_key(&database, "ops", false);
    // An alert that fires for the machine below (its disk is 19 % free), to show on the page.
    let config = temp_dir("page").join("serve.toml");
    std::fs::write(
        &config,
        "[alerts]\nevaluate-every = \"200ms\"\n[alerts.rules.disk-free]\nthreshold = 50.0\n",
    )
    .expect("config");
    let config = config.display().to_string();
    let receiver = Receiver::start(&database, &["--public-reads", "--config", &config]);
    // A machine, sent by the agent itself from Lighthouse's fixtures.
    let output = run(nodepulse()
        .args(["run", "--once", "--machine", "rig-1", "--api-key", &key])
        .args(["--stats-base-url", &receiver.url("")])
        .arg("--beacon-node")
        .arg(fixture_path("lighthouse/beacon.prom"))
        .arg("--validator")
        .arg(fixture_path("lighthouse/validator.prom")));
    assert!(output.status.success(), "{}", stderr(&output));
    // A stream node whose name is markup.
    let mut node = StreamClient::connect(&format!("ws://{}/submit", receiver.address));
    assert!(node.send(&wrapped(
        1,
        connected(HOSTILE, "12D3KooWHostileHostileHostile1")
    )));
    assert!(node.send(&wrapped(1, interval(4_242, 17))));
    assert!(eventually(Duration::from_secs(60), || {
        receiver
            .data("/nodes", "")
            .as_array()
            .is_some_and(|nodes| nodes.iter().any(|n| n["state"]["best_height"] == 4_242))
    }));

    assert!(eventually(Duration::from_secs(60), || {
        receiver
            .get("/metrics", "")
            .text()
            .contains("nodepulse_serve_alerts_firing{rule=\"disk-free\"} 1")
    }));

    let page = request("GET", &receiver.url("/"), &[], b"").expect("the page");
    assert_eq!(page.status, 200);
    assert!(page.body.len() < 200 * 1024, "{} bytes", page.body.len());
    assert!(
        !page.text().contains("http://") && !page.text().contains("https://"),
        "nothing from another host"
    );

    let mut browser = Browser::start("page");
    // Signed out, with public reads: the stream nodes, and a prompt for the machines.
    browser.open(&receiver.url("/"));
    let text = browser.text();
    assert!(
        text.contains(HOSTILE),
        "the node's name shows as text:\n{text}"
    );
    assert!(text.contains("4242"), "{text}");
    assert!(text.contains("Sign in with an API key"), "{text}");
    assert!(!text.contains("rig-1"), "machines need a key:\n{text}");
    assert_eq!(
        browser.eval("document.querySelectorAll('script').length"),
        1,
        "only the page's own script"
    );
    browser.screenshot("page-public", 1280, 800);

    // Signing in through the form sets the cookie the browser then sends.
    let signed = request(
        "POST",
        &receiver.url("/login"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("key={key}").as_bytes(),
    )
    .expect("sign-in answered");
    assert_eq!(signed.status, 303);
    let cookie = signed.header("Set-Cookie").expect("a cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let value = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .expect("a value");
    browser.set_cookie(&receiver.url("/"), "nodepulse_key", &value);
    browser.open(&receiver.url("/"));
    let text = browser.text();
    for shown in [
        "rig-1",
        "online; firing: disk-free",
        "lighthouse v5.3.0",
        "10123456",
        "15 / 16",
        "Sign out",
        HOSTILE,
    ] {
        assert!(text.contains(shown), "{shown:?} is not on screen:\n{text}");
    }
    assert_eq!(
        browser.eval("document.querySelectorAll('#machines tbody tr').length"),
        1
    );
    assert_eq!(
        browser.eval("document.cookie"),
        "",
        "the key is not readable by scripts"
    );
    let desktop = browser.screenshot("page-signed-in", 1280, 800);
    let phone = browser.screenshot("page-phone", 390, 844);
    assert!(std::fs::metadata(&desktop).is_ok_and(|m| m.len() > 1000));
    assert!(std::fs::metadata(&phone).is_ok_and(|m| m.len() > 1000));
    // Readable on a phone: the page is as wide as the phone; wide tables scroll inside `main`.
    assert_eq!(
        browser.eval("document.documentElement.scrollWidth <= 390"),
        true
    );

    // A wrong key is refused, and signing out forgets the key.
    let wrong = request(
        "POST",
        &receiver.url("/login"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"key=0000",
    )
    .expect("answered");
    assert_eq!(wrong.status, 401);
    let out = request("POST", &receiver.url("/logout"), &[], b"").expect("answered");
    assert!(
        out.header("Set-Cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    node.close();
}
