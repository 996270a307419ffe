//! Ctrl-C (SIGINT) and SIGTERM during an apply: the signal is caught, not obeyed at once, so
//! that the transaction is rolled back and the locks released before the process ends. The
//! apply checks [`interrupted`] between statements and batches and, when it is set, stops,
//! rolls back and reports that nothing was written; once the commit has started, the apply
//! finishes. A second signal ends the process at once (the database still rolls back the
//! open transaction when the connection drops).

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT or SIGTERM arrived since [`Catch::new`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[cfg(unix)]
extern "C" fn on_signal(_: libc::c_int) {
    // Only async-signal-safe work here: an atomic swap, and `_exit` on the second signal.
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        unsafe { libc::_exit(130) };
    }
}

/// While alive, SIGINT and SIGTERM set [`interrupted`] instead of ending the process; the
/// default handling comes back when it is dropped.
pub struct Catch {
    _private: (),
}

impl Catch {
    pub fn new() -> Self {
        INTERRUPTED.store(false, Ordering::SeqCst);
        #[cfg(unix)]
        unsafe {
            let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
        Catch { _private: () }
    }
}

impl Default for Catch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Catch {
    fn drop(&mut self) {
        #[cfg(unix)]
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
        }
    }
}
