//! Incremental scanner for chunked bodies (RFC 9112 §7.1).
//!
//! The scanner validates framing and finds where the body ends; it never copies or decodes data, so the caller
//! can forward the bytes it reports — chunk sizes, extensions and trailers included — unchanged.

use super::headers::{is_field_value_byte, is_tchar};
use super::{CodecError, Limits};

/// Result of one [`ChunkedScanner::feed`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// How many leading bytes of the input belong to the body (all of it unless `done`).
    pub consumed: usize,
    /// The body ended within the input; bytes after `consumed` belong to the next message.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting the first hex digit of a chunk size.
    SizeStart,
    /// Inside the hex digits.
    Size,
    /// Whitespace after the size; only `;` may follow.
    SizeWs,
    /// Inside a chunk extension.
    Ext,
    /// Expecting the LF of a chunk-size line.
    SizeLf,
    /// Inside chunk data; `remaining` bytes left.
    Data,
    /// Expecting CR after chunk data.
    DataCr,
    /// Expecting LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer field name.
    TrailerName,
    /// Inside a trailer field value.
    TrailerValue,
    /// Expecting the LF of a trailer line.
    TrailerLf,
    /// Expecting the LF of the final empty line.
    FinalLf,
    /// The body has ended.
    Done,
}

/// Incremental chunked-body scanner; feed it input in pieces of any size.
///
/// After an error the body is unframeable and the connection must be closed; the scanner should be dropped.
#[derive(Debug, Clone)]
pub struct ChunkedScanner {
    state: State,
    /// Chunk size being parsed, then data bytes left in the current chunk.
    remaining: u64,
    ext_len: usize,
    trailer_len: usize,
    max_ext: usize,
    max_trailer: usize,
}

impl ChunkedScanner {
    /// A scanner at the start of a chunked body, bounded by `limits`' chunk-extension and trailer sizes.
    pub fn new(limits: &Limits) -> Self {
        Self {
            state: State::SizeStart,
            remaining: 0,
            ext_len: 0,
            trailer_len: 0,
            max_ext: limits.max_chunk_ext_bytes,
            max_trailer: limits.max_trailer_bytes,
        }
    }

    /// Whether the scanner stands between two chunks (the next byte starts a chunk-size line).
    pub fn at_chunk_start(&self) -> bool {
        self.state == State::SizeStart
    }

    /// Whether the whole body (last chunk and trailers) has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Scans the next piece of the body.
    pub fn feed(&mut self, input: &[u8]) -> Result<Scan, CodecError> {
        self.scan(input, None)
    }

    /// Scans the next piece of the body like [`ChunkedScanner::feed`] and appends its chunk data (without sizes,
    /// extensions or trailers) to `data`: a body the proxy reads rather than relays.
    pub fn feed_data(&mut self, input: &[u8], data: &mut Vec<u8>) -> Result<Scan, CodecError> {
        self.scan(input, Some(data))
    }

    fn scan(&mut self, input: &[u8], mut data: Option<&mut Vec<u8>>) -> Result<Scan, CodecError> {
        if self.state == State::Done {
            return Ok(Scan {
                consumed: 0,
                done: true,
            });
        }
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Data {
                let avail = (input.len() - i) as u64;
                let take = self.remaining.min(avail);
                self.remaining -= take;
                // `take <= avail`, which came from a usize.
                let end = i + usize::try_from(take).unwrap_or(input.len() - i);
                if let Some(data) = data.as_deref_mut() {
                    data.extend_from_slice(&input[i..end]);
                }
                i = end;
                if self.remaining == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            self.step(input[i])?;
            i += 1;
            if self.state == State::Done {
                return Ok(Scan {
                    consumed: i,
                    done: true,
                });
            }
        }
        Ok(Scan {
            consumed: i,
            done: self.state == State::Done,
        })
    }

