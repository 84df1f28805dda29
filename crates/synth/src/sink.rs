//! CSV files written a little at a time, so thousands of organisation files never hold thousands
//! of file handles or unbounded memory.
//!
//! A [`Sink`] keeps a small buffer of finished rows and appends it to its file when it fills;
//! the first spill creates (truncates) the file. A generator can therefore keep one sink per
//! organisation of a local area, drop them when the area is done, and stay within a few tens of
//! megabytes however many records it writes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use crate::SynthError;

/// Bytes buffered before a sink appends to its file.
const SPILL_BYTES: usize = 16 * 1024;

/// The byte buffer under a sink's CSV writer: it appends itself to the file when full.
#[derive(Debug)]
struct Spill {
    path: PathBuf,
    buffer: Vec<u8>,
    created: bool,
}

impl Spill {
    fn spill(&mut self) -> std::io::Result<()> {
        let mut file = if self.created {
            OpenOptions::new().append(true).open(&self.path)?
        } else {
            File::create(&self.path)?
        };
        self.created = true;
        file.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }
}

impl Write for Spill {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= SPILL_BYTES {
            self.spill()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.spill()
    }
}

/// One CSV file being written.
#[derive(Debug)]
pub(crate) struct Sink {
    path: PathBuf,
    writer: csv::Writer<Spill>,
}

impl Sink {
    /// Starts a file with its header row; nothing touches the disk until the first spill.
    pub(crate) fn new(path: PathBuf, header: &[&str]) -> Result<Sink, SynthError> {
        let writer = csv::WriterBuilder::new()
            .buffer_capacity(4 * 1024)
            .from_writer(Spill {
                path: path.clone(),
                buffer: Vec::with_capacity(SPILL_BYTES),
                created: false,
            });
        let mut sink = Sink { path, writer };
        sink.write_row(header)?;
        Ok(sink)
    }

    /// Writes one row; the buffer appends itself to the file when full.
    pub(crate) fn write_row<I, T>(&mut self, row: I) -> Result<(), SynthError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer
            .write_record(row)
            .map_err(|source| SynthError::Csv {
                path: self.path.clone(),
                source,
            })
    }

    /// Writes everything still buffered; the file then exists even if it has only a header.
    pub(crate) fn finish(self) -> Result<PathBuf, SynthError> {
        let path = self.path;
        let write_error = |source| SynthError::Write {
            path: path.clone(),
            source,
        };
        let mut spill = self
            .writer
            .into_inner()
            .map_err(|e| write_error(e.into_error()))?;
        if !spill.created || !spill.buffer.is_empty() {
            spill.spill().map_err(write_error)?;
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_and_appends_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "stale content\n").unwrap();
        let mut sink = Sink::new(path.clone(), &["a", "b"]).unwrap();
        for i in 0..5_000 {
            sink.write_row([i.to_string(), "text, with comma".to_string()])
                .unwrap();
        }
        sink.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a,b");
        assert_eq!(lines[1], "0,\"text, with comma\"");
        assert_eq!(lines.len(), 5_001);
        assert!(lines[5_000].starts_with("4999,"));
    }

    #[test]
    fn an_unwritable_path_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("x.csv");
        let sink = Sink::new(path, &["a"]).unwrap();
        let message = sink.finish().unwrap_err().to_string();
        assert!(message.starts_with("cannot write `"), "{message}");
        assert!(message.contains("missing"), "{message}");
    }
}
