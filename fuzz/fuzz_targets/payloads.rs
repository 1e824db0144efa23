//! What other nodes write and the recipes decode: round announcements (through the typed, validated config the
//! round recipe reads), registry payloads, typed config values and alert rule files, on the memory backend. A hostile payload is
//! a typed error, never a panic.
#![no_main]

use std::sync::{Arc, LazyLock};

use aeroguard_consensus::memory::MemoryCluster;
use aeroguard_consensus::round::Announcement;
use aeroguard_consensus::{Config, Coordinator, Expect};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});
static NODE: LazyLock<Arc<dyn Coordinator>> = LazyLock::new(|| {
    let _inside = RUNTIME.enter();
    MemoryCluster::new()
        .connect("n1".parse().expect("a node id"))
        .expect("a coordinator")
});

#[derive(Debug, Deserialize, Serialize)]
struct Sampling {
    period_ms: u64,
    sensors: Vec<String>,
}

fuzz_target!(|data: &[u8]| {
    RUNTIME.block_on(async {
        let store = NODE.config();
        // Overwrites one key per kind, so nothing accumulates between inputs.
        for key in ["round-fuzz", "sampling"] {
            store
                .set_raw(key, data.to_vec(), Expect::Any)
                .await
                .expect("the memory store takes any bytes");
        }
        let announcements = Config::<Announcement>::new(store.clone(), "round-fuzz").expect("a key");
        if let Ok(Some(a)) = announcements.get().await {
            let _ = a.value.round.checked_add(1);
        }
        let sampling = Config::<Sampling>::new(store, "sampling")
            .expect("a key")
            .with_validator(|s: &Sampling| {
                if s.period_ms >= 10 {
                    Ok(())
                } else {
                    Err("period".into())
                }
            });
        let _ = sampling.get().await;
        // Alert rule files (hot-reloaded through config): refused with a line, or rules that all validate.
        if let Ok(text) = std::str::from_utf8(data)
            && let Ok(rules) = aeroguard_detect::alert::parse_rules(text)
        {
            assert!(rules.iter().all(|r| r.validate().is_ok()));
            let _ = aeroguard_detect::alert::Alerts::new(rules).expect("parsed rules make alerts");
        }
        // A registry payload is any JSON; a registration with it must not fail for its content.
        if let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) {
            let registration = NODE
                .registry()
                .register("fuzz", payload)
                .await
                .expect("registers");
            let _ = NODE.registry().instances("fuzz").await.expect("lists");
            drop(registration);
        }
    });
});
