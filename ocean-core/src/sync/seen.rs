//! The keys one resync saw, kept in bounded memory: sorted runs spilled to temporary files.
//!
//! Every fact reconciliation needs about an entity ("mapped in this resync", "Port said it
//! existed", "Port said it created it", "a seen entity relates to it") is a *record*: a 124-bit
//! hash of the entity key with the fact as a bit in the low 4 bits. Records are appended to a
//! buffer of at most [`SpillSettings::buffer_records`]; a full buffer is sorted, records of the
//! same key are merged (their bits OR-ed) and, if that did not halve it, written out as a sorted
//! run to its own temporary file. Runs are merged eight at a time into a run of the next level
//! (an LSM-style tiering), so the number of open runs grows with the logarithm of the entity
//! count, not linearly.
//!
//! [`SeenEntities::finish`] merges everything into one sorted file and keeps in memory only a
//! sparse index (the first hash of every block of [`BLOCK_RECORDS`] records): 1/256 of the
//! records. Looking up a page of listed entities reads the few blocks it needs from that file.
//! A resync whose records fit in the buffer never touches the disk.
//!
//! All file I/O runs on tokio's blocking pool. An I/O failure is kept and reported when the
//! keys are next needed, so reconciliation deletes nothing when it cannot read what it saw.

use super::diff::EntityKey;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// The entity mapped in this resync.
pub(crate) const SEEN: u8 = 1;
/// Port reported the entity as already existing when this resync wrote it.
pub(crate) const EXISTED: u8 = 2;
/// Port reported the entity as created by this resync (wins over [`EXISTED`]).
pub(crate) const CREATED: u8 = 4;
/// A seen entity relates to this key (or to this identifier, for identifier-only hashes).
pub(crate) const RELATED: u8 = 8;

const FLAG_BITS: u32 = 4;
const FLAG_MASK: u128 = (1 << FLAG_BITS) - 1;
const RECORD_BYTES: usize = 16;

/// Records per block of the merged file; the sparse index holds one hash per block.
pub(crate) const BLOCK_RECORDS: usize = 256;

/// How many runs of one level are merged into one run of the next.
const MERGE_FANOUT: usize = 8;

/// Read buffer per run while merging.
const MERGE_READ_BUFFER: usize = 32 * 1024;

/// Why the seen keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the keys of the entities seen in this resync could not be {action} ({reason})")]
pub(crate) struct SeenError {
    action: &'static str,
    reason: String,
}

impl SeenError {
    fn io(action: &'static str, error: &std::io::Error) -> Self {
        Self {
            action,
            reason: error.to_string(),
        }
    }

    fn join(action: &'static str, error: &tokio::task::JoinError) -> Self {
        Self {
            action,
            reason: format!("the file task did not finish: {error}"),
        }
    }
}

/// A 124-bit hash of `parts`, shifted left past the flag bits.
pub(crate) fn key_hash(parts: &[&str]) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        parts.hash(&mut h);
        h.finish()
    };
    let hash = (u128::from(half(0x5e)) << 64) | u128::from(half(0xa1));
    hash & !FLAG_MASK
}

fn hash_of(record: u128) -> u128 {
    record & !FLAG_MASK
}

fn flags_of(record: u128) -> u8 {
    // The mask keeps 4 bits, so the value fits.
    (record & FLAG_MASK) as u8
}

/// Sorts `records` and merges the records of one hash into one (flags OR-ed).
fn sort_and_coalesce(records: &mut Vec<u128>) {
    records.sort_unstable();
    records.dedup_by(|next, kept| {
        if hash_of(*next) == hash_of(*kept) {
            *kept |= *next;
            true
        } else {
            false
        }
    });
}

/// Where and how much to buffer before spilling.
#[derive(Debug, Clone)]
pub(crate) struct SpillSettings {
    /// Most records held in memory before a sorted run is written out.
    pub(crate) buffer_records: usize,
    /// Directory of the temporary files (`None`: the system's temporary directory).
    pub(crate) dir: Option<PathBuf>,
}

impl Default for SpillSettings {
    fn default() -> Self {
        // 64 Ki records are 1 MiB: small next to the batches in flight, large enough that a
        // resync of tens of thousands of entities never writes a file.
        Self {
            buffer_records: 64 * 1024,
            dir: None,
        }
    }
}

