//! The disk tier: a read hit, a synchronous (fsynced) write, a write-behind
//! enqueue, and the envelope alone (encode and decode of 1 KiB, and of a
//! compressible 64 KiB value per available codec).
//!
//! `cargo bench -p cache-runtime --bench disk [--features lz4,zstd]`. The
//! store lives under the system temp folder; its speed is that disk's.

use std::path::PathBuf;
use std::sync::LazyLock;

use cache_runtime::{
    backend::{Envelope, Schema, ValueFormat},
    config::{Codec, Compression},
    disk::{DiskStore, WriteBehind},
};
use divan::{Bencher, black_box};

fn main() {
    divan::main();
    let _ = std::fs::remove_dir_all(scratch(""));
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!("cache-runtime-bench-disk-{}", std::process::id()))
        .join(name)
}

fn schema() -> Schema {
    Schema::new(1)
        .with_fingerprint("0123456789abcdef")
        .with_format(ValueFormat::Json)
}

/// 1 KiB of JSON-ish bytes.
fn value_1k() -> Vec<u8> {
    b"{\"id\":12345,\"name\":\"model-metadata\",\"tags\":[\"a\",\"b\"]}"
        .iter()
        .copied()
        .cycle()
        .take(1024)
        .collect()
}

static STORE: LazyLock<DiskStore> = LazyLock::new(|| {
    let store = DiskStore::builder(scratch("store"))
        .schema(schema())
        .build()
        .expect("store");
    store.put(b"hit", &value_1k(), None).expect("put");
    store
});

/// Reads a 1 KiB entry back: open, read, verify, decode.
#[divan::bench]
fn read_hit_1k(bencher: Bencher) {
    let store = &*STORE;
    bencher.bench(|| store.get(black_box(b"hit")).expect("get").expect("hit"));
}

/// Writes a 1 KiB entry durably: encode, temp file, write, fsync, rename,
/// fsync the folder.
#[divan::bench(sample_count = 30, sample_size = 4)]
fn write_sync_1k(bencher: Bencher) {
    let store = &*STORE;
    let value = value_1k();
    bencher.bench(|| store.put(black_box(b"written"), &value, None).expect("put"));
}

/// Queues a 1 KiB write (the caller's cost; the worker writes meanwhile).
/// The queue is large enough never to fill during the run.
#[divan::bench(sample_count = 100, sample_size = 20)]
fn write_behind_enqueue_1k(bencher: Bencher) {
    let store = DiskStore::builder(scratch("write-behind"))
        .schema(schema())
        .build()
        .expect("store");
    let disk = WriteBehind::new(store, 1 << 16).expect("start");
    let value = value_1k();
    bencher.bench(|| disk.put(black_box(b"queued"), &value, None).expect("put"));
    disk.shutdown().expect("shutdown");
}

#[divan::bench]
fn envelope_encode_1k(bencher: Bencher) {
    let (schema, value) = (schema(), value_1k());
    bencher.bench(|| {
        Envelope::new(black_box(b"user:42"), &value)
            .encode(&schema, Compression::NONE)
            .expect("encode")
    });
}

#[divan::bench]
fn envelope_decode_1k(bencher: Bencher) {
    let (schema, value) = (schema(), value_1k());
    let bytes = Envelope::new(b"user:42", &value)
        .encode(&schema, Compression::NONE)
        .expect("encode");
    bencher.bench(|| Envelope::decode(black_box(&bytes), b"user:42", &schema, 0).expect("decode"));
}

/// The codecs this build has.
fn codecs() -> Vec<Codec> {
    Codec::ALL
        .iter()
        .copied()
        .filter(|c| Envelope::supports(*c))
        .collect()
}

/// A compressible 64 KiB value, encoded with each codec.
#[divan::bench(args = codecs())]
fn envelope_encode_64k(bencher: Bencher, codec: Codec) {
    let schema = schema();
    let value: Vec<u8> = value_1k().repeat(64);
    let compression = Compression {
        codec,
        threshold: 1024,
    };
    bencher.bench(|| {
        Envelope::new(b"user:42", black_box(&value))
            .encode(&schema, compression)
            .expect("encode")
    });
}

/// The same value decoded (checksum and decompression).
#[divan::bench(args = codecs())]
fn envelope_decode_64k(bencher: Bencher, codec: Codec) {
    let schema = schema();
    let value: Vec<u8> = value_1k().repeat(64);
    let compression = Compression {
        codec,
        threshold: 1024,
    };
    let bytes = Envelope::new(b"user:42", &value)
        .encode(&schema, compression)
        .expect("encode");
    bencher.bench(|| Envelope::decode(black_box(&bytes), b"user:42", &schema, 0).expect("decode"));
}
