//! Inbox checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::Harness;
use crate::{Error, MAX_SLOT_BYTES, Slot};

/// A member's post replaces its own slot and nobody else's; others read it; a slot nobody wrote is empty;
/// an oversized value and a bad name are typed errors.
pub async fn check_inbox(h: &dyn Harness) {
    let name = h.unique("inbox");
    let a = h.connect("a").await;
    let b = h.connect("b").await;
    let (ia, ib) = (a.inbox(&name).unwrap(), b.inbox(&name).unwrap());
    let (na, nb, nc) = ("a".parse().unwrap(), "b".parse().unwrap(), "c".parse().unwrap());
    assert_eq!(ib.read(&na).await.unwrap(), Slot::Empty, "nothing posted yet");
    ia.post(b"one".to_vec()).await.unwrap();
    assert_eq!(
        ib.read(&na).await.unwrap(),
        Slot::Posted(b"one".to_vec()),
        "b reads what a posted"
    );
    ia.post(b"two".to_vec()).await.unwrap();
    ib.post(b"b's".to_vec()).await.unwrap();
    assert_eq!(
        ib.read(&na).await.unwrap(),
        Slot::Posted(b"two".to_vec()),
        "a post replaces the last"
    );
    assert_eq!(
        ia.read(&nb).await.unwrap(),
        Slot::Posted(b"b's".to_vec()),
        "each node has its own slot"
    );
    assert_eq!(ia.read(&nc).await.unwrap(), Slot::Empty);
    let other = a.inbox(&h.unique("inbox-other")).unwrap();
    assert_eq!(
        other.read(&na).await.unwrap(),
        Slot::Empty,
        "inboxes do not share slots"
    );
    assert!(matches!(
        ia.post(vec![0; MAX_SLOT_BYTES + 1]).await,
        Err(Error::InvalidParameter { name: "value", .. })
    ));
    assert_eq!(
        ib.read(&na).await.unwrap(),
        Slot::Posted(b"two".to_vec()),
        "a refused post changes nothing"
    );
    assert!(matches!(a.inbox("bad name"), Err(Error::InvalidName { .. })));
    a.close().await;
    b.close().await;
}
