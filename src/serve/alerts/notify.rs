//! Notifications as each webhook kind expects them, pure: a documented generic JSON body, ntfy's
//! (text body, title and tags as headers), Discord's (`content`) and Slack's (`text`). And the
//! webhook URL as logs may show it: it often carries a secret (a Slack or Discord token, a private
//! ntfy topic).

use serde_json::json;

use super::rules::{Condition, Rule};
use super::state::Notification;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Json,
    Ntfy,
    Discord,
    Slack,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Json, Kind::Ntfy, Kind::Discord, Kind::Slack];

    /// As the config file names it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Ntfy => "ntfy",
            Kind::Discord => "discord",
            Kind::Slack => "slack",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// One request to a webhook: body, content type and extra headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub body: String,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

/// What a notification says in one line, and its title.
fn words(notification: &Notification) -> (String, String) {
    match notification {
        Notification::Firing(condition) => (
            format!("{}: {}", condition.rule.name(), condition.subject),
            format!(
                "{} is firing for {}: {}",
                condition.rule.name(),
                condition.subject,
                condition.detail
            ),
        ),
        Notification::Resolved(condition) => (
            format!("resolved: {}: {}", condition.rule.name(), condition.subject),
            format!(
                "{} resolved for {}",
                condition.rule.name(),
                condition.subject
            ),
        ),
        Notification::Outage { firing, watched } => (
            "nodepulse: most of the fleet went quiet at once".into(),
            format!(
                "{firing} of {watched} machines and nodes started firing at once: more likely the \
                 server stopped receiving than the fleet failing; check the server and its network"
            ),
        ),
        Notification::Test => (
            "nodepulse test alert".into(),
            "This is a test notification from nodepulse serve --test-alert.".into(),
        ),
    }
}

/// The generic JSON body (documented in README): `status` firing, resolved, outage or test;
/// `rule`, `subject` and `detail` for the first two; `firing`/`watched` for an outage; `summary`
/// always; `at` Unix ms.
fn json_body(notification: &Notification, at_ms: i64) -> serde_json::Value {
    let (_, summary) = words(notification);
    match notification {
        Notification::Firing(condition) | Notification::Resolved(condition) => json!({
            "status": if matches!(notification, Notification::Firing(_)) { "firing" } else { "resolved" },
            "rule": condition.rule.name(),
            "subject": condition.subject,
            "detail": condition.detail,
            "summary": summary,
            "at": at_ms,
        }),
        Notification::Outage { firing, watched } => json!({
            "status": "outage", "firing": firing, "watched": watched, "summary": summary, "at": at_ms,
        }),
        Notification::Test => json!({"status": "test", "summary": summary, "at": at_ms}),
    }
}

pub fn request(kind: Kind, notification: &Notification, at_ms: i64) -> Request {
    let (title, text) = words(notification);
    let json = |body: serde_json::Value| Request {
        body: body.to_string(),
        content_type: "application/json",
        headers: Vec::new(),
    };
    match kind {
        Kind::Json => json(json_body(notification, at_ms)),
        Kind::Discord => json(json!({"content": text})),
        Kind::Slack => json(json!({"text": text})),
        Kind::Ntfy => {
            let (priority, tags) = match notification {
                Notification::Firing(Condition {
                    rule: Rule::MachineOffline,
                    ..
                })
                | Notification::Outage { .. } => ("high", "rotating_light"),
                Notification::Firing(_) => ("default", "warning"),
                Notification::Resolved(_) => ("default", "white_check_mark"),
                Notification::Test => ("low", "test_tube"),
            };
            Request {
                body: text,
                content_type: "text/plain; charset=utf-8",
                headers: vec![
                    ("Title", title),
                    ("Priority", priority.into()),
                    ("Tags", tags.into()),
                ],
            }
        }
    }
}

/// The URL as a log line may show it: scheme, host and port; the path and query, which carry
/// tokens and topics, replaced.
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/…")
        }
        None => "(a webhook URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline() -> Notification {
        Notification::Firing(Condition {
            rule: Rule::MachineOffline,
            subject: "ops/rig-1".into(),
            detail: "nothing received for 10m".into(),
        })
    }

    #[test]
    fn each_kind_gets_its_shape() {
        let generic: serde_json::Value =
            serde_json::from_str(&request(Kind::Json, &offline(), 42).body).expect("JSON");
        assert_eq!(generic["status"], "firing");
        assert_eq!(generic["rule"], "machine-offline");
        assert_eq!(generic["subject"], "ops/rig-1");
        assert_eq!(generic["at"], 42);
        let discord: serde_json::Value =
            serde_json::from_str(&request(Kind::Discord, &offline(), 42).body).expect("JSON");
        assert_eq!(
            discord["content"],
            "machine-offline is firing for ops/rig-1: nothing received for 10m"
        );
        let slack: serde_json::Value =
            serde_json::from_str(&request(Kind::Slack, &offline(), 42).body).expect("JSON");
        assert!(
            slack["text"]
                .as_str()
                .is_some_and(|text| text.contains("ops/rig-1"))
        );
        let ntfy = request(Kind::Ntfy, &offline(), 42);
        assert_eq!(ntfy.content_type, "text/plain; charset=utf-8");
        assert!(ntfy.headers.contains(&("Priority", "high".into())));
        assert!(
            ntfy.headers
                .contains(&("Title", "machine-offline: ops/rig-1".into()))
        );
        let outage: serde_json::Value = serde_json::from_str(
            &request(
                Kind::Json,
                &Notification::Outage {
                    firing: 9,
                    watched: 10,
                },
                1,
            )
            .body,
        )
        .expect("JSON");
        assert_eq!(
            (outage["status"].clone(), outage["firing"].clone()),
            ("outage".into(), 9.into())
        );
    }

    #[test]
    fn urls_lose_their_secrets_in_logs() {
        assert_eq!(
            redacted("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redacted("https://user:pw@ntfy.example:8443/topic?x=1"),
            "https://ntfy.example:8443/…"
        );
        assert_eq!(redacted("not a url"), "(a webhook URL)");
    }
}
