//! The registry's name index: open addressing over precomputed name hashes.
//!
//! Declared regions carry the hash of their name, computed when the
//! attribute expands (`cache_spec::name_hash`), so building the index reads one
//! `u64` per region and never hashes a string; only a lookup by a run-time
//! name hashes it. Each slot packs `id + 1` (zero is empty) with the upper
//! half of the hash, so a probe rejects other names without touching their
//! descriptors.

pub(crate) struct NameIndex {
    slots: Box<[u64]>,
    mask: usize,
}

impl NameIndex {
    /// An index with room for `len` names at a load factor of at most 2/3
    /// (linear probing with hash tags stays short there, and a smaller
    /// table means fewer fresh pages to fault in on the first call).
    pub(crate) fn with_capacity(len: usize) -> NameIndex {
        let capacity = (len.max(4) * 3 / 2 + 1).next_power_of_two();
        NameIndex {
            slots: vec![0u64; capacity].into_boxed_slice(),
            mask: capacity - 1,
        }
    }

    /// Adds `id` under `hash`, unless `same_name` finds an id with the same
    /// name already there: that id is returned and nothing is added.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        id: u32,
        same_name: impl Fn(u32) -> bool,
    ) -> Result<(), u32> {
        let tag = hash >> 32;
        let mut at = hash as usize & self.mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                self.slots[at] = (u64::from(id) + 1) | (tag << 32);
                return Ok(());
            }
            let existing = (slot as u32).wrapping_sub(1);
            if slot >> 32 == tag && same_name(existing) {
                return Err(existing);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// The id stored under `hash` whose name `same_name` accepts.
    #[inline]
    pub(crate) fn find(&self, hash: u64, same_name: impl Fn(u32) -> bool) -> Option<u32> {
        let tag = hash >> 32;
        let mut at = hash as usize & self.mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let id = (slot as u32).wrapping_sub(1);
            if slot >> 32 == tag && same_name(id) {
                return Some(id);
            }
            at = (at + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache_spec::name_hash;

    #[test]
    fn finds_what_it_holds_and_rejects_duplicates() {
        let names: Vec<String> = (0..1000).map(|i| format!("region-{i}")).collect();
        let mut index = NameIndex::with_capacity(names.len());
        for (id, name) in names.iter().enumerate() {
            let id = id as u32;
            index
                .insert(name_hash(name), id, |other| names[other as usize] == *name)
                .expect("names are distinct");
        }
        for (id, name) in names.iter().enumerate() {
            assert_eq!(
                index.find(name_hash(name), |other| names[other as usize] == *name),
                Some(id as u32)
            );
        }
        assert_eq!(
            index.find(name_hash("absent"), |other| names[other as usize]
                == "absent"),
            None
        );
        let again = index.insert(name_hash("region-7"), 5000, |other| {
            names[other as usize] == "region-7"
        });
        assert_eq!(again, Err(7));
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_name() {
        let names = ["a", "b", "c"];
        let mut index = NameIndex::with_capacity(3);
        for (id, name) in names.iter().enumerate() {
            index
                .insert(42, id as u32, |other| names[other as usize] == *name)
                .expect("distinct");
        }
        assert_eq!(
            index.find(42, |other| names[other as usize] == "c"),
            Some(2)
        );
        assert_eq!(index.find(42, |other| names[other as usize] == "d"), None);
    }
}