    /// Advances the state machine over one framing byte (never called in `Data`).
    fn step(&mut self, b: u8) -> Result<(), CodecError> {
        if matches!(
            self.state,
            State::TrailerStart
                | State::TrailerName
                | State::TrailerValue
                | State::TrailerLf
                | State::FinalLf
        ) {
            self.trailer_len += 1;
            if self.trailer_len > self.max_trailer {
                return Err(CodecError::TrailersTooLarge);
            }
        }
        self.state = match (self.state, b) {
            (State::SizeStart | State::Size, _) if b.is_ascii_hexdigit() => {
                let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
                self.remaining = self
                    .remaining
                    .checked_mul(16)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or(CodecError::ChunkSizeOverflow)?;
                State::Size
            }
            (State::SizeStart, _) => return Err(CodecError::InvalidChunkSize),
            (State::Size | State::SizeWs, b' ' | b'\t') => State::SizeWs,
            (State::Size | State::SizeWs, b';') => {
                self.ext_len = 0;
                State::Ext
            }
            (State::Size, b'\r') => State::SizeLf,
            (State::Size, _) => return Err(CodecError::InvalidChunkSize),
            (State::SizeWs, _) => return Err(CodecError::InvalidChunkExtension),
            (State::Ext, b'\r') => State::SizeLf,
            (State::Ext, _) if is_field_value_byte(b) => {
                self.ext_len += 1;
                if self.ext_len > self.max_ext {
                    return Err(CodecError::InvalidChunkExtension);
                }
                State::Ext
            }
            (State::Ext, _) => return Err(CodecError::InvalidChunkExtension),
            (State::SizeLf, b'\n') if self.remaining == 0 => State::TrailerStart,
            (State::SizeLf, b'\n') => State::Data,
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::SizeStart,
            (State::SizeLf | State::DataCr | State::DataLf, _) => {
                return Err(CodecError::InvalidChunkFraming);
            }
            (State::TrailerStart, b'\r') => State::FinalLf,
            (State::TrailerStart | State::TrailerName, _) if is_tchar(b) => State::TrailerName,
            (State::TrailerName, b':') => State::TrailerValue,
            (State::TrailerValue, b'\r') => State::TrailerLf,
            (State::TrailerValue, _) if is_field_value_byte(b) => State::TrailerValue,
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::TrailerStart | State::TrailerName | State::TrailerValue | State::TrailerLf, _) => {
                return Err(CodecError::InvalidTrailer);
            }
            (State::FinalLf, b'\n') => State::Done,
            (State::FinalLf, _) => return Err(CodecError::InvalidChunkFraming),
            // Unreachable: `feed` handles these states itself.
            (State::Data | State::Done, _) => self.state,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scan_whole(body: &[u8]) -> Result<Scan, CodecError> {
        ChunkedScanner::new(&Limits::default()).feed(body)
    }

    fn end_of(body: &[u8]) -> usize {
        let scan = scan_whole(body).unwrap();
        assert!(scan.done, "{:?}", String::from_utf8_lossy(body));
        scan.consumed
    }

    #[test]
    fn valid_bodies() {
        assert_eq!(end_of(b"0\r\n\r\n"), 5);
        assert_eq!(end_of(b"0\r\n\r\nGET / HTTP/1.1\r\n"), 5);
        let body = b"5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n";
        assert_eq!(end_of(body), body.len());
        let ext = b"5;name=val;quoted=\"a b\"\r\nhello\r\n0 ;last\r\n\r\nnext";
        assert_eq!(end_of(ext), ext.len() - 4);
        let trailers = b"3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Empty:\r\n\r\nnext";
        assert_eq!(end_of(trailers), trailers.len() - 4);
        assert_eq!(end_of(b"000a\r\n0123456789\r\n0000\r\n\r\n"), 26);
        // Data may contain CRLFs and anything else.
        assert_eq!(end_of(b"4\r\n\r\n\r\n\r\n0\r\n\r\n"), 14);
    }

    #[test]
    fn incomplete_bodies() {
        let scan = scan_whole(b"5\r\nhel").unwrap();
        assert_eq!(
            scan,
            Scan {
                consumed: 6,
                done: false
            }
        );
        let mut s = ChunkedScanner::new(&Limits::default());
        assert!(!s.feed(b"0\r\n\r").unwrap().done);
        assert_eq!(
            s.feed(b"\nrest").unwrap(),
            Scan {
                consumed: 1,
                done: true
            }
        );
        assert!(s.is_done());
        assert_eq!(
            s.feed(b"more").unwrap(),
            Scan {
                consumed: 0,
                done: true
            }
        );
    }

    #[test]
    fn rejections() {
        let cases: &[(&[u8], CodecError)] = &[
            (b"\r\n", CodecError::InvalidChunkSize),
            (b"g\r\n", CodecError::InvalidChunkSize),
            (b"0x5\r\nhello\r\n", CodecError::InvalidChunkSize),
            (b"-1\r\n", CodecError::InvalidChunkSize),
            (b" 5\r\n", CodecError::InvalidChunkSize),
            (b"5 \r\nhello\r\n", CodecError::InvalidChunkExtension),
            (b"1ffffffffffffffff\r\n", CodecError::ChunkSizeOverflow),
            (b"10000000000000000\r\n", CodecError::ChunkSizeOverflow),
            (b"5\nhello\r\n", CodecError::InvalidChunkSize),
            (b"5;a\nhello\r\n", CodecError::InvalidChunkExtension),
            (b"5\rhello\r\n", CodecError::InvalidChunkFraming),
            (b"5\r\nhelloX\r\n", CodecError::InvalidChunkFraming),
            (b"5\r\nhello\rX", CodecError::InvalidChunkFraming),
            (b"5\r\nhello\n0\r\n\r\n", CodecError::InvalidChunkFraming),
            (b"0\r\n\n", CodecError::InvalidTrailer),
            (b"0\r\n\rX", CodecError::InvalidChunkFraming),
            (b"0\r\n x: folded\r\n\r\n", CodecError::InvalidTrailer),
            (b"0\r\nX : y\r\n\r\n", CodecError::InvalidTrailer),
            (b"0\r\nX: y\nZ: w\r\n\r\n", CodecError::InvalidTrailer),
            (b"0\r\nX: \x00\r\n\r\n", CodecError::InvalidTrailer),
        ];
        for (body, want) in cases {
            assert_eq!(
                scan_whole(body),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(
            scan_whole(b"ffffffffffffffff\r\n").is_ok(),
            "u64::MAX itself fits"
        );
    }

    #[test]
    fn size_limits() {
        let limits = Limits {
            max_chunk_ext_bytes: 8,
            max_trailer_bytes: 16,
            ..Limits::default()
        };
        let mut s = ChunkedScanner::new(&limits);
        assert_eq!(s.feed(b"1;123456789\r\n"), Err(CodecError::InvalidChunkExtension));
        let mut s = ChunkedScanner::new(&limits);
        assert!(s.feed(b"1;1234567\r\nx\r\n").is_ok());
        let mut s = ChunkedScanner::new(&limits);
        assert_eq!(
            s.feed(b"0\r\nX-Long: 0123456789\r\n\r\n"),
            Err(CodecError::TrailersTooLarge)
        );
        let mut s = ChunkedScanner::new(&limits);
        assert!(s.feed(b"0\r\nX: 0123456\r\n\r\n").unwrap().done);
    }

    /// A valid chunked body built from chunk payloads, per-chunk extensions and trailer values.
    fn build(chunks: &[(Vec<u8>, bool)], trailers: &[String]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (data, ext)) in chunks.iter().enumerate() {
            out.extend_from_slice(format!("{:X}", data.len()).as_bytes());
            if *ext {
                out.extend_from_slice(format!(" ; ext{i}=\"v\\\"{i}\"").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n");
        for (i, t) in trailers.iter().enumerate() {
            out.extend_from_slice(format!("X-T{i}: {t}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    proptest! {
        #[test]
        fn any_split_finds_same_end(
            chunks in prop::collection::vec((prop::collection::vec(any::<u8>(), 1..300), any::<bool>()), 0..8),
            trailers in prop::collection::vec("[ -~]{0,20}", 0..3),
            tail in prop::collection::vec(any::<u8>(), 0..20),
            splits in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let body = build(&chunks, &trailers);
            let mut input = body.clone();
            input.extend_from_slice(&tail);

            let whole = ChunkedScanner::new(&Limits::default()).feed(&input).unwrap();
            prop_assert_eq!(whole, Scan { consumed: body.len(), done: true });

            let mut cuts: Vec<usize> = splits.iter().map(|ix| ix.index(input.len() + 1)).collect();
            cuts.push(0);
            cuts.push(input.len());
            cuts.sort_unstable();
            let mut scanner = ChunkedScanner::new(&Limits::default());
            let mut end = None;
            for w in cuts.windows(2) {
                let scan = scanner.feed(&input[w[0]..w[1]]).unwrap();
                if scan.done {
                    end = Some(w[0] + scan.consumed);
                    break;
                }
                prop_assert_eq!(scan.consumed, w[1] - w[0]);
            }
            prop_assert_eq!(end, Some(body.len()));
        }

        #[test]
        fn data_read_in_any_split_is_the_chunks_joined(
            chunks in prop::collection::vec((prop::collection::vec(any::<u8>(), 1..300), any::<bool>()), 0..8),
            trailers in prop::collection::vec("[ -~]{0,20}", 0..3),
            splits in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let body = build(&chunks, &trailers);
            let expected: Vec<u8> = chunks.iter().flat_map(|(data, _)| data.iter().copied()).collect();
            let mut cuts: Vec<usize> = splits.iter().map(|ix| ix.index(body.len() + 1)).collect();
            cuts.push(0);
            cuts.push(body.len());
            cuts.sort_unstable();
            let mut scanner = ChunkedScanner::new(&Limits::default());
            let mut data = Vec::new();
            let mut done = false;
            for w in cuts.windows(2) {
                done |= scanner.feed_data(&body[w[0]..w[1]], &mut data).unwrap().done;
            }
            prop_assert!(done);
            prop_assert_eq!(data, expected);
        }

        #[test]
        fn never_panics_on_garbage(input in prop::collection::vec(any::<u8>(), 0..200), cut in any::<prop::sample::Index>()) {
            let at = cut.index(input.len() + 1);
            let mut s = ChunkedScanner::new(&Limits::default());
            if let Ok(scan) = s.feed(&input[..at]) {
                prop_assert!(scan.consumed <= at);
                if !scan.done {
                    let _ = s.feed(&input[at..]);
                }
            }
        }
    }
}
