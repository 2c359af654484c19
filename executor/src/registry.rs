//! The executor's registry of live tasks: what shutdown cancels and what snapshots list.
//!
//! A table of slots indexed by a task's registry key, and a stack of free keys. It is built
//! for the two operations every task does once, spawn and completion, to touch only memory that
//! is already in cache:
//!
//! - a new task takes the key on top of the free stack (or a new slot at the end) and its slot
//!   is *written*, never read;
//! - a completed task's slot is overwritten with `None` (again a store only: an entry has no
//!   destructor) and its key pushed on the stack.
//!
//! A slab would instead read the vacant slot to find the next free key, and read the occupied
//! one to move the entry out, and with many live tasks (100,000 sleeping tasks, say) those
//! slots are scattered across megabytes that completions visit in timer order: measured, those
//! two loads were about half the CPU time of `timers::fire_many`. Poll counts do not live here
//! either: they are in the task header (see `Header::stats`), which the poll touches anyway.

/// Live tasks by registry key (`E`: the executor's entry type; it should have no destructor,
/// so that [`release`](Registry::release) is a store).
pub(crate) struct Registry<E> {
    slots: Vec<Option<E>>,
    /// Keys of `None` slots; every such key is here exactly once.
    free: Vec<usize>,
    len: usize,
}

impl<E> Registry<E> {
    pub(crate) fn with_capacity(n: usize) -> Registry<E> {
        Registry {
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Live tasks.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The key the next [`insert`](Self::insert) will use.
    #[inline]
    pub(crate) fn next_key(&self) -> usize {
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    /// Registers `entry` at [`next_key`](Self::next_key), which it returns.
    #[inline]
    pub(crate) fn insert(&mut self, entry: E) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(key) => {
                debug_assert!(self.slots[key].is_none(), "free key {key} is occupied");
                self.slots[key] = Some(entry);
                key
            }
            None => {
                self.slots.push(Some(entry));
                self.slots.len() - 1
            }
        }
    }

    /// Unregisters the task at `key`, which must be registered, without reading its slot.
    #[inline]
    pub(crate) fn release(&mut self, key: usize) {
        debug_assert!(
            self.slots[key].is_some(),
            "registry key {key} released twice"
        );
        self.slots[key] = None;
        self.free.push(key);
        self.len -= 1;
    }

    /// Unregisters the task at `key` (if any) and returns its entry.
    pub(crate) fn remove(&mut self, key: usize) -> Option<E> {
        let entry = self.slots.get_mut(key)?.take()?;
        self.free.push(key);
        self.len -= 1;
        Some(entry)
    }

    #[inline]
    pub(crate) fn get(&self, key: usize) -> Option<&E> {
        self.slots.get(key)?.as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut E> {
        self.slots.get_mut(key)?.as_mut()
    }

    /// Every live task with its key, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &E)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(key, slot)| Some((key, slot.as_ref()?)))
    }

    /// Empties the registry, returning every live task with its key.
    pub(crate) fn take_all(&mut self) -> Vec<(usize, E)> {
        let slots = std::mem::take(&mut self.slots);
        self.free.clear();
        self.len = 0;
        slots
            .into_iter()
            .enumerate()
            .filter_map(|(key, slot)| Some((key, slot?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Registry;

    #[test]
    fn keys_are_reused_last_freed_first_and_entries_found_by_key() {
        let mut r = Registry::with_capacity(4);
        assert_eq!(r.len(), 0);
        let keys: Vec<usize> = (0..5)
            .map(|i| {
                let k = r.next_key();
                assert_eq!(r.insert(i * 10), k);
                k
            })
            .collect();
        assert_eq!(keys, [0, 1, 2, 3, 4]);
        r.release(1);
        r.release(3);
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(1), None);
        assert_eq!(r.get(2), Some(&20));
        assert_eq!(r.remove(4), Some(40));
        assert_eq!(r.remove(4), None, "removing twice finds nothing");
        assert_eq!(r.remove(99), None);
        assert_eq!(r.next_key(), 4);
        assert_eq!(r.insert(50), 4);
        assert_eq!(r.insert(60), 3);
        assert_eq!(r.insert(70), 1);
        assert_eq!(r.insert(80), 5, "no free key left: a new slot");
        *r.get_mut(5).unwrap() += 1;
        let live: Vec<(usize, i32)> = r.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(live, [(0, 0), (1, 70), (2, 20), (3, 60), (4, 50), (5, 81)]);
        assert_eq!(r.take_all().len(), 6);
        assert_eq!(r.len(), 0);
        assert_eq!(r.next_key(), 0);
        assert_eq!(r.iter().count(), 0);
    }

    /// Random inserts, releases and removals against a map: the same live entries, at the
    /// same keys, with `next_key` always the key the next insert takes, and keys reused.
    #[test]
    fn matches_a_map_over_random_operations() {
        use std::collections::BTreeMap;
        let mut rng = fastrand::Rng::with_seed(7);
        let mut next = move || rng.u64(..);
        let mut r = Registry::with_capacity(0);
        let mut model = BTreeMap::new();
        let mut most_live = 0;
        let steps = if cfg!(miri) { 500 } else { 20_000 };
        for step in 0..steps {
            let live: Vec<usize> = model.keys().copied().collect();
            match next() % 4 {
                0 | 1 => {
                    let key = r.next_key();
                    assert!(!model.contains_key(&key), "step {step}: key {key} is live");
                    assert_eq!(r.insert(step), key);
                    model.insert(key, step);
                }
                2 if !live.is_empty() => {
                    let key = live[next() as usize % live.len()];
                    r.release(key);
                    model.remove(&key);
                }
                _ => {
                    let key = next() as usize % (live.len() + 2);
                    assert_eq!(r.remove(key), model.remove(&key), "step {step}");
                }
            }
            assert_eq!(r.len(), model.len());
            most_live = most_live.max(model.len());
            if step % 97 == 0 {
                let all: Vec<(usize, usize)> = r.iter().map(|(k, v)| (k, *v)).collect();
                let expected: Vec<(usize, usize)> = model.iter().map(|(k, v)| (*k, *v)).collect();
                assert_eq!(all, expected, "step {step}");
            }
        }
        // Keys are reused: the table is exactly as long as the most entries ever live at once.
        assert_eq!(r.slots.len(), most_live);
        let taken: Vec<(usize, usize)> = r.take_all();
        assert_eq!(taken, model.into_iter().collect::<Vec<_>>());
    }
}
