//! Queue checks: FIFO, at-least-once, a crashed consumer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::{Harness, PROMPT};
use crate::queue::{QueueOptions, dead_letter_name};
use crate::{Delivery, Error};

/// FIFO for one consumer; a dropped delivery comes back; take times out with a typed error; two consumers
/// never hold the same item and together see everything exactly once after acks.
pub async fn check_queue(h: &dyn Harness) {
    let name = h.unique("q");
    let producer = h.connect("producer").await;
    let q = producer.queue(&name).unwrap();
    match q.take(Some(Duration::from_millis(200))).await {
        Err(Error::Timeout { .. }) => {}
        other => panic!("take on an empty queue must time out, got {other:?}"),
    }
    for i in 0..5u32 {
        q.put(i.to_be_bytes().to_vec()).await.unwrap();
    }
    assert_eq!(q.len().await.unwrap(), 5);
    let d = q.take(Some(PROMPT)).await.unwrap();
    assert_eq!(d.payload(), 0u32.to_be_bytes());
    drop(d); // not acked: must come back, first
    let d = q.take(Some(PROMPT)).await.unwrap();
    assert_eq!(
        d.payload(),
        0u32.to_be_bytes(),
        "an unacked item is delivered again"
    );
    d.ack().await.unwrap();
    for i in 1..5u32 {
        let d = q.take(Some(PROMPT)).await.unwrap();
        assert_eq!(d.payload(), i.to_be_bytes(), "FIFO");
        d.ack().await.unwrap();
    }
    assert_eq!(q.len().await.unwrap(), 0);

    // Two consumers, batches, no item held twice.
    let total = 200u32;
    q.put_batch((0..total).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    let mut handles = Vec::new();
    for c in 0..2 {
        let coord = h.connect(&format!("consumer{c}")).await;
        let q = coord.queue(&name).unwrap();
        handles.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                match q.take_batch(16, Some(Duration::from_millis(500))).await {
                    Ok(batch) => {
                        seen.extend(
                            batch
                                .iter()
                                .map(|d| u32::from_be_bytes(d.payload().try_into().unwrap())),
                        );
                        Delivery::ack_all(batch).await.unwrap();
                    }
                    Err(Error::Timeout { .. }) => break,
                    Err(e) => panic!("consumer failed: {e}"),
                }
            }
            coord.close().await;
            seen
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let distinct: HashSet<u32> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        total as usize,
        "every item delivered once when all are acked"
    );
    assert_eq!(distinct.len(), total as usize, "no item delivered twice");
    producer.close().await;
}

