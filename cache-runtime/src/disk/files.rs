//! The files of a disk store's folder: names, listing, bounded reads and
//! careful removal.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::Path;

use cache_spec::persist::TEMP_PREFIX;

use crate::envelope::{EnvelopeError, Header};

/// The extension of entry files.
const EXTENSION: &str = ".entry";
/// The length of a blake3 digest in hex.
pub(super) const HASH_HEX_LEN: usize = 64;
/// How much of a file a header read takes first; most headers fit.
const HEADER_READ: usize = 4096;

/// The name of the file holding `key`'s entry: the hex blake3 of the key,
/// so any key is a safe, fixed-length file name.
pub(super) fn file_name(key: &[u8]) -> String {
    format!("{}{EXTENSION}", blake3::hash(key).to_hex())
}

/// Whether `text` is a hash as entry files are named by.
pub(super) fn is_hash(text: &str) -> bool {
    text.len() == HASH_HEX_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What a folder holds.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Entry file names.
    pub(super) entries: Vec<String>,
    /// Temporary file names (writes in flight, or orphaned by a crash).
    pub(super) temps: Vec<String>,
}

/// Lists the entry and temporary files in `dir`; other names (and
/// sub-folders) are not ours and are left alone. A missing folder is empty.
pub(super) fn list(dir: &Path) -> io::Result<Listing> {
    let mut listing = Listing::default();
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(listing),
        Err(error) => return Err(error),
    };
    for item in read {
        let item = item?;
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if !item.file_type()?.is_file() {
            continue;
        }
        if name.starts_with(TEMP_PREFIX) {
            listing.temps.push(name);
        } else if name.strip_suffix(EXTENSION).is_some_and(is_hash) {
            listing.entries.push(name);
        }
    }
    Ok(listing)
}

/// A whole entry file, read.
pub(super) enum Contents {
    /// No such file.
    Missing,
    /// Not the length its header declares (truncated, extended, sparse) or
    /// larger than any envelope: not read past its header.
    Misfit(Metadata),
    /// Its bytes and the metadata of the file they came from.
    Bytes(Vec<u8>, Metadata),
}

/// Reads an entry file: its header first, then exactly the rest its header
/// declares, so a damaged file of huge size costs one header read. A file
/// whose length differs from the declared one is a [`Contents::Misfit`];
/// one whose header does not parse is returned as read so far, for the
/// caller's check to reject.
pub(super) fn read_entry(path: &Path) -> io::Result<Contents> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Contents::Missing),
        Err(error) => return Err(error),
    };
    let meta = file.metadata()?;
    if meta.len() > Header::MAX_ENVELOPE_LEN as u64 {
        return Ok(Contents::Misfit(meta));
    }
    let mut bytes = read_header(&mut file)?;
    let declared = match Header::parse(&bytes) {
        Ok(header) => header.total_len as u64,
        Err(_) => return Ok(Contents::Bytes(bytes, meta)),
    };
    if declared != meta.len() {
        return Ok(Contents::Misfit(meta));
    }
    let rest = declared.saturating_sub(bytes.len() as u64);
    bytes.reserve(usize::try_from(rest).unwrap_or(0));
    // Never more than declared, even if the file grew meanwhile.
    file.take(rest).read_to_end(&mut bytes)?;
    Ok(Contents::Bytes(bytes, meta))
}

/// The first bytes of an open entry file: enough for its header (key
/// included) when it is an envelope.
fn read_header(file: &mut File) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(HEADER_READ);
    (&mut *file)
        .take(HEADER_READ as u64)
        .read_to_end(&mut prefix)?;
    if prefix.len() == HEADER_READ
        && let Err(EnvelopeError::Truncated { needed, .. }) = Header::parse(&prefix)
        && needed <= Header::MAX_LEN
    {
        let more = needed.saturating_sub(prefix.len());
        file.take(more as u64).read_to_end(&mut prefix)?;
    }
    Ok(prefix)
}

/// Reads the first bytes of an entry file, enough for its header (key
/// included) when the file is an envelope; `None` when it does not exist.
pub(super) fn read_prefix(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    read_header(&mut file).map(Some)
}

/// Removes `path` if it is still the file `opened` describes, so a bad file
/// is removed without taking a good one a concurrent writer has just renamed
/// into its place. Returns whether a file was removed.
pub(super) fn remove_if_same(path: &Path, opened: &Metadata) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match fs::symlink_metadata(path) {
            Ok(current) if current.dev() == opened.dev() && current.ino() == opened.ino() => {}
            Ok(_) => return Ok(false),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(error),
        }
    }
    #[cfg(not(unix))]
    let _ = opened;
    remove(path)
}

/// Removes `path`; `false` when it was already gone.
pub(super) fn remove(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_hex_hashes_with_an_extension() {
        let name = file_name(b"user:42");
        assert_eq!(name.len(), HASH_HEX_LEN + EXTENSION.len());
        assert!(name.strip_suffix(EXTENSION).is_some_and(is_hash));
        assert_ne!(name, file_name(b"user:43"));
        assert!(!is_hash(&"A".repeat(64)));
        assert!(!is_hash("abc"));
        assert!(!file_name(b"../../etc/passwd").contains('/'));
    }
}
