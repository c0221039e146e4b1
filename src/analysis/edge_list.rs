//! Reading an edge list into a [`Graph`]: one `dependent<TAB>dependency` pair per line, blank
//! lines and lines starting with `#` ignored. A file is read in one chunk per core, each chunk
//! interning its own names; the chunks are then merged in file order, so node indices follow
//! the order of first appearance exactly as a sequential read (and networkx) would give them.

use super::graph::{Graph, NodeNames, TooManyNodes};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// Why an edge list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EdgeListError {
    /// The file could not be opened or read.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A line is not a `dependent<TAB>dependency` pair.
    #[error("line {line}: {reason}")]
    Malformed {
        /// The line's number, from 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// More distinct nodes than indices.
    #[error(transparent)]
    TooManyNodes(#[from] TooManyNodes),
}

/// Files smaller than this are read by one thread: splitting costs more than it saves.
const MIN_CHUNK_BYTES: u64 = 4 << 20;

/// Reads the edge list at `path`, in parallel chunks when the file is large.
///
/// # Errors
/// When the file cannot be read, a line is malformed (the error names the line), or there are
/// more than `u32::MAX` nodes.
pub fn read_edge_list(path: &Path) -> Result<Graph, EdgeListError> {
    let len = std::fs::metadata(path)?.len();
    let chunks = (rayon::current_num_threads() as u64)
        .min(len / MIN_CHUNK_BYTES)
        .max(1);
    read_in_chunks(path, len, chunks)
}

fn read_in_chunks(path: &Path, len: u64, chunks: u64) -> Result<Graph, EdgeListError> {
    let bounds: Vec<u64> = (0..=chunks).map(|i| len * i / chunks).collect();
    let results: Vec<Result<Chunk, EdgeListError>> = {
        use rayon::prelude::*;
        bounds
            .par_windows(2)
            .map(|w| read_chunk(path, w[0], w[1]))
            .collect()
    };
    let mut parts = Vec::with_capacity(results.len());
    let mut lines_before = 0;
    for result in results {
        match result {
            Ok(chunk) => {
                lines_before += chunk.lines;
                parts.push(chunk);
            }
            Err(EdgeListError::Malformed { line, reason }) => {
                return Err(EdgeListError::Malformed {
                    line: line + lines_before,
                    reason,
                });
            }
            Err(err) => return Err(err),
        }
    }
    merge(parts)
}

/// Reads an edge list from any reader, on this thread.
///
/// # Errors
/// As [`read_edge_list`].
pub fn parse_edge_list(mut reader: impl BufRead) -> Result<Graph, EdgeListError> {
    let mut chunk = Chunk::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        chunk.add_line(&buf)?;
    }
    merge(vec![chunk])
}

/// The lines of one chunk, with the chunk's own interned names.
#[derive(Debug, Default)]
struct Chunk {
    names: NodeNames,
    edges: Vec<(u32, u32)>,
    /// Lines read so far, comments and blank ones included.
    lines: u64,
    /// The last line's dependent and its index: edge lists are usually grouped by dependent,
    /// and a repeated name then costs a comparison instead of a hash lookup.
    last: Option<(Vec<u8>, u32)>,
}

impl Chunk {
    fn add_line(&mut self, bytes: &[u8]) -> Result<(), EdgeListError> {
        self.lines += 1;
        match parse_line(bytes) {
            Ok(None) => Ok(()),
            Ok(Some((dependent, dependency))) => {
                let from = match &mut self.last {
                    Some((name, index)) if name.as_slice() == dependent.as_bytes() => *index,
                    last => {
                        let index = self.names.intern(dependent)?;
                        let name = last.get_or_insert_with(|| (Vec::new(), index));
                        name.0.clear();
                        name.0.extend_from_slice(dependent.as_bytes());
                        name.1 = index;
                        index
                    }
                };
                let to = self.names.intern(dependency)?;
                self.edges.push((from, to));
                Ok(())
            }
            Err(reason) => Err(EdgeListError::Malformed {
                line: self.lines,
                reason,
            }),
        }
    }
}

/// Reads the lines that start in `[start, end)` of the file. A line starting before `end`
/// is read to its end even past it; a line running into `start` belongs to the chunk before.
fn read_chunk(path: &Path, start: u64, end: u64) -> Result<Chunk, EdgeListError> {
    let mut file = File::open(path)?;
    let mut pos = start;
    if start > 0 {
        file.seek(SeekFrom::Start(start - 1))?;
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    if start > 0 {
        // Skip the rest of the line the byte before `start` belongs to (just its newline when
        // a line starts exactly at `start`).
        pos = start - 1 + reader.read_until(b'\n', &mut buf)? as u64;
    }
    let mut chunk = Chunk::default();
    while pos < end {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf)?;
        if read == 0 {
            break;
        }
        pos += read as u64;
        chunk.add_line(&buf)?;
    }
    Ok(chunk)
}

/// Merges the chunks in file order: the first chunk's names stay as they are, each later
/// chunk's new names are appended in their order of appearance, and its edges renumbered.
fn merge(chunks: Vec<Chunk>) -> Result<Graph, EdgeListError> {
    let mut chunks = chunks.into_iter();
    let Some(first) = chunks.next() else {
        return Ok(Graph::from_parts(NodeNames::default(), &[]));
    };
    let mut names = first.names;
    let mut batches = vec![first.edges];
    for chunk in chunks {
        let remap = (0..chunk.names.len() as u32)
            .map(|local| names.intern(chunk.names.name(local)))
            .collect::<Result<Vec<u32>, _>>()?;
        let mut edges = chunk.edges;
        for (from, to) in &mut edges {
            *from = remap[*from as usize];
            *to = remap[*to as usize];
        }
        batches.push(edges);
    }
    Ok(Graph::from_parts(names, &batches))
}

