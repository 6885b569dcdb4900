//! A fixed-size, reusable byte buffer for completion-based ("rent") I/O.

use std::io;

use monoio::buf::{IoBuf, IoBufMut, SliceMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, CancelHandle, CancelableAsyncReadRent};

use super::buffer_pool;

/// A fixed-capacity buffer holding the bytes `[start, end)`: read into at the end, consumed from the front.
///
/// The storage is taken when first needed and handed to the kernel for each read (io_uring owns the buffer
/// while an operation is in flight), then given back. A connection that goes quiet can [`IoBuffer::release`]
/// it to the core's pool and take one again when bytes arrive. If an operation is abandoned (a timeout drops
/// it), the storage is re-allocated on next use and the buffered bytes are gone; callers close the
/// connection in that case.
#[derive(Debug)]
pub struct IoBuffer {
    data: Box<[u8]>,
    capacity: usize,
    start: usize,
    end: usize,
}

impl IoBuffer {
    /// An empty buffer of `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            data: buffer_pool::take(capacity),
            capacity,
            start: 0,
            end: 0,
        }
    }

    /// The buffered bytes.
    pub fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// How many bytes are buffered.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether the buffer is full: the filled bytes take the whole capacity.
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity
    }

    /// The capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Grows the capacity to `capacity` bytes (never shrinks), keeping the buffered bytes.
    pub fn grow(&mut self, capacity: usize) {
        if capacity <= self.capacity {
            return;
        }
        let mut data = vec![0; capacity].into_boxed_slice();
        let len = self.len();
        data[..len].copy_from_slice(self.filled());
        self.data = data;
        self.capacity = capacity;
        self.start = 0;
        self.end = len;
    }

    /// Drops the first `n` buffered bytes.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops everything buffered.
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Free space after the filled bytes, compacting first if that makes room.
    pub fn spare_mut(&mut self) -> &mut [u8] {
        self.ensure_storage();
        if self.end == self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.data[self.end..]
    }

    /// Marks `n` bytes written into [`Self::spare_mut`] as filled.
    pub fn advance(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Appends as much of `bytes` as fits; returns how many bytes were taken.
    pub fn extend_from(&mut self, bytes: &[u8]) -> usize {
        let spare = self.spare_mut();
        let n = spare.len().min(bytes.len());
        spare[..n].copy_from_slice(&bytes[..n]);
        self.advance(n);
        n
    }

    fn ensure_storage(&mut self) {
        if self.data.len() != self.capacity {
            self.data = buffer_pool::take(self.capacity);
            self.start = 0;
            self.end = 0;
        }
    }

    /// Gives the storage back to the core's pool when nothing is buffered (a quiet connection waiting for
    /// bytes); the next read takes storage again. Does nothing while bytes are buffered.
    pub fn release(&mut self) {
        if self.is_empty() && !self.data.is_empty() {
            buffer_pool::give(std::mem::take(&mut self.data));
            self.start = 0;
            self.end = 0;
        }
    }

    /// Whether the buffer holds storage now (not released or lost).
    pub fn has_storage(&self) -> bool {
        !self.data.is_empty()
    }

    /// Reads once from `tcp` into the free space; `Ok(0)` is end of stream. A full buffer is an error:
    /// callers drain or reject before reading more.
    pub async fn read_from<R: AsyncReadRent>(&mut self, tcp: &mut R) -> io::Result<usize> {
        if self.spare_mut().is_empty() {
            return Err(io::Error::other("read buffer full"));
        }
        let (begin, total) = (self.end, self.data.len());
        let data = std::mem::take(&mut self.data);
        let (result, slice): (_, SliceMut<Box<[u8]>>) = tcp.read(data.slice_mut(begin..total)).await;
        self.data = slice.into_inner();
        let n = result?;
        self.advance(n);
        Ok(n)
    }

    /// Like [`Self::read_from`], but the read can be cancelled through `cancel`: it then ends with an error
    /// (or with the bytes that arrived before the cancellation took effect — none are lost).
    pub async fn read_from_cancelable<R: CancelableAsyncReadRent>(
        &mut self,
        tcp: &mut R,
        cancel: CancelHandle,
    ) -> io::Result<usize> {
        if self.spare_mut().is_empty() {
            return Err(io::Error::other("read buffer full"));
        }
        let (begin, total) = (self.end, self.data.len());
        let data = std::mem::take(&mut self.data);
        let (result, slice) = tcp.cancelable_read(data.slice_mut(begin..total), cancel).await;
        self.data = slice.into_inner();
        let n = result?;
        self.advance(n);
        Ok(n)
    }

    /// Writes the first `n` buffered bytes to `tcp` and consumes them.
    pub async fn write_to<W: AsyncWriteRent>(&mut self, tcp: &mut W, n: usize) -> io::Result<()> {
        let n = n.min(self.len());
        if n == 0 {
            return Ok(());
        }
        let data = std::mem::take(&mut self.data);
        let (result, slice) = tcp.write_all(data.slice(self.start..self.start + n)).await;
        self.data = slice.into_inner();
        result?;
        self.consume(n);
        Ok(())
    }
}

impl Drop for IoBuffer {
    /// The storage goes back to the core's pool: the next connection takes it instead of a fresh zeroed one.
    fn drop(&mut self) {
        buffer_pool::give(std::mem::take(&mut self.data));
    }
}

/// Writes all of `bytes` (an owned buffer lent to the kernel and given back) to `tcp`.
pub async fn write_vec<W: AsyncWriteRent>(tcp: &mut W, bytes: &mut Vec<u8>) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let owned = std::mem::take(bytes);
    let (result, owned) = tcp.write_all(owned).await;
    *bytes = owned;
    result.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_and_compact() {
        let mut buf = IoBuffer::new(8);
        assert_eq!(buf.extend_from(b"abcdefghij"), 8);
        assert!(buf.is_full());
        buf.consume(6);
        assert_eq!(buf.filled(), b"gh");
        assert_eq!(buf.spare_mut().len(), 6, "compaction frees the consumed front");
        assert_eq!(buf.filled(), b"gh");
        buf.consume(2);
        assert!(buf.is_empty());
        assert_eq!(buf.spare_mut().len(), 8);
    }

    #[test]
    fn released_storage_goes_to_the_pool_and_comes_back_on_use() {
        let mut buf = IoBuffer::new(4321);
        buf.extend_from(b"ab");
        buf.release();
        assert!(buf.has_storage(), "kept while bytes are buffered");
        buf.consume(2);
        buf.release();
        assert!(!buf.has_storage());
        assert_eq!(buffer_pool::kept(4321), 1);
        assert!(buf.is_empty() && !buf.is_full());
        assert_eq!(buf.spare_mut().len(), 4321);
        assert_eq!(buffer_pool::kept(4321), 0, "taken back from the pool");
    }

    #[test]
    fn lost_storage_is_reallocated_empty() {
        let mut buf = IoBuffer::new(4);
        buf.extend_from(b"ab");
        buf.data = Box::default();
        assert_eq!(buf.spare_mut().len(), 4);
        assert!(buf.is_empty());
    }
}
