//! The wheel's free entries, handed out lowest index first.

use std::mem;

use super::NIL;

/// A set of free entry indices that gives back the one freed last if it is still there, else
/// the lowest one.
///
/// Lowest first keeps the live entries packed at the front of the table: timers armed one
/// after the other (a burst of new connections or tasks) get neighbouring entries, which the
/// CPU then reads and writes as consecutive cache lines instead of a scattered walk, and a
/// timer cancelled and re-armed reuses the entry it just left (still in cache). A
/// most-recently-freed stack would instead hand out entries in the order the previous timers
/// happened to fire or be consumed, which after a while is random across the table.
///
/// The one exception, `hot`: the index freed last (if not taken since) is given back first. It
/// is the one most likely still in cache, and it makes the commonest pattern, a timer armed
/// and cancelled again before anything else (a request that finishes before its timeout), a
/// few instructions instead of two bitmap updates.
///
/// Two levels of bitmaps: bit `i % 64` of `words[i / 64]` is set iff entry `i` is free, and
/// bit `w % 64` of `summary[w / 64]` is set iff `words[w]` is non-zero. `low` is a summary word
/// at or below the lowest non-zero one (so a search starts there). Taking and returning an
/// index touch two words plus, rarely, a short forward scan of `summary`; nothing allocates
/// once the bitmaps cover the table.
pub(super) struct FreeSet {
    /// A free index kept out of the bitmaps, or `NIL`.
    hot: u32,
    words: Vec<u64>,
    summary: Vec<u64>,
    low: usize,
}

impl FreeSet {
    pub(super) const fn new() -> FreeSet {
        FreeSet {
            hot: NIL,
            words: Vec::new(),
            summary: Vec::new(),
            low: 0,
        }
    }

    /// Removes and returns the hot index if there is one, else the lowest free index, if any.
    #[inline]
    pub(super) fn take(&mut self) -> Option<u32> {
        if self.hot != NIL {
            return Some(mem::replace(&mut self.hot, NIL));
        }
        self.take_lowest()
    }

    /// Removes and returns the lowest index of the bitmaps, if any.
    #[inline]
    fn take_lowest(&mut self) -> Option<u32> {
        while let Some(&s) = self.summary.get(self.low) {
            if s != 0 {
                let w = self.low * 64 + s.trailing_zeros() as usize;
                let bits = self.words[w];
                debug_assert_ne!(bits, 0, "summary bit set for an empty word");
                let rest = bits & (bits - 1);
                self.words[w] = rest;
                if rest == 0 {
                    // `w`'s bit is the lowest set bit of `s`.
                    self.summary[self.low] = s & (s - 1);
                }
                return Some((w * 64) as u32 + bits.trailing_zeros());
            }
            self.low += 1;
        }
        None
    }

    /// Adds `index` (which must not be in the set, nor `NIL`).
    #[inline]
    pub(super) fn put(&mut self, index: u32) {
        debug_assert_ne!(index, NIL);
        match mem::replace(&mut self.hot, index) {
            NIL => {}
            older => self.put_cold(older),
        }
    }

    /// Adds `index` to the bitmaps.
    #[inline]
    fn put_cold(&mut self, index: u32) {
        let w = index as usize / 64;
        let s = w / 64;
        if w >= self.words.len() {
            self.grow(w);
        }
        debug_assert_eq!(self.words[w] & (1 << (index % 64)), 0, "index freed twice");
        self.words[w] |= 1 << (index % 64);
        self.summary[s] |= 1 << (w % 64);
        if s < self.low {
            self.low = s;
        }
    }

    #[cold]
    fn grow(&mut self, w: usize) {
        // Doubling, as a `Vec` would: amortised O(1), and the bitmaps are 1/320 of the
        // entry table's size.
        let len = (w + 1).max(self.words.len() * 2);
        self.words.resize(len, 0);
        self.summary.resize(len.div_ceil(64), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::FreeSet;

    #[test]
    fn gives_back_the_last_freed_then_the_lowest() {
        let mut f = FreeSet::new();
        assert_eq!(f.take(), None);
        for i in [9_000u32, 3, 64, 4_096, 63, 0, 70_000, 5] {
            f.put(i);
        }
        for want in [5u32, 0, 3, 63, 64, 4_096] {
            assert_eq!(f.take(), Some(want));
        }
        f.put(1);
        f.put(2);
        for want in [2u32, 1, 9_000, 70_000] {
            assert_eq!(f.take(), Some(want));
        }
        assert_eq!(f.take(), None);
        f.put(7);
        assert_eq!(f.take(), Some(7));
        assert_eq!(f.take(), None);
    }

    #[test]
    fn matches_a_model() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut f = FreeSet::new();
        // The model: the last index put (if not taken since), then a sorted set.
        let (mut hot, mut rest) = (None, std::collections::BTreeSet::new());
        let mut all = std::collections::BTreeSet::new();
        for _ in 0..200_000 {
            if rng.bool() {
                let i = rng.u32(0..20_000);
                if all.insert(i) {
                    f.put(i);
                    if let Some(older) = hot.replace(i) {
                        rest.insert(older);
                    }
                }
            } else {
                let want = hot.take().or_else(|| rest.pop_first());
                if let Some(w) = want {
                    all.remove(&w);
                }
                assert_eq!(f.take(), want);
            }
        }
        while let Some(want) = hot.take().or_else(|| rest.pop_first()) {
            assert_eq!(f.take(), Some(want));
        }
        assert_eq!(f.take(), None);
    }
}
