//! The streaming 64-bit hash behind [`Fingerprint`](super::Fingerprint): it eats the
//! normalized text eight bytes at a time (folding ASCII case on the way, eight bytes at once),
//! never allocates, and its whole state is `Copy`, so the normalizer can take a checkpoint and
//! roll back to it (when an IN-list collapses).
//!
//! The value depends only on the bytes fed in, however they are split, so `fingerprint(sql)`
//! equals the hash of `normalize(sql)` by construction. The constants and the mixing are part
//! of the stored format: changing them changes every fingerprint.

// The per-token path is inlined into one loop on purpose: measured with callgrind on the
// benchmark stream, it saves about 7% of the instructions per statement.
#![allow(clippy::inline_always)]

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;
const P3: u64 = 0x5899_65cc_7537_4cc3;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Multiplies as 128 bits and folds the halves together.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A mask with 0x80 in every byte of `w` that is an ASCII letter between `lo` and `hi`.
#[inline]
fn letters(w: u64, lo: u8, hi: u8) -> u64 {
    let low7 = w & !HIGH;
    let at_least_lo = low7 + u64::from(0x80 - lo) * ONES;
    let above_hi = low7 + u64::from(0x7f - hi) * ONES;
    at_least_lo & !above_hi & !w & HIGH
}

/// Eight bytes with `A`–`Z` turned into `a`–`z`, like `u8::to_ascii_lowercase` on each.
#[inline]
pub(crate) fn lower8(w: u64) -> u64 {
    w | (letters(w, b'A', b'Z') >> 2)
}

/// Eight bytes with `a`–`z` turned into `A`–`Z`, like `u8::to_ascii_uppercase` on each.
#[inline]
pub(crate) fn upper8(w: u64) -> u64 {
    w ^ (letters(w, b'a', b'z') >> 2)
}

/// Up to seven bytes as a little-endian word (zero above them), without a copy loop: two
/// overlapping loads for 4..=7 bytes, three single bytes for 1..=3.
#[inline]
pub(crate) fn load_short(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    if n >= 4 {
        let lo = u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        let hi = u64::from(u32::from_le_bytes([
            bytes[n - 4],
            bytes[n - 3],
            bytes[n - 2],
            bytes[n - 1],
        ]));
        lo | (hi << ((n - 4) * 8))
    } else if n > 0 {
        u64::from(bytes[0])
            | (u64::from(bytes[n / 2]) << (n / 2 * 8))
            | (u64::from(bytes[n - 1]) << ((n - 1) * 8))
    } else {
        0
    }
}

/// How a token's letters are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Same,
    Lower,
    Upper,
}

/// The hash state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hasher {
    acc: u64,
    /// Bytes not yet mixed, little-endian.
    buf: u64,
    /// How many bytes `buf` holds (0..8).
    fill: u32,
    /// Total bytes fed.
    len: u64,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            acc: P0,
            buf: 0,
            fill: 0,
            len: 0,
        }
    }
}

impl Hasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.acc = fold_mul(word ^ P1, self.acc ^ P2);
    }

    /// Feeds the low `n` bytes of `word` (1..=8; the bytes above them are zero).
    #[inline]
    fn absorb(&mut self, word: u64, n: u32) {
        self.len += u64::from(n);
        let fill = self.fill;
        self.buf |= word << (fill * 8);
        let total = fill + n;
        if total >= 8 {
            self.mix(self.buf);
            self.buf = if fill == 0 {
                0
            } else {
                word >> ((8 - fill) * 8)
            };
            self.fill = total - 8;
        } else {
            self.fill = total;
        }
    }

    #[inline]
    fn feed(&mut self, bytes: &[u8], map: fn(u64) -> u64) {
        let (chunks, rest) = bytes.as_chunks::<8>();
        for chunk in chunks {
            self.absorb(map(u64::from_le_bytes(*chunk)), 8);
        }
        if !rest.is_empty() {
            self.absorb(map(load_short(rest)), rest.len() as u32);
        }
    }

    #[inline]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.feed(bytes, |w| w);
    }

    /// Feeds one token of the normalized text: a space first when `space`, then `bytes` in
    /// `case`. A short token and its space go in as one word.
    #[inline(always)]
    pub(crate) fn token(&mut self, space: bool, bytes: &[u8], case: Case) {
        let map: fn(u64) -> u64 = match case {
            Case::Same => |w| w,
            Case::Lower => lower8,
            Case::Upper => upper8,
        };
        if bytes.len() < 8 {
            let word = map(load_short(bytes));
            let n = bytes.len() as u32;
            if space {
                self.absorb((word << 8) | u64::from(b' '), n + 1);
            } else if n > 0 {
                self.absorb(word, n);
            }
        } else {
            if space {
                self.absorb(u64::from(b' '), 1);
            }
            self.feed(bytes, map);
        }
    }

    pub(crate) fn finish(self) -> u64 {
        let tail = fold_mul(self.buf ^ P3, self.acc ^ self.len.rotate_left(32) ^ P1);
        fold_mul(tail ^ (tail >> 29), P0 ^ P2) ^ tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(parts: &[&[u8]]) -> u64 {
        let mut h = Hasher::default();
        for p in parts {
            h.bytes(p);
        }
        h.finish()
    }

    #[test]
    fn chunking_does_not_matter() {
        let text = b"SELECT * FROM orders WHERE customer_id = ? AND status IN (?)";
        let whole = hash(&[text]);
        for cut in 0..text.len() {
            for cut2 in cut..text.len() {
                assert_eq!(
                    hash(&[&text[..cut], &text[cut..cut2], &text[cut2..]]),
                    whole
                );
            }
        }
    }

    #[test]
    fn case_folding_matches_the_standard_library() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b, b'A', b'z', 0x80 | b, b, 0, 0xff, b'@']);
            let bytes = word.to_le_bytes();
            assert_eq!(
                lower8(word).to_le_bytes(),
                bytes.map(|c| c.to_ascii_lowercase()),
                "{b}"
            );
            assert_eq!(
                upper8(word).to_le_bytes(),
                bytes.map(|c| c.to_ascii_uppercase()),
                "{b}"
            );
        }
        let text = "Mixed_Case ÉtÉ [at] @Zz `~ {|}".as_bytes();
        for (case, want) in [
            (Case::Lower, text.to_ascii_lowercase()),
            (Case::Upper, text.to_ascii_uppercase()),
        ] {
            for cut in 0..text.len() {
                let mut folded = Hasher::default();
                folded.token(true, &text[..cut], case);
                folded.token(false, &text[cut..], case);
                assert_eq!(
                    folded.finish(),
                    hash(&[&b" "[..], want.as_slice()]),
                    "{case:?} {cut}"
                );
            }
        }
    }

    #[test]
    fn short_loads() {
        let bytes = b"abcdefgh";
        for n in 0..8 {
            let mut word = [0u8; 8];
            word[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(load_short(&bytes[..n]), u64::from_le_bytes(word), "{n}");
        }
    }

    #[test]
    fn distinguishes_near_texts() {
        let texts: [&[u8]; 7] = [b"", b" ", b"?", b"??", b"SELECT ?", b"SELECT ?\0", b"\0"];
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[i + 1..] {
                assert_ne!(hash(&[a]), hash(&[b]));
            }
        }
    }
}