impl SpillSettings {
    fn temp_file(&self) -> std::io::Result<File> {
        match &self.dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        }
    }
}

/// One sorted, coalesced run in its own (already unlinked) temporary file.
#[derive(Debug)]
struct Run {
    file: File,
    records: u64,
    level: u32,
}

/// The records of one resync: a bounded buffer and the runs already written out.
#[derive(Debug)]
pub(crate) struct SeenEntities {
    settings: SpillSettings,
    buffer: Vec<u128>,
    runs: Vec<Run>,
    /// Whether any identifier-only relation was recorded (lookups skip that hash otherwise).
    related_any: bool,
    /// The first I/O failure; from then on records are dropped and every use fails.
    failed: Option<SeenError>,
    /// Most records the buffer held at once (for the bounded-memory tests).
    #[cfg(test)]
    peak_buffered: usize,
}

impl Default for SeenEntities {
    fn default() -> Self {
        Self::new(SpillSettings::default())
    }
}

impl SeenEntities {
    /// An empty set spilling as `settings` say.
    pub(crate) fn new(settings: SpillSettings) -> Self {
        let settings = SpillSettings {
            buffer_records: settings.buffer_records.max(2),
            ..settings
        };
        Self {
            buffer: Vec::with_capacity(settings.buffer_records.min(4096)),
            settings,
            runs: Vec::new(),
            related_any: false,
            failed: None,
            #[cfg(test)]
            peak_buffered: 0,
        }
    }

    /// Adds `flags` for the key hashed from `parts`. Does no I/O: call [`Self::spill_if_full`]
    /// after each batch.
    pub(crate) fn record(&mut self, parts: &[&str], flags: u8) {
        if self.failed.is_some() {
            return;
        }
        self.buffer.push(key_hash(parts) | u128::from(flags));
        #[cfg(test)]
        {
            self.peak_buffered = self.peak_buffered.max(self.buffer.len());
        }
    }

    /// Records an entity that mapped.
    pub(crate) fn see(&mut self, key: &EntityKey) {
        self.record(&[&key.0, &key.1], SEEN);
    }

    /// Records an entity Port stored in this resync: `created` when Port created it, else it
    /// existed before (unless another write of this resync created it).
    pub(crate) fn stored(&mut self, key: &EntityKey, created: bool) {
        self.record(&[&key.0, &key.1], if created { CREATED } else { EXISTED });
    }

    /// Records that a seen entity relates to `identifier` of blueprint `target` (`None` when
    /// the blueprint of the relation is unknown, which then protects the identifier in any
    /// blueprint).
    pub(crate) fn relate(&mut self, identifier: &str, target: Option<&str>) {
        match target {
            Some(blueprint) => self.record(&[identifier, blueprint], RELATED),
            None => {
                self.related_any = true;
                self.record(&[identifier], RELATED);
            }
        }
    }

    /// Number of runs on disk.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Compacts a full buffer and, when it stays more than half full, writes it out as a
    /// sorted run (on the blocking pool). A failure is kept for [`Self::finish`].
    pub(crate) async fn spill_if_full(&mut self) {
        if self.failed.is_some() || self.buffer.len() < self.settings.buffer_records {
            return;
        }
        sort_and_coalesce(&mut self.buffer);
        if self.buffer.len() <= self.settings.buffer_records / 2 {
            return;
        }
        if let Err(error) = self.spill().await {
            self.fail(error);
        }
    }

    fn fail(&mut self, error: SeenError) {
        tracing::error!("{error}; reconciliation will delete nothing in this resync");
        self.failed = Some(error);
        self.buffer = Vec::new();
        self.runs.clear();
    }

    /// Writes the (sorted, coalesced) buffer out as a level-0 run, then merges full levels.
    async fn spill(&mut self) -> Result<(), SeenError> {
        let settings = self.settings.clone();
        let buffer = std::mem::take(&mut self.buffer);
        let (buffer, run) = tokio::task::spawn_blocking(move || {
            let run = write_run(&settings, &buffer);
            (buffer, run)
        })
        .await
        .map_err(|e| SeenError::join("written to a temporary file", &e))?;
        // The buffer's allocation is reused: the allocator sees no churn.
        self.buffer = buffer;
        self.buffer.clear();
        self.runs.push(run?);
        self.merge_full_levels().await
    }

