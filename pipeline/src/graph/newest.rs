//! "Newest wins" on a one-slot channel, for a producer that must not wait for its consumer: the
//! camera's capture thread hands frames to the source this way. When the slot is full, the stale
//! item is taken out and the new one put in, so the consumer always gets the freshest frame. (The
//! pipeline itself admits frames at the source instead, see [`super`].)

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

/// What became of an item given to [`send_newest`].
#[derive(Debug, PartialEq, Eq)]
pub enum Handed {
    /// In the slot; `replaced` stale items were taken out for it.
    Sent { replaced: u32 },
    /// The consumer is gone.
    Closed,
}

/// Puts `item` into the one-slot channel `tx`, taking out (through `stale`, a receiver of the same
/// channel) an item the consumer has not taken yet. `give_up` is asked between tries (a halted run).
pub fn send_newest<T>(
    tx: &Sender<T>,
    stale: &Receiver<T>,
    item: T,
    mut give_up: impl FnMut() -> bool,
) -> Handed {
    let mut item = item;
    let mut replaced = 0;
    loop {
        match tx.try_send(item) {
            Ok(()) => return Handed::Sent { replaced },
            Err(TrySendError::Disconnected(_)) => return Handed::Closed,
            Err(TrySendError::Full(back)) => {
                item = back;
                match stale.try_recv() {
                    Ok(_old) => replaced += 1,
                    // The consumer took it meanwhile: the slot is free now.
                    Err(TryRecvError::Empty) => {}
                    Err(TryRecvError::Disconnected) => return Handed::Closed,
                }
                if give_up() {
                    return Handed::Closed;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;

    /// A slow consumer gets the newest item, not the one that happened to be first.
    #[test]
    fn the_consumer_gets_the_newest_item() {
        let (tx, rx) = bounded(1);
        let stale = rx.clone();
        assert_eq!(
            send_newest(&tx, &stale, 1, || false),
            Handed::Sent { replaced: 0 }
        );
        assert_eq!(
            send_newest(&tx, &stale, 2, || false),
            Handed::Sent { replaced: 1 }
        );
        assert_eq!(
            send_newest(&tx, &stale, 3, || false),
            Handed::Sent { replaced: 1 }
        );
        assert_eq!(rx.try_recv(), Ok(3));
        assert!(rx.try_recv().is_err());
        // The consumer gone (its receivers dropped): the producer is told so.
        drop(rx);
        drop(stale);
        let (_, elsewhere) = bounded(1);
        assert_eq!(send_newest(&tx, &elsewhere, 4, || false), Handed::Closed);
    }
}
