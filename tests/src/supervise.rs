//! A child process the tests supervise: stopped on request with a signal,
//! and killed if the test process dies.

use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process stopped on request; killed if the caller dies
/// (`PR_SET_PDEATHSIG`, from a thread that lives as long as the child).
pub(crate) struct Supervised {
    stop: mpsc::Sender<i32>,
    done: mpsc::Receiver<()>,
}

impl Supervised {
    pub(crate) fn spawn(mut cmd: Command) -> Result<Supervised, String> {
        let (stop_tx, stop_rx) = mpsc::channel::<i32>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        std::thread::spawn(move || {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe and touches no shared state.
            unsafe {
                cmd.pre_exec(|| {
                    crate::libc_prctl_pdeathsig();
                    Ok(())
                });
            }
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let _ = started_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = started_tx.send(Ok(()));
            let sig = stop_rx.recv().unwrap_or(libc::SIGKILL);
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, sig) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = done_tx.send(());
        });
        started_rx
            .recv()
            .map_err(|e| e.to_string())?
            .map(|()| Supervised {
                stop: stop_tx,
                done: done_rx,
            })
    }

    pub(crate) fn stop(self, signal: i32) {
        let _ = self.stop.send(signal);
        let _ = self.done.recv_timeout(Duration::from_secs(30));
    }
}
