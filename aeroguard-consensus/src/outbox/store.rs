//! The outbox's redb file, opened again after a failed call. After one I/O error (a full disk, a device that
//! failed a write) redb refuses every later call until the database is closed and opened again; the store does
//! that on the next call, so an outbox whose disk filled up works again once space returns, without a restart.
//! What was committed before the error is kept: redb rolls back the one transaction that failed.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use redb::Database;

use crate::{Error, Result};

/// One redb file and whether it must be opened again before the next call.
pub(super) struct Store {
    path: PathBuf,
    cache_bytes: usize,
    db: RwLock<Option<Database>>,
    /// An earlier call failed in the storage layer: open the file again first.
    broken: AtomicBool,
    reopened: AtomicU64,
}

/// A storage failure of `operation` on the file at `path`.
pub(super) fn storage(
    operation: &'static str,
    path: &Path,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::Backend {
        backend: "outbox",
        operation,
        message: format!("{}: {e}", path.display()),
        cause: Some(aeroguard_core::Cause::new(e)),
    }
}

impl Store {
    /// Opens (or creates) the file; fails if another process holds it open.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Store> {
        let db = Self::create(path, cache_bytes)?;
        Ok(Store {
            path: path.to_path_buf(),
            cache_bytes,
            db: RwLock::new(Some(db)),
            broken: AtomicBool::new(false),
            reopened: AtomicU64::new(0),
        })
    }

    fn create(path: &Path, cache_bytes: usize) -> Result<Database> {
        Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|e| storage("open", path, e))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Times the file was opened again after a failed call.
    pub fn reopened(&self) -> u64 {
        self.reopened.load(Ordering::Relaxed)
    }

    /// Runs `f` on the database, opening the file again first if an earlier call failed in the storage layer. A
    /// storage failure of `f` (an [`Error::Backend`]) marks the file for opening again; its other errors (a full
    /// outbox refusing, an entry too large) do not.
    pub fn with<R>(&self, f: impl FnOnce(&Database) -> Result<R>) -> Result<R> {
        if self.broken.load(Ordering::SeqCst) {
            self.reopen()?;
        }
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        let Some(db) = guard.as_ref() else {
            // Another caller's reopen failed after closing the file: the next call tries again.
            self.broken.store(true, Ordering::SeqCst);
            return Err(storage(
                "open",
                &self.path,
                std::io::Error::other("the file is closed"),
            ));
        };
        let out = f(db);
        if let Err(Error::Backend { .. }) = &out {
            self.broken.store(true, Ordering::SeqCst);
        }
        out
    }

    /// Closes the file (releasing its lock) and opens it again; stays marked when that fails.
    fn reopen(&self) -> Result<()> {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        if !self.broken.load(Ordering::SeqCst) {
            return Ok(()); // another caller reopened it meanwhile
        }
        *guard = None;
        let db = Self::create(&self.path, self.cache_bytes)?;
        *guard = Some(db);
        self.broken.store(false, Ordering::SeqCst);
        self.reopened.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("outbox {}: opened again after a failed call", self.path.display());
        Ok(())
    }
}
