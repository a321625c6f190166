//! An external sort for streamed output: records (a byte key whose byte
//! order is the output order, and a value) enter in any order; the same
//! records leave in key order. Up to a limit of bytes is held in memory;
//! beyond it, sorted runs go to anonymous temporary files, merged at the
//! end. Output orders that depend on every finding (by policy, by report
//! name) are kept this way without holding every finding.
//!
//! Also the byte encodings of keys ([`SortKey`]) and of values
//! ([`encode_fields`], [`Fields`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Component, Path};

/// Bytes held in memory before a run is written out.
pub const DEFAULT_LIMIT: usize = 64 * 1024 * 1024;

/// Runs kept open at most: beyond, they are merged into one, so a large
/// output never runs out of file descriptors.
const MAX_RUNS: usize = 64;

/// What a held record costs besides its bytes.
const RECORD_OVERHEAD: usize = std::mem::size_of::<Record>();

/// One record: key and value in one allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    bytes: Vec<u8>,
    key_len: usize,
}

impl Record {
    fn new(key: &[u8], value: &[u8]) -> Record {
        let mut bytes = Vec::with_capacity(key.len() + value.len());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(value);
        Record {
            bytes,
            key_len: key.len(),
        }
    }

    pub fn key(&self) -> &[u8] {
        &self.bytes[..self.key_len]
    }

    pub fn value(&self) -> &[u8] {
        &self.bytes[self.key_len..]
    }
}

/// Records waiting to be sorted.
pub struct Spill {
    limit: usize,
    held: Vec<Record>,
    held_bytes: usize,
    runs: Vec<File>,
}

impl Spill {
    /// A spill holding up to `limit` bytes of records in memory.
    pub fn new(limit: usize) -> Spill {
        Spill {
            limit,
            held: Vec::new(),
            held_bytes: 0,
            runs: Vec::new(),
        }
    }

    /// Adds a copy of one record. Keys should be unique: equal keys leave
    /// in no particular order. The copy is made by the thread that keeps
    /// the spill: records built on worker threads and kept there would
    /// leave their allocator's arenas fragmented, which slows every later
    /// allocation of the evaluation.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.held_bytes += key.len() + value.len() + RECORD_OVERHEAD;
        self.held.push(Record::new(key, value));
        if self.held_bytes > self.limit {
            self.write_run()?;
        }
        Ok(())
    }

    /// Temporary files written so far.
    #[cfg(test)]
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn write_run(&mut self) -> io::Result<()> {
        self.held.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        let run = write_records(self.held.drain(..).map(Ok))?;
        self.runs.push(run);
        self.held_bytes = 0;
        // The next run fills the same room again: give back the rest.
        self.held.shrink_to(0);
        if self.runs.len() >= MAX_RUNS {
            let runs = std::mem::take(&mut self.runs);
            let merged = write_records(Sorted::of(runs, Vec::new())?)?;
            self.runs.push(merged);
        }
        Ok(())
    }

    /// Every record in key order.
    pub fn into_sorted(mut self) -> io::Result<Sorted> {
        self.held.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        Sorted::of(self.runs, self.held)
    }
}

/// Sorted records into a new anonymous file, rewound for reading: each
/// the lengths of its key and value, then its bytes.
fn write_records(records: impl Iterator<Item = io::Result<Record>>) -> io::Result<File> {
    let mut file = tempfile::tempfile()?;
    {
        let mut out = BufWriter::with_capacity(256 * 1024, &mut file);
        for record in records {
            let record = record?;
            out.write_all(&(record.key_len as u64).to_le_bytes())?;
            out.write_all(&(record.bytes.len() as u64).to_le_bytes())?;
            out.write_all(&record.bytes)?;
        }
        out.flush()?;
    }
    file.rewind()?;
    Ok(file)
}

/// Reads one record written by [`write_records`]; `None` at a clean end.
fn read_record(input: &mut impl Read) -> io::Result<Option<Record>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut lengths = [0u8; 16];
    match input.read_exact(&mut lengths[..8]) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    input.read_exact(&mut lengths[8..])?;
    let (key_len, len) = lengths.split_at(8);
    let number = |bytes: &[u8]| -> io::Result<usize> {
        let bytes: [u8; 8] = bytes.try_into().map_err(|_| invalid("bad length"))?;
        usize::try_from(u64::from_le_bytes(bytes)).map_err(|_| invalid("record too long"))
    };
    let (key_len, len) = (number(key_len)?, number(len)?);
    if key_len > len {
        return Err(invalid("spilled record garbled"));
    }
    let mut bytes = vec![0; len];
    input.read_exact(&mut bytes)?;
    Ok(Some(Record { bytes, key_len }))
}

