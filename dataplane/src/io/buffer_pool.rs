//! The core's spare buffer storage: what a quiet connection gives back while it waits (an idle watch holds no
//! read buffer), taken again by the next connection that needs one, so neither side pays for a fresh zeroed
//! allocation. One pool per thread — a core's connections all live on its thread — and bounded, so a burst of
//! connections leaves at most [`KEPT_PER_SIZE`] buffers of each size behind.

use std::cell::RefCell;

/// How many buffers of one size a core keeps.
pub const KEPT_PER_SIZE: usize = 64;

/// Buffers kept, by capacity (a handful of distinct sizes: client, upstream, TLS).
#[derive(Default)]
struct Pool {
    sizes: Vec<(usize, Vec<Box<[u8]>>)>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Storage of exactly `capacity` bytes: a kept one, or a new zeroed one. Its contents are unspecified.
pub fn take(capacity: usize) -> Box<[u8]> {
    let kept = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        pool.sizes
            .iter_mut()
            .find(|(size, _)| *size == capacity)
            .and_then(|(_, kept)| kept.pop())
    });
    kept.unwrap_or_else(|| vec![0; capacity].into_boxed_slice())
}

/// Keeps `storage` for a later [`take`] of its size, unless the pool already holds enough of them.
pub fn give(storage: Box<[u8]>) {
    let capacity = storage.len();
    if capacity == 0 {
        return;
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let index = match pool.sizes.iter().position(|(size, _)| *size == capacity) {
            Some(index) => index,
            None => {
                pool.sizes.push((capacity, Vec::new()));
                pool.sizes.len() - 1
            }
        };
        let kept = &mut pool.sizes[index].1;
        if kept.len() < KEPT_PER_SIZE {
            kept.push(storage);
        }
    });
}

/// How many buffers of `capacity` bytes this thread keeps.
pub fn kept(capacity: usize) -> usize {
    POOL.with(|pool| {
        pool.borrow()
            .sizes
            .iter()
            .find(|(size, _)| *size == capacity)
            .map_or(0, |(_, kept)| kept.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_storage_is_taken_again_by_size_and_the_pool_is_bounded() {
        let size = 12_345;
        give(vec![7; size].into_boxed_slice());
        assert_eq!(kept(size), 1);
        assert_eq!(take(size)[0], 7, "the kept storage, not a new one");
        assert_eq!(kept(size), 0);
        assert_eq!(take(size).len(), size);
        for _ in 0..KEPT_PER_SIZE + 5 {
            give(vec![0; size].into_boxed_slice());
        }
        assert_eq!(kept(size), KEPT_PER_SIZE);
        give(Box::default());
        assert_eq!(kept(0), 0);
    }
}
