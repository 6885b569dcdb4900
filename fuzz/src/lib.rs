//! Helpers shared by the fuzz targets in `fuzz_targets/`: reading knobs from the fuzzer's bytes, and the small
//! independent models (a naive chunked decoder, query splitting, header tables, a certificate builder) the
//! targets compare the real parsers and rewriters against.

pub mod cert;
pub mod fields;
pub mod knobs;
pub mod naive_chunked;
pub mod query_pairs;