    /// While the last [`MERGE_FANOUT`] runs share a level, merges them into one run of the
    /// next level. Runs are appended in order, so same-level runs are always at the end.
    async fn merge_full_levels(&mut self) -> Result<(), SeenError> {
        loop {
            let n = self.runs.len();
            if n < MERGE_FANOUT {
                return Ok(());
            }
            let level = self.runs[n - 1].level;
            if self.runs[n - MERGE_FANOUT..]
                .iter()
                .any(|r| r.level != level)
            {
                return Ok(());
            }
            let inputs = self.runs.split_off(n - MERGE_FANOUT);
            let settings = self.settings.clone();
            let merged = tokio::task::spawn_blocking(move || {
                let mut out = settings
                    .temp_file()
                    .map_err(|e| SeenError::io("written to a temporary file", &e))?;
                let records = merge_runs(inputs, &[], &mut out, |_| {})?;
                Ok::<_, SeenError>(Run {
                    file: out,
                    records,
                    level: level + 1,
                })
            })
            .await
            .map_err(|e| SeenError::join("merged", &e))??;
            self.runs.push(merged);
        }
    }

    /// Merges the runs and the buffer into the index reconciliation looks entities up in.
    pub(crate) async fn finish(mut self) -> Result<SeenIndex, SeenError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        let mut buffer = std::mem::take(&mut self.buffer);
        let related_any = self.related_any;
        if self.runs.is_empty() {
            sort_and_coalesce(&mut buffer);
            buffer.shrink_to_fit();
            let counts = Counts::of(buffer.iter().copied());
            return Ok(SeenIndex {
                store: Store::Memory(buffer),
                counts,
                related_any,
            });
        }
        let runs = std::mem::take(&mut self.runs);
        let settings = self.settings.clone();
        tokio::task::spawn_blocking(move || {
            sort_and_coalesce(&mut buffer);
            let mut file = settings
                .temp_file()
                .map_err(|e| SeenError::io("written to a temporary file", &e))?;
            let mut counts = Counts::default();
            let mut sparse = Vec::new();
            let mut position = 0usize;
            let records = merge_runs(runs, &buffer, &mut file, |record| {
                counts.add(record);
                if position.is_multiple_of(BLOCK_RECORDS) {
                    sparse.push(hash_of(record));
                }
                position += 1;
            })?;
            drop(buffer);
            sparse.shrink_to_fit();
            tracing::debug!(
                records,
                index_entries = sparse.len(),
                "Merged the spilled keys of the entities seen in this resync"
            );
            Ok(SeenIndex {
                store: Store::Disk {
                    file: Arc::new(file),
                    records,
                    sparse: Arc::new(sparse),
                },
                counts,
                related_any,
            })
        })
        .await
        .map_err(|e| SeenError::join("merged", &e))?
    }
}

/// Writes sorted, coalesced `records` to a new temporary file.
fn write_run(settings: &SpillSettings, records: &[u128]) -> Result<Run, SeenError> {
    let action = "written to a temporary file";
    let file = settings
        .temp_file()
        .map_err(|e| SeenError::io(action, &e))?;
    let mut out = BufWriter::with_capacity(64 * 1024, file);
    for record in records {
        out.write_all(&record.to_le_bytes())
            .map_err(|e| SeenError::io(action, &e))?;
    }
    let file = out
        .into_inner()
        .map_err(|e| SeenError::io(action, e.error()))?;
    Ok(Run {
        file,
        records: records.len() as u64,
        level: 0,
    })
}

/// Reads one run's records in order.
struct RunReader {
    reader: BufReader<File>,
    left: u64,
}

impl RunReader {
    fn open(mut run: Run) -> Result<Self, SeenError> {
        run.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| SeenError::io("read back", &e))?;
        Ok(Self {
            reader: BufReader::with_capacity(MERGE_READ_BUFFER, run.file),
            left: run.records,
        })
    }

    fn next(&mut self) -> Result<Option<u128>, SeenError> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut bytes = [0u8; RECORD_BYTES];
        self.reader.read_exact(&mut bytes).map_err(|e| SeenError {
            action: "read back",
            reason: format!("a spilled run ended {} records early: {e}", self.left),
        })?;
        self.left -= 1;
        Ok(Some(u128::from_le_bytes(bytes)))
    }
}

