//! Holds evaluated pages until the sink they go to exists. The scan lists
//! and evaluates while the reports stored in the cluster are still being
//! read, but the per-resource report sink is built from those: pages (of
//! type `P`) enter through [`SinkGate::offer`], the sink (`S`) arrives on a
//! oneshot channel, and pages leave — in the order offered — through the
//! caller's `accept` once it is there. At most `limit` pages are held; the
//! next one waits for the sink, so memory stays bounded by pages in flight.

use tokio::sync::oneshot::{self, error::TryRecvError};

/// Pages evaluated before the sink exists wait here.
#[derive(Debug)]
pub(crate) enum SinkGate<S, P> {
    /// The sink is not there yet; `held` pages wait for it, oldest first.
    Waiting {
        arrival: oneshot::Receiver<S>,
        held: Vec<P>,
    },
    Ready(S),
    /// The sink will never come (its sender was dropped: reading the
    /// stored reports failed): evaluating further is pointless.
    Gone,
}

impl<S, P> SinkGate<S, P> {
    pub(crate) fn new(arrival: oneshot::Receiver<S>) -> Self {
        SinkGate::Waiting {
            arrival,
            held: Vec::new(),
        }
    }

    /// Moves on to `Ready` (handing the held pages to `accept`) or `Gone`
    /// when the sink came or never will; waits for it when `block`.
    /// Blocking: call it only off the async runtime's threads.
    fn poll(&mut self, block: bool, accept: &mut impl FnMut(&mut S, P)) {
        let SinkGate::Waiting { arrival, held } = self else {
            return;
        };
        let arrived = match arrival.try_recv() {
            Ok(sink) => Some(sink),
            Err(TryRecvError::Empty) if !block => return,
            // `blocking_recv` would take the receiver; this waits the same.
            Err(TryRecvError::Empty) => futures::executor::block_on(arrival).ok(),
            Err(TryRecvError::Closed) => None,
        };
        let held = std::mem::take(held);
        *self = match arrived {
            Some(mut sink) => {
                for page in held {
                    accept(&mut sink, page);
                }
                SinkGate::Ready(sink)
            }
            None => SinkGate::Gone,
        };
    }

    /// Hands `page` to the sink (after any held pages), or holds it while
    /// fewer than `limit` are held, or else waits for the sink. Returns
    /// false when the sink will never come.
    pub(crate) fn offer(
        &mut self,
        page: P,
        limit: usize,
        mut accept: impl FnMut(&mut S, P),
    ) -> bool {
        let full = matches!(self, SinkGate::Waiting { held, .. } if held.len() >= limit);
        self.poll(full, &mut accept);
        match self {
            SinkGate::Waiting { held, .. } => {
                held.push(page);
                true
            }
            SinkGate::Ready(sink) => {
                accept(sink, page);
                true
            }
            SinkGate::Gone => false,
        }
    }

    /// Whether the sink is still to come, checked without waiting (a sink
    /// that came is handed the held pages).
    pub(crate) fn waiting(&mut self, mut accept: impl FnMut(&mut S, P)) -> bool {
        self.poll(false, &mut accept);
        matches!(self, SinkGate::Waiting { .. })
    }

    /// Waits for the sink (handing it the held pages) and returns it;
    /// `None` when it will never come. Blocking, as [`Self::finish`].
    pub(crate) fn ready(&mut self, mut accept: impl FnMut(&mut S, P)) -> Option<&mut S> {
        self.poll(true, &mut accept);
        match self {
            SinkGate::Ready(sink) => Some(sink),
            SinkGate::Waiting { .. } | SinkGate::Gone => None,
        }
    }

    /// After the last page: waits for the sink, hands it the held pages and
    /// returns it (`None` when it never came).
    pub(crate) fn finish(mut self, mut accept: impl FnMut(&mut S, P)) -> Option<S> {
        self.poll(true, &mut accept);
        match self {
            SinkGate::Ready(sink) => Some(sink),
            SinkGate::Waiting { .. } | SinkGate::Gone => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(sink: &mut Vec<u32>, page: u32) {
        sink.push(page);
    }

    #[test]
    fn pages_before_the_sink_are_held_and_accepted_in_order() {
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        let mut gate = SinkGate::new(receiver);
        assert!(gate.offer(1, 4, push));
        assert!(gate.offer(2, 4, push));
        assert!(matches!(&gate, SinkGate::Waiting { held, .. } if held == &[1, 2]));
        sender.send(vec![0]).unwrap();
        assert!(gate.offer(3, 4, push));
        assert!(gate.offer(4, 4, push));
        assert_eq!(gate.finish(push), Some(vec![0, 1, 2, 3, 4]));
    }

    #[test]
    fn waiting_tells_without_blocking_and_hands_a_sink_that_came_the_held_pages() {
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        let mut gate = SinkGate::new(receiver);
        assert!(gate.offer(7, 4, push));
        assert!(gate.waiting(push));
        sender.send(vec![0]).unwrap();
        assert!(!gate.waiting(push));
        assert!(matches!(&gate, SinkGate::Ready(sink) if sink == &[0, 7]));
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        drop(sender);
        let mut gone: SinkGate<Vec<u32>, u32> = SinkGate::new(receiver);
        assert!(!gone.waiting(push));
    }

    #[test]
    fn ready_waits_for_the_sink_and_hands_it_the_held_pages_first() {
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        let mut gate = SinkGate::new(receiver);
        assert!(gate.offer(5, 4, push));
        let sending = std::thread::spawn(move || sender.send(vec![0]));
        assert_eq!(gate.ready(push), Some(&mut vec![0, 5]));
        assert!(sending.join().unwrap().is_ok());
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        drop(sender);
        let mut gone: SinkGate<Vec<u32>, u32> = SinkGate::new(receiver);
        assert_eq!(gone.ready(push), None);
    }

    #[test]
    fn finish_waits_for_the_sink_and_hands_it_the_held_pages() {
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        let mut gate = SinkGate::new(receiver);
        assert!(gate.offer(7, 4, push));
        let sending = std::thread::spawn(move || sender.send(Vec::new()));
        assert_eq!(gate.finish(push), Some(vec![7]));
        assert!(sending.join().unwrap().is_ok());
    }

    #[test]
    fn a_full_gate_waits_for_the_sink_before_taking_more() {
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        let mut gate = SinkGate::new(receiver);
        assert!(gate.offer(1, 1, push));
        let sending = std::thread::spawn(move || sender.send(Vec::new()));
        // Held is full: this offer blocks until the sink is sent.
        assert!(gate.offer(2, 1, push));
        assert!(matches!(&gate, SinkGate::Ready(sink) if sink == &[1, 2]));
        assert!(sending.join().unwrap().is_ok());
        assert_eq!(gate.finish(push), Some(vec![1, 2]));
    }

    #[test]
    fn a_dropped_sender_stops_the_pages() {
        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        let mut gate = SinkGate::new(receiver);
        assert!(gate.offer(1, 4, push));
        drop(sender);
        assert!(!gate.offer(2, 4, push), "no sink will come");
        assert!(matches!(gate, SinkGate::Gone));
        assert_eq!(gate.finish(push), None);

        let (sender, receiver) = oneshot::channel::<Vec<u32>>();
        let mut gate = SinkGate::new(receiver);
        assert!(gate.offer(1, 1, push));
        let dropping = std::thread::spawn(move || drop(sender));
        assert!(!gate.offer(2, 1, push), "a full gate learns it too");
        dropping.join().unwrap();
    }
}
