//! The hub's subscription to the other instances: one task per process that subscribes to
//! the store's [`Broadcast`], listens to the topics its live sessions watch (their storage
//! keys, their owners' revocation keys) as they come and go, and applies what arrives.
//! It subscribes again (and listens again to every topic) when a subscription ends.

use super::{Hub, Notice};
use crate::id::StorageKey;
use crate::store::{Broadcast, Subscription, unless};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// How long a live session waits for the subscription to confirm its topics before it goes
/// on without (it then hears of other instances' changes at its next save).
const SETTLE_WAIT: Duration = Duration::from_secs(2);

/// A change to what the subscription listens to, in the order the hub's maps changed.
pub(super) enum TopicChange {
    Listen(StorageKey),
    Forget(StorageKey),
    /// Answered once every change before it was carried out.
    Settle(oneshot::Sender<()>),
}

/// The queue of topic changes, and its receiving end until the task takes it.
pub(super) struct TopicQueue {
    sender: mpsc::UnboundedSender<TopicChange>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<TopicChange>>>,
}

impl TopicQueue {
    pub(super) fn new() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender,
            receiver: std::sync::Mutex::new(Some(receiver)),
        }
    }

    pub(super) fn push(&self, change: TopicChange) {
        // Fails only once the task ended with the hub.
        let _ = self.sender.send(change);
    }
}

impl Hub {
    /// Starts the subscription's task, once (on the first live session).
    pub(super) fn start_listening(self: &Arc<Self>, bus: &Arc<dyn Broadcast>) {
        let taken = self.topics.receiver.lock().ok().and_then(|mut r| r.take());
        if let Some(changes) = taken {
            let task = run(
                Arc::downgrade(self),
                Arc::clone(bus),
                changes,
                Arc::clone(&self.dropped),
            );
            tokio::spawn(task);
        }
    }

    /// Resolves once the subscription carried out every topic change made so far (a
    /// message about those topics published from then on reaches this process), or after
    /// [`SETTLE_WAIT`]; at once without a bus.
    pub(crate) async fn settle(&self) {
        if self.bus().is_none() {
            return;
        }
        let (done, settled) = oneshot::channel();
        self.topics.push(TopicChange::Settle(done));
        if tokio::time::timeout(SETTLE_WAIT, settled).await.is_err() {
            tracing::warn!(
                "no subscription to other instances' session changes yet; a live session goes on without"
            );
        }
    }
}

/// What the task does next.
enum Next {
    Message(Vec<u8>),
    Change(TopicChange),
    /// The subscription ended (its connection broke).
    Ended,
    /// The hub was dropped.
    Stop,
}

/// Subscribes to `bus` for `hub` until the hub is dropped: applies the messages, carries
/// out the topic changes, and subscribes again (after a pause) when a subscription ends.
async fn run(
    hub: Weak<Hub>,
    bus: Arc<dyn Broadcast>,
    mut changes: mpsc::UnboundedReceiver<TopicChange>,
    dropped: Arc<Notify>,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        if hub.strong_count() == 0 {
            return;
        }
        let mut subscription = match subscribe(&hub, bus.as_ref()).await {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::warn!(%error, "cannot subscribe to other instances' session changes; trying again");
                if unless(dropped.notified(), tokio::time::sleep(pause))
                    .await
                    .is_none()
                {
                    return;
                }
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        pause = Duration::from_millis(100);
        loop {
            match next(&mut subscription, &mut changes, &dropped).await {
                Next::Message(message) => {
                    let Some(hub) = hub.upgrade() else { return };
                    match Notice::decode(&message) {
                        Some((instance, _)) if instance == hub.instance => {}
                        Some((_, notice)) => hub.apply(&notice),
                        None => tracing::debug!("ignored a message that is no session change"),
                    }
                }
                Next::Change(change) => carry_out(&subscription, change).await,
                Next::Ended => break,
                Next::Stop => return,
            }
        }
    }
}

/// A subscription to `bus` that listens to every topic `hub`'s live sessions watch now.
async fn subscribe(
    hub: &Weak<Hub>,
    bus: &dyn Broadcast,
) -> Result<Subscription, crate::store::StoreError> {
    let subscription = bus.subscribe().await?;
    if let Some(topics) = &subscription.topics {
        let watched = hub.upgrade().map(|hub| hub.watched()).unwrap_or_default();
        if !watched.is_empty() {
            topics.listen(&watched).await?;
        }
    }
    Ok(subscription)
}

async fn carry_out(subscription: &Subscription, change: TopicChange) {
    let outcome = match (change, &subscription.topics) {
        (TopicChange::Settle(done), _) => {
            let _ = done.send(());
            return;
        }
        (_, None) => return,
        (TopicChange::Listen(topic), Some(topics)) => topics.listen(&[topic]).await,
        (TopicChange::Forget(topic), Some(topics)) => topics.forget(&[topic]).await,
    };
    if let Err(error) = outcome {
        // A broken connection: its subscription ends too, and the next one listens to
        // every topic again.
        tracing::warn!(%error, "cannot change what this instance hears of other instances' session changes");
    }
}

async fn next(
    subscription: &mut Subscription,
    changes: &mut mpsc::UnboundedReceiver<TopicChange>,
    dropped: &Notify,
) -> Next {
    let stop = dropped.notified();
    let mut stop = std::pin::pin!(stop);
    std::future::poll_fn(|cx| {
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Next::Stop);
        }
        if let Poll::Ready(message) = subscription.messages.poll_recv(cx) {
            return Poll::Ready(message.map_or(Next::Ended, Next::Message));
        }
        match changes.poll_recv(cx) {
            Poll::Ready(Some(change)) => Poll::Ready(Next::Change(change)),
            Poll::Ready(None) => Poll::Ready(Next::Stop),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
