//! A small pool of store connections for blocking tasks.
//!
//! The store is synchronous (rusqlite, postgres); requests borrow a connection inside
//! `spawn_blocking`. SQLite in WAL mode lets the pool's readers work beside one writer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use store::Store;

pub(crate) struct Pool {
    stores: Vec<Mutex<Store>>,
    next: AtomicUsize,
}

impl Pool {
    pub(crate) fn open(url: &str, size: usize) -> Result<Pool, store::StoreError> {
        let stores = (0..size)
            .map(|_| Store::open(url).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pool {
            stores,
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection if there is one, else waits for the next in turn.
    fn get(&self) -> MutexGuard<'_, Store> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.stores.len();
        for offset in 0..n {
            if let Ok(guard) = self.stores[(start + offset) % n].try_lock() {
                return guard;
            }
        }
        let slot = &self.stores[start % n];
        // A poisoned connection is still a connection: the panic that poisoned it was in a
        // request, and every store operation is its own transaction.
        slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` with a connection.
    pub(crate) fn with<T>(&self, work: impl FnOnce(&mut Store) -> T) -> T {
        let mut guard = self.get();
        work(&mut guard)
    }
}
