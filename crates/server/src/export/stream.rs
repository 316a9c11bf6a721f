//! Where an export's bytes go: each format writes a page of records synchronously into an
//! [`Out`], then calls [`Out::page_done`], which hands what was written on as `ExportChunk`s over
//! a bounded channel. A slow client therefore holds up the reading of the next page, and an
//! export never sits whole in memory.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use scamtrail_proto::v1 as pb;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tonic::Status;

/// Bytes gathered before they are sent as one message.
const CHUNK: usize = 64 * 1024;
/// The largest message sent: well under the 4 MiB that clients decode by default.
const CHUNK_MAX: usize = 1024 * 1024;

/// Why an export stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    /// The client went away.
    #[error("the client went away")]
    Gone,
    /// A page could not be read.
    #[error(transparent)]
    Store(#[from] scamtrail_store::StoreError),
    /// The zip writer failed.
    #[error("zip: {0}")]
    Zip(String),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A writer an export's pages go into.
pub trait Out: Write + Send {
    /// Hands on what was written since the last page, waiting while the client is slow.
    fn page_done(&mut self) -> impl Future<Output = Result<(), Stopped>> + Send;
}

/// The network end: chunks of the file, the first with its content type and name.
pub struct Sink {
    tx: mpsc::Sender<Result<pb::ExportChunk, Status>>,
    buf: Vec<u8>,
    head: Option<pb::ExportChunk>,
    written: u64,
}

impl Sink {
    /// A sink sending to `tx`; `head` (content type, file name, time) goes with the first bytes.
    pub fn new(tx: mpsc::Sender<Result<pb::ExportChunk, Status>>, head: pb::ExportChunk) -> Self {
        Self { tx, buf: Vec::with_capacity(CHUNK * 2), head: Some(head), written: 0 }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    async fn send(&mut self, data: Vec<u8>, next_cursor: String) -> Result<(), Stopped> {
        let mut chunk = self.head.take().unwrap_or_default();
        chunk.data = data;
        chunk.next_cursor = next_cursor;
        self.tx.send(Ok(chunk)).await.map_err(|_| Stopped::Gone)
    }

    async fn send_full(&mut self) -> Result<(), Stopped> {
        while self.buf.len() >= CHUNK {
            let rest = if self.buf.len() > CHUNK_MAX { self.buf.split_off(CHUNK_MAX) } else { Vec::new() };
            let data = std::mem::replace(&mut self.buf, rest);
            self.send(data, String::new()).await?;
        }
        Ok(())
    }

    /// Sends the rest, with the feed's next cursor in the last message.
    pub async fn finish(mut self, next_cursor: String) -> Result<u64, Stopped> {
        self.send_full().await?;
        let rest = std::mem::take(&mut self.buf);
        self.send(rest, next_cursor).await?;
        Ok(self.written)
    }

    /// Ends the stream with `status` (the client sees the error, not a short file).
    pub async fn fail(self, status: Status) {
        let _ = self.tx.send(Err(status)).await;
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Out for Sink {
    async fn page_done(&mut self) -> Result<(), Stopped> {
        self.send_full().await
    }
}

/// A buffer the zip writer owns one handle of while the export drains the other.
#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    /// Takes what was written so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Shared {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The zip the cluster's CSVs and the referral package are written into, streamed: entries carry
/// data descriptors, so nothing is seeked back to.
pub type Zip = zip::ZipWriter<zip::write::StreamWriter<Shared>>;

/// One file of a zip being written: its bytes go through the zip (deflated) to the sink, and
/// their SHA-256 and size are kept for the package's manifest.
pub struct Entry<'a> {
    zip: &'a mut Zip,
    shared: &'a Shared,
    sink: &'a mut Sink,
    hash: Sha256,
    size: u64,
}

impl<'a> Entry<'a> {
    /// Starts the file `name` in `zip`.
    pub fn start(zip: &'a mut Zip, shared: &'a Shared, sink: &'a mut Sink, name: &str) -> Result<Self, Stopped> {
        // A fixed time (the zip's 1980 default) keeps two exports of the same data identical.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(false);
        zip.start_file(name, options).map_err(|e| Stopped::Zip(e.to_string()))?;
        Ok(Self { zip, shared, sink, hash: Sha256::new(), size: 0 })
    }

    /// The file's SHA-256 (hex) and size.
    pub async fn finish(mut self) -> Result<(String, u64), Stopped> {
        self.page_done().await?;
        Ok((hex::encode(self.hash.finalize_reset()), self.size))
    }
}

impl Write for Entry<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.zip.write_all(data)?;
        self.hash.update(data);
        self.size += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Out for Entry<'_> {
    async fn page_done(&mut self) -> Result<(), Stopped> {
        let data = self.shared.take();
        self.sink.write_all(&data)?;
        self.sink.page_done().await
    }
}

/// Ends a zip and hands its last bytes (the central directory) to the sink.
pub async fn finish_zip(zip: Zip, shared: &Shared, sink: &mut Sink) -> Result<(), Stopped> {
    zip.finish().map_err(|e| Stopped::Zip(e.to_string()))?;
    let data = shared.take();
    sink.write_all(&data)?;
    sink.page_done().await
}