/// Items claimed by a consumer whose process dies are delivered again after its session times out.
pub async fn check_queue_crashed_consumer(h: &dyn Harness) {
    let name = h.unique("qcrash");
    let producer = h.connect("producer").await;
    let q = producer.queue(&name).unwrap();
    q.put_batch((0..10u32).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    let doomed = h.connect("doomed").await;
    let claimed = doomed
        .queue(&name)
        .unwrap()
        .take_batch(4, Some(PROMPT))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    std::mem::forget(claimed); // the process dies holding them
    h.crash(doomed).await;
    let survivor = h.connect("survivor").await;
    let sq = survivor.queue(&name).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + h.session_timeout() + Duration::from_secs(5);
    while got.len() < 10 {
        let left = deadline.saturating_duration_since(Instant::now());
        let d = sq
            .take(Some(left))
            .await
            .unwrap_or_else(|e| panic!("only {} of 10 items came back: {e}", got.len()));
        got.push(u32::from_be_bytes(d.payload().try_into().unwrap()));
        d.ack().await.unwrap();
    }
    got.sort();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    survivor.close().await;
    producer.close().await;
}

/// A delivery taken in a session that has since expired cannot be acked: the claim went with the session, the
/// ack is a `Conflict`, and the item stays for whoever takes it next (acking it would delete an item that may
/// already be redelivered to another consumer).
pub async fn check_queue_ack_needs_the_claim(h: &dyn Harness) {
    let name = h.unique("qclaim");
    let c = h.connect("claimer").await;
    let q = c.queue(&name).unwrap();
    q.put(b"job".to_vec()).await.unwrap();
    let d = q.take(Some(PROMPT)).await.unwrap();
    let mut session = c.session();
    let epoch = session.borrow_and_update().epoch;
    h.expire(&c).await;
    let deadline = Instant::now() + h.session_timeout() + PROMPT;
    while session.borrow().epoch == epoch || !session.borrow().is_connected() {
        assert!(
            Instant::now() < deadline,
            "the session never came back after the expiry"
        );
        // Any call rebuilds an expired session; then wait for the status to say so.
        let _rebuilt = c.queue(&name).unwrap().len().await;
        timeout(Duration::from_millis(50), session.changed()).await.ok();
    }
    match d.ack().await {
        Err(Error::Conflict { .. }) => {}
        other => panic!("an ack from an expired session's delivery must be a Conflict: {other:?}"),
    }
    assert_eq!(q.len().await.unwrap(), 1, "the item stays for the next taker");
    c.close().await;
}

/// An item released behind many live claims (another consumer holds the 300 items before it) is delivered
/// promptly to the next taker: reclaiming must not start its scan over at the front every time.
pub async fn check_queue_released_item_behind_live_claims(h: &dyn Harness) {
    let name = h.unique("qbehind");
    let holder = h.connect("holder").await;
    let hq = holder.queue(&name).unwrap();
    hq.put_batch((0..300u32).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    let mut held = Vec::new();
    while held.len() < 300 {
        held.extend(hq.take_batch(300 - held.len(), Some(PROMPT)).await.unwrap());
    }
    hq.put(b"released".to_vec()).await.unwrap();
    let dropper = h.connect("dropper").await;
    let dq = dropper.queue(&name).unwrap();
    let d = dq.take(Some(PROMPT)).await.unwrap();
    assert_eq!(d.payload(), b"released");
    drop(d); // released: the next taker gets it
    let taker = h.connect("taker").await;
    let tq = taker.queue(&name).unwrap();
    let got = tq
        .take(Some(h.session_timeout() + PROMPT))
        .await
        .expect("the released item behind 300 live claims must be delivered");
    assert_eq!(got.payload(), b"released");
    got.ack().await.unwrap();
    Delivery::ack_all(held).await.unwrap();
    for c in [holder, dropper, taker] {
        c.close().await;
    }
}

/// A poison item (one no consumer acks) is delivered `max_deliveries` times, then moved to the dead-letter
/// queue with its payload on the next take, and the items behind it flow on (it came back forever before).
pub async fn check_queue_dead_letters(h: &dyn Harness) {
    let name = h.unique("qpoison");
    let c = h.connect("poisoned").await;
    let q = c.queue_with(&name, QueueOptions::max_deliveries(3)).unwrap();
    q.put(b"poison".to_vec()).await.unwrap();
    q.put(b"good".to_vec()).await.unwrap();
    for n in 1..=3 {
        let d = q.take(Some(PROMPT)).await.unwrap();
        assert_eq!(d.payload(), b"poison", "delivery {n} of 3 is the oldest item");
        drop(d); // released without an ack: it comes back
    }
    let d = q.take(Some(PROMPT)).await.unwrap();
    assert_eq!(
        d.payload(),
        b"good",
        "after 3 deliveries the poison item must leave the queue"
    );
    d.ack().await.unwrap();
    assert_eq!(q.len().await.unwrap(), 0, "nothing is left in the queue");
    let dead = c.queue(&dead_letter_name(&name)).unwrap();
    let d = dead
        .take(Some(PROMPT))
        .await
        .expect("the poison item waits in the dead-letter queue");
    assert_eq!(d.payload(), b"poison");
    d.ack().await.unwrap();
    assert!(
        matches!(
            c.queue_with(&"x".repeat(125), QueueOptions::default()),
            Err(Error::InvalidName { .. })
        ),
        "a name whose dead-letter queue's name is too long is refused"
    );
    c.close().await;
}

/// The length counts the items not yet acknowledged, whatever order the acks come in (a backend that trims
/// acked items in bulk must not count, nor lose, the ones around a slow consumer's claim), and an item dropped
/// after a trim still comes back.
pub async fn check_queue_length_under_out_of_order_acks(h: &dyn Harness) {
    let name = h.unique("qorder");
    let (a, b) = (h.connect("slow").await, h.connect("fast").await);
    let (qa, qb) = (a.queue(&name).unwrap(), b.queue(&name).unwrap());
    qa.put_batch((0..6u32).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    let mut held_a = qa.take_batch(3, Some(PROMPT)).await.unwrap();
    let mut held_b = qb.take_batch(3, Some(PROMPT)).await.unwrap();
    assert_eq!((held_a.len(), held_b.len()), (3, 3));
    let expect = [
        (held_b.remove(1), 5, "an ack above the oldest claim"),
        (held_a.remove(1), 4, "an ack between two claims"),
        (held_a.remove(0), 3, "the oldest claim acked"),
        (held_b.remove(0), 2, "an ack just above the oldest claim"),
        (held_b.remove(0), 1, "the newest acked"),
        (held_a.remove(0), 0, "the last claim acked"),
    ];
    for (d, left, what) in expect {
        d.ack().await.unwrap();
        assert_eq!(qa.len().await.unwrap(), left, "{what}");
    }
    qa.put_batch(vec![b"again".to_vec(), b"more".to_vec()])
        .await
        .unwrap();
    let d = qb.take(Some(PROMPT)).await.unwrap();
    assert_eq!(d.payload(), b"again");
    drop(d); // released after everything before it was trimmed: it comes back
    let d = qb.take(Some(h.session_timeout() + PROMPT)).await.unwrap();
    assert_eq!(d.payload(), b"again", "a released item survives the trims");
    d.ack().await.unwrap();
    assert_eq!(qa.len().await.unwrap(), 1);
    let d = qa.take(Some(PROMPT)).await.unwrap();
    assert_eq!(d.payload(), b"more");
    d.ack().await.unwrap();
    assert_eq!(qa.len().await.unwrap(), 0);
    a.close().await;
    b.close().await;
}
