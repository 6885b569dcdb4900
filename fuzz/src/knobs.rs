//! Reading the fuzzer's bytes as a few knob bytes followed by a payload.

/// A reader over the front of a fuzz input: knob bytes first, then the rest as the payload.
///
/// A knob past the end of the input reads as 0, so short inputs still run with default settings.
#[derive(Debug, Clone)]
pub struct Knobs<'a> {
    rest: &'a [u8],
}

impl<'a> Knobs<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// The next knob byte (0 once the input is used up).
    pub fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, rest)) => {
                self.rest = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two knob bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// Whatever follows the knobs read so far.
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// A small deterministic generator (xorshift) for split points and label values derived from a fuzz input.
#[derive(Debug, Clone)]
pub struct Xorshift(u32);

impl Xorshift {
    /// A generator seeded with `seed` (0 is replaced: xorshift never leaves 0).
    pub fn new(seed: u32) -> Self {
        Self(if seed == 0 { 0x9e37_79b9 } else { seed })
    }

    /// The next value below `bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        usize::try_from(x).unwrap_or(usize::MAX) % bound.max(1)
    }
}
