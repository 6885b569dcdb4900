//! `ChunkedScanner` fed a body whole and in pieces, against a naive decoder and `dechunk`.
//!
//! Input: knob bytes (chunk-extension limit, trailer limit, number of pieces, a split seed), then the body.
//! The whole feed and the split feed agree (same bytes consumed, same end, same error); a body that is
//! not done was consumed whole; the naive decoder in `naive_chunked.rs` finds the same end or the same
//! error; when done, `dechunk` of the consumed bytes equals the naive decoder's data, and so do the data the
//! split feed read with `feed_data` (how a merged watch reads its namespaces' streams).
#![no_main]

use capsule_proxy_dataplane::codec::{ChunkedScanner, CodecError, Limits, Scan};
use capsule_proxy_dataplane::phase6_response::rewrite::dechunk;
use capsule_proxy_fuzz::knobs::{Knobs, Xorshift};
use capsule_proxy_fuzz::naive_chunked::{Decoded, decode};
use libfuzzer_sys::fuzz_target;

/// A size limit from a knob byte: below 0x80 the default, else a small limit.
fn limit(knob: u8, default: usize) -> usize {
    if knob < 0x80 {
        default
    } else {
        usize::from(knob & 0x7f)
    }
}

/// Feeds `body` in the pieces ending at `cuts` (ascending, the last one `body.len()`); the scan over the
/// whole input, summed.
fn feed_split(limits: &Limits, body: &[u8], cuts: &[usize], data: &mut Vec<u8>) -> Result<Scan, CodecError> {
    let mut scanner = ChunkedScanner::new(limits);
    let mut start = 0;
    for &end in cuts {
        let piece = &body[start..end];
        let scan = scanner.feed_data(piece, data)?;
        assert!(scan.consumed <= piece.len(), "consumed more than the piece");
        if scan.done {
            assert!(scanner.is_done());
            return Ok(Scan {
                consumed: start + scan.consumed,
                done: true,
            });
        }
        assert_eq!(
            scan.consumed,
            piece.len(),
            "a body not done left bytes of a piece"
        );
        start = end;
    }
    Ok(Scan {
        consumed: start,
        done: false,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut knobs = Knobs::new(data);
    let limits = Limits {
        max_chunk_ext_bytes: limit(knobs.byte(), Limits::default().max_chunk_ext_bytes),
        max_trailer_bytes: limit(knobs.byte(), Limits::default().max_trailer_bytes),
        ..Limits::default()
    };
    let pieces = usize::from(knobs.byte() % 16);
    let mut rng = Xorshift::new(u32::from(knobs.u16()));
    let body = knobs.rest();

    let whole = ChunkedScanner::new(&limits).feed(body);
    if let Ok(scan) = whole {
        assert!(scan.consumed <= body.len(), "consumed beyond the input");
        if !scan.done {
            assert_eq!(scan.consumed, body.len(), "a body not done left bytes unconsumed");
        }
    }

    let mut cuts: Vec<usize> = (0..pieces).map(|_| rng.below(body.len() + 1)).collect();
    cuts.push(body.len());
    cuts.sort_unstable();
    let mut split_data = Vec::new();
    let split = feed_split(&limits, body, &cuts, &mut split_data);
    assert_eq!(whole, split, "fed whole and split at {cuts:?}");

    let naive = decode(body, limits.max_chunk_ext_bytes, limits.max_trailer_bytes);
    match (&whole, &naive) {
        (Ok(Scan { consumed, done: true }), Decoded::Complete { data, end }) => {
            assert_eq!(
                consumed, end,
                "the scanner and the naive decoder end the body apart"
            );
            let dechunked = dechunk(&body[..*consumed]);
            assert_eq!(
                dechunked.as_deref(),
                Some(data.as_slice()),
                "dechunk differs from the naive decode"
            );
            assert_eq!(&split_data, data, "feed_data differs from the naive decode");
        }
        (Ok(Scan { done: false, .. }), Decoded::Incomplete) | (Err(_), Decoded::Invalid) => {}
        _ => panic!("scanner {whole:?}, naive decoder {naive:?}"),
    }
});