/// One line: `None` for a blank line or a comment, else the pair.
fn parse_line(bytes: &[u8]) -> Result<Option<(&str, &str)>, String> {
    // Leading whitespace stays until the fields are split, so `\tb` is an empty dependent.
    let line = bytes.trim_ascii_end();
    let content = line.trim_ascii_start();
    if content.is_empty() || content.starts_with(b"#") {
        return Ok(None);
    }
    let fields = line.split(|&b| b == b'\t').count();
    let Some(tab) = line.iter().position(|&b| b == b'\t') else {
        return Err("expected `dependent<TAB>dependency`, found no tab".to_owned());
    };
    if fields != 2 {
        return Err(format!(
            "expected `dependent<TAB>dependency`, found {fields} tab-separated fields"
        ));
    }
    let dependent = field(&line[..tab], "dependent")?;
    let dependency = field(&line[tab + 1..], "dependency")?;
    Ok(Some((dependent, dependency)))
}

/// One field of a line: trimmed, non-empty, UTF-8.
fn field<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, String> {
    let bytes = bytes.trim_ascii();
    if bytes.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    std::str::from_utf8(bytes).map_err(|_| format!("the {what} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn parse(text: &str) -> Result<Graph, EdgeListError> {
        parse_edge_list(text.as_bytes())
    }

    fn malformed_line(text: &str) -> (u64, String) {
        match parse(text) {
            Err(EdgeListError::Malformed { line, reason }) => (line, reason),
            other => panic!("expected a malformed line, got {other:?}"),
        }
    }

    #[test]
    fn comments_blank_lines_and_carriage_returns_are_skipped() {
        let graph = parse("# header\n\napp\tlib\r\n  \nlib\tcore\n# end").expect("parses");
        assert_eq!(graph.node_count(), 3);
        assert_eq!(graph.edge_count(), 2);
        assert_eq!(graph.name(0), "app");
        assert_eq!(graph.name(2), "core");
    }

    #[test]
    fn a_dependent_on_consecutive_lines_is_one_node_and_keeps_its_place() {
        // `app` repeats (the remembered dependent), comes back after another one, and a
        // dependency seen first is not renumbered when it later appears as a dependent.
        let graph = parse("app\tlib\napp\tcore\nlib\tcore\napp\tweb\nweb\tapp\n").expect("parses");
        let names: Vec<&str> = (0..graph.node_count() as u32)
            .map(|v| graph.name(v))
            .collect();
        assert_eq!(names, ["app", "lib", "core", "web"]);
        let [app, lib, core, web] = [0, 1, 2, 3];
        assert_eq!(graph.successors(app), &[lib, core, web]);
        assert_eq!(graph.successors(lib), &[core]);
        assert_eq!(graph.successors(web), &[app]);
        assert_eq!(graph.edge_count(), 5);
    }

    #[test]
    fn malformed_lines_are_named_by_number() {
        assert_eq!(
            malformed_line("a\tb\n# c\nno tab here\n"),
            (
                3,
                "expected `dependent<TAB>dependency`, found no tab".to_owned()
            )
        );
        assert_eq!(
            malformed_line("a\tb\tc\n"),
            (
                1,
                "expected `dependent<TAB>dependency`, found 3 tab-separated fields".to_owned()
            )
        );
        assert_eq!(
            malformed_line("a\tb\n\n\t b\n"),
            (3, "the dependent is empty".to_owned())
        );
        // Trailing whitespace goes first (as Python's `strip`), so a missing dependency
        // leaves a line without a tab.
        assert_eq!(
            malformed_line("a\t \n"),
            (
                1,
                "expected `dependent<TAB>dependency`, found no tab".to_owned()
            )
        );
        let mut bad_utf8 = b"a\tb\nx\t".to_vec();
        bad_utf8.extend_from_slice(&[0xff, 0xfe, b'\n']);
        match parse_edge_list(&bad_utf8[..]) {
            Err(EdgeListError::Malformed { line: 2, reason }) => {
                assert_eq!(reason, "the dependency is not UTF-8");
            }
            other => panic!("expected line 2 to be refused, got {other:?}"),
        }
    }

    #[test]
    fn a_chunked_read_numbers_nodes_and_lines_as_a_sequential_one() {
        // Names repeat across chunk boundaries.
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        let mut text = String::new();
        for i in 0..50_000u32 {
            text.push_str(&format!("n{}\tn{}\n", i % 7_001, (i * 7) % 9_001));
            if i % 1000 == 0 {
                text.push_str("# a comment\n\n");
            }
        }
        file.write_all(text.as_bytes()).expect("writes");
        let len = text.len() as u64;
        let chunked = read_in_chunks(file.path(), len, 7).expect("reads");
        let sequential = parse(&text).expect("parses");
        assert_eq!(chunked.node_count(), sequential.node_count());
        for i in 0..sequential.node_count() as u32 {
            assert_eq!(chunked.name(i), sequential.name(i));
            assert_eq!(chunked.successors(i), sequential.successors(i));
        }
        // A bad line near the end is reported with its number in the whole file.
        let lines = text.lines().count();
        file.write_all(b"bad line\n").expect("writes");
        match read_in_chunks(file.path(), len + 9, 7) {
            Err(EdgeListError::Malformed { line, .. }) => assert_eq!(line, lines as u64 + 1),
            other => panic!("expected the last line to be refused, got {other:?}"),
        }
    }
}
