//! A naive, whole-buffer chunked-body decoder (RFC 9112 §7.1) with the codec's documented acceptance rules, to
//! compare `ChunkedScanner` and `dechunk` against.
//!
//! Accepted: `1*HEXDIG` sizes fitting in u64; after the size either CRLF, or optional SP / HTAB then `;` and
//! field-value bytes (at most `max_ext` of them after the `;`) then CRLF; chunk data then CRLF; after the last
//! chunk, trailer lines `1*tchar ":" *field-value-byte CRLF` and a final CRLF, the whole trailer section (final
//! CRLF included) at most `max_trailer` bytes.

/// What [`decode`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole body: its data, and where it ends in the input.
    Complete {
        /// The concatenated chunk data.
        data: Vec<u8>,
        /// Length of the body in the input.
        end: usize,
    },
    /// Everything seen is valid, but the body has not ended.
    Incomplete,
    /// The input breaks the grammar or a limit.
    Invalid,
}

/// Why decoding stopped early.
enum Stop {
    Incomplete,
    Invalid,
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Result<u8, Stop> {
        self.input.get(self.at).copied().ok_or(Stop::Incomplete)
    }

    fn next(&mut self) -> Result<u8, Stop> {
        let b = self.peek()?;
        self.at += 1;
        Ok(b)
    }

    fn expect(&mut self, want: u8) -> Result<(), Stop> {
        if self.next()? == want {
            Ok(())
        } else {
            Err(Stop::Invalid)
        }
    }
}

/// A `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A field-value byte: HTAB, SP, VCHAR or obs-text.
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80
}

/// Decodes the chunked body at the start of `input`.
pub fn decode(input: &[u8], max_ext: usize, max_trailer: usize) -> Decoded {
    let mut r = Reader { input, at: 0 };
    let mut data = Vec::new();
    match body(&mut r, &mut data, max_ext, max_trailer) {
        Ok(()) => Decoded::Complete { data, end: r.at },
        Err(Stop::Incomplete) => Decoded::Incomplete,
        Err(Stop::Invalid) => Decoded::Invalid,
    }
}

fn body(r: &mut Reader<'_>, data: &mut Vec<u8>, max_ext: usize, max_trailer: usize) -> Result<(), Stop> {
    loop {
        let size = chunk_line(r, max_ext)?;
        if size == 0 {
            return trailers(r, max_trailer);
        }
        let mut left = size;
        while left > 0 {
            data.push(r.next()?);
            left -= 1;
        }
        r.expect(b'\r')?;
        r.expect(b'\n')?;
    }
}

/// The chunk-size line; returns the size.
fn chunk_line(r: &mut Reader<'_>, max_ext: usize) -> Result<u64, Stop> {
    let mut size: u64 = 0;
    let mut digits = 0;
    while let Some(d) = char::from(r.peek()?).to_digit(16) {
        r.at += 1;
        digits += 1;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(d)))
            .ok_or(Stop::Invalid)?;
    }
    if digits == 0 {
        return Err(Stop::Invalid);
    }
    let mut saw_blank = false;
    while matches!(r.peek()?, b' ' | b'\t') {
        r.at += 1;
        saw_blank = true;
    }
    match r.next()? {
        b';' => {
            let mut ext = 0;
            loop {
                let b = r.next()?;
                if b == b'\r' {
                    break;
                }
                ext += 1;
                if !is_value_byte(b) || ext > max_ext {
                    return Err(Stop::Invalid);
                }
            }
        }
        b'\r' if !saw_blank => {}
        _ => return Err(Stop::Invalid),
    }
    r.expect(b'\n')?;
    Ok(size)
}

/// The trailer section after the last chunk, up to and including the final CRLF.
fn trailers(r: &mut Reader<'_>, max_trailer: usize) -> Result<(), Stop> {
    let start = r.at;
    let take = |r: &mut Reader<'_>| -> Result<u8, Stop> {
        let b = r.next()?;
        if r.at - start > max_trailer {
            return Err(Stop::Invalid);
        }
        Ok(b)
    };
    loop {
        let first = take(r)?;
        if first == b'\r' {
            return if take(r)? == b'\n' {
                Ok(())
            } else {
                Err(Stop::Invalid)
            };
        }
        if !is_tchar(first) {
            return Err(Stop::Invalid);
        }
        loop {
            let b = take(r)?;
            if b == b':' {
                break;
            }
            if !is_tchar(b) {
                return Err(Stop::Invalid);
            }
        }
        loop {
            let b = take(r)?;
            if b == b'\r' {
                break;
            }
            if !is_value_byte(b) {
                return Err(Stop::Invalid);
            }
        }
        if take(r)? != b'\n' {
            return Err(Stop::Invalid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunks_extensions_and_trailers() {
        let body = b"5;a=\"b c\"\r\nhello\r\n1 ;x\r\n!\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        assert_eq!(
            decode(body, 16, 64),
            Decoded::Complete {
                data: b"hello!".to_vec(),
                end: body.len() - 4
            }
        );
    }

    #[test]
    fn incomplete_and_invalid() {
        assert_eq!(decode(b"5\r\nhel", 16, 64), Decoded::Incomplete);
        assert_eq!(decode(b"0\r\n\r", 16, 64), Decoded::Incomplete);
        for bad in [
            &b"5 \r\nhello\r\n"[..],
            b"5\nhello",
            b"g\r\n",
            b"0\r\n\n",
            b"1;\x7f\r\n",
        ] {
            assert_eq!(decode(bad, 16, 64), Decoded::Invalid, "{bad:?}");
        }
        assert_eq!(decode(b"1;abc\r\n", 2, 64), Decoded::Invalid);
        assert_eq!(decode(b"0\r\nX: 12345\r\n\r\n", 16, 8), Decoded::Invalid);
    }
}