enum Source {
    Run(BufReader<File>),
    Held(std::vec::IntoIter<Record>),
}

impl Source {
    fn next(&mut self) -> io::Result<Option<Record>> {
        match self {
            Source::Held(records) => Ok(records.next()),
            Source::Run(input) => read_record(input),
        }
    }
}

/// A source's next record in the merge, ordered by key then source.
struct Head {
    record: Record,
    source: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.record.key(), self.source).cmp(&(other.record.key(), other.source))
    }
}

/// The records of a [`Spill`] in key order: a merge of its runs.
pub struct Sorted {
    sources: Vec<Source>,
    heap: BinaryHeap<Reverse<Head>>,
}

impl Sorted {
    /// The merge of sorted runs and sorted held records.
    fn of(runs: Vec<File>, held: Vec<Record>) -> io::Result<Sorted> {
        let mut sources: Vec<Source> = Vec::with_capacity(runs.len() + 1);
        for file in runs {
            sources.push(Source::Run(BufReader::with_capacity(64 * 1024, file)));
        }
        sources.push(Source::Held(held.into_iter()));
        let mut sorted = Sorted {
            sources,
            heap: BinaryHeap::new(),
        };
        for index in 0..sorted.sources.len() {
            sorted.advance(index)?;
        }
        Ok(sorted)
    }

    fn advance(&mut self, source: usize) -> io::Result<()> {
        if let Some(record) = self.sources[source].next()? {
            self.heap.push(Reverse(Head { record, source }));
        }
        Ok(())
    }
}

impl Iterator for Sorted {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse(Head { record, source }) = self.heap.pop()?;
        if let Err(err) = self.advance(source) {
            return Some(Err(err));
        }
        Some(Ok(record))
    }
}

/// A key whose byte order is the order of the tuple of its parts: strings
/// compare byte by byte (as `str` does), a shorter string first.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey(Vec<u8>);

impl SortKey {
    pub fn new() -> SortKey {
        SortKey(Vec::with_capacity(128))
    }

    /// A string: its bytes with 0 escaped as 0 0xFF, ended by 0 1, so a
    /// prefix sorts first and the parts after it do not matter.
    pub fn str(mut self, text: &str) -> SortKey {
        for &byte in text.as_bytes() {
            self.0.push(byte);
            if byte == 0 {
                self.0.push(0xFF);
            }
        }
        self.0.extend_from_slice(&[0, 1]);
        self
    }

    /// An optional string: `None` first.
    pub fn opt(mut self, text: Option<&str>) -> SortKey {
        match text {
            None => {
                self.0.push(0);
                self
            }
            Some(text) => {
                self.0.push(1);
                self.str(text)
            }
        }
    }

    /// A number, big-endian.
    pub fn num(mut self, number: u64) -> SortKey {
        self.0.extend_from_slice(&number.to_be_bytes());
        self
    }

    /// A path in `Path`'s order: component by component.
    pub fn path(mut self, path: &Path) -> SortKey {
        for component in path.components() {
            // `Component`'s own order: prefix, root, `.`, `..`, names.
            let (tag, text) = match component {
                Component::Prefix(prefix) => (1, prefix.as_os_str()),
                Component::RootDir => (2, component.as_os_str()),
                Component::CurDir => (3, component.as_os_str()),
                Component::ParentDir => (4, component.as_os_str()),
                Component::Normal(name) => (5, name),
            };
            self.0.push(tag);
            self = self.str(&text.to_string_lossy());
        }
        self.0.push(0);
        self
    }

