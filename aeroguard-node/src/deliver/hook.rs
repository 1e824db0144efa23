//! The action webhook's outbox: each action a leader decides is written to disk and sent, in order, with the
//! leader's fencing token and the episode's key; a receiver that refuses a call for good (a stale token: 409)
//! has it dropped and counted, one that cannot be reached has it kept and tried again.

use std::sync::Arc;

use aeroguard_consensus::outbox::{Outbox, Outcome};
use aeroguard_detect::action::{ActionHook, ActionRecord};

use super::{Deliveries, POST_TIMEOUT, forward, outbox_file};
use crate::{Error, Result};

impl Deliveries {
    /// Also calls `hook` with each action whose rule asks for the webhook, through an outbox of its own.
    pub fn with_action_hook(mut self, hook: ActionHook) -> Result<Deliveries> {
        let file = outbox_file(&self.dir, &self.run, &self.me, "actions");
        let actions = Arc::new(Outbox::<ActionRecord>::open(&file, self.limits)?);
        let (outbox, node, e) = (actions.clone(), self.me.clone(), self.emit.clone());
        let hook = Arc::new(hook);
        self.forwarders.push(tokio::spawn(async move {
            let deliver = |r: &ActionRecord| {
                let (r, hook) = (r.clone(), hook.clone());
                async move {
                    match tokio::time::timeout(POST_TIMEOUT, hook.call(&r)).await {
                        Ok(Ok(())) => Outcome::Sent,
                        Ok(Err(e)) if e.is_permanent() => Outcome::Refused(e.to_string()),
                        Ok(Err(e)) => Outcome::Retry(e.to_string()),
                        Err(_) => Outcome::Retry(format!("no answer in {POST_TIMEOUT:?}")),
                    }
                }
            };
            forward(&outbox, deliver, "action webhook", &node, &e).await;
        }));
        self.actions = Some(actions);
        Ok(self)
    }

    /// Whether actions go to a webhook.
    pub fn calls_actions(&self) -> bool {
        self.actions.is_some()
    }

    /// Whether alerts (and actions) go to a notifier.
    pub fn notifies(&self) -> bool {
        self.alerts.is_some()
    }

    /// Writes an action to disk for the webhook, if the node calls one (nothing to do otherwise); an action the
    /// outbox cannot take (a full disk) is an error: unlike an alert it is not sent past the outbox, whose
    /// order and retries the receiver's fence relies on.
    pub fn call_action(&self, record: &ActionRecord) -> Result<()> {
        match &self.actions {
            Some(outbox) => outbox
                .push_precious(record)
                .map(drop)
                .map_err(|e| Error::Run(format!("action webhook outbox: {e}"))),
            None => Ok(()),
        }
    }
}
