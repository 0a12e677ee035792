//! A bounded queue of what the next token responses take, one entry each, in order: the claims
//! queued for them ([`super::claims`]) and their edits ([`super::token_response`]). The token
//! endpoint looks on every response, so an empty queue costs one atomic load and no lock.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::state::lock;

/// The entries waiting, at most `capacity`.
#[derive(Debug)]
pub struct NextResponses<T> {
    capacity: usize,
    len: AtomicUsize,
    queue: Mutex<VecDeque<T>>,
}

/// The queue was full: this many entries wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full(pub usize);

impl<T> NextResponses<T> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            len: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// Queues `entry` for the first response after those already waiting.
    pub fn push(&self, entry: T) -> Result<(), Full> {
        let mut queue = lock(&self.queue);
        if queue.len() >= self.capacity {
            return Err(Full(queue.len()));
        }
        queue.push_back(entry);
        self.len.store(queue.len(), Ordering::Release);
        Ok(())
    }

    /// The entry for the response being answered, if any.
    pub fn take(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let mut queue = lock(&self.queue);
        let entry = queue.pop_front();
        self.len.store(queue.len(), Ordering::Release);
        entry
    }

    /// The first entry, if `wanted` says this response takes it; otherwise it keeps waiting.
    pub fn take_if(&self, wanted: impl FnOnce(&T) -> bool) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let mut queue = lock(&self.queue);
        if !queue.front().is_some_and(wanted) {
            return None;
        }
        let entry = queue.pop_front();
        self.len.store(queue.len(), Ordering::Release);
        entry
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        let mut queue = lock(&self.queue);
        queue.clear();
        self.len.store(0, Ordering::Release);
    }

    /// What waits, in order.
    pub fn pending(&self) -> Vec<T>
    where
        T: Clone,
    {
        lock(&self.queue).iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_taken_in_order_up_to_the_capacity() {
        let queue = NextResponses::new(2);
        assert_eq!(queue.take(), None::<u8>);
        queue.push(1).unwrap();
        queue.push(2).unwrap();
        assert_eq!(queue.push(3), Err(Full(2)));
        assert_eq!((queue.len(), queue.pending()), (2, vec![1, 2]));
        assert_eq!(
            queue.take_if(|first| *first == 2),
            None,
            "1 is first and waits"
        );
        assert_eq!(queue.take(), Some(1));
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.take_if(|first| *first == 2), Some(2));
        queue.push(3).unwrap();
        queue.clear();
        assert!(queue.is_empty() && queue.take().is_none());
    }
}