/// K-way merge of `runs` and the sorted `memory` records into `out`, coalescing records of the
/// same hash; `each` sees every record written. Returns how many were written.
fn merge_runs(
    runs: Vec<Run>,
    memory: &[u128],
    out: &mut File,
    mut each: impl FnMut(u128),
) -> Result<u64, SeenError> {
    let mut readers = runs
        .into_iter()
        .map(RunReader::open)
        .collect::<Result<Vec<_>, _>>()?;
    let memory_source = readers.len();
    let mut memory = memory.iter().copied();
    let mut heap = BinaryHeap::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some(record) = reader.next()? {
            heap.push(Reverse((record, i)));
        }
    }
    if let Some(record) = memory.next() {
        heap.push(Reverse((record, memory_source)));
    }
    let action = "written to a temporary file";
    let mut writer = BufWriter::with_capacity(64 * 1024, &mut *out);
    let mut pending: Option<u128> = None;
    let mut written = 0u64;
    let mut emit = |record: u128, writer: &mut BufWriter<&mut File>| {
        each(record);
        written += 1;
        writer
            .write_all(&record.to_le_bytes())
            .map_err(|e| SeenError::io(action, &e))
    };
    while let Some(Reverse((record, source))) = heap.pop() {
        let next = if source == memory_source {
            memory.next()
        } else {
            readers[source].next()?
        };
        if let Some(next) = next {
            heap.push(Reverse((next, source)));
        }
        pending = match pending {
            Some(kept) if hash_of(kept) == hash_of(record) => Some(kept | record),
            Some(kept) => {
                emit(kept, &mut writer)?;
                Some(record)
            }
            None => Some(record),
        };
    }
    if let Some(kept) = pending {
        emit(kept, &mut writer)?;
    }
    writer.flush().map_err(|e| SeenError::io(action, &e))?;
    drop(writer);
    Ok(written)
}

/// Tallies over the merged records.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Distinct entities seen.
    pub(crate) seen: u64,
    /// Entities Port said existed before, and never said this resync created.
    pub(crate) rewritten_existing: u64,
}

impl Counts {
    fn of(records: impl Iterator<Item = u128>) -> Self {
        let mut counts = Self::default();
        records.for_each(|r| counts.add(r));
        counts
    }

    fn add(&mut self, record: u128) {
        let flags = flags_of(record);
        if flags & SEEN != 0 {
            self.seen += 1;
        }
        if flags & EXISTED != 0 && flags & CREATED == 0 {
            self.rewritten_existing += 1;
        }
    }
}

#[derive(Debug)]
enum Store {
    /// Sorted, coalesced records.
    Memory(Vec<u128>),
    /// One sorted, coalesced file, and the first hash of each block.
    Disk {
        file: Arc<File>,
        records: u64,
        sparse: Arc<Vec<u128>>,
    },
}

/// The merged records of a resync, looked up by reconciliation.
#[derive(Debug)]
pub(crate) struct SeenIndex {
    store: Store,
    counts: Counts,
    related_any: bool,
}

impl SeenIndex {
    /// The tallies of the resync.
    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    /// Whether any identifier-only relation was recorded.
    pub(crate) fn has_related_any(&self) -> bool {
        self.related_any
    }

    /// Whether the records are on disk.
    #[cfg(test)]
    pub(crate) fn on_disk(&self) -> bool {
        matches!(self.store, Store::Disk { .. })
    }

    /// The flags recorded for each of `hashes` (0 when none), in order.
    pub(crate) async fn lookup(&self, hashes: Vec<u128>) -> Result<Vec<u8>, SeenError> {
        match &self.store {
            Store::Memory(records) => Ok(hashes
                .iter()
                .map(|&h| find_in(records, h).unwrap_or(0))
                .collect()),
            Store::Disk {
                file,
                records,
                sparse,
            } => {
                let (file, sparse, records) = (Arc::clone(file), Arc::clone(sparse), *records);
                tokio::task::spawn_blocking(move || {
                    lookup_on_disk(&file, records, &sparse, &hashes)
                })
                .await
                .map_err(|e| SeenError::join("read back", &e))?
            }
        }
    }
}

fn find_in(records: &[u128], hash: u128) -> Option<u8> {
    let i = records.partition_point(|&r| hash_of(r) < hash);
    records
        .get(i)
        .filter(|&&r| hash_of(r) == hash)
        .map(|&r| flags_of(r))
}

