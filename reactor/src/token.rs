//! mio tokens: a registration's slab index in the low bits, a generation in the high bits.
//!
//! When a slot is freed and reused, the new registration gets a new generation, so an event
//! still queued for the old one (or delivered for a descriptor that was closed without being
//! deregistered) no longer matches and is dropped. `usize::MAX` is reserved for the unparker.

use mio::Token;

/// Low bits of a token: the slab index.
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 24 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Indexes must stay below this; `INDEX_MASK` itself is never used, so no token equals
/// [`WAKER`].
pub(crate) const MAX_INDEX: usize = INDEX_MASK;
/// Generations are `usize::BITS - INDEX_BITS` bits wide.
const GEN_MASK: u32 = (usize::MAX >> INDEX_BITS) as u32;

/// The token of the reactor's [`mio::Waker`].
pub(crate) const WAKER: Token = Token(usize::MAX);

pub(crate) fn pack(index: usize, generation: u32) -> Token {
    debug_assert!(index < MAX_INDEX);
    debug_assert_eq!(generation & !GEN_MASK, 0);
    Token(((generation as usize) << INDEX_BITS) | index)
}

pub(crate) fn unpack(token: Token) -> (usize, u32) {
    (token.0 & INDEX_MASK, (token.0 >> INDEX_BITS) as u32)
}

pub(crate) fn next_generation(generation: u32) -> u32 {
    generation.wrapping_add(1) & GEN_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_never_the_waker_token() {
        for (index, generation) in [(0, 0), (7, 1), (MAX_INDEX - 1, GEN_MASK), (12345, 99)] {
            let t = pack(index, generation);
            assert_ne!(t, WAKER);
            assert_eq!(unpack(t), (index, generation));
        }
        assert_eq!(next_generation(GEN_MASK), 0);
        assert_eq!(next_generation(3), 4);
    }
}
