//! The chat services' incoming-webhook shapes: Slack's (`{"text": ...}`) and Microsoft Teams' (a message
//! carrying an Adaptive Card). One line per alert: its state, severity, rule, series, value and since when.

use serde_json::{Value, json};

use super::notify::rfc3339;
use super::{AlertEvent, AlertStatus};

/// What a webhook's body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Alertmanager's own webhook body.
    Alertmanager,
    /// Slack's incoming webhook.
    Slack,
    /// Microsoft Teams' incoming webhook (Workflows), an Adaptive Card.
    Teams,
}

impl Shape {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Alertmanager => "webhook",
            Shape::Slack => "slack",
            Shape::Teams => "teams",
        }
    }
}

/// One alert as a line of text.
pub(crate) fn line(e: &AlertEvent) -> String {
    let state = if e.status == AlertStatus::Resolved {
        "RESOLVED"
    } else {
        "FIRING"
    };
    let severity = serde_json::to_value(e.severity)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string));
    let line = format!(
        "[{state}] {} {} on {}: value {} (since {})",
        severity.unwrap_or_default(),
        e.rule,
        e.series,
        e.value,
        rfc3339(e.since.as_millis())
    );
    // An action's notification (`ActionRecord::as_alert`) says what to do.
    match e.labels.get("recommendation") {
        Some(r) => format!("{line}: {r}"),
        None => line,
    }
}

/// Slack's body.
pub(crate) fn slack(news: &[&AlertEvent]) -> Value {
    let lines: Vec<String> = news.iter().map(|e| line(e)).collect();
    json!({ "text": lines.join("\n") })
}

/// Teams' body: a message with one Adaptive Card, a text block per alert.
pub(crate) fn teams(news: &[&AlertEvent]) -> Value {
    let blocks: Vec<Value> = news
        .iter()
        .map(|e| json!({ "type": "TextBlock", "text": line(e), "wrap": true }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": blocks,
            },
        }],
    })
}