/// Reads each block the `hashes` fall into once, in file order.
fn lookup_on_disk(
    file: &File,
    records: u64,
    sparse: &[u128],
    hashes: &[u128],
) -> Result<Vec<u8>, SeenError> {
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_unstable_by_key(|&i| hashes[i]);
    let mut flags = vec![0u8; hashes.len()];
    let mut block: Vec<u128> = Vec::with_capacity(BLOCK_RECORDS);
    let mut loaded: Option<usize> = None;
    let mut bytes = vec![0u8; BLOCK_RECORDS * RECORD_BYTES];
    for i in order {
        let hash = hashes[i];
        // The block whose first hash is the last one not above `hash`.
        let Some(b) = sparse
            .partition_point(|&first| first <= hash)
            .checked_sub(1)
        else {
            continue;
        };
        if loaded != Some(b) {
            let start = (b * BLOCK_RECORDS) as u64;
            let count = (records.saturating_sub(start)).min(BLOCK_RECORDS as u64) as usize;
            let buf = &mut bytes[..count * RECORD_BYTES];
            file.read_exact_at(buf, start * RECORD_BYTES as u64)
                .map_err(|e| SeenError {
                    action: "read back",
                    reason: format!("block {b} of the merged file: {e}"),
                })?;
            block.clear();
            block.extend(buf.chunks_exact(RECORD_BYTES).map(|c| {
                let mut a = [0u8; RECORD_BYTES];
                a.copy_from_slice(c);
                u128::from_le_bytes(a)
            }));
            loaded = Some(b);
        }
        flags[i] = find_in(&block, hash).unwrap_or(0);
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(buffer_records: usize) -> SpillSettings {
        SpillSettings {
            buffer_records,
            dir: None,
        }
    }

    fn id(i: u32) -> String {
        format!("person-{i}")
    }

    /// Records `n` persons seen, every third one existing, every fifth created (after a
    /// first "existed" answer for the multiples of 15, as a second kind would rewrite it).
    async fn fill(seen: &mut SeenEntities, n: u32) {
        for i in 0..n {
            let id = id(i);
            seen.record(&[&id, "person"], SEEN);
            if i.is_multiple_of(3) {
                seen.record(&[&id, "person"], EXISTED);
            }
            if i.is_multiple_of(5) {
                seen.record(&[&id, "person"], CREATED);
            }
            if i % 100 == 99 {
                seen.spill_if_full().await;
            }
        }
        seen.spill_if_full().await;
    }

    fn expected_existing(n: u32) -> u64 {
        (0..n)
            .filter(|i| i.is_multiple_of(3) && !i.is_multiple_of(5))
            .count() as u64
    }

    #[tokio::test]
    async fn small_sets_stay_in_memory_and_count_created_over_existed() {
        let mut seen = SeenEntities::default();
        fill(&mut seen, 1000).await;
        assert_eq!(seen.runs(), 0);
        let index = seen.finish().await.unwrap();
        assert!(!index.on_disk());
        assert_eq!(
            index.counts(),
            Counts {
                seen: 1000,
                rewritten_existing: expected_existing(1000)
            }
        );
    }

    #[tokio::test]
    async fn spilled_runs_merge_into_the_same_answers_as_memory() {
        let n = 20_000;
        let mut memory = SeenEntities::new(small(1 << 20));
        let mut spilled = SeenEntities::new(small(512));
        fill(&mut memory, n).await;
        fill(&mut spilled, n).await;
        assert_eq!(memory.runs(), 0);
        assert!(spilled.runs() > 0);
        let memory = memory.finish().await.unwrap();
        let spilled = spilled.finish().await.unwrap();
        assert!(spilled.on_disk());
        assert_eq!(memory.counts(), spilled.counts());
        assert_eq!(spilled.counts().seen, u64::from(n));
        assert_eq!(spilled.counts().rewritten_existing, expected_existing(n));

        // Seen ones, unseen ones and other blueprints, in one lookup, in scattered order.
        let mut keys: Vec<(String, &str)> = Vec::new();
        for i in (0..n + 500).rev().step_by(7) {
            keys.push((id(i), "person"));
            keys.push((id(i), "department"));
        }
        let hashes: Vec<u128> = keys.iter().map(|(i, b)| key_hash(&[i, b])).collect();
        let from_disk = spilled.lookup(hashes.clone()).await.unwrap();
        let from_memory = memory.lookup(hashes).await.unwrap();
        assert_eq!(from_disk, from_memory);
        for ((identifier, blueprint), flags) in keys.iter().zip(&from_disk) {
            let i: u32 = identifier["person-".len()..].parse().unwrap();
            let expect_seen = *blueprint == "person" && i < n;
            assert_eq!(flags & SEEN != 0, expect_seen, "{identifier} {blueprint}");
            if expect_seen {
                assert_eq!(flags & EXISTED != 0, i.is_multiple_of(3), "{identifier}");
                assert_eq!(flags & CREATED != 0, i.is_multiple_of(5), "{identifier}");
            }
        }
    }

    #[tokio::test]
    async fn created_in_an_early_run_wins_over_existed_in_a_late_one() {
        let mut seen = SeenEntities::new(small(4));
        seen.record(&["a", "s"], CREATED);
        for i in 0..40 {
            seen.record(&[&id(i), "s"], SEEN);
            seen.spill_if_full().await;
        }
        seen.record(&["a", "s"], EXISTED);
        seen.record(&["a", "s"], SEEN);
        seen.record(&["b", "s"], EXISTED);
        assert!(seen.runs() > 1);
        let index = seen.finish().await.unwrap();
        assert_eq!(index.counts().rewritten_existing, 1);
        let flags = index
            .lookup(vec![key_hash(&["a", "s"]), key_hash(&["b", "s"])])
            .await
            .unwrap();
        assert_eq!(flags, vec![SEEN | EXISTED | CREATED, EXISTED]);
    }

    #[tokio::test]
    async fn memory_stays_bounded_and_runs_grow_logarithmically() {
        let bound = 64;
        let n = 50_000u32;
        let mut seen = SeenEntities::new(small(bound));
        let mut most_runs = 0;
        for i in 0..n {
            seen.record(&[&id(i), "person"], SEEN);
            seen.spill_if_full().await;
            most_runs = most_runs.max(seen.runs());
        }
        // One batch (here one record) past the bound at most.
        assert!(seen.peak_buffered <= bound, "{}", seen.peak_buffered);
        // 50,000 / 64 = 782 level-0 runs; tiering keeps at most 7 per level, 4 levels.
        assert!(most_runs <= 4 * (MERGE_FANOUT - 1) + 1, "{most_runs}");
        let index = seen.finish().await.unwrap();
        assert_eq!(index.counts().seen, u64::from(n));
        let Store::Disk { sparse, .. } = &index.store else {
            panic!("expected the records on disk");
        };
        assert_eq!(sparse.len(), (n as usize).div_ceil(BLOCK_RECORDS));
    }

    #[tokio::test]
    async fn repeated_keys_are_compacted_in_memory_instead_of_spilled() {
        let mut seen = SeenEntities::new(small(16));
        for _ in 0..1000 {
            for d in 0..4 {
                seen.record(&[&format!("d{d}"), "department"], RELATED);
            }
            seen.spill_if_full().await;
        }
        assert_eq!(seen.runs(), 0);
        assert!(!seen.finish().await.unwrap().on_disk());
    }

    #[tokio::test]
    async fn a_spill_directory_that_cannot_be_written_fails_finish_with_the_reason() {
        let mut seen = SeenEntities::new(SpillSettings {
            buffer_records: 4,
            dir: Some(PathBuf::from("/nonexistent/ocean-spill")),
        });
        for i in 0..10 {
            seen.record(&[&id(i), "s"], SEEN);
            seen.spill_if_full().await;
        }
        let error = seen.finish().await.unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(
                "the keys of the entities seen in this resync could not be written to a temporary file"
            ),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_truncated_merged_file_fails_the_lookup_instead_of_answering_unseen() {
        let mut seen = SeenEntities::new(small(8));
        fill(&mut seen, 2000).await;
        let index = seen.finish().await.unwrap();
        let Store::Disk { file, .. } = &index.store else {
            panic!("expected the records on disk");
        };
        file.set_len(0).unwrap();
        let error = index
            .lookup(vec![key_hash(&[&id(1999), "person"])])
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("could not be read back"),
            "{error}"
        );
    }
}