    /// A single byte (a group or a flag).
    pub fn byte(mut self, byte: u8) -> SortKey {
        self.0.push(byte);
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Strings as one value: each length-prefixed.
pub fn encode_fields(fields: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.len() + 4).sum());
    for field in fields {
        out.extend_from_slice(&(field.len() as u64).to_le_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The strings of a value made by [`encode_fields`].
pub struct Fields<'a> {
    bytes: &'a [u8],
}

impl<'a> Fields<'a> {
    pub fn new(bytes: &'a [u8]) -> Fields<'a> {
        Fields { bytes }
    }

    /// The next string; an error when the value is cut short or not UTF-8
    /// (a temporary file changed under polscan).
    pub fn next_str(&mut self) -> io::Result<&'a str> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let (length, rest) = self
            .bytes
            .split_first_chunk::<8>()
            .ok_or_else(|| invalid("spilled value cut short"))?;
        let length = usize::try_from(u64::from_le_bytes(*length))
            .map_err(|_| invalid("spilled value too long"))?;
        if rest.len() < length {
            return Err(invalid("spilled value cut short"));
        }
        let (text, rest) = rest.split_at(length);
        self.bytes = rest;
        std::str::from_utf8(text).map_err(|_| invalid("spilled value is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(spill: Spill) -> Vec<(Vec<u8>, Vec<u8>)> {
        spill
            .into_sorted()
            .expect("sorted")
            .map(|record| {
                let record = record.expect("record");
                (record.key().to_vec(), record.value().to_vec())
            })
            .collect()
    }

    #[test]
    fn records_leave_in_key_order_across_runs() {
        // A limit so small that nearly every record makes a run.
        let mut spill = Spill::new(100);
        let numbers = [5u64, 3, 9, 1, 7, 2, 8, 0, 6, 4];
        for n in numbers {
            let key = SortKey::new().num(n).into_bytes();
            spill.push(&key, format!("v{n}").as_bytes()).expect("push");
        }
        assert!(spill.runs() > 2, "the small limit spills");
        let values: Vec<String> = drain(spill)
            .into_iter()
            .map(|(_, v)| String::from_utf8(v).expect("utf-8"))
            .collect();
        let expected: Vec<String> = (0..10).map(|n| format!("v{n}")).collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn many_runs_are_merged_before_files_run_out() {
        let mut spill = Spill::new(1);
        // Pseudo-random order, every key once.
        let count = 1000u64;
        for i in 0..count {
            let n = (i * 7919) % count;
            spill
                .push(
                    &SortKey::new().num(n).into_bytes(),
                    n.to_string().as_bytes(),
                )
                .expect("push");
            assert!(spill.runs() <= MAX_RUNS, "{} runs open", spill.runs());
        }
        let values: Vec<u64> = drain(spill)
            .into_iter()
            .map(|(_, v)| {
                String::from_utf8(v)
                    .expect("utf-8")
                    .parse()
                    .expect("number")
            })
            .collect();
        assert_eq!(values, (0..count).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_in_nothing_out_and_small_inputs_stay_in_memory() {
        assert!(drain(Spill::new(DEFAULT_LIMIT)).is_empty());
        let mut spill = Spill::new(DEFAULT_LIMIT);
        spill.push(b"b", b"2").expect("push");
        spill.push(b"a", b"").expect("push");
        assert_eq!(spill.runs(), 0);
        assert_eq!(
            drain(spill),
            [(b"a".to_vec(), Vec::new()), (b"b".to_vec(), b"2".to_vec())]
        );
    }

    #[test]
    fn key_bytes_sort_as_the_tuples_do() {
        let strings = ["", "a", "a\0", "a\0b", "a\u{1}", "ab", "b", "\0"];
        let mut tuples = Vec::new();
        for first in strings {
            for second in strings {
                tuples.push((first, second));
            }
        }
        let mut by_bytes = tuples.clone();
        by_bytes.sort_by_key(|(a, b)| SortKey::new().str(a).str(b).into_bytes());
        tuples.sort();
        assert_eq!(by_bytes, tuples);
        let options = [None, Some(""), Some("a")];
        let mut by_bytes = options.to_vec();
        by_bytes.sort_by_key(|o| SortKey::new().opt(*o).num(1).into_bytes());
        assert_eq!(by_bytes, options);
    }

    #[test]
    fn paths_sort_as_path_does() {
        let mut paths: Vec<&Path> = ["a.b", "a/b", "a", "/a", "./a", "a/b/c", "ab", "../a", "b"]
            .iter()
            .map(Path::new)
            .collect();
        let mut by_bytes = paths.clone();
        by_bytes.sort_by_key(|p| SortKey::new().path(p).num(0).into_bytes());
        paths.sort();
        assert_eq!(by_bytes, paths);
    }

    #[test]
    fn fields_round_trip_and_refuse_short_values() {
        let bytes = encode_fields(&["", "a", "ü\n"]);
        let mut fields = Fields::new(&bytes);
        assert_eq!(fields.next_str().expect("1"), "");
        assert_eq!(fields.next_str().expect("2"), "a");
        assert_eq!(fields.next_str().expect("3"), "ü\n");
        assert!(fields.next_str().is_err());
        assert!(Fields::new(&bytes[..bytes.len() - 1]).next_str().is_ok());
        let mut cut = Fields::new(&bytes[..bytes.len() - 1]);
        let _ = cut.next_str();
        let _ = cut.next_str();
        assert!(cut.next_str().is_err());
    }
}
